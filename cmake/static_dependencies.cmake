# The container image's build (LEASE_ELECTOR_STATIC=ON): every dependency linked in, so the image
# holds one binary and a CA bundle. Why: Debian's shared libcurl loads 33 libraries the sidecar never
# uses, most of its resident memory. The developer build keeps Debian's shared libraries.
#
# Needs a static libcurl with its CMake package, as image/build-curl installs it; name its prefix in
# CMAKE_PREFIX_PATH. OpenSSL is the one image/build-openssl builds (OPENSSL_ROOT_DIR; without it,
# Debian's static archives, which bring 2.3 MB of code more); yaml-cpp and the C/C++ runtimes come
# as Debian's static archives; spdlog and fmt, which Debian ships only as shared libraries, are used
# header-only.

set(OPENSSL_USE_STATIC_LIBS TRUE)
find_package(OpenSSL 3 REQUIRED)
message(STATUS "The image links ${OPENSSL_CRYPTO_LIBRARY} and ${OPENSSL_SSL_LIBRARY}")

# The CMake package of a libcurl built from source carries its OpenSSL dependency; FindCURL's
# fallback would find Debian's libcurl.a, which needs a dozen libraries with no static archive.
find_package(CURL CONFIG REQUIRED)
get_target_property(lease_elector_curl_type CURL::libcurl TYPE)
if(NOT lease_elector_curl_type STREQUAL "STATIC_LIBRARY")
  message(FATAL_ERROR "LEASE_ELECTOR_STATIC needs a static libcurl, but ${CURL_DIR} describes a "
                      "${lease_elector_curl_type}: build one with image/build-curl PREFIX and pass "
                      "-DCMAKE_PREFIX_PATH=PREFIX")
endif()

find_library(LEASE_ELECTOR_YAML_CPP_ARCHIVE NAMES libyaml-cpp.a REQUIRED)
find_path(LEASE_ELECTOR_YAML_CPP_INCLUDE yaml-cpp/yaml.h REQUIRED)
add_library(yaml-cpp STATIC IMPORTED)
set_target_properties(yaml-cpp PROPERTIES
  IMPORTED_LOCATION ${LEASE_ELECTOR_YAML_CPP_ARCHIVE}
  INTERFACE_INCLUDE_DIRECTORIES ${LEASE_ELECTOR_YAML_CPP_INCLUDE})

# Same target name as spdlog's own package, so the modules link spdlog::spdlog in both builds.
find_path(LEASE_ELECTOR_SPDLOG_INCLUDE spdlog/spdlog.h REQUIRED)
find_path(LEASE_ELECTOR_FMT_INCLUDE fmt/format.h REQUIRED)
add_library(spdlog::spdlog INTERFACE IMPORTED)
set_target_properties(spdlog::spdlog PROPERTIES
  INTERFACE_COMPILE_DEFINITIONS "SPDLOG_FMT_EXTERNAL;FMT_HEADER_ONLY=1"
  INTERFACE_INCLUDE_DIRECTORIES "${LEASE_ELECTOR_SPDLOG_INCLUDE};${LEASE_ELECTOR_FMT_INCLUDE}"
  INTERFACE_LINK_LIBRARIES Threads::Threads)

# glibc's static getaddrinfo still works for numeric addresses and /etc/hosts without NSS modules;
# in-cluster the API server is named by the IP in KUBERNETES_SERVICE_HOST.
target_link_options(lease_elector_options INTERFACE -static)
