#!/usr/bin/env bash
# Load test of the contact list and profile pages at scale, on SQLite and on PostgreSQL.
#
#   bash bench/run.sh [contacts=100000] [connections=32] [seconds=10]
#   BENCH_BIN=/tmp/server-before bash bench/run.sh …   (measure a binary built earlier)
#
# Builds the server with the `perf` profile (release optimisations, quicker to build), seeds a
# fresh database per backend with deterministic demo data, signs in as an admin and measures
# each page with wrk (Debian's package) at the given concurrency, printing p50/p95/p99 latency,
# requests per second and the server's memory. Not part of the test suite: it measures,
# it does not pass or fail. Needs the PostgreSQL server of TEST_POSTGRES_URL for the second half.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/env.sh
CONTACTS="${1:-100000}"
CONNECTIONS="${2:-32}"
SECONDS_EACH="${3:-10}"
PORT="${BENCH_PORT:-3300}"
OUT=target/bench
PASSWORD="bench horse battery staple"
mkdir -p "$OUT"

if ! command -v wrk >/dev/null; then
    step "installing wrk"
    apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi

# BENCH_BIN=path measures a server built earlier instead (say, the commit before a change, for
# a before/after in one sitting).
if [ -n "${BENCH_BIN:-}" ]; then
    BIN="$BENCH_BIN"
else
    step "building the server (profile perf)"
    # A plain build: scripts/env.sh compiles the workspace's crates with clippy-driver for the
    # suite, which leaves MIR optimisations off.
    unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
    cargo build --profile perf -p server --bin server
    BIN=target/perf/server
fi

# name|path[|wrk script]: the same page over and over, but for the last-but-one scenario, which
# asks for a new search every time (bench/new-term.lua).
SCENARIOS=(
    "list, first page|/staff/contacts"
    "list, filtered + sorted|/staff/contacts?status=2&sort=updated&dir=desc"
    "search|/staff/contacts?q=hopper"
    "search, filtered|/staff/contacts?q=acme&status=3"
    "list, deep page|/staff/contacts?page=2000"
    "search, a new term each time|/staff/contacts?q=0000|bench/new-term.lua"
    "profile|/staff/contacts/$(( CONTACTS / 2 ))"
    # Extra fields (seed-demo defines Plan, Annual revenue, Contract start, Customer number).
    "extra: filter by one, sort by another|/staff/contacts?f.plan=2&sort=f.annual_revenue&dir=desc"
    "extra: number range, sort by date|/staff/contacts?f.annual_revenue.min=5000000&sort=f.contract_start"
    "extra: search a customer number|/staff/contacts?q=c-0050000"
    # Segments (seed-demo makes them): number 1 is dynamic, of five conditions (a tag, an extra
    # field, "a call in the last 30 days", a status, an email).
    "segment: five conditions, its page|/staff/segments/1"
    "segment: members as a contact list|/staff/contacts?segment=1"
    "segments page|/staff/segments"
)
# BENCH_ONLY=regex measures only the scenarios (and first views) whose names match.
ONLY="${BENCH_ONLY:-.}"
# The extra-field list whose first view after a change is timed, like the searches below.
EXTRA_FIRST_VIEW="/staff/contacts?f.plan=2&sort=f.annual_revenue&dir=desc"
# First views: each of these searches once, right after a change to a contact, so nothing the
# server kept applies (the cost a person sees on a search nobody ran since the last edit).
FIRST_VIEWS=(lovelace turing liskov shannon vaughan dijkstra allen hopper lamarr sutherland
             bartik thompson torvalds hamilton wirth dahl perlman franklin wilson acme)

declare -a ROWS ANON
field_op() {  # $1: name, $2: server function, $3: form; uses $PORT and $cookie of bench_backend
    local name="$1" path="$2" form="$3" probe="$OUT/probe.txt"
    : > "$probe"
    ( while :; do
        curl -s -o /dev/null -w '%{time_total}\n' -X POST "http://127.0.0.1:$PORT/api/staff/bulk_contacts" \
            -H "Cookie: $cookie" -H 'Accept: application/json' \
            --data "ids[]=3&action=set_status&status_id=2&back=/" >> "$probe" || true
      done ) &
    local prober=$!
    sleep 0.5
    local took
    took="$(curl -s -o /dev/null -w '%{time_total}' -X POST "http://127.0.0.1:$PORT$path" -H "Cookie: $cookie" \
        -H 'Accept: application/json' --data "$form")"
    sleep 0.3
    kill "$prober" 2>/dev/null; wait "$prober" 2>/dev/null || true
    local slowest
    slowest="$(sort -n "$probe" | tail -1)"
    printf '%-12s %-26s took=%.0fms slowest-save-beside=%.0fms\n' "$label" "$name" \
        "$(awk "BEGIN{print $took*1000}")" "$(awk "BEGIN{print ${slowest:-0}*1000}")"
    ROWS+=("| $label | $name | $(awk "BEGIN{printf \"%.0f\", $took*1000}") ms | slowest save beside it $(awk "BEGIN{printf \"%.0f\", ${slowest:-0}*1000}") ms | | |")
}

