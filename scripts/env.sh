# Sourced by the project's scripts: the toolchain setup.sh chose, and the variables cargo-leptos
# sets when it builds the server. `cargo test` exports the same ones so it reuses that build
# instead of recompiling leptos (leptos reads LEPTOS_OUTPUT_NAME at compile time).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
# shellcheck disable=SC1091
[ -f "$ROOT/scripts/.toolchain-env" ] && . "$ROOT/scripts/.toolchain-env"
export LEPTOS_OUTPUT_NAME=crm
step() { printf '\n\033[1;32m==> %s\033[0m\n' "$*" >&2; }
