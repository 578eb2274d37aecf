#!/usr/bin/env bash
# Import benchmark: rows per second and the server's own memory for the dry run, a create run,
# an update run and an undo, on SQLite and on PostgreSQL, through the running server as a person
# uses it (upload, mapping, dry run, run, undo), at two sizes in one sitting for the ratio.
#
#   bash bench/import.sh [rows=100000] [small=1000]
#   BENCH_BIN=/tmp/server-before bash bench/import.sh …   (measure a binary built earlier)
#   BENCH_ONLY=sqlite bash bench/import.sh …   (or postgres: one backend only)
#   BENCH_CREATE_ONLY=1 bash bench/import.sh 1000000 1000   (the dry run and create run only)
#
# The files have 12 columns: first and last name (accents, CJK, emoji), email, phone, company,
# job title, city, postal code, country, tags (two per row), a status and a single-select extra
# field ("Plan"). The update file is the same people with a new phone and plan. Not part of the
# test suite: it measures, it does not pass or fail.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/env.sh
ROWS_BIG="${1:-100000}"
ROWS_SMALL="${2:-1000}"
PORT="${BENCH_PORT:-3310}"
OUT=target/bench
PASSWORD="bench horse battery staple"
BASE="http://127.0.0.1:$PORT"
mkdir -p "$OUT"

if [ -n "${BENCH_BIN:-}" ]; then
    BIN="$BENCH_BIN"
else
    step "building the server (profile perf)"
    unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
    cargo build --profile perf -p server --bin server
    BIN=target/perf/server
fi

# $1: rows, $2: file, $3: "create" or "update" (same emails, another phone and plan).
make_file() {
    python3 - "$1" "$2" "$3" <<'EOF'
import sys
rows, path, kind = int(sys.argv[1]), sys.argv[2], sys.argv[3]
first = ["Zoë", "José", "Ånne", "Jürgen", "太郎", "Ёлка", "Chloé", "Søren", "Ngozi", "Dmitrij 🎉"]
plans = ["Basic", "Pro", "Enterprise"]
statuses = ["Lead", "Prospect", "Customer"]
with open(path, "w", encoding="utf-8") as f:
    f.write("First name,Last name,Email,Phone,Company,Job title,City,Postal code,Country,Tags,Status,Plan\n")
    for i in range(rows):
        phone = f"+49 30 {i:07d}" if kind == "create" else f"+49 40 {i:07d}"
        plan = plans[i % 3] if kind == "create" else plans[(i + 1) % 3]
        f.write(f"{first[i % 10]},Müller-{i},person{rows}-{i}@example.com,{phone},Firma {i % 977} GmbH,"
                f"Leitung {i % 13},Köln,{50000 + i % 999},Deutschland,\"tag{i % 50}, Kunde 🌟\","
                f"{statuses[i % 3]},{plan}\n")
EOF
}

ANON_PEAK=0
# Samples the server's RssAnon every 0.2 s into $OUT/rss.txt until killed.
sample_memory() {
    local pid="$1"
    : > "$OUT/rss.txt"
    while kill -0 "$pid" 2>/dev/null; do
        awk '/RssAnon/ {print $2}' "/proc/$pid/status" >> "$OUT/rss.txt" 2>/dev/null || true
        sleep 0.2
    done
}

post() {  # $1: server function, then --data-urlencode pairs
    local fn="$1"; shift
    curl -s -X POST "$BASE/api/staff/$fn" -H "Cookie: $cookie" -H 'Accept: application/json' \
        -H 'Sec-Fetch-Site: same-origin' "$@"
}

summary_field() {  # $1: import id, $2: field of the summary
    post import_progress --data-urlencode "id=$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}

wait_for() {  # $1: import id, $2..: states that end the wait
    local id="$1"; shift
    while :; do
        local state
        state="$(summary_field "$id" state)"
        for want in "$@"; do [ "$state" = "$want" ] && return 0; done
        if [ "$state" = Uploaded ] && [ -n "$(summary_field "$id" message)" ]; then
            echo "import $id went back to its mapping: $(summary_field "$id" message)" >&2; return 1
        fi
        case "$state" in Failed|Cancelled) echo "import $id ended $state: $(summary_field "$id" message)" >&2; return 1;; esac
        sleep 0.1
    done
}

