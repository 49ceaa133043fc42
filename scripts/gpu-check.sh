#!/usr/bin/env bash
# GPU checks for the device machine (it has CUDA but no Rust): run from the
# repository root with the binaries that scripts/gpu-build.sh builds here
# into .devbin/ (carry that folder to the machine).
# 1. the differential GPU-vs-CPU test, failing (not skipping) without a GPU;
# 2. gpu-bench: MSM G1/G2 2^12…2^MAX, crossover, the witness map at 1 and 64
#    statements, Spend proofs/s, CPU vs GPU; then one profiled run of each
#    (time per kernel stage) to show where the device time goes.
set -uo pipefail
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu; do
  if ls "$d"/libnvrtc.so* >/dev/null 2>&1; then export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"; fi
done
echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
export COALITION_PARAMS_DIR=/tmp/params COALITION_CUDA_CACHE=/tmp/cuda-cache
echo "== differential test (COALITION_REQUIRE_GPU=1)"
start=$(date +%s)
COALITION_REQUIRE_GPU=1 timeout 240 .devbin/device-test --test-threads=1 2>&1 | tee "$OUT/device-test.log" | tail -15
echo "differential test took $(( $(date +%s) - start )) s (first NVRTC compile and JIT included)"
cp /tmp/cuda-cache/*.ptx "$OUT/" 2>/dev/null || true
echo "== gpu-bench"
BATCHES=${BATCHES:-1,16,64,256} timeout 420 .devbin/gpu-bench "${MAX:-22}" 2>&1 | tee "$OUT/gpu-bench.log" | tail -40