bench_backend() {  # $1: label, $2: DATABASE_URL
    local label="$1" url="$2"
    ANON=()
    step "$label: migrate, seed $CONTACTS contacts"
    DATABASE_URL="$url" CRM_LOG=warn "$BIN" migrate >/dev/null
    DATABASE_URL="$url" CRM_LOG=warn CRM_ADMIN_PASSWORD="$PASSWORD" \
        "$BIN" create-admin --email bench@example.com --name "Bench Admin" >/dev/null
    local seeded
    seeded="$(DATABASE_URL="$url" CRM_LOG=warn "$BIN" seed-demo --contacts "$CONTACTS")"
    echo "$seeded"
    ROWS+=("| $label | seeding $CONTACTS contacts | ${seeded#Added * in } | | | |")
    # Measure the pages, not the kernel writing the freshly loaded database back to disk.
    sync

    DATABASE_URL="$url" CRM_LOG=warn LEPTOS_SITE_ADDR="127.0.0.1:$PORT" LEPTOS_SITE_ROOT=target/site \
        "$BIN" > "$OUT/server-$label.log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
    local cookie
    cookie="$(curl -s -o /dev/null -D - -X POST "http://127.0.0.1:$PORT/api/public/login" \
        -H 'Accept: application/json' -H 'Sec-Fetch-Site: same-origin' \
        --data-urlencode email=bench@example.com --data-urlencode "password=$PASSWORD" \
        | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | head -1)"
    [ -n "$cookie" ] || { echo "could not sign in" >&2; kill "$pid"; exit 1; }
    for scenario in "${SCENARIOS[@]}"; do
        local name path script
        IFS='|' read -r name path script <<<"$scenario"
        grep -qE "$ONLY" <<<"$name" || continue
        script="${script:-bench/report.lua}"
        local status
        status="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "http://127.0.0.1:$PORT$path")"
        [ "$status" = 200 ] || { echo "$path answered $status" >&2; kill "$pid"; exit 1; }
        # A short warm-up, then the measured run.
        wrk -t2 -c"$CONNECTIONS" -d2s -H "Cookie: $cookie" "http://127.0.0.1:$PORT$path" >/dev/null
        local line
        line="$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --timeout 10s -H "Cookie: $cookie" \
            -s "$script" "http://127.0.0.1:$PORT$path" | grep '^RESULT')"
        printf '%-12s %-26s %s\n' "$label" "$name" "${line#RESULT }"
        ANON+=("$(awk '/RssAnon/ {print $2}' "/proc/$pid/status")")
        local p50 p95 rps errors
        p50="$(sed -E 's/.*p50=([0-9.]+).*/\1/' <<<"$line")"
        p95="$(sed -E 's/.*p95=([0-9.]+).*/\1/' <<<"$line")"
        rps="$(sed -E 's/.*rps=([0-9]+).*/\1/' <<<"$line")"
        errors="$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$line")"
        ROWS+=("| $label | $name \`$path\` | $p50 ms | $p95 ms | $rps | $errors |")
    done
    local times=() term flip=2
    # A dynamic segment's page, each time right after a contact changed: its rules evaluated
    # again, entries and exits recorded, then the page.
    if grep -qE "$ONLY" <<<"segment first view"; then
        for _ in $(seq 1 20); do
            flip=$(( 5 - flip ))
            curl -s -o /dev/null -X POST "http://127.0.0.1:$PORT/api/staff/bulk_contacts" -H "Cookie: $cookie" \
                -H 'Accept: application/json' --data "ids[]=1&action=set_status&status_id=$flip&back=/" || true
            times+=("$(curl -s -o /dev/null -w '%{time_total}' -H "Cookie: $cookie" "http://127.0.0.1:$PORT/staff/segments/1")")
        done
        local first
        first="$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1*1000} END {printf "p50=%.1f max=%.1f", a[int((NR+1)/2)], a[NR]}')"
        printf '%-12s %-26s %s\n' "$label" "segment first view" "$first"
        ROWS+=("| $label | first view of the five-condition segment after a change (20 times) | $(sed -E 's/p50=([0-9.]+).*/\1/' <<<"$first") ms | max $(sed -E 's/.*max=([0-9.]+)/\1/' <<<"$first") ms | | |")
        times=()
    fi
    if [ "$ONLY" != "." ]; then
        kill "$pid"; wait "$pid" 2>/dev/null || true
        return
    fi
    # One request each, right after a contact changed (a bulk status change through the app).
    for term in "${FIRST_VIEWS[@]}"; do
        flip=$(( 5 - flip ))  # 3, 2, 3, …: always a change
        curl -s -o /dev/null -X POST "http://127.0.0.1:$PORT/api/staff/bulk_contacts" -H "Cookie: $cookie" \
            -H 'Accept: application/json' --data "ids[]=1&action=set_status&status_id=$flip&back=/" || true
        times+=("$(curl -s -o /dev/null -w '%{time_total}' -H "Cookie: $cookie" \
            "http://127.0.0.1:$PORT/staff/contacts?q=$term")")
    done
    local first
    first="$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1*1000} END {printf "p50=%.1f max=%.1f", a[int((NR+1)/2)], a[NR]}')"
    printf '%-12s %-26s %s\n' "$label" "first view of a search" "$first"
    ROWS+=("| $label | first view of a search, one at a time (${#FIRST_VIEWS[@]} terms) | $(sed -E 's/p50=([0-9.]+).*/\1/' <<<"$first") ms | max $(sed -E 's/.*max=([0-9.]+)/\1/' <<<"$first") ms | | |")
    times=()
    for _ in $(seq 1 20); do
        flip=$(( 5 - flip ))
        curl -s -o /dev/null -X POST "http://127.0.0.1:$PORT/api/staff/bulk_contacts" -H "Cookie: $cookie" \
            -H 'Accept: application/json' --data "ids[]=1&action=set_status&status_id=$flip&back=/" || true
        times+=("$(curl -s -o /dev/null -w '%{time_total}' -H "Cookie: $cookie" "http://127.0.0.1:$PORT$EXTRA_FIRST_VIEW")")
    done
    first="$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1*1000} END {printf "p50=%.1f max=%.1f", a[int((NR+1)/2)], a[NR]}')"
    printf '%-12s %-26s %s\n' "$label" "first view, extra filter+sort" "$first"
    ROWS+=("| $label | first view of the extra filter + sort after a change (20 times) | $(sed -E 's/p50=([0-9.]+).*/\1/' <<<"$first") ms | max $(sed -E 's/.*max=([0-9.]+)/\1/' <<<"$first") ms | | |")
    # Changing the fields at this size: how long each takes, and the slowest contact save that
    # ran beside it (a save waits for whatever holds the contacts).
    field_op "define a field" "/api/staff/create_field" \
        "input[label]=Bench note&input[kind]=text&input[portal]=hidden&input[searchable]=yes"
    field_op "type change: revenue to 3 decimals" "/api/staff/change_field_type" \
        "id=2&kind=decimal&decimals=3&confirm=yes"
    field_op "unique off: customer number" "/api/staff/update_field" \
        "id=4&input[label]=Customer number&input[portal]=hidden&input[searchable]=yes"
    field_op "unique on again (checks for duplicates)" "/api/staff/update_field" \
        "id=4&input[label]=Customer number&input[portal]=hidden&input[searchable]=yes&input[unique]=yes"
    field_op "delete a field (revenue, ~70% of contacts)" "/api/staff/delete_field" "id=2&confirm=yes"
    # The server's own memory (heap, stacks): RssAnon, the largest seen after any page. The
    # SQLite file is memory-mapped once per pooled connection, so VmRSS counts the same cached
    # file pages up to 16 times over; they are the kernel's shared page cache, not the server's.
    local own
    own="$(printf '%s\n' "${ANON[@]}" | sort -n | tail -1)"
    ROWS+=("| $label | server memory, own (largest RssAnon) | $(( own / 1024 )) MiB | | | |")
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

rm -f "$OUT"/bench.sqlite3*
bench_backend SQLite "$OUT/bench.sqlite3"
if psql "$PG_URL" -qc 'DROP SCHEMA IF EXISTS crm_bench CASCADE; CREATE SCHEMA crm_bench' >/dev/null 2>&1; then
    bench_backend PostgreSQL "$PG_URL?options=-c%20search_path%3Dcrm_bench"
    psql "$PG_URL" -qc 'DROP SCHEMA crm_bench CASCADE' >/dev/null 2>&1 || true
else
    echo "PostgreSQL at $PG_URL is not reachable: skipped" >&2
fi

echo
echo "$CONTACTS contacts, $CONNECTIONS connections, ${SECONDS_EACH}s per page, $(nproc) cores"
echo "| backend | page | p50 | p95 | requests/s | errors |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
