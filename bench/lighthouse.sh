#!/usr/bin/env bash
# Lighthouse (npm `lighthouse`, driving Debian's Chromium) on the release build: performance,
# LCP, CLS and total blocking time of the sign-in page, the dashboard and the contact list, with
# Lighthouse's default mobile settings and its desktop preset. Not part of the suite.
#
#   bash bench/lighthouse.sh            after scripts/release.sh; prints one line per page and form
#   LIGHTHOUSE_CONTACTS=1000 ...        demo contacts in the database (default 1000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
NAME="$(cat dist/latest 2>/dev/null)" || { echo "run scripts/release.sh first" >&2; exit 1; }
BIN="$PWD/dist/$NAME/server"
PORT="${LIGHTHOUSE_PORT:-3310}"
WORK="$(mktemp -d)"
LH_DIR="target/lighthouse"
if [ ! -x "$LH_DIR/node_modules/.bin/lighthouse" ]; then
    npm install --prefix "$LH_DIR" --no-audit --no-fund --loglevel=error lighthouse@12 >/dev/null
fi
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

export DATABASE_URL="$WORK/crm.sqlite3" CRM_LOG=warn LEPTOS_SITE_ADDR="127.0.0.1:$PORT"
"$BIN" migrate
"$BIN" seed-demo --contacts "${LIGHTHOUSE_CONTACTS:-1000}" >/dev/null
CRM_ADMIN_PASSWORD="Lighthouse-Prüfung-2026" "$BIN" create-admin --email lh@example.org --name "Zoë Lighthouse" >/dev/null
"$BIN" serve > "$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz" && break; sleep 0.2; done
cookie="$(curl -s -o /dev/null -D - -X POST "http://127.0.0.1:$PORT/api/public/login" \
    -H 'Accept: application/json' -H 'Sec-Fetch-Site: same-origin' \
    --data-urlencode email=lh@example.org --data-urlencode "password=Lighthouse-Prüfung-2026" \
    | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | head -1)"
[ -n "$cookie" ] || { echo "could not sign in" >&2; exit 1; }

printf '%-16s %-8s %5s %8s %6s %8s\n' page form perf LCP CLS TBT
for page in /login /staff /staff/contacts; do
    for form in mobile desktop; do
        args=(--quiet --output=json --output-path="$WORK/report.json" --only-categories=performance
              --chrome-flags="--headless=new --no-sandbox")
        [ "$form" = desktop ] && args+=(--preset=desktop)
        [ "$page" != /login ] && args+=(--extra-headers="{\"Cookie\":\"$cookie\"}")
        CHROME_PATH=/usr/bin/chromium "$LH_DIR/node_modules/.bin/lighthouse" "http://127.0.0.1:$PORT$page" "${args[@]}" \
            2>/dev/null || true
        node -e '
            const r = require(process.argv[1]);
            const a = r.audits;
            const f = (id) => a[id] ? a[id].displayValue : "-";
            console.log([process.argv[2].padEnd(16), process.argv[3].padEnd(8),
              String(Math.round(r.categories.performance.score * 100)).padStart(5),
              f("largest-contentful-paint").padStart(8), f("cumulative-layout-shift").padStart(6),
              f("total-blocking-time").padStart(8)].join(" "));
        ' "$WORK/report.json" "$page" "$form"
    done
done
