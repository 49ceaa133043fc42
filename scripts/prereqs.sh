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
    # libclang itself (bindgen loads it), not libclang-cpp, which some
    # images ship alone.
    if ! compgen -G '/usr/lib/llvm-*/lib/libclang.so*' >/dev/null \
        && ! compgen -G '/usr/lib/llvm-*/lib/libclang-[0-9]*.so*' >/dev/null \
        && ! ldconfig -p 2>/dev/null | grep -qE 'libclang(-[0-9.]+)?\.so'; then
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

# The wallet also builds for the browser (wasm32-unknown-unknown): the
# target's standard library comes from rustup.
if command -v rustup >/dev/null 2>&1 \
    && ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    echo "coalition: adding the wasm32-unknown-unknown target" >&2
    rustup target add wasm32-unknown-unknown >/dev/null
fi

# Use sccache when it is there; it turns a cold native build into minutes.
if command -v sccache >/dev/null 2>&1 && [ -z "${RUSTC_WRAPPER:-}" ]; then
    export RUSTC_WRAPPER=sccache
fi
