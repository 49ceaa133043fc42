#!/usr/bin/env bash
# A fuzzing campaign over every decoder that reads outside bytes
# (RELIABILITY.md): each target of fuzz/src/lib.rs under libFuzzer for
# SECONDS (default 300), JOBS at a time (default 2), starting from and
# adding to the kept corpus in fuzz/corpus/TARGET, which is then minimised
# (`cargo fuzz cmin`). Crashes land in fuzz/harness/artifacts/TARGET.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Needs the nightly toolchain (the machine image has one) and cargo-fuzz,
# which this installs when missing. Sanitizers are off (`-s none`): every
# crate here forbids `unsafe`, so ASan would find nothing Rust's own checks
# do not; debug assertions are on (`-a`), so overflow is a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prereqs.sh
seconds="${1:-300}"
shift || true
jobs="${JOBS:-2}"
if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/harness/Cargo.toml | grep -v '^coalition')
fi
fuzz=(cargo +nightly fuzz)
opts=(--fuzz-dir fuzz/harness -s none -a)
"${fuzz[@]}" build "${opts[@]}"
mkdir -p fuzz/harness/logs
run() {
    local target="$1"
    mkdir -p "fuzz/corpus/$target" "fuzz/harness/artifacts/$target"
    "${fuzz[@]}" run "${opts[@]}" "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 -timeout=10 \
        -print_final_stats=1 > "fuzz/harness/logs/$target.log" 2>&1 \
        && echo "$target: no crash in ${seconds} s" \
        || echo "$target: CRASH, see fuzz/harness/logs/$target.log and fuzz/harness/artifacts/$target"
    grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' \
        "fuzz/harness/logs/$target.log" | sed "s/^/  $target /" || true
}
running=0
for target in "${targets[@]}"; do
    run "$target" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait
for target in "${targets[@]}"; do
    "${fuzz[@]}" cmin "${opts[@]}" "$target" "fuzz/corpus/$target" >/dev/null 2>&1 || true
    echo "$target: $(ls "fuzz/corpus/$target" | wc -l) inputs kept"
done
