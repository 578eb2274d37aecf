#!/usr/bin/env bash
# The deployment test (README, "Deploy"): on loopback only, Caddy (`tls internal`) in front of two
# release servers started at the same moment on one fresh PostgreSQL database. It checks, and
# fails on the first thing that does not hold:
#   1. both servers start (one migrates the empty database, the other waits) and pages load
#      over HTTPS through the proxy;
#   2. with CRM_PUBLIC_URL=https://… the session cookie is Secure, HttpOnly and __Host- named;
#   3. a sign-in through one server is valid on the other, and the proxy uses both;
#   4. X-Forwarded-For is believed only from the trusted proxy: a client forging it through the
#      proxy, or sending it straight to a server, cannot escape sign-in throttling, nor burn
#      somebody else's budget;
#   5. periodic work ran on one server only (its lease in the database);
#   6. a rolling restart (each server stopped gracefully and started again in turn) during a
#      wrk run loses no request: 0 socket errors, 0 responses other than 200;
#   7. /metrics is refused through the proxy and answers the allowed address;
# and stops everything it started, whatever happened.
#
#   bash scripts/deploy-test.sh      after scripts/release.sh (it runs dist/latest's server)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/env.sh
NAME="$(cat dist/latest)"
BIN="$PWD/dist/$NAME/server"
[ -x "$BIN" ] || { echo "no release bundle: run scripts/release.sh first" >&2; exit 1; }
for tool in caddy wrk psql curl; do command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/setup.sh" >&2; exit 1; }; done

HTTPS_PORT="${DEPLOY_TEST_PORT:-8443}"
PORTS=(3201 3202)
PUBLIC="https://127.0.0.1:$HTTPS_PORT"
SCHEMA="crm_deploy_$$"
WORK="$(mktemp -d)"
DB_URL="$PG_URL?options=-c%20search_path%3D$SCHEMA"
PASSWORD="Kennwort-für-Überprüfung-7"
declare -A PIDS=()

cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
    if [ "$rc" != 0 ]; then
        echo "deploy test FAILED; the servers' and Caddy's last log lines:" >&2
        for log in "$WORK"/*.log; do echo "--- $log" >&2; tail -20 "$log" >&2; done
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { printf '  ok  %s\n' "$*"; }

start_server() {  # $1: index
    local port="${PORTS[$1]}"
    DATABASE_URL="$DB_URL" LEPTOS_SITE_ADDR="127.0.0.1:$port" CRM_PUBLIC_URL="$PUBLIC" \
        CRM_TRUSTED_PROXIES=127.0.0.1 CRM_METRICS_ALLOW=127.0.0.9 CRM_SHUTDOWN_DRAIN_SECONDS="${DEPLOY_TEST_DRAIN:-3}" \
        CRM_IMPORT_DIR="$WORK/imports-$1" CRM_LOG="info,server=debug" CRM_LOG_FORMAT=json \
        "$BIN" serve >> "$WORK/server-$1.log" 2>&1 &
    PIDS[server$1]=$!
}
wait_ready() {  # $1: url; up to 60 s
    for _ in $(seq 1 300); do curl -sf -o /dev/null "$1/readyz" && return 0; sleep 0.2; done
    fail "$1 did not become ready"
}
stop_server() {  # $1: index; a graceful stop, as systemd or an orchestrator sends it
    # DEPLOY_TEST_STOP_SIGNAL=KILL shows what the test catches: a crash loses requests.
    kill -"${DEPLOY_TEST_STOP_SIGNAL:-TERM}" "${PIDS[server$1]}"
    wait "${PIDS[server$1]}" || [ "${DEPLOY_TEST_STOP_SIGNAL:-TERM}" != TERM ] || fail "server $1 did not stop cleanly"
    unset "PIDS[server$1]"
}
# curl through the proxy, verifying its certificate, from client address $1.
via_proxy() { local from="$1"; shift; curl -s --interface "$from" --cacert "$CA" "$@"; }

step "deployment test: Caddy + 2 × $NAME on PostgreSQL schema $SCHEMA"
psql "$PG_URL" -qc "CREATE SCHEMA $SCHEMA" >/dev/null

# 1. Two servers at the same moment on the empty database.
start_server 0; start_server 1
for port in "${PORTS[@]}"; do wait_ready "http://127.0.0.1:$port"; done
ok "two servers started together on an empty database; both ready"
version="$(curl -s "http://127.0.0.1:${PORTS[0]}/healthz")"
grep -q "\"commit\":\"$(echo "$NAME" | cut -d- -f3)\"" <<<"$version" || fail "/healthz: $version"
ok "/healthz reports version and commit: $version"

cat > "$WORK/Caddyfile" <<CADDY
{
	admin off
	auto_https disable_redirects
	skip_install_trust
	http_port 18080
	storage file_system $WORK/caddy
}
https://127.0.0.1:$HTTPS_PORT {
	bind 127.0.0.1
	tls internal
	respond /metrics 404
	reverse_proxy 127.0.0.1:${PORTS[0]} 127.0.0.1:${PORTS[1]} {
		health_uri /readyz
		health_interval 500ms
		health_timeout 2s
		lb_policy round_robin
		lb_try_duration ${DEPLOY_TEST_PROXY_RETRY:-0s}
		lb_try_interval 100ms
		header_down X-Upstream {http.reverse_proxy.upstream.hostport}
	}
}
CADDY
XDG_DATA_HOME="$WORK/xdg" XDG_CONFIG_HOME="$WORK/xdg" caddy run --adapter caddyfile --config "$WORK/Caddyfile" \
    > "$WORK/caddy.log" 2>&1 &
PIDS[caddy]=$!
CA="$WORK/caddy/pki/authorities/local/root.crt"
for _ in $(seq 1 100); do [ -f "$CA" ] && curl -s --cacert "$CA" -o /dev/null "$PUBLIC/login" && break; sleep 0.2; done
status="$(via_proxy 127.0.0.1 -o "$WORK/login.html" -w '%{http_code}' "$PUBLIC/login")"
[ "$status" = 200 ] && grep -q '<h1' "$WORK/login.html" || fail "the sign-in page over HTTPS answered $status"
ok "the sign-in page loads over HTTPS through Caddy, its certificate verified"

CRM_ADMIN_PASSWORD="$PASSWORD" DATABASE_URL="$DB_URL" CRM_LOG=warn "$BIN" create-admin \
    --email "zoë.admin@example.org" --name "Zoë Ångström" >/dev/null

sign_in() {  # $1: client address, $2: email, $3: password, then extra curl args; prints status and cookie
    local from="$1" email="$2" password="$3"; shift 3
    via_proxy "$from" -o /dev/null -D "$WORK/headers" -w '%{http_code}' -X POST "$PUBLIC/api/public/login" \
        -H 'Accept: application/json' -H 'Sec-Fetch-Site: same-origin' \
        --data-urlencode "email=$email" --data-urlencode "password=$password" "$@"
}

# 2. The cookie.
status="$(sign_in 127.0.0.2 "zoë.admin@example.org" "$PASSWORD")"
set_cookie="$(grep -i '^set-cookie: __Host-crm_session=' "$WORK/headers" | tail -1 | tr -d '\r')"
[ -n "$set_cookie" ] || fail "sign-in answered $status without a __Host-crm_session cookie: $(cat "$WORK/headers")"
for attr in Secure HttpOnly 'SameSite=' 'Path=/'; do
    grep -qi "$attr" <<<"$set_cookie" || fail "the session cookie lacks $attr: $set_cookie"
done
grep -qi 'Domain=' <<<"$set_cookie" && fail "a __Host- cookie must not name a domain: $set_cookie"
COOKIE="$(sed 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/' <<<"$set_cookie")"
ok "CRM_PUBLIC_URL=https://…: the session cookie is __Host-crm_session; Secure; HttpOnly; SameSite; Path=/"

# 3. One sign-in, both servers.
for port in "${PORTS[@]}"; do
    status="$(curl -s -o "$WORK/staff.html" -w '%{http_code}' -H "Cookie: $COOKIE" "http://127.0.0.1:$port/staff")"
    [ "$status" = 200 ] && grep -q 'Zoë Ångström' "$WORK/staff.html" || fail "server :$port answered $status to the signed-in cookie"
done
declare -A SEEN=()
for _ in 1 2 3 4 5 6; do
    upstream="$(via_proxy 127.0.0.2 -o /dev/null -D - -H "Cookie: $COOKIE" "$PUBLIC/staff" | sed -n 's/^[Xx]-[Uu]pstream: \(.*\)\r$/\1/p')"
    SEEN[$upstream]=1
done
[ "${#SEEN[@]}" = 2 ] || fail "the proxy did not use both servers: ${!SEEN[*]}"
ok "a sign-in through one server is valid on the other; Caddy sent pages to both (${!SEEN[*]})"

# 4. Throttling by the client's real address. 25 failed sign-ins (each for another address book
# entry, so only the per-address limit applies) from 127.0.0.2 through the proxy, each forging a
# new X-Forwarded-For: the server believes only the address Caddy appended.
for i in $(seq 1 25); do
    sign_in 127.0.0.2 "nobody-$i@example.org" wrong -H "X-Forwarded-For: 198.51.100.$i" >/dev/null
done
status="$(sign_in 127.0.0.2 "zoë.admin@example.org" "$PASSWORD")"
[ "$status" != 200 ] || fail "127.0.0.2 forged X-Forwarded-For through the proxy and escaped the throttle"
status="$(sign_in 127.0.0.3 "zoë.admin@example.org" "$PASSWORD")"
[ "$status" = 200 ] || fail "127.0.0.3 was throttled for 127.0.0.2's failures (answered $status)"
ok "through the proxy, forged X-Forwarded-For does not escape the throttle; another client signs in"
# Straight to a server (not the trusted proxy), claiming to be 127.0.0.5: the header is ignored.
for i in $(seq 1 25); do
    curl -s -o /dev/null --interface 127.0.0.4 -X POST "http://127.0.0.1:${PORTS[$((i % 2))]}/api/public/login" \
        -H 'Accept: application/json' -H 'X-Forwarded-For: 127.0.0.5' \
        --data-urlencode "email=nobody-direct-$i@example.org" --data-urlencode password=wrong
done
status="$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.4 -X POST "http://127.0.0.1:${PORTS[0]}/api/public/login" \
    -H 'Accept: application/json' -H 'X-Forwarded-For: 127.0.0.6' \
    --data-urlencode "email=zoë.admin@example.org" --data-urlencode "password=$PASSWORD")"
[ "$status" != 200 ] || fail "127.0.0.4 escaped the throttle with X-Forwarded-For sent straight to a server"
status="$(sign_in 127.0.0.5 "zoë.admin@example.org" "$PASSWORD")"
[ "$status" = 200 ] || fail "127.0.0.4's forged header burnt 127.0.0.5's budget (answered $status)"
ok "straight to a server, X-Forwarded-For is ignored: the sender is throttled, the named address is not"

# 5. Periodic work on one server.
leases="$(psql "$DB_URL" -tAc "SELECT name || '=' || holder FROM leases ORDER BY name")"
[ "$(grep -c . <<<"$leases")" = 2 ] || fail "expected the session clean-up's and segment sync's leases: $leases"
holders="$(cut -d= -f2 <<<"$leases" | sort -u | wc -l)"
waiting="$(cat "$WORK"/server-*.log | grep -c 'another server holds this job' || true)"
[ "$waiting" -ge 2 ] || fail "no server stood aside for the other's lease (logs: $waiting lines)"
ok "periodic work ran once: leases $(tr '\n' ' ' <<<"$leases")(holders: $holders; the other server stood aside $waiting times)"

# 6. Rolling restart under load. The load is the CSV export of 3,000 contacts (about half a
# second each). Caddy does not retry here (lb_try_duration 0s; DEPLOY_TEST_PROXY_RETRY sets it),
# so what keeps requests whole is the servers' own stop: /readyz says "draining", Caddy's health
# check takes the server out, in-flight answers finish. The controls, run by hand:
# DEPLOY_TEST_STOP_SIGNAL=KILL (a crash) and DEPLOY_TEST_DRAIN=0 (no drain) both lose requests.
DATABASE_URL="$DB_URL" CRM_LOG=warn "$BIN" seed-demo --contacts 3000 >/dev/null
cat > "$WORK/count.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init() other = 0 end
function response(status) if status ~= 200 then other = other + 1 end end
function done(summary)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("other") end
  local e = summary.errors
  io.write(string.format("RESULT requests=%d not200=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, n, e.connect, e.read, e.write, e.timeout))
end
LUA
DURATION=24
wrk -t2 -c8 -d"${DURATION}s" --timeout 10s -H "Cookie: $COOKIE" -s "$WORK/count.lua" "$PUBLIC/staff/contacts/export.csv" \
    > "$WORK/wrk.out" 2>&1 &
PIDS[wrk]=$!
sleep 3
for i in 0 1; do
    stop_server "$i"
    start_server "$i"
    wait_ready "http://127.0.0.1:${PORTS[$i]}"
    sleep 2   # Caddy's next health check sees it back
done
wait "${PIDS[wrk]}" || fail "wrk failed: $(cat "$WORK/wrk.out")"
unset 'PIDS[wrk]'
result="$(grep '^RESULT' "$WORK/wrk.out")" || fail "wrk printed no result: $(cat "$WORK/wrk.out")"
grep -q 'not200=0 connect=0 read=0 write=0 timeout=0' <<<"$result" || fail "requests were lost: $result"
requests="$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$result")"
[ "$requests" -gt 50 ] || fail "too few requests to mean anything: $result"
ok "rolling restart of both servers during ${DURATION} s of wrk: $result"

# 7. Metrics.
status="$(via_proxy 127.0.0.9 -o /dev/null -w '%{http_code}' "$PUBLIC/metrics")"
[ "$status" = 404 ] || fail "/metrics through the proxy answered $status"
status="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORTS[0]}/metrics")"
[ "$status" = 404 ] || fail "/metrics from a not-allowed address answered $status"
curl -s --interface 127.0.0.9 "http://127.0.0.1:${PORTS[0]}/metrics" | grep -q '^crm_http_requests_total{' \
    || fail "/metrics from the allowed address has no request counts"
ok "/metrics: 404 through the proxy and from other addresses, figures for the allowed one"

grep -q '"request"' "$WORK/server-0.log" && grep -q '"id":"' "$WORK/server-0.log" \
    || fail "the JSON logs carry no request id"
ok "CRM_LOG_FORMAT=json: log lines are JSON with the request's id"
echo "deployment test passed"
