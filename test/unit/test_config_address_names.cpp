#include <doctest/doctest.h>

#include <string>

#include "config/http_address.h"
#include "config/kube_names.h"

using le::config::is_dns1123_label;
using le::config::is_dns1123_subdomain;
using le::config::parse_http_address;

TEST_CASE("--http addresses in Go's HOST:PORT form") {
  struct Case {
    const char* text;
    const char* host;
    int port;
  };
  const Case cases[] = {
      {"0.0.0.0:4040", "0.0.0.0", 4040}, {"localhost:4040", "localhost", 4040},
      {":4040", "0.0.0.0", 4040},        {"[::]:4040", "::", 4040},
      {"[::1]:4040", "::1", 4040},       {"127.0.0.1:0", "127.0.0.1", 0},
      {":65535", "0.0.0.0", 65535},      {"my-host.example:80", "my-host.example", 80},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const auto address = parse_http_address(c.text);
    REQUIRE(address.has_value());
    CHECK(address->host == c.host);
    CHECK(address->port == c.port);
  }
  for (const char* bad :
       {"", "4040", "localhost", ":", "0.0.0.0:", ":65536", ":-1", ":+80", ":http", "::1:4040", "[::1]",
        "[::1]4040", "[nothost]:80", "[]:80", "1.2.3.256:80", "a b:80", "host:80:81", ":123456"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_http_address(bad).has_value());
  }
}

TEST_CASE("Lease names are DNS-1123 subdomains, namespaces DNS-1123 labels") {
  for (const char* good : {"a", "my-lease", "my.lease.v1", "0", "a-b.c-d", "9lives"}) {
    CAPTURE(good);
    CHECK(is_dns1123_subdomain(good));
  }
  for (const char* bad : {"", "My-Lease", "-a", "a-", ".a", "a.", "a..b", "a.-b", "a_b", "a b", "ä"}) {
    CAPTURE(bad);
    CHECK_FALSE(is_dns1123_subdomain(bad));
  }
  CHECK(is_dns1123_subdomain(std::string(253, 'a')));
  CHECK_FALSE(is_dns1123_subdomain(std::string(254, 'a')));

  CHECK(is_dns1123_label("default"));
  CHECK(is_dns1123_label("kube-system"));
  CHECK(is_dns1123_label(std::string(63, 'a')));
  CHECK_FALSE(is_dns1123_label(std::string(64, 'a')));
  CHECK_FALSE(is_dns1123_label("a.b"));
  CHECK_FALSE(is_dns1123_label("Default"));
  CHECK_FALSE(is_dns1123_label("-a"));
}
