#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>

#include <spdlog/spdlog.h>

// Tests keep quiet unless LEASE_ELECTOR_TEST_LOGS is set (e.g. to "debug").
int main(int argc, char** argv) {
  const char* level = std::getenv("LEASE_ELECTOR_TEST_LOGS");
  spdlog::set_level(level ? spdlog::level::from_str(level) : spdlog::level::off);
  doctest::Context context(argc, argv);
  return context.run();
}
