# seccomp-gate: the webhook server and the node-side profile sync, one binary.
#   docker build -t seccomp-gate:0.1.0 .
# Build on Debian 12 with the compiler, flags and libraries CI uses; run on Debian 12 slim with
# the binary and its shared libraries only, as uid 65532.
ARG DEBIAN_RELEASE=bookworm

FROM debian:${DEBIAN_RELEASE} AS build
# The build half of .ci/install-deps (no tests here: no doctest, clang, python or curl).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libboost-dev libssl-dev nlohmann-json3-dev libyaml-cpp-dev libsimdjson-dev \
      libseccomp-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The ci preset: Release, warnings as errors. Only the binary: no tests, no benchmarks.
RUN cmake --preset ci -DSECCOMP_GATE_TESTS=OFF -DSECCOMP_GATE_BENCH=OFF \
 && cmake --build --preset ci --target seccomp-gate \
 && install -D -m 0755 -s build/ci/cli/seccomp-gate /out/seccomp-gate

FROM debian:${DEBIAN_RELEASE}-slim
# The shared libraries of `ldd seccomp-gate` (libc, libgcc and libstdc++ come with the image);
# test/manifests/check.sh compares this list with the libraries a fresh build links.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libssl3 libyaml-cpp0.7 libsimdjson14 libseccomp2 libstdc++6 libgcc-s1 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*
COPY --from=build /out/seccomp-gate /usr/local/bin/seccomp-gate
# Fail the build, not the pod, when a library is missing.
RUN if ldd /usr/local/bin/seccomp-gate | grep 'not found'; then exit 1; fi \
 && /usr/local/bin/seccomp-gate --help >/dev/null
LABEL org.opencontainers.image.title="seccomp-gate" \
      org.opencontainers.image.description="Kubernetes admission webhook that keeps every container under a seccomp filter" \
      org.opencontainers.image.version="0.1.0"
# Numeric, so that runAsNonRoot can verify it; no passwd entry is needed.
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/seccomp-gate"]
CMD ["--help"]
