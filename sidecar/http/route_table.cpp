#include "http/route_table.h"

#include <exception>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace le::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding ('+' is a space); a '%' not followed by two hex
// digits is kept as it is.
std::string form_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> Request::query(std::string_view name) const {
  std::string_view rest = target;
  const auto start = rest.find('?');
  if (start == std::string_view::npos) return std::nullopt;
  rest = rest.substr(start + 1);
  if (const auto fragment = rest.find('#'); fragment != std::string_view::npos)
    rest = rest.substr(0, fragment);
  while (!rest.empty()) {
    const auto end = rest.find('&');
    const std::string_view pair = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    const auto equals = pair.find('=');
    if (form_decode(pair.substr(0, equals)) != name) continue;
    return equals == std::string_view::npos ? std::string{} : form_decode(pair.substr(equals + 1));
  }
  return std::nullopt;
}

std::string_view Request::path() const {
  std::string_view p = target;
  if (const auto end = p.find_first_of("?#"); end != std::string_view::npos) p = p.substr(0, end);
  return p;
}

std::optional<std::string_view> Request::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

Response json_response(unsigned status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

Response json_error(unsigned status, std::string_view error, std::string_view path) {
  nlohmann::json body{{"error", error}};
  if (!path.empty()) body["path"] = path;
  return json_response(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void RouteTable::add(std::string method, std::string path, Handler handler) {
  routes_[std::move(path)][std::move(method)] = std::move(handler);
}

Response RouteTable::route(const Request& request) const {
  const auto path = request.path();
  const auto by_path = routes_.find(path);
  if (by_path == routes_.end()) return json_error(404, "not found", path);
  const auto& methods = by_path->second;

  const Handler* handler = nullptr;
  bool head_from_get = false;
  if (const auto it = methods.find(request.method); it != methods.end()) {
    handler = &it->second;
  } else if (request.method == "HEAD") {
    if (const auto get = methods.find("GET"); get != methods.end()) {
      handler = &get->second;
      head_from_get = true;
    }
  }

  if (handler == nullptr) {
    std::string allow;
    const bool has_get = methods.contains("GET");
    for (const auto& [method, unused] : methods) {
      // A GET route answers HEAD as well, so Allow names it next to GET.
      if (!allow.empty()) allow += ", ";
      allow += method;
      if (method == "GET" && has_get && !methods.contains("HEAD")) allow += ", HEAD";
    }
    auto response = json_error(405, "method not allowed", path);
    response.headers.emplace_back("Allow", std::move(allow));
    return response;
  }

  Response response;
  try {
    response = (*handler)(request);
  } catch (const std::exception& e) {
    spdlog::error("http: handler for {} {} failed: {}", request.method, path, e.what());
    response = json_error(500, "internal error", path);
  }
  if (head_from_get || request.method == "HEAD") response.omit_body = true;
  return response;
}

}  // namespace le::http
