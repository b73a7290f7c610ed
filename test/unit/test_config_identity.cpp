#include <doctest/doctest.h>

#include <regex>

#include "config/identity.h"

using le::config::default_identity;
using le::util::map_environment;

TEST_CASE("the identity is POD_NAME from the Downward API when it is set") {
  CHECK(default_identity(
            map_environment({{"POD_NAME", "web-7f9c-abcde"}}), [] { return std::string("node-1"); },
            [] { return 0x1234u; }) == "web-7f9c-abcde");
}

TEST_CASE("without POD_NAME, the hostname plus a random suffix (hostNetwork Pods share the hostname)") {
  CHECK(default_identity(
            map_environment({}), [] { return std::string("node-1"); }, [] { return 0xbeefu; }) ==
        "node-1-0000beef");
  CHECK(default_identity(
            map_environment({}), [] { return std::string(); }, [] { return 1u; }) ==
        "lease-elector-00000001");
  // The real sources: two processes on one host get different identities.
  const auto a = default_identity(map_environment({}));
  const auto b = default_identity(map_environment({}));
  CHECK(std::regex_match(a, std::regex(".+-[0-9a-f]{8}")));
  CHECK(a != b);
}
