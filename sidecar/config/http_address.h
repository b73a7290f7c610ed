#pragma once
// The --http listen address, in the HOST:PORT form of Go's net.Listen (which the classic
// leader-elector image used): "0.0.0.0:4040", "localhost:4040", ":4040", "[::1]:4040".
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace le::config {

struct HttpAddress {
  std::string host;  // without brackets; "0.0.0.0" when the text left it empty
  std::uint16_t port = 0;
};

// An empty host means every interface, as in Go; we bind IPv4's 0.0.0.0 for it (write "[::]:PORT"
// for IPv6). Port 0 is accepted: the kernel picks a free port, which tests use. An IPv6 address
// must be in brackets, since its colons would otherwise be ambiguous with the port's.
std::optional<HttpAddress> parse_http_address(std::string_view text);

// --app-health-url: an http:// URL on the app, as the kubelet's httpGet probe would ask it.
struct HttpUrl {
  std::string host;          // without brackets
  std::uint16_t port = 80;   // 80 when the URL names none
  std::string target = "/";  // path and query, as sent in the request line
};

// "http://HOST[:PORT][/PATH[?QUERY]]" with HOST a name, an IPv4 address or a bracketed IPv6 address.
// nullopt for anything else: another scheme (the app is in the same Pod; no TLS), user info, a
// fragment, spaces or control characters, port 0.
std::optional<HttpUrl> parse_http_url(std::string_view text);

}  // namespace le::config