declare -a RESULTS
measure() {  # $1: label, $2: rows, $3: what, $4: seconds, $5: server RssAnon before (kB)
    local peak rate
    peak="$(sort -n "$OUT/rss.txt" | tail -1)"
    peak="${peak:-$5}"
    rate="$(awk "BEGIN{printf \"%.0f\", $2/$4}")"
    printf '%-11s %8s rows  %-10s %7.2f s  %7s rows/s  own memory +%s MiB\n' "$1" "$2" "$3" "$4" "$rate" \
        "$(( (peak - $5) / 1024 ))"
    RESULTS+=("| $1 | $2 | $3 | $(printf '%.2f' "$4") s | $rate | +$(( (peak - $5) / 1024 )) MiB |")
}

# Uploads $3 and takes it through the dry run and the run (and, with $4 = undo, the undo).
import_file() {  # $1: label, $2: rows, $3: file, $4: "undo" or ""
    local label="$1" rows="$2" file="$3"
    local location id version before t0 t1
    location="$(curl -s -o /dev/null -w '%{redirect_url}' -H "Cookie: $cookie" -H 'Sec-Fetch-Site: same-origin' \
        -F "file=@$file;type=text/csv" "$BASE/api/staff/imports/upload")"
    id="${location##*/}"
    [[ "$id" =~ ^[0-9]+$ ]] || { echo "upload refused: $location" >&2; return 1; }
    version="$(summary_field "$id" version)"
    before="$(awk '/RssAnon/ {print $2}' "/proc/$pid/status")"
    : > "$OUT/rss.txt"
    t0=$(date +%s.%N)
    post save_import_mapping --data-urlencode "id=$id" --data-urlencode "version=$version" \
        $(for c in field:first_name field:last_name field:email field:phone field:company field:job_title \
            field:city field:postal_code field:country tags status extra:plan; do
            printf -- '--data-urlencode input[columns][]=%s ' "$c"; done) \
        --data-urlencode "input[mode]=both" --data-urlencode "input[empty]=keep" \
        --data-urlencode "input[separator]=," --data-urlencode "input[then]=check" >/dev/null
    wait_for "$id" Checked
    t1=$(date +%s.%N)
    measure "$label" "$rows" "dry run" "$(awk "BEGIN{print $t1-$t0}")" "$before"
    local kind
    kind="$( [ "$(summary_field "$id" updated)" -gt 0 ] && echo update || echo create)"
    version="$(summary_field "$id" version)"
    before="$(awk '/RssAnon/ {print $2}' "/proc/$pid/status")"
    : > "$OUT/rss.txt"
    # Beside the run, someone saves a contact over and over: how long each save waits.
    : > "$OUT/saves.txt"
    ( while :; do
        curl -s -o /dev/null -w '%{time_total}\n' -X POST "$BASE/api/staff/bulk_contacts" -H "Cookie: $cookie" \
            -H 'Accept: application/json' -H 'Sec-Fetch-Site: same-origin' \
            --data "ids[]=$probe_contact&action=set_status&status_id=$(( RANDOM % 3 + 1 ))&back=/" >> "$OUT/saves.txt" || true
        sleep 0.05
      done ) &
    local saver=$!
    t0=$(date +%s.%N)
    post start_import --data-urlencode "id=$id" --data-urlencode "version=$version" >/dev/null
    wait_for "$id" Done
    t1=$(date +%s.%N)
    kill "$saver" 2>/dev/null; wait "$saver" 2>/dev/null || true
    measure "$label" "$rows" "$kind" "$(awk "BEGIN{print $t1-$t0}")" "$before"
    local saves
    saves="$(sort -n "$OUT/saves.txt" | awk '{a[NR]=$1*1000} END {k=int(NR*0.95+0.5); if (k<1) k=1; if (NR) printf "%d saves, p95 %.0f ms, max %.0f ms", NR, a[k], a[NR]}')"
    echo "            a contact saved beside the $kind run: $saves"
    RESULTS+=("| $label | $rows | a contact saved beside the $kind run | $saves | | |")
    if [ "${4:-}" = undo ]; then
        version="$(summary_field "$id" version)"
        before="$(awk '/RssAnon/ {print $2}' "/proc/$pid/status")"
        : > "$OUT/rss.txt"
        t0=$(date +%s.%N)
        post undo_import --data-urlencode "id=$id" --data-urlencode "version=$version" --data-urlencode confirm=yes >/dev/null
        wait_for "$id" Undone
        t1=$(date +%s.%N)
        measure "$label" "$rows" "undo" "$(awk "BEGIN{print $t1-$t0}")" "$before"
    fi
}

