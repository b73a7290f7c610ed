#include "config/routing.h"

#include <array>
#include <charconv>
#include <utility>

#include "config/kube_names.h"

namespace le::config {
namespace {

constexpr std::array route_modes{
    std::pair{RouteMode::readiness, "readiness"}, std::pair{RouteMode::label, "label"},
    std::pair{RouteMode::endpoints, "endpoints"}, std::pair{RouteMode::readiness_gate, "readiness-gate"},
    std::pair{RouteMode::proxy, "proxy"}};

bool is_alphanumeric(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63 characters.
bool is_name_part(std::string_view name) {
  if (name.empty() || name.size() > 63 || !is_alphanumeric(name.front()) || !is_alphanumeric(name.back()))
    return false;
  for (char c : name) {
    if (!is_alphanumeric(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

std::string trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

// "http:8080/TCP,metrics:9090" -> ports, or the problem.
std::optional<std::string> parse_ports(std::string_view text, std::vector<EndpointPortSpec>& out) {
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string item = trim(text.substr(start, comma - start));
    start = comma + 1;
    const auto colon = item.find(':');
    if (colon == std::string::npos) return "\"" + item + "\" is not name:port[/protocol]";
    EndpointPortSpec port;
    port.name = item.substr(0, colon);
    std::string rest = item.substr(colon + 1);
    if (const auto slash = rest.find('/'); slash != std::string::npos) {
      port.protocol = rest.substr(slash + 1);
      rest = rest.substr(0, slash);
    }
    if (!is_dns1123_label(port.name)) {
      return "port name \"" + port.name + "\" must be a DNS label (lowercase letters, digits and '-')";
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
    if (ec != std::errc() || end != rest.data() + rest.size() || value < 1 || value > 65535) {
      return "port \"" + rest + "\" of \"" + port.name + "\" must be a number from 1 to 65535";
    }
    port.port = static_cast<std::uint16_t>(value);
    if (port.protocol != "TCP" && port.protocol != "UDP" && port.protocol != "SCTP") {
      return "protocol \"" + port.protocol + "\" must be TCP, UDP or SCTP";
    }
    for (const auto& other : out) {
      if (other.name == port.name) return "port name \"" + port.name + "\" appears twice";
    }
    out.push_back(std::move(port));
    if (comma == text.size()) break;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(RouteMode mode) {
  for (const auto& [value, spelling] : route_modes) {
    if (value == mode) return spelling;
  }
  return "unknown";
}

bool is_qualified_name(std::string_view key) {
  const auto slash = key.find('/');
  if (slash == std::string_view::npos) return is_name_part(key);
  return is_dns1123_subdomain(key.substr(0, slash)) && is_name_part(key.substr(slash + 1));
}

bool is_label_value(std::string_view value) { return value.empty() || is_name_part(value); }

std::optional<std::string> check_label_selector(std::string_view selector) {
  std::size_t start = 0;
  while (start <= selector.size()) {
    auto comma = selector.find(',', start);
    if (comma == std::string_view::npos) comma = selector.size();
    const std::string term = trim(selector.substr(start, comma - start));
    start = comma + 1;
    if (term.empty()) return std::string("an empty term");
    std::string key = term, value;
    bool has_value = false;
    for (const std::string_view op : {"!=", "==", "="}) {
      if (const auto at = term.find(op); at != std::string::npos) {
        key = trim(std::string_view(term).substr(0, at));
        value = trim(std::string_view(term).substr(at + op.size()));
        has_value = true;
        break;
      }
    }
    if (!has_value && !key.empty() && key.front() == '!') key = trim(std::string_view(key).substr(1));
    if (!is_qualified_name(key)) return "\"" + key + "\" is not a label key";
    if (has_value && !is_label_value(value)) return "\"" + value + "\" is not a label value";
    if (key.find_first_of(" ()") != std::string::npos) return "set-based terms are not supported";
    if (comma == selector.size()) break;
  }
  return std::nullopt;
}

std::optional<std::string> resolve_routing(const RawSettings& raw, const util::Environment& env,
                                           Config& config, std::vector<std::string>& notes) {
  if (const auto* v = find(raw, Setting::route)) {
    bool known = false;
    for (const auto& [mode, spelling] : route_modes) {
      if (v->text == spelling) {
        config.route = mode;
        known = true;
      }
    }
    if (!known)
      return cite(*v) + " is not a routing mode: use readiness, label, endpoints, readiness-gate or proxy";
  }
  const std::string mode = "--route " + std::string(to_string(config.route));
  const bool pod_mode = config.route == RouteMode::label || config.route == RouteMode::readiness_gate;

  if (const auto* v = find(raw, Setting::pod_selector)) {
    if (auto problem = check_label_selector(v->text))
      return cite(*v) + " is not a label selector: " + *problem;
    config.pod_selector = v->text;
  } else if (pod_mode) {
    return mode +
           " needs --pod-selector (or LEASE_ELECTOR_POD_SELECTOR): the workload's Pod labels, e.g. app=myapp";
  }
  if (const auto* v = find(raw, Setting::leader_label)) {
    const auto eq = v->text.find('=');
    const std::string key = v->text.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : v->text.substr(eq + 1);
    if (eq == std::string::npos || !is_qualified_name(key) || value.empty() || !is_label_value(value)) {
      return cite(*v) +
             " is not KEY=VALUE with a valid label key ([prefix/]name) and a non-empty label value "
             "(at most 63 letters, digits, '-', '_', '.')";
    }
    config.leader_label_key = key;
    config.leader_label_value = value;
  }
  if (const auto* v = find(raw, Setting::readiness_gate)) {
    if (!is_qualified_name(v->text)) {
      return cite(*v) + " is not a valid condition type: use [prefix/]name, e.g. example.com/leader";
    }
    config.readiness_gate = v->text;
  }
  if (const auto* v = find(raw, Setting::service)) {
    // The slice name SERVICE-lease-elector must be a valid object name too.
    if (!is_dns1123_label(v->text) || v->text.size() > 63 - 14) {
      return cite(*v) +
             " is not a valid Service name: lowercase letters, digits and '-', at most 49 characters";
    }
    config.service = v->text;
  } else if (config.route == RouteMode::endpoints) {
    return mode + " needs --service (or LEASE_ELECTOR_SERVICE): the Service without a selector to route";
  }
  if (const auto* v = find(raw, Setting::endpoint_ports)) {
    if (auto problem = parse_ports(v->text, config.endpoint_ports)) return cite(*v) + ": " + *problem;
  } else if (config.route == RouteMode::endpoints) {
    return mode + " needs --endpoint-ports (or LEASE_ELECTOR_ENDPOINT_PORTS), e.g. http:8080/TCP";
  }

  config.pod_name = env("POD_NAME").value_or("");
  config.pod_ip = env("POD_IP").value_or("");
  config.pod_uid = env("POD_UID").value_or("");
  const bool writes_objects = config.route != RouteMode::readiness && config.route != RouteMode::proxy;
  if (writes_objects && config.pod_name.empty()) {
    return mode + " needs POD_NAME, this Pod's name: set it from the Downward API (fieldRef metadata.name)";
  }
  if (config.route == RouteMode::endpoints && config.pod_ip.empty()) {
    return mode + " needs POD_IP, this Pod's IP: set it from the Downward API (fieldRef status.podIP)";
  }

  // Settings for another mode are harmless (a chart may set them all), but worth a word.
  const std::array<std::pair<Setting, bool>, 5> used_by_mode{
      std::pair{Setting::pod_selector, pod_mode},
      std::pair{Setting::leader_label, config.route == RouteMode::label},
      std::pair{Setting::readiness_gate, config.route == RouteMode::readiness_gate},
      std::pair{Setting::service, config.route == RouteMode::endpoints},
      std::pair{Setting::endpoint_ports, config.route == RouteMode::endpoints}};
  for (const auto& [setting, used] : used_by_mode) {
    if (const auto* v = find(raw, setting); v && !used)
      notes.push_back(v->source + " has no effect with " + mode);
  }
  return std::nullopt;
}

}  // namespace le::config
