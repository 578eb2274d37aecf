# Sourced by the project's scripts: the toolchain setup.sh chose, and the variables cargo-leptos
# sets when it builds the server. `cargo test` exports the same ones so it reuses that build
# instead of recompiling leptos (leptos reads LEPTOS_OUTPUT_NAME at compile time).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
# shellcheck disable=SC1091
[ -f "$ROOT/scripts/.toolchain-env" ] && . "$ROOT/scripts/.toolchain-env"
export LEPTOS_OUTPUT_NAME=crm
# The PostgreSQL server the tests, the deployment test and the benchmarks use.
PG_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
step() { printf '\n\033[1;32m==> %s\033[0m\n' "$*" >&2; }
# Clippy lints the workspace's own crates as they are compiled (clippy-driver is rustc with
# Clippy's lints added; dependencies are compiled by plain rustc as always). The build, the tests
# and the dev server then share one compile, where a separate `cargo clippy` checked every
# dependency again, once per target. Warnings fail the build, the same for everyone.
if clippy-driver --version >/dev/null 2>&1; then
    RUSTC_WORKSPACE_WRAPPER="$(command -v clippy-driver)"
    export RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
fi
