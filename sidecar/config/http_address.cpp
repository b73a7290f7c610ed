#include "config/http_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <utility>

namespace le::config {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5 || !std::all_of(text.begin(), text.end(), is_digit)) {
    return std::nullopt;
  }
  unsigned value = 0;
  for (char c : text) value = value * 10 + static_cast<unsigned>(c - '0');
  if (value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

bool is_ip_address(int family, const std::string& text) {
  std::array<unsigned char, 16> buffer{};
  return inet_pton(family, text.c_str(), buffer.data()) == 1;
}

// A host name or IPv4 address: DNS characters only. Resolution happens when the server binds.
bool is_host_name(std::string_view host) {
  if (host.size() > 253) return false;
  const bool dotted_digits =
      std::all_of(host.begin(), host.end(), [](char c) { return is_digit(c) || c == '.'; });
  if (dotted_digits) return is_ip_address(AF_INET, std::string(host));
  return std::all_of(host.begin(), host.end(), [](char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.';
  });
}

}  // namespace

std::optional<HttpAddress> parse_http_address(std::string_view text) {
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
    if (!is_ip_address(AF_INET6, host)) return std::nullopt;
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;  // "4040" or "localhost": no port
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (host.empty()) {
      host = "0.0.0.0";
    } else if (host.find(':') != std::string::npos || !is_host_name(host)) {
      return std::nullopt;
    }
  }
  const auto port = parse_port(port_text);
  if (!port) return std::nullopt;
  return HttpAddress{std::move(host), *port};
}

std::optional<HttpUrl> parse_http_url(std::string_view text) {
  constexpr std::string_view scheme = "http://";
  if (!text.starts_with(scheme)) return std::nullopt;
  const bool printable = std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < 0x7f; });
  if (!printable || text.find('#') != std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(scheme.size());
  const auto path_at = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, path_at);
  HttpUrl url;
  if (path_at != std::string_view::npos) {
    url.target = std::string(rest.substr(path_at));
    if (url.target.front() == '?') url.target.insert(0, "/");
  }
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  // The host and port as --http takes them, with the port optional.
  const bool bracketed = authority.front() == '[';
  const auto close = authority.find(']');
  const auto colon = authority.rfind(':');
  const bool has_port =
      colon != std::string_view::npos && (!bracketed || (close != std::string_view::npos && colon > close));
  const auto address = parse_http_address(has_port ? authority : std::string(authority) + ":80");
  if (!address || address->port == 0) return std::nullopt;
  if (!bracketed && authority.starts_with(":")) return std::nullopt;  // no host at all
  url.host = address->host;
  url.port = address->port;
  return url;
}

}  // namespace le::config