bench_backend() {  # $1: label, $2: DATABASE_URL
    local label="$1" url="$2"
    step "$label: a fresh database"
    DATABASE_URL="$url" CRM_LOG=warn "$BIN" migrate >/dev/null
    DATABASE_URL="$url" CRM_LOG=warn CRM_ADMIN_PASSWORD="$PASSWORD" \
        "$BIN" create-admin --email bench@example.com --name "Bench Admin" >/dev/null
    DATABASE_URL="$url" CRM_LOG=warn LEPTOS_SITE_ADDR="127.0.0.1:$PORT" LEPTOS_SITE_ROOT=target/site \
        CRM_IMPORT_DIR="$OUT/import-work" CRM_IMPORT_LIMIT_MB=2000 "$BIN" > "$OUT/import-server-$label.log" 2>&1 &
    pid=$!
    # Whatever happens, the server goes when the script does.
    trap 'kill "$pid" 2>/dev/null || true' EXIT
    for _ in $(seq 1 100); do curl -sf "$BASE/readyz" >/dev/null && break; sleep 0.2; done
    cookie="$(curl -s -o /dev/null -D - -X POST "$BASE/api/public/login" \
        -H 'Accept: application/json' -H 'Sec-Fetch-Site: same-origin' \
        --data-urlencode email=bench@example.com --data-urlencode "password=$PASSWORD" \
        | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | head -1)"
    [ -n "$cookie" ] || { echo "could not sign in" >&2; kill "$pid"; exit 1; }
    post create_field --data-urlencode "input[label]=Plan" --data-urlencode "input[kind]=select" \
        --data-urlencode "input[portal]=hidden" --data-urlencode "input[options]=$(printf 'Basic\nPro\nEnterprise')" >/dev/null
    # The contact the probe saves beside each run.
    post save_contact --data-urlencode "input[first_name]=Probe" --data-urlencode "input[last_name]=Ölsen" >/dev/null
    probe_contact=1
    sample_memory "$pid" &
    local sampler=$!
    for rows in "$ROWS_SMALL" "$ROWS_BIG"; do
        make_file "$rows" "$OUT/import-$rows.csv" create
        [ -n "${BENCH_CREATE_ONLY:-}" ] || make_file "$rows" "$OUT/import-$rows-update.csv" update
        # Each size has emails of its own: the big file creates its contacts beside the small one's.
        import_file "$label" "$rows" "$OUT/import-$rows.csv" ""
        [ -n "${BENCH_CREATE_ONLY:-}" ] || import_file "$label" "$rows" "$OUT/import-$rows-update.csv" undo
    done
    kill "$sampler" 2>/dev/null || true
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

rm -f "$OUT"/import-bench.sqlite3*
[ "${BENCH_ONLY:-}" = postgres ] || bench_backend SQLite "$OUT/import-bench.sqlite3"
if [ "${BENCH_ONLY:-}" = sqlite ]; then
    :
elif psql "$PG_URL" -qc 'DROP SCHEMA IF EXISTS crm_import_bench CASCADE; CREATE SCHEMA crm_import_bench' >/dev/null 2>&1; then
    bench_backend PostgreSQL "$PG_URL?options=-c%20search_path%3Dcrm_import_bench"
    psql "$PG_URL" -qc 'DROP SCHEMA crm_import_bench CASCADE' >/dev/null 2>&1 || true
else
    echo "PostgreSQL at $PG_URL is not reachable: skipped" >&2
fi
rm -f "$OUT"/import-*.csv "$OUT"/import-bench.sqlite3*

echo
echo "$(nproc) cores; the server's own memory is its RssAnon, largest during the step, over the step's start"
echo "| backend | rows | step | took | rows/s | own memory |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${RESULTS[@]}"
