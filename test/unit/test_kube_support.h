#pragma once
// Helpers shared by the kube module's unit tests (not a test binary itself: only test_*.cpp are).
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "kube/file_util.h"

namespace le::kube::testing {

inline std::string fixture(const std::string& name) {
  const auto path = std::filesystem::path(LEASE_ELECTOR_FIXTURES_DIR) / "k8s-api-samples" / name;
  auto content = read_file(path);
  if (!content) throw std::runtime_error("missing fixture " + path.string());
  return *content;
}

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("lease-elector-kube-test-" + std::to_string(random()) + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& relative, const std::string& content) const {
    const auto file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
    return file;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace le::kube::testing
