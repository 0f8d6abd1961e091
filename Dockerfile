# syntax=docker/dockerfile:1
# Periscope container image: a Swift 6.3 build stage and a debian:bookworm-slim runtime stage.
#
#   docker build -t periscope .
#   docker run --rm -p 8080:8080 -v periscope-data:/var/lib/periscope periscope
#
# CPU baseline: x86-64-v3 (AVX2 + FMA + F16C: Intel Haswell / AMD Excavator and later, i.e.
# every x86-64 server CPU since 2013). Package.swift compiles every target for it; the AVX-512
# kernels are a separate target compiled for x86-64-v4 and chosen at run time from the CPU's
# flags, so the same image runs on both and is fastest on AVX-512 hosts. On an older x86-64 CPU
# the binary stops with SIGILL at start. On arm64 the portable kernels are built.
#
# Stages:
#   build     compiles `periscope` in the official Swift image (static Swift runtime and
#             Foundation, so the runtime stage needs no Swift toolchain).
#   prebuilt  takes an already compiled binary from the build context instead
#             (`--build-arg BINARY_STAGE=prebuilt`, context with `prebuilt/periscope`): how
#             scripts/container-smoke-test builds the runtime stage where no Swift image can
#             be pulled. The stage that is not selected is never built.
#   runtime   the image that runs (the last stage, so the default target).

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim
ARG BINARY_STAGE=build

# ---------------------------------------------------------------------------------------------
FROM ${SWIFT_IMAGE} AS build
# The -dev packages of the system libraries Package.swift links (its systemLibrary targets).
# Versions are pinned to the upstream release of bookworm with a glob over the Debian revision:
# the mirror keeps only the latest revision of each package, so an exact pin would break the
# build at the next security update.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        'libsqlite3-dev=3.40.1-*' 'libjpeg62-turbo-dev=1:2.1.5-*' 'libpng-dev=1.6.39-*' 'pkg-config=1.8.1-*' \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Package.swift declares the test targets too, and SwiftPM refuses a package whose target
# folders are missing, so Tests/ comes along (without its fixtures: .dockerignore); only the
# `periscope` product is compiled (the benchmark drivers, `periscope-bench`, stay out of the image:
# there `periscope bench` says the executable is missing).
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
# --static-swift-stdlib links the Swift runtime and Foundation in; the debug info is dropped
# (symbols stay, so crash backtraces are still symbolicated).
RUN swift build -c release --static-swift-stdlib --product periscope -Xlinker --strip-debug \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/periscope" /out/periscope

# ---------------------------------------------------------------------------------------------
FROM scratch AS prebuilt
COPY prebuilt/periscope /out/periscope

# ---------------------------------------------------------------------------------------------
FROM ${BINARY_STAGE} AS binary

# ---------------------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
# Only what `ldd periscope` lists beyond glibc: SQLite (registry), the C++ runtime, libjpeg-turbo
# and libpng (image decoding). No ca-certificates: the service makes no outbound TLS connection.
# Pinned like the build stage's -dev packages (upstream release, any Debian revision).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        'libsqlite3-0=3.40.1-*' 'libstdc++6=12.2.0-*' 'libjpeg62-turbo=1:2.1.5-*' 'libpng16-16=1.6.39-*' \
    && rm -rf /var/lib/apt/lists/*
# A fixed numeric uid/gid, so Kubernetes' runAsNonRoot can verify it and volume permissions
# (fsGroup) line up.
RUN groupadd --system --gid 10001 periscope \
    && useradd --system --uid 10001 --gid periscope --home-dir /var/lib/periscope --no-create-home \
        --shell /usr/sbin/nologin periscope \
    && install -d -o periscope -g periscope -m 0750 /var/lib/periscope /var/lib/periscope/models
COPY --from=binary /out/periscope /usr/local/bin/periscope
COPY deploy/container/periscope-healthcheck /usr/local/bin/periscope-healthcheck
COPY Config/ /etc/periscope/
# (models/ exists in the image, so a new volume gets it owned by periscope and weights can be
# bind-mounted read-only below it, e.g. at /var/lib/periscope/models/shared, without the runtime
# creating a root-owned models/ as their mount point.)
# The CLI in the container (`docker exec … periscope models list`) finds the same configuration,
# database and model root as the server. The registry and the weights live in the volume.
ENV PERISCOPE_CONFIG=/etc/periscope/periscope.json \
    PERISCOPE_DATA_DIR=/var/lib/periscope \
    PERISCOPE_PORT=8080
VOLUME ["/var/lib/periscope"]
WORKDIR /var/lib/periscope
USER 10001:10001
EXPOSE 8080
# SIGTERM starts the graceful drain (http.drain_timeout_ms, 10 s by default): give
# `docker stop -t` / terminationGracePeriodSeconds more than that.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 CMD ["periscope-healthcheck", "/healthz"]
ENTRYPOINT ["periscope"]
CMD ["serve", "--host", "0.0.0.0"]
