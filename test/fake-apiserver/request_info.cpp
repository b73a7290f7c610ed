#include "request_info.h"

#include <vector>

namespace fake {
namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start < path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) parts.push_back(url_decode(path.substr(start, slash - start)));
    start = slash + 1;
  }
  return parts;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

RequestInfo parse_request_info(std::string_view method, std::string_view target) {
  RequestInfo info;
  const auto q = target.find('?');
  info.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) {
    std::string_view query = target.substr(q + 1);
    std::size_t start = 0;
    while (start <= query.size()) {
      auto amp = query.find('&', start);
      if (amp == std::string_view::npos) amp = query.size();
      const auto pair = query.substr(start, amp - start);
      if (!pair.empty()) {
        const auto eq = pair.find('=');
        info.query[url_decode(pair.substr(0, eq))] =
            eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
      }
      start = amp + 1;
    }
  }
  std::string lower(method);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  info.verb = lower;

  auto parts = split_path(info.path);
  std::size_t at = 0;
  if (parts.size() >= 3 && parts[0] == "apis") {
    info.group = parts[1];
    info.version = parts[2];
    at = 3;
  } else if (parts.size() >= 2 && parts[0] == "api") {
    info.version = parts[1];
    at = 2;
  } else {
    return info;  // a non-resource path: /version, /healthz, discovery roots
  }
  if (at >= parts.size()) return info;  // /apis/group/version: discovery
  info.is_resource = true;
  std::vector<std::string> rest(parts.begin() + static_cast<std::ptrdiff_t>(at), parts.end());
  if (rest[0] == "namespaces") {
    if (rest.size() >= 3) {
      info.ns = rest[1];
      rest.erase(rest.begin(), rest.begin() + 2);
    } else if (rest.size() == 2) {
      info.ns = rest[1];  // GET /api/v1/namespaces/foo is the namespace object itself
    }
  }
  info.resource = rest[0];
  if (rest.size() >= 2) info.name = rest[1];
  if (rest.size() >= 3) info.subresource = rest[2];

  const auto watch = info.query.find("watch");
  const bool is_watch = watch != info.query.end() && (watch->second == "true" || watch->second == "1");
  if (lower == "get") {
    info.verb = is_watch ? "watch" : info.name.empty() ? "list" : "get";
  } else if (lower == "post") {
    info.verb = "create";
  } else if (lower == "put") {
    info.verb = "update";
  } else if (lower == "patch") {
    info.verb = "patch";
  } else if (lower == "delete") {
    info.verb = info.name.empty() ? "deletecollection" : "delete";
  }
  return info;
}

}  // namespace fake
