#!/usr/bin/env bash
# GPU checks for the device machine (it has CUDA but no Rust): run from the
# repository root with the binaries that scripts/gpu-build.sh builds here
# into .devbin/ (carry that folder to the machine).
# 1. the differential GPU-vs-CPU test, failing (not skipping) without a GPU;
# 2. gpu-bench, CPU vs GPU, the targets first: G1 2^20 (settings side by
#    side, a per-stage profile), Spend proofs/s per batch (64 first) with a
#    profile, the witness map at 1 and 64 statements, then the MSM tables
#    2^12…2^MAX and the crossover; sections past BUDGET_S are skipped.
# Both steps together stay under 600 s, one device call's limit.
set -uo pipefail
source "$(dirname "$0")/gpu-env.sh"
echo "== differential test (COALITION_REQUIRE_GPU=1)"
start=$(date +%s)
COALITION_REQUIRE_GPU=1 timeout 200 .devbin/device-test --test-threads=1 2>&1 | tee "$OUT/device-test.log" | tail -15
echo "differential test took $(( $(date +%s) - start )) s (first NVRTC compile and JIT included)"
echo "== gpu-bench"
BATCHES=${BATCHES:-64,1,16,256} BUDGET_S=${BUDGET_S:-270} timeout 380 .devbin/gpu-bench "${MAX:-22}" 2>&1 | tee "$OUT/gpu-bench.log" | tail -40
