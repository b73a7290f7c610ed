#pragma once
// The bearer token to send with each request. A token file is re-read whenever it changes: the
// kubelet rotates projected ServiceAccount tokens (an atomic symlink swap, so the inode changes),
// and client-go's cached file token source re-reads BearerTokenFile for the same reason (it polls
// once a minute; a stat per request is cheaper than a stale token and reacts at once).
//
// Not thread-safe: each transport owns one.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace le::kube {

// What identifies one version of a file's content without reading it.
struct FileStamp {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

// The file access TokenSource needs, injectable so tests can script failures.
struct TokenFileAccess {
  std::function<std::optional<FileStamp>(const std::string& path)> stat;  // follows symlinks
  std::function<std::optional<std::string>(const std::string& path)> read;
};

TokenFileAccess real_token_file_access();

class TokenSource {
 public:
  // With a token_file, its last good content wins over static_token (client-go: "the last
  // successfully read value takes precedence over BearerToken"); static_token is used only until
  // the file was read once.
  TokenSource(std::string static_token, std::string token_file,
              TokenFileAccess access = real_token_file_access());

  // The token for the next request, "" for none. If the file is unreadable or empty, the last
  // good token is kept and one warning is logged until it is readable again; if there never was a
  // good one, the request goes out without (or with the static token) and the API server's
  // 401/403 says what is wrong. The token itself is never logged.
  const std::string& current();

 private:
  void warn_once(const char* what);

  std::string static_token_;
  std::string token_file_;
  TokenFileAccess access_;
  std::optional<std::string> file_token_;
  std::optional<FileStamp> file_stamp_;  // the stamp of the content in file_token_
  bool warned_ = false;
};

}  // namespace le::kube
