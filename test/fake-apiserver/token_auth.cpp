#include "token_auth.h"

namespace fake {

std::optional<std::vector<std::string>> split_csv_line(std::string_view line) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  bool at_field_start = true;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && at_field_start) {
      quoted = true;
      at_field_start = false;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
      at_field_start = true;
    } else if (c == ' ' && at_field_start) {
      // csv.Reader.TrimLeadingSpace, which the token file reader sets.
    } else {
      field += c;
      at_field_start = false;
    }
  }
  if (quoted) return std::nullopt;
  fields.push_back(std::move(field));
  return fields;
}

std::variant<TokenAuthenticator, std::string> TokenAuthenticator::from_csv(std::string_view text) {
  TokenAuthenticator auth;
  std::size_t line_no = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos || line.front() == '#') continue;
    auto fields = split_csv_line(line);
    if (!fields) return "line " + std::to_string(line_no) + ": unterminated quoted field";
    if (fields->size() < 3) {
      return "line " + std::to_string(line_no) +
             ": token file must have at least 3 columns (token, user name, user uid), found " +
             std::to_string(fields->size());
    }
    if ((*fields)[0].empty()) return "line " + std::to_string(line_no) + ": empty token";
    UserInfo user{(*fields)[1], (*fields)[2], {}};
    if (fields->size() >= 4 && !(*fields)[3].empty()) {
      auto groups = split_csv_line((*fields)[3]);
      for (auto& g : *groups) {
        if (!g.empty()) user.groups.push_back(std::move(g));
      }
    }
    // A duplicate token overrides the earlier line, as upstream does (with a warning).
    auth.tokens_[(*fields)[0]] = std::move(user);
  }
  return auth;
}

TokenAuthenticator TokenAuthenticator::with_default_admin() {
  TokenAuthenticator auth;
  auth.add("admin-token", UserInfo{"admin", "admin", {std::string(kMastersGroup)}});
  return auth;
}

std::optional<UserInfo> TokenAuthenticator::authenticate(std::string_view token) const {
  const auto it = tokens_.find(std::string(token));
  if (it == tokens_.end()) return std::nullopt;
  UserInfo user = it->second;
  user.groups.push_back("system:authenticated");
  return user;
}

void TokenAuthenticator::add(std::string token, UserInfo user) {
  tokens_[std::move(token)] = std::move(user);
}

bool TokenAuthenticator::revoke(const std::string& token) { return tokens_.erase(token) > 0; }

std::optional<std::string> TokenAuthenticator::token_for(const std::string& user) const {
  for (const auto& [token, info] : tokens_) {
    if (info.name == user) return token;
  }
  return std::nullopt;
}

}  // namespace fake
