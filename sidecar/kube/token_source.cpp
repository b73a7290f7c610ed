#include "kube/token_source.h"

#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include "kube/file_util.h"

namespace le::kube {

TokenFileAccess real_token_file_access() {
  TokenFileAccess access;
  access.stat = [](const std::string& path) -> std::optional<FileStamp> {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return std::nullopt;
    FileStamp stamp;
    stamp.device = static_cast<std::uint64_t>(info.st_dev);
    stamp.inode = static_cast<std::uint64_t>(info.st_ino);
    stamp.size = static_cast<std::int64_t>(info.st_size);
    stamp.mtime_ns = static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec;
    return stamp;
  };
  access.read = [](const std::string& path) { return read_file(path); };
  return access;
}

TokenSource::TokenSource(std::string static_token, std::string token_file, TokenFileAccess access)
    : static_token_(std::move(static_token)),
      token_file_(std::move(token_file)),
      access_(std::move(access)) {}

const std::string& TokenSource::current() {
  if (token_file_.empty()) return static_token_;
  const auto stamp = access_.stat(token_file_);
  if (stamp && file_token_ && stamp == file_stamp_) {
    // The same file came back (moved away and back): the outage is over all the same, and the
    // next one must be logged again.
    if (warned_) spdlog::info("token file {} is readable again", token_file_);
    warned_ = false;
    return *file_token_;
  }
  if (const auto content = stamp ? access_.read(token_file_) : std::nullopt; !content) {
    warn_once("cannot be read");
  } else if (const auto token = trim_space(*content); token.empty()) {
    // client-go's cached token source rejects an empty file too: mid-rotation writers can leave
    // one for an instant.
    warn_once("is empty");
  } else {
    file_token_ = std::string(token);
    file_stamp_ = stamp;
    if (warned_) spdlog::info("token file {} is readable again", token_file_);
    warned_ = false;
  }
  return file_token_ ? *file_token_ : static_token_;
}

void TokenSource::warn_once(const char* what) {
  if (warned_) return;
  warned_ = true;
  spdlog::warn("token file {} {}; {}", token_file_, what,
               file_token_             ? "keeping the last token read from it"
               : static_token_.empty() ? "sending requests without a token"
                                       : "using the kubeconfig's inline token");
}

}  // namespace le::kube
