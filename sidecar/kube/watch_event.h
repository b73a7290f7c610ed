#pragma once
// One line of a ?watch=true stream of Leases: {"type": ..., "object": ...}, as the API server
// writes them (one JSON object per line). Pure functions.
#include <optional>
#include <string>
#include <string_view>

#include "kube/lease_json.h"

namespace le::kube {

struct WatchEvent {
  enum class Type { added, modified, deleted, bookmark, error, malformed };
  Type type = Type::malformed;
  // For added, modified and deleted: the Lease, parsed once, with the whole object.
  std::optional<LeaseObject> lease;
  // The object's metadata.name ("" for a bookmark or an error).
  std::string name;
  // metadata.resourceVersion of the object (for a bookmark, the version the stream has reached).
  std::string resource_version;
  // For error: the Status it carries (code 410 with reason Expired or Gone: resume is impossible).
  int status_code = 0;
  std::string reason;
  // For error and malformed: what to log.
  std::string message;

  bool too_old() const { return type == Type::error && status_code == 410; }
};

WatchEvent parse_watch_event(std::string_view line);

// Splits a stream into lines; pieces may end anywhere, even inside a UTF-8 character.
class LineSplitter {
 public:
  // Appends a piece; returns false if a line grew beyond max_line (the stream cannot be trusted).
  bool append(std::string_view piece);
  // The next complete line without its newline, if any.
  std::optional<std::string> next();

  static constexpr std::size_t max_line = 4 * 1024 * 1024;

 private:
  std::string buffer_;
  std::size_t start_ = 0;
};

}  // namespace le::kube
