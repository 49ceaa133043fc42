#!/usr/bin/env bash
# Builds, here, the two binaries scripts/gpu-check.sh runs on the lent GPU
# machine (which has CUDA but no Rust toolchain), into .devbin/:
#   .devbin/gpu-bench    MSM, witness map and Spend proofs/s, CPU vs GPU
#   .devbin/device-test  the differential GPU-vs-CPU test (coalition-gpu)
# Then carry .devbin to the machine and run `bash scripts/gpu-check.sh` there.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prereqs.sh
cargo build --release -p coalition-benches --features gpu --bin gpu-bench
test_bin=$(cargo test --release -p coalition-gpu --test device --no-run --message-format=json \
  | grep -o '"executable":"[^"]*"' | tail -1 | cut -d'"' -f4)
if [ -z "$test_bin" ]; then
  echo "could not find the device test binary" >&2
  exit 1
fi
mkdir -p .devbin
cp target/release/gpu-bench .devbin/gpu-bench
cp "$test_bin" .devbin/device-test
ls -l .devbin
