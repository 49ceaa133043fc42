#!/usr/bin/env bash
# The soak of RELIABILITY.md §3: a 3-node devnet over mutual TLS under a
# mixed Issue/ApplyPending/Transfer/Shield/Redeem load, one node killed
# with SIGKILL at random every KILL_EVERY seconds (default 60) and
# restarted, and a stream of malformed requests, for SECONDS (default
# 1800). It checks as it runs that nothing acknowledged is lost and no
# block differs, and at the end the whole chain on all three nodes, no
# 5xx, bounded RSS; it prints the report (the `soak:` lines).
#
#   scripts/soak.sh [SECONDS]
#
# CI runs the same test for 90 s (`cargo test -p coalition-cli --test soak`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prereqs.sh
export COALITION_SOAK_SECONDS="${1:-1800}"
export COALITION_SOAK_KILL_EVERY_S="${KILL_EVERY:-60}"
cargo test -p coalition-cli --test soak -- --nocapture 2>&1 | tee "${SOAK_LOG:-/dev/null}" | grep -E '^soak:|^test |test result|panicked'
