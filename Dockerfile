# The lease-elector image: one statically linked binary, the CA bundle, nothing else (no shell, no
# package manager), running as a non-root user. Build it from the repository's root:
#   docker build -t lease-elector .          (or: buildah bud -t lease-elector .)
# CI builds and runs it offline with buildah (.ci/image).

# Build stage: the README's build (Debian's packages via .ci/install-deps, then CMake), except that
# OpenSSL is built from Debian's openssl source with only what a kube-apiserver client uses, libcurl
# from Debian's curl source for HTTP(S) only, and every library is linked in.
FROM debian:bookworm AS build
ENV DEBIAN_FRONTEND=noninteractive
COPY .ci/install-deps /src/.ci/install-deps
RUN /src/.ci/install-deps --image \
 && apt-get install -y -q --no-install-recommends dpkg-dev
COPY image/deb-src-twins /src/image/deb-src-twins
COPY image/build-openssl /src/image/build-openssl
RUN /src/image/build-openssl /opt/openssl
COPY image/build-curl /src/image/build-curl
RUN /src/image/build-curl /opt/curl /opt/openssl
# Only what the sidecar's build reads: with LEASE_ELECTOR_TESTS and LEASE_ELECTOR_TOOLS off, CMake
# reads nothing outside these (test/check-image-build-context, in the test command, configures a
# copy of exactly these folders with these options), and a change elsewhere keeps the layer cached.
COPY CMakeLists.txt /src/
COPY cmake /src/cmake
COPY sidecar /src/sidecar
# The developers' build type (RelWithDebInfo: -O2, stripped below) and -Werror: GCC 12's -O3 warns
# falsely (-Wrestrict) inside libstdc++'s std::string.
RUN cmake -S /src -B /build -G Ninja -DLEASE_ELECTOR_WERROR=ON \
      -DLEASE_ELECTOR_TESTS=OFF -DLEASE_ELECTOR_TOOLS=OFF \
      -DLEASE_ELECTOR_STATIC=ON -DCMAKE_PREFIX_PATH=/opt/curl -DOPENSSL_ROOT_DIR=/opt/openssl \
 && cmake --build /build --target lease-elector \
 && strip /build/lease-elector \
 && /build/lease-elector --help >/dev/null

# Final stage: nothing but what the binary opens. The CA bundle is for API servers named by a
# public CA; in-cluster the service account's own CA is used.
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /build/lease-elector /lease-elector
# A numeric user, so that Kubernetes' runAsNonRoot can verify it without an /etc/passwd.
USER 65532:65532
EXPOSE 4040
ENTRYPOINT ["/lease-elector"]
