#!/usr/bin/env bash
# The prover service end to end on the device machine, with the binaries
# scripts/gpu-build.sh builds here into .devbin/ (carry that folder): runs
# `coalition prover serve` on the GPU, then on the CPU, and each time
# `prover-load` submits Spend jobs at once (plus one false statement, which
# must get 422) and verifies every proof it gets back with the Groth16
# verifier. JOBS (default "64 256") picks the loads on the GPU; the CPU gets
# the first only (it proves about 3.5 a second on 16 cores).
set -uo pipefail
source "$(dirname "$0")/gpu-env.sh"
read -ra loads <<< "${JOBS:-64 256}"
status=0
for backend in gpu cpu; do
  echo "== coalition prover serve --backend $backend"
  .devbin/coalition prover serve --backend "$backend" --max-batch 64 --max-wait-ms 200 \
    --queue 1024 > "$OUT/serve-$backend.log" 2>&1 &
  server=$!
  for jobs in "${loads[@]}"; do
    timeout 300 .devbin/prover-load --jobs "$jobs" --wait-s 150 2>&1 | tee -a "$OUT/load-$backend.log" \
      || status=1
    [ "$backend" = cpu ] && break
  done
  kill "$server"; wait "$server" 2>/dev/null
  tail -3 "$OUT/serve-$backend.log"
done
exit $status
