# Cross-compiling for linux/arm64 on an amd64 Debian machine, with Debian's cross toolchain
# (crossbuild-essential-arm64) and the target's libraries as Debian multiarch packages (for
# example libyaml-cpp-dev:arm64, in /usr/lib/aarch64-linux-gnu). The container image's arm64 build
# uses it (image/target says how), as do OpenSSL and libcurl built for it:
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake ...
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# The cross C library and libstdc++ live under /usr/aarch64-linux-gnu. Libraries are searched on the
# host paths too: the compiler's multiarch folder (CMAKE_LIBRARY_ARCHITECTURE, aarch64-linux-gnu)
# holds the target's Debian libraries, and the image's own OpenSSL and libcurl are named by prefix.
# The headers the sidecar uses from the host's packages (Boost, nlohmann/json, spdlog, fmt) are the
# same for every architecture. An amd64 library picked by mistake fails the link ("incompatible"),
# and the image's build checks the binary's ELF machine.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
