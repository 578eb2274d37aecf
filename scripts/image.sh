#!/usr/bin/env bash
# The runtime image of the Dockerfile, assembled from the release bundle with buildah: FROM
# scratch (nothing is pulled), the static server and the site in /app, a /data volume owned by
# the non-root user 10001, HEALTHCHECK on /readyz. Saved as dist/<name>-image.tar (docker
# archive: `docker load -i …` / `podman load -i …`), then checked: the files it holds and its
# configuration.
#
#   bash scripts/image.sh      after scripts/release.sh (it reads dist/latest)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/env.sh
NAME="$(cat dist/latest)"
BUNDLE="dist/$NAME"
[ -x "$BUNDLE/server" ] || { echo "no release bundle: run scripts/release.sh first" >&2; exit 1; }
linkage="$(ldd "$BUNDLE/server" 2>&1 || true)"
if ! grep -qE 'not a dynamic executable|statically linked' <<<"$linkage"; then
    echo "$BUNDLE/server is dynamically linked: a FROM-scratch image needs the musl build" >&2; exit 1
fi
TAG="crm:$(echo "$NAME" | cut -d- -f2-3)"
ARCHIVE="dist/$NAME-image.tar"

# Storage of its own, with the vfs driver: no daemon, no overlay mounts, nothing left behind.
WORK="$(mktemp -d)"
# Docker's image format: OCI's has no HEALTHCHECK.
export BUILDAH_FORMAT=docker
B=(buildah --root "$WORK/root" --runroot "$WORK/run" --storage-driver vfs)
cleanup() { "${B[@]}" rm --all >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

step "assembling $TAG from scratch"
# Staged as the image's root: buildah keeps the mode of directories below the one it copies.
mkdir -p "$WORK/fs/app" "$WORK/fs/tmp" "$WORK/owned/data" && chmod 1777 "$WORK/fs/tmp"
cp "$BUNDLE/server" "$BUNDLE/hash.txt" "$WORK/fs/app/" && cp -r "$BUNDLE/site" "$WORK/fs/app/site"
ctr="$("${B[@]}" from --quiet scratch)"
"${B[@]}" copy --quiet "$ctr" "$WORK/fs" /
"${B[@]}" copy --quiet --chown 10001:10001 "$ctr" "$WORK/owned" /
"${B[@]}" config \
    --user 10001:10001 --workingdir /data \
    --env DATABASE_URL=/data/crm.sqlite3 --env CRM_IMPORT_DIR=/data/imports \
    --env LEPTOS_SITE_ADDR=0.0.0.0:3000 --env LEPTOS_SITE_ROOT=/app/site \
    --env CRM_SHUTDOWN_DRAIN_SECONDS=3 \
    --volume /data --port 3000/tcp \
    --healthcheck 'CMD /app/server healthcheck' \
    --healthcheck-interval 10s --healthcheck-timeout 5s --healthcheck-start-period 30s --healthcheck-retries 3 \
    --entrypoint '["/app/server"]' --cmd serve \
    --label org.opencontainers.image.title=crm \
    --label org.opencontainers.image.revision="$(echo "$NAME" | cut -d- -f3)" \
    "$ctr"
"${B[@]}" commit --quiet --format docker "$ctr" "$TAG" >/dev/null
rm -f "$ARCHIVE"
"${B[@]}" push --quiet "$TAG" "docker-archive:$ARCHIVE:$TAG"

step "checking the image"
fail() { echo "image check failed: $*" >&2; exit 1; }
config="$("${B[@]}" inspect --type image "$TAG" | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["Docker"]["config"], separators=(",", ":")))')"
for want in '"User":"10001:10001"' '"/data":{}' '"3000/tcp":{}' '"Entrypoint":["/app/server"]' \
            '"Test":["CMD","/app/server","healthcheck"]' 'LEPTOS_SITE_ROOT=/app/site'; do
    grep -qF "$want" <<<"$config" || fail "config lacks $want: $config"
done
# The files, from the archive's one layer.
mkdir -p "$WORK/unpacked" && tar -xf "$ARCHIVE" -C "$WORK/unpacked"
layer="$(find "$WORK/unpacked" -name '*.tar' -size +1M | head -1)"
[ -n "$layer" ] || fail "no layer in $ARCHIVE"
listing="$(tar -tvf "$layer")"
for want in 'app/server$' 'app/hash.txt$' 'app/site/pkg/crm\.[A-Za-z0-9_-]+\.wasm$' 'app/site/pkg/crm\.[A-Za-z0-9_-]+\.wasm\.br$' \
            'app/site/pkg/crm\.[A-Za-z0-9_-]+\.css$' 'app/site/favicon.svg$'; do
    grep -qE "$want" <<<"$listing" || fail "no file matching $want"
done
grep -E ' data/?$' <<<"$listing" | grep -q '10001/10001' || fail "/data is not owned by 10001"
grep -E ' tmp/?$' <<<"$listing" | grep -q '^drwxrwxrwt' || fail "/tmp is not world-writable and sticky"
# Run it with nothing but the image's files (chroot, as user 10001): no libc, no /etc, no shell.
# The environment is the image's, but on loopback.
if [ "$(id -u)" = 0 ]; then
    CHROOT="$(command -v chroot)"
    ROOTFS="$WORK/rootfs" && mkdir -p "$ROOTFS" && tar -xf "$layer" -C "$ROOTFS"
    PORT=3290
    wasm_files=("$ROOTFS"/app/site/pkg/*.wasm)
    [ "${#wasm_files[@]}" = 1 ] || fail "the image holds ${#wasm_files[@]} wasm files: ${wasm_files[*]}"
    # A container runtime mounts /proc (the server finds hash.txt beside /proc/self/exe); here a
    # mount namespace of its own does, gone when the server stops.
    mkdir -p "$ROOTFS/proc"
    export WORK_PID="$WORK/server.pid"
    unshare --mount --fork /bin/sh -c 'mount -t proc proc "$1/proc" && shift && echo $$ > "$WORK_PID" && exec "$@"' sh "$ROOTFS" \
        env -i DATABASE_URL=/data/crm.sqlite3 CRM_IMPORT_DIR=/data/imports LEPTOS_SITE_ROOT=/app/site \
        LEPTOS_SITE_ADDR="127.0.0.1:$PORT" CRM_LOG=warn \
        "$CHROOT" --userspec=10001:10001 "$ROOTFS" /app/server serve > "$WORK/chroot.log" 2>&1 &
    server_pid=$!
    ready=""
    for _ in $(seq 1 100); do
        if env -i LEPTOS_SITE_ADDR="127.0.0.1:$PORT" "$CHROOT" --userspec=10001:10001 "$ROOTFS" /app/server healthcheck >/dev/null 2>&1; then
            ready=1; break
        fi
        sleep 0.2
    done
    page="$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/login" || true)"
    wasm="$(curl -s --max-time 10 -o /dev/null -w '%{http_code} %{content_type}' -H 'Accept-Encoding: br' \
        "http://127.0.0.1:$PORT/pkg/$(basename "${wasm_files[0]}")" || true)"
    # unshare does not pass signals on: stop the server itself.
    kill "$(cat "$WORK_PID" 2>/dev/null)" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    [ -n "$ready" ] || fail "the server did not become ready in the image's file system: $(cat "$WORK/chroot.log")"
    [ "$page" = 200 ] || fail "the sign-in page answered $page in the image's file system"
    [ "$wasm" = "200 application/wasm" ] || fail "the wasm answered $wasm"
    [ -f "$ROOTFS/data/crm.sqlite3" ] || fail "the database was not created in /data"
    echo "  ok  image: the server runs alone in its files as user 10001, healthcheck passes, /data written"
else
    echo "(not root: the image's files were not run in a chroot)"
fi
echo "  ok  image $TAG: $(grep -c . <<<"$listing") files, $(stat -c %s "$ARCHIVE") bytes in $ARCHIVE"
echo "  user 10001, volume /data, port 3000, healthcheck: /app/server healthcheck"
