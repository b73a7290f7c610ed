// --install-to: the binary copies itself (run mode's init container), atomically and executable.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "run/install.h"

namespace fs = std::filesystem;

namespace {

std::string contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("install_self copies this executable, mode 0755, over whatever was there") {
  const fs::path dir = fs::temp_directory_path() / ("lease-elector-install-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string target = (dir / "lease-elector").string();
  std::ofstream(target) << "an older copy";
  const auto old_umask = umask(077);  // the copy must be runnable by the app's user anyway
  const auto error = le::run::install_self(target);
  umask(old_umask);
  CHECK_FALSE(error);
  CHECK(contents(target) == contents("/proc/self/exe"));
  struct stat info {};
  REQUIRE(stat(target.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0755);
  // Nothing left beside it.
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
  fs::remove_all(dir);
}

TEST_CASE("install_self to a directory refuses before copying anything") {
  const auto error = le::run::install_self("/tmp");
  REQUIRE(error);
  CHECK(*error == "cannot install to /tmp: Is a directory");
}

TEST_CASE("install_self into a directory that does not exist says so") {
  const auto error = le::run::install_self("/nonexistent-dir/lease-elector");
  REQUIRE(error);
  CHECK(error->find("cannot create /nonexistent-dir/lease-elector.tmp-") == 0);
  CHECK(error->find("No such file or directory") != std::string::npos);
}
