#pragma once
// Bearer-token authentication as kube-apiserver's --token-auth-file does it. Tokens can be added and
// revoked at run time through the admin API (token rotation in chaos tests).
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace fake {

struct UserInfo {
  std::string name;
  std::string uid;
  std::vector<std::string> groups;
};

inline constexpr std::string_view kAnonymousUser = "system:anonymous";
// Members bypass authorization, as the system:masters group does on a real cluster.
inline constexpr std::string_view kMastersGroup = "system:masters";

class TokenAuthenticator {
 public:
  // The CSV format of --token-auth-file: token,user,uid[,"group1,group2"]. Blank lines and lines
  // starting with '#' are skipped. A string result is the error.
  static std::variant<TokenAuthenticator, std::string> from_csv(std::string_view text);
  // No --token-file: one token "admin-token" for user "admin" in system:masters.
  static TokenAuthenticator with_default_admin();

  std::optional<UserInfo> authenticate(std::string_view token) const;
  void add(std::string token, UserInfo user);
  bool revoke(const std::string& token);
  // Some token of `user`, for writing a kubeconfig.
  std::optional<std::string> token_for(const std::string& user) const;
  const std::map<std::string, UserInfo>& tokens() const { return tokens_; }

 private:
  std::map<std::string, UserInfo> tokens_;
};

// Splits one CSV record (RFC 4180 quoting); nullopt on an unterminated quote.
std::optional<std::vector<std::string>> split_csv_line(std::string_view line);

}  // namespace fake
