#!/usr/bin/env bash
# Installs what is missing, builds, migrates the SQLite file under data/ and serves the app on
# http://127.0.0.1:3000 (set DATABASE_URL=postgres://… to use PostgreSQL instead).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
. scripts/env.sh
step "building and serving on http://127.0.0.1:3000"
exec cargo leptos serve
