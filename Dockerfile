# syntax=docker/dockerfile:1
# The CRM as a container image: built with the official Rust image, run FROM scratch as a
# non-root user (the server is statically linked against musl and needs no other file).
#   docker build -t crm .
#   docker run -p 3000:3000 -v crm-data:/data crm
# compose.yaml runs it with PostgreSQL. scripts/image.sh assembles the same runtime image from
# a release bundle with buildah where no registry can be reached (the suite does).

# The newest Rust 1.x: cargo-leptos 0.3.11 needs 1.96 or later.
FROM rust:1-bookworm AS build
# Node for binaryen's wasm-opt (end2end/package.json), musl-gcc for the static server. Debian's
# stable versions, not pinned: a point release would otherwise break the build.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends musl-tools nodejs npm \
    && rm -rf /var/lib/apt/lists/*
RUN rustup target add wasm32-unknown-unknown x86_64-unknown-linux-musl
RUN cargo install cargo-leptos --version 0.3.11 --locked \
    && cargo install wasm-bindgen-cli --version 0.2.130
WORKDIR /src/end2end
COPY end2end/package.json end2end/package-lock.json ./
RUN npm ci --no-audit --no-fund
WORKDIR /src
COPY . .
ENV PATH="/src/end2end/node_modules/.bin:${PATH}" \
    LEPTOS_BIN_TARGET_TRIPLE=x86_64-unknown-linux-musl \
    LEPTOS_SITE_ROOT=target/release-site \
    LEPTOS_HASH_FILES=true \
    CC_x86_64_unknown_linux_musl=musl-gcc \
    RUSTFLAGS="--cfg erase_components"
ARG CRM_GIT_COMMIT=unknown
RUN CRM_GIT_COMMIT="${CRM_GIT_COMMIT}" cargo leptos build --release --precompress \
    && mkdir -p /out/app /out/data /out/tmp \
    && cp target/x86_64-unknown-linux-musl/release/server target/x86_64-unknown-linux-musl/release/hash.txt /out/app/ \
    && cp -r target/release-site /out/app/site \
    && chmod 1777 /out/tmp

FROM scratch
COPY --from=build /out/app /app
COPY --from=build --chown=10001:10001 /out/data /data
COPY --from=build /out/tmp /tmp
USER 10001:10001
WORKDIR /data
ENV DATABASE_URL=/data/crm.sqlite3 \
    CRM_IMPORT_DIR=/data/imports \
    LEPTOS_SITE_ADDR=0.0.0.0:3000 \
    LEPTOS_SITE_ROOT=/app/site \
    CRM_SHUTDOWN_DRAIN_SECONDS=3
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["/app/server", "healthcheck"]
ENTRYPOINT ["/app/server"]
CMD ["serve"]
