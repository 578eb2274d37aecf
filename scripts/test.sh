#!/usr/bin/env bash
# The whole suite: formatting, the build (with Clippy's lints on the server and browser side, as
# they compile: scripts/env.sh), Rust tests on SQLite and PostgreSQL, then the Playwright journeys
# in Chromium against the freshly built server, once on SQLite and once on PostgreSQL; then the
# release bundle, its container image, and the deployment test (Caddy + two release servers).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
START=$SECONDS
bash scripts/setup.sh
. scripts/env.sh
LOGS=target/test-logs
mkdir -p "$LOGS" && rm -f "$LOGS"/*.log

# The RUSTFLAGS cargo-leptos uses for debug builds (server and wasm alike): the checks and the
# tests below use the same, so none of them invalidates another's artifacts.
DEV_RUSTFLAGS="--cfg erase_components"

step "format (cargo fmt --check)"
cargo fmt --all --check

step "build, with Clippy's lints on the server and browser side (cargo leptos build)"
if [ -z "${RUSTC_WORKSPACE_WRAPPER:-}" ]; then
    echo "clippy is missing for this toolchain: rustup component add clippy" >&2; exit 1
fi
cargo leptos build

step "Rust tests (SQLite and PostgreSQL)"
RUSTFLAGS="$DEV_RUSTFLAGS" cargo test --workspace --exclude frontend 2>&1 | tee "$LOGS/cargo-test.log"

e2e() {  # $1: label, $2: database URL
    step "Playwright in Chromium on $1"
    DATABASE_URL="$2" CRM_LOG=warn target/debug/server migrate
    (cd end2end && E2E_DATABASE_URL="$2" npx playwright test) 2>&1 | tee "$LOGS/e2e-$1.log"
}
rm -rf target/e2e && mkdir -p target/e2e
e2e sqlite "target/e2e/crm-e2e.sqlite3"
if command -v psql >/dev/null && psql "$PG_URL" -qc 'DROP SCHEMA IF EXISTS crm_e2e CASCADE; CREATE SCHEMA crm_e2e' >/dev/null 2>&1; then
    e2e postgres "$PG_URL?options=-c%20search_path%3Dcrm_e2e"
elif [ -n "${CI:-}" ]; then
    echo "PostgreSQL at $PG_URL is required in CI" >&2; exit 1
else
    printf '\n!!!!!!!! Playwright on PostgreSQL SKIPPED: no psql or no server at %s\n\n' "$PG_URL" >&2
fi

step "release bundle, its FROM-scratch image, the Dockerfile's lint"
RELEASE_SKIP_SETUP=1 bash scripts/release.sh 2>&1 | tee "$LOGS/release.log"
bash scripts/image.sh 2>&1 | tee "$LOGS/image.log"
"$HOME/.local/share/crm-tools/hadolint/bin/hadolint" Dockerfile || exit 1
echo "  ok  hadolint: Dockerfile" | tee -a "$LOGS/image.log"

if psql "$PG_URL" -qc 'SELECT 1' >/dev/null 2>&1; then
    step "deployment test: Caddy (TLS) + two release servers on one PostgreSQL"
    bash scripts/deploy-test.sh 2>&1 | tee "$LOGS/deploy.log"
elif [ -n "${CI:-}" ]; then
    echo "PostgreSQL at $PG_URL is required in CI" >&2; exit 1
else
    printf '\n!!!!!!!! deployment test SKIPPED: no PostgreSQL at %s\n\n' "$PG_URL" >&2
fi

passed=$(( $(grep -ho '[0-9]* passed;' "$LOGS/cargo-test.log" | awk '{s+=$1} END {print s+0}') \
         + $(grep -hoE '^ +[0-9]+ passed' "$LOGS"/e2e-*.log | awk '{s+=$1} END {print s+0}') \
         + $(cat "$LOGS/image.log" "$LOGS/deploy.log" 2>/dev/null | grep -c '^  ok  ' || true) ))
failed=$(grep -ho '[0-9]* failed;' "$LOGS/cargo-test.log" | awk '{s+=$1} END {print s+0}')
echo
echo "suite finished in $(( SECONDS - START ))s"
echo "total: $passed passed, $failed failed"
