#include "config/proxy.h"

#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <charconv>
#include <chrono>
#include <utility>

#include "config/flags.h"
#include "config/http_address.h"
#include "util/duration.h"

namespace le::config {
namespace {

using std::chrono::nanoseconds;

constexpr std::array proxy_settings{Setting::proxy_listen,        Setting::proxy_upstream,
                                    Setting::proxy_mode,          Setting::proxy_follower,
                                    Setting::proxy_trusted_cidrs, Setting::proxy_connect_timeout,
                                    Setting::proxy_idle_timeout,  Setting::proxy_max_body};
constexpr std::array follower_modes{std::pair{Config::Proxy::Follower::forward, "forward"},
                                    std::pair{Config::Proxy::Follower::reject, "reject"},
                                    std::pair{Config::Proxy::Follower::redirect, "redirect"}};
constexpr std::array proxy_modes{std::pair{Config::Proxy::Mode::http, "http"},
                                 std::pair{Config::Proxy::Mode::tcp, "tcp"}};
constexpr std::chrono::hours kMaxTimeout{24};

std::optional<std::string> read_timeout(const RawValue* raw, nanoseconds& out) {
  if (!raw) return std::nullopt;
  const auto parsed = util::parse_go_duration(raw->text);
  if (!parsed) return cite(*raw) + " is not a duration: use Go syntax such as 500ms, 5s or 1m";
  if (*parsed <= nanoseconds::zero()) return cite(*raw) + " must be greater than zero";
  if (*parsed > kMaxTimeout) return cite(*raw) + " must be at most " + util::format_go_duration(kMaxTimeout);
  out = *parsed;
  return std::nullopt;
}

// Sets `out` to the value spelled `text` in `table`; false when no spelling matches.
template <typename Table, typename Value>
bool lookup(const Table& table, const std::string& text, Value& out) {
  for (const auto& [value, spelling] : table) {
    if (text == spelling) {
      out = value;
      return true;
    }
  }
  return false;
}

bool is_cidr(const std::string& text) {
  boost::system::error_code ec;
  if (text.find(':') != std::string::npos) {
    (void)boost::asio::ip::make_network_v6(text, ec);
  } else {
    (void)boost::asio::ip::make_network_v4(text, ec);
  }
  return !ec && text.find('/') != std::string::npos;
}

}  // namespace

std::optional<std::uint64_t> parse_byte_size(std::string_view text) {
  std::uint64_t shift = 0;
  for (const auto& [suffix, bits] : {std::pair{"Ki", 10}, std::pair{"Mi", 20}, std::pair{"Gi", 30}}) {
    if (text.size() > 2 && text.substr(text.size() - 2) == suffix) {
      shift = bits;
      text.remove_suffix(2);
      break;
    }
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  if (value > (std::uint64_t{1} << (62 - shift))) return std::nullopt;
  return value << shift;
}

std::optional<std::string> resolve_proxy(const RawSettings& raw, Config& config) {
  if (config.route != RouteMode::proxy) {
    for (const Setting setting : proxy_settings) {
      if (const RawValue* given = find(raw, setting)) {
        return given->source + " needs --route proxy (the proxy is off in every other routing mode)";
      }
    }
    return std::nullopt;
  }
  Config::Proxy proxy;
  if (const auto* v = find(raw, Setting::proxy_listen)) {
    const auto address = parse_http_address(v->text);
    if (!address) {
      return cite(*v) + " is not a listen address: use ADDR:PORT such as 0.0.0.0:4080, :4080 or [::]:4080";
    }
    proxy.listen_host = address->host;
    proxy.listen_port = address->port;
  }
  if (proxy.listen_port != 0 && proxy.listen_port == config.http_port) {
    return "--proxy-listen uses the port of --http (" + std::to_string(config.http_port) +
           "): the proxy needs a port of its own";
  }
  if (const auto* v = find(raw, Setting::proxy_upstream)) {
    const auto address = parse_http_address(v->text);
    if (!address || address->port == 0 || v->text.front() == ':') {
      return cite(*v) + " is not HOST:PORT: use the app's address on loopback, e.g. 127.0.0.1:8080";
    }
    proxy.upstream_host = address->host;
    proxy.upstream_port = address->port;
  } else {
    return "--route proxy needs --proxy-upstream (or LEASE_ELECTOR_PROXY_UPSTREAM): the app's address, e.g. "
           "127.0.0.1:8080";
  }
  if (const auto* v = find(raw, Setting::proxy_mode)) {
    if (!lookup(proxy_modes, v->text, proxy.mode)) return cite(*v) + " is not a proxy mode: use http or tcp";
  }
  if (const auto* v = find(raw, Setting::proxy_follower)) {
    if (!lookup(follower_modes, v->text, proxy.follower)) {
      return cite(*v) + " is not a follower mode: use forward, reject or redirect";
    }
  }
  if (proxy.follower == Config::Proxy::Follower::redirect && proxy.mode == Config::Proxy::Mode::tcp) {
    return "--proxy-follower redirect needs --proxy-mode http: a TCP connection cannot be redirected";
  }
  if (const auto* v = find(raw, Setting::proxy_trusted_cidrs)) {
    std::string_view rest = v->text;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      std::string item(rest.substr(0, comma));
      while (!item.empty() && item.front() == ' ') item.erase(item.begin());
      while (!item.empty() && item.back() == ' ') item.pop_back();
      if (!is_cidr(item)) {
        return cite(*v) + ": \"" + item + "\" is not a CIDR block such as 10.0.0.0/8 or fd00::/8";
      }
      proxy.trusted_cidrs.push_back(std::move(item));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  }
  if (auto error = read_timeout(find(raw, Setting::proxy_connect_timeout), proxy.connect_timeout))
    return error;
  if (auto error = read_timeout(find(raw, Setting::proxy_idle_timeout), proxy.idle_timeout)) return error;
  if (const auto* v = find(raw, Setting::proxy_max_body)) {
    const auto size = parse_byte_size(v->text);
    if (!size) return cite(*v) + " is not a size in bytes: use a number, or one with Ki, Mi or Gi, e.g. 10Mi";
    proxy.max_body = *size;
  }
  // The leader writes where followers reach its proxy into the Lease: its Pod's IP.
  if (proxy.follower != Config::Proxy::Follower::reject && config.pod_ip.empty()) {
    return "--route proxy with --proxy-follower " +
           std::string(proxy.follower == Config::Proxy::Follower::forward ? "forward" : "redirect") +
           " needs POD_IP, this Pod's IP: set it from the Downward API (fieldRef status.podIP), or use "
           "--proxy-follower reject";
  }
  if (proxy.follower != Config::Proxy::Follower::reject) {
    boost::system::error_code ec;
    (void)boost::asio::ip::make_address(config.pod_ip, ec);
    if (ec)
      return "POD_IP \"" + config.pod_ip + "\" is not an IP address (set it from fieldRef status.podIP)";
  }
  config.proxy = std::move(proxy);
  return std::nullopt;
}

}  // namespace le::config
