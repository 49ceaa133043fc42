#!/usr/bin/env bash
# Builds, here, the binaries the device-machine scripts run on the lent GPU
# machine (which has CUDA but no Rust toolchain), into .devbin/:
#   .devbin/gpu-bench    MSM, witness map and Spend proofs/s, CPU vs GPU
#   .devbin/device-test  the differential GPU-vs-CPU test (coalition-gpu)
#   .devbin/coalition    the CLI with the `gpu` feature (`prover serve`)
#   .devbin/prover-load  a load client of the service that verifies proofs
# Then carry .devbin to the machine and run `bash scripts/gpu-check.sh` or
# `bash scripts/gpu-service-check.sh` there.
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
# The service and its load client, for gpu-service-check.sh.
cargo build --release -p coalition-cli --features gpu --bin coalition
cargo build --release -p coalition-benches --bin prover-load
mkdir -p .devbin
cp target/release/gpu-bench .devbin/gpu-bench
cp "$test_bin" .devbin/device-test
cp target/release/coalition target/release/prover-load .devbin/
# Stripped, the four binaries and the cache fit the device call's 64 MiB.
if command -v strip >/dev/null; then strip .devbin/coalition .devbin/prover-load .devbin/gpu-bench; fi
ls -l .devbin
# Where NVRTC is at hand here (e.g. `pip download nvidia-cuda-nvrtc`,
# unpacked, with NVRTC_LIB_DIR naming its lib/), compile the kernels for
# the lent machines' Hopper chips (sm_90) now, so the device machine skips
# NVRTC (about 25 s per rendering there); gpu-check.sh installs the cache.
if [ -n "${NVRTC_LIB_DIR:-}" ]; then
  rm -rf .devbin/cuda-cache
  LD_LIBRARY_PATH="$NVRTC_LIB_DIR" .devbin/gpu-bench --precompile 9.0 .devbin/cuda-cache
fi
# The INSECURE dev proving keys this machine already generated travel too
# (the bench would otherwise spend device time on the setup); a stale set
# is simply not found there, by its shape hash, and generated afresh.
params="${COALITION_PARAMS_DIR:-$HOME/.cache/coalition/params}"
rm -rf .devbin/params
if ls "$params"/*INSECURE-DEV* >/dev/null 2>&1; then
  mkdir -p .devbin/params && cp "$params"/*INSECURE-DEV* .devbin/params/
fi
ls -l .devbin .devbin/cuda-cache .devbin/params 2>/dev/null || true
