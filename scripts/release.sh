#!/usr/bin/env bash
# `make release`: an optimised server, statically linked (musl) so it runs on any Linux and in a
# FROM-scratch image, with the site's files beside it (hashed names, precompressed with brotli
# and gzip), packed as dist/crm-<version>-<commit>-<target>.tar.gz with a SHA-256 checksum.
# Works offline once scripts/setup.sh has run: wasm-opt comes from binaryen's npm package.
#
#   bash scripts/release.sh            build and pack; prints the tarball's path
#   RELEASE_SKIP_SETUP=1 ...           (the suite, which ran setup.sh already)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -n "${RELEASE_SKIP_SETUP:-}" ] || bash scripts/setup.sh
. scripts/env.sh

# The musl target when rustup has it (setup.sh adds it); otherwise a glibc build.
TRIPLE=x86_64-unknown-linux-gnu
if rustup target list --installed 2>/dev/null | grep -q x86_64-unknown-linux-musl && command -v musl-gcc >/dev/null; then
    TRIPLE=x86_64-unknown-linux-musl
    export CC_x86_64_unknown_linux_musl=musl-gcc
fi
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
COMMIT="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
NAME="crm-$VERSION-$COMMIT-$TRIPLE"
SITE=target/release-site

step "release build for $TRIPLE (cargo leptos build --release --precompress)"
# A fresh site folder each time: every build's hashed files would otherwise pile up in it (and in
# the bundle).
rm -rf "$SITE"
# cargo-leptos runs the wasm-opt it finds on PATH instead of downloading one from GitHub.
export PATH="$PWD/end2end/node_modules/.bin:$PATH"
command -v wasm-opt >/dev/null || { echo "wasm-opt is missing: run scripts/setup.sh (npm ci in end2end/)" >&2; exit 1; }
# The release site has its own folder: the debug build's target/site stays as the tests left it.
# Clippy already linted this code in the debug build; the release compiles with plain rustc.
# `erase_components` type-erases Leptos' views (as the debug build does): a third less wasm
# (README, "Page weight"). Server and browser must agree on it, so both get it.
env -u RUSTC_WORKSPACE_WRAPPER RUSTFLAGS="--cfg erase_components" \
    LEPTOS_BIN_TARGET_TRIPLE="$TRIPLE" LEPTOS_SITE_ROOT="$SITE" LEPTOS_HASH_FILES=true \
    CRM_GIT_COMMIT="$COMMIT" \
    cargo leptos build --release --precompress

step "packing dist/$NAME.tar.gz"
BIN_DIR="target/$TRIPLE/release"
rm -rf "dist/$NAME" && mkdir -p "dist/$NAME"
cp "$BIN_DIR/server" "$BIN_DIR/hash.txt" "dist/$NAME/"
cp -r "$SITE" "dist/$NAME/site"
mkdir -p "dist/$NAME/deploy"
cp deploy/crm.service deploy/Caddyfile deploy/crm.env "dist/$NAME/deploy/"
cp README.md "dist/$NAME/"
strip "dist/$NAME/server" 2>/dev/null || true
tar -C dist -czf "dist/$NAME.tar.gz" "$NAME"
(cd dist && sha256sum "$NAME.tar.gz" > "$NAME.tar.gz.sha256")

"dist/$NAME/server" --version
file "dist/$NAME/server" 2>/dev/null || true
for wasm in "dist/$NAME"/site/pkg/*.wasm; do
    printf 'wasm %s: %s bytes, %s gzip, %s brotli\n' "$(basename "$wasm")" "$(stat -c %s "$wasm")" \
        "$(stat -c %s "$wasm.gz" 2>/dev/null || echo -)" "$(stat -c %s "$wasm.br" 2>/dev/null || echo -)"
done
echo "release: dist/$NAME.tar.gz"
echo "sha256:  $(cut -d' ' -f1 "dist/$NAME.tar.gz.sha256")  (dist/$NAME.tar.gz.sha256)"
echo "$NAME" > dist/latest
