# The lease-elector image: one statically linked binary, the CA bundle, nothing else (no shell, no
# package manager), running as a non-root user, for linux/amd64 and linux/arm64. Build it from the
# repository's root:
#   docker build -t lease-elector .          (or: buildah bud -t lease-elector .)
#   docker buildx build --platform linux/amd64,linux/arm64 -t lease-elector .   (on amd64)
#   buildah bud --platform linux/arm64 --build-arg BUILDPLATFORM=linux/amd64 -t lease-elector:arm64 .
#     (buildah 1.28 does not set BUILDPLATFORM itself; without it a cross build fails with
#     "image not known")
# CI builds both platforms and runs them offline with buildah, the arm64 binary under qemu
# (.ci/image), and writes them as one multi-platform manifest list.

# Build stage: the README's build (Debian's packages via .ci/install-deps, then CMake), except that
# OpenSSL is built from Debian's openssl source with only what a kube-apiserver client uses, libcurl
# from Debian's curl source for HTTP(S) only, and every library is linked in. It runs on the build
# machine's platform and builds for the target's: another architecture is cross-compiled with
# Debian's cross toolchain and the target's libraries (image/target), never built under emulation.
ARG BUILDPLATFORM
FROM --platform=$BUILDPLATFORM debian:bookworm AS build
# The target's architecture (amd64, arm64); empty without BuildKit or buildah: the build machine's.
ARG TARGETARCH
ENV DEBIAN_FRONTEND=noninteractive
COPY .ci/install-deps /src/.ci/install-deps
COPY image/target /src/image/target
RUN /src/.ci/install-deps --image "$TARGETARCH" \
 && apt-get install -y -q --no-install-recommends dpkg-dev
COPY image/deb-src-twins /src/image/deb-src-twins
COPY image/build-openssl /src/image/build-openssl
RUN /src/image/build-openssl /opt/openssl "$TARGETARCH"
COPY cmake/toolchains /src/cmake/toolchains
COPY image/build-curl /src/image/build-curl
RUN /src/image/build-curl /opt/curl /opt/openssl "$TARGETARCH"
# Only what the sidecar's build reads: with LEASE_ELECTOR_TESTS and LEASE_ELECTOR_TOOLS off, CMake
# reads nothing outside these (test/check-image-build-context, in the test command, configures a
# copy of exactly these folders with these options), and a change elsewhere keeps the layer cached.
COPY CMakeLists.txt /src/
COPY cmake /src/cmake
COPY sidecar /src/sidecar
COPY image/check-binary /src/image/check-binary
# The developers' build type (RelWithDebInfo: -O2; this build makes no debug information, and the
# binary is stripped below) and -Werror: GCC 12's -O3 warns falsely (-Wrestrict) inside
# libstdc++'s std::string.
RUN cmake -S /src -B /build -G Ninja -DLEASE_ELECTOR_WERROR=ON \
      -DLEASE_ELECTOR_TESTS=OFF -DLEASE_ELECTOR_TOOLS=OFF \
      -DLEASE_ELECTOR_STATIC=ON -DCMAKE_PREFIX_PATH=/opt/curl -DOPENSSL_ROOT_DIR=/opt/openssl \
      $(/src/image/target "$TARGETARCH" cmake-options) \
 && cmake --build /build --target lease-elector \
 && "$(/src/image/target "$TARGETARCH" cross-prefix)strip" /build/lease-elector \
 && /src/image/check-binary /build/lease-elector "$TARGETARCH"

# Final stage: nothing but what the binary opens. The CA bundle is for API servers named by a
# public CA; in-cluster the service account's own CA is used.
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /build/lease-elector /lease-elector
# A numeric user, so that Kubernetes' runAsNonRoot can verify it without an /etc/passwd.
USER 65532:65532
EXPOSE 4040
ENTRYPOINT ["/lease-elector"]
