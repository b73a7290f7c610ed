// libFuzzer target: a kubeconfig file (YAML) through the same loader the sidecar uses. The loader
// reads files (and resolves relative paths next to them), so each input is written to a file in
// a private directory first.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "kube/cluster_config.h"

namespace {

std::filesystem::path scratch_file() {
  static const std::filesystem::path path = [] {
    std::string dir = (std::filesystem::temp_directory_path() / "fuzz-kubeconfig-XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) std::abort();
    return std::filesystem::path(dir) / "config";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = scratch_file();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  const auto result = le::kube::load_kubeconfig(path);
  if (!result.ok() && result.error().empty()) std::abort();  // an error must say what is wrong
  return 0;
}
