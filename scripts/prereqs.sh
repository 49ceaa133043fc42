# Sourced by scripts/coalition and scripts/test: makes a fresh machine ready.
# Installs only what is missing, so on a prepared machine it costs nothing.
set -euo pipefail

if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    else
        echo "coalition: cargo (Rust toolchain) is required; install it with rustup" >&2
        exit 1
    fi
fi

# Native build dependencies. librocksdb-sys (the node's storage, coming with
# the node issue) needs libclang at build time; a fresh machine lacks it.
need_apt=()
if [ -f "$(dirname "${BASH_SOURCE[0]}")/../node/Cargo.toml" ] && grep -q '^rocksdb' "$(dirname "${BASH_SOURCE[0]}")/../node/Cargo.toml"; then
    if ! ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 && ! ldconfig -p 2>/dev/null | grep -q libclang; then
        need_apt+=(libclang-dev)
    fi
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
    echo "coalition: installing ${need_apt[*]}" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Use sccache when it is there; it turns a cold native build into minutes.
if command -v sccache >/dev/null 2>&1 && [ -z "${RUSTC_WRAPPER:-}" ]; then
    export RUSTC_WRAPPER=sccache
fi
