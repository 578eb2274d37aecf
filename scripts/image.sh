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
if ! ldd "$BUNDLE/server" 2>&1 | grep -qE 'not a dynamic executable|statically linked'; then
    echo "$BUNDLE/server is dynamically linked: a FROM-scratch image needs the musl build" >&2; exit 1
fi
TAG="crm:$(echo "$NAME" | cut -d- -f2-3)"
ARCHIVE="dist/$NAME-image.tar"

# Storage of its own, with the vfs driver: no daemon, no overlay mounts, nothing left behind.
WORK="$(mktemp -d)"
B=(buildah --root "$WORK/root" --runroot "$WORK/run" --storage-driver vfs)
cleanup() { "${B[@]}" rm --all >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

step "assembling $TAG from scratch"
mkdir -p "$WORK/data" "$WORK/tmp" && chmod 1777 "$WORK/tmp"
ctr="$("${B[@]}" from --quiet scratch)"
"${B[@]}" copy --quiet "$ctr" "$BUNDLE/server" "$BUNDLE/hash.txt" /app/
"${B[@]}" copy --quiet "$ctr" "$BUNDLE/site" /app/site
"${B[@]}" copy --quiet --chown 10001:10001 "$ctr" "$WORK/data" /data
"${B[@]}" copy --quiet "$ctr" "$WORK/tmp" /tmp
"${B[@]}" config \
    --user 10001:10001 --workingdir /data \
    --env DATABASE_URL=/data/crm.sqlite3 --env CRM_IMPORT_DIR=/data/imports \
    --env LEPTOS_SITE_ADDR=0.0.0.0:3000 --env LEPTOS_SITE_ROOT=/app/site \
    --env CRM_SHUTDOWN_DRAIN_SECONDS=3 \
    --volume /data --port 3000 \
    --healthcheck 'CMD ["/app/server", "healthcheck"]' \
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
config="$("${B[@]}" inspect --type image --format '{{json .Docker.Config}}' "$TAG")"
for want in '"User":"10001:10001"' '"/data":{}' '"3000/tcp":{}' '"Entrypoint":["/app/server"]' \
            '"Test":["CMD","/app/server","healthcheck"]' 'LEPTOS_SITE_ROOT=/app/site'; do
    grep -qF "$want" <<<"$config" || fail "config lacks $want: $config"
done
# The files, from the archive's one layer.
mkdir -p "$WORK/unpacked" && tar -xf "$ARCHIVE" -C "$WORK/unpacked"
layer="$(find "$WORK/unpacked" -name '*.tar' -size +1M | head -1)"
[ -n "$layer" ] || fail "no layer in $ARCHIVE"
listing="$(tar -tvf "$layer")"
for want in 'app/server$' 'app/hash.txt$' 'app/site/pkg/crm\.[0-9a-f]*\.wasm$' 'app/site/pkg/crm\.[0-9a-f]*\.wasm\.br$' \
            'app/site/pkg/crm\.[0-9a-f]*\.css$' 'app/site/favicon.svg$'; do
    grep -qE "$want" <<<"$listing" || fail "no file matching $want"
done
grep -E ' data/?$' <<<"$listing" | grep -q '10001/10001' || fail "/data is not owned by 10001"
grep -E ' tmp/?$' <<<"$listing" | grep -q '^drwxrwxrwt' || fail "/tmp is not world-writable and sticky"
echo "image $TAG: $(grep -c . <<<"$listing") files, $(stat -c %s "$ARCHIVE") bytes in $ARCHIVE"
echo "  user 10001, volume /data, port 3000, healthcheck: /app/server healthcheck"
