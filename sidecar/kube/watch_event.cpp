#include "kube/watch_event.h"

#include <nlohmann/json.hpp>

#include "kube/lease_json.h"

namespace le::kube {
namespace {

// ordered_json, as in lease_json.cpp: the event's object is the Lease itself, parsed once, and an
// update built on it must keep the server's key order.
using Json = nlohmann::ordered_json;

WatchEvent malformed(std::string message) {
  WatchEvent event;
  event.type = WatchEvent::Type::malformed;
  event.message = std::move(message);
  return event;
}

std::string string_at(const Json& object, const char* a, const char* b) {
  const auto outer = object.find(a);
  if (outer == object.end() || !outer->is_object()) return {};
  const auto inner = outer->find(b);
  if (inner == outer->end() || !inner->is_string()) return {};
  return inner->get<std::string>();
}

}  // namespace

WatchEvent parse_watch_event(std::string_view line) {
  Json event = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!event.is_object()) return malformed("watch event is not a JSON object");
  const auto type = event.find("type");
  const auto object = event.find("object");
  if (type == event.end() || !type->is_string()) return malformed("watch event without a type");
  if (object == event.end() || !object->is_object()) return malformed("watch event without an object");
  const std::string type_name = type->get<std::string>();

  WatchEvent parsed;
  parsed.name = string_at(*object, "metadata", "name");
  parsed.resource_version = string_at(*object, "metadata", "resourceVersion");
  if (type_name == "BOOKMARK") {
    parsed.type = WatchEvent::Type::bookmark;
    if (parsed.resource_version.empty()) return malformed("BOOKMARK without metadata.resourceVersion");
    return parsed;
  }
  if (type_name == "ERROR") {
    // The object is a meta/v1 Status.
    parsed.type = WatchEvent::Type::error;
    if (const auto code = object->find("code"); code != object->end() && code->is_number_integer()) {
      parsed.status_code = code->get<int>();
    }
    if (const auto reason = object->find("reason"); reason != object->end() && reason->is_string()) {
      parsed.reason = reason->get<std::string>();
    }
    if (const auto message = object->find("message"); message != object->end() && message->is_string()) {
      parsed.message = message->get<std::string>();
    }
    return parsed;
  }
  if (type_name == "ADDED") {
    parsed.type = WatchEvent::Type::added;
  } else if (type_name == "MODIFIED") {
    parsed.type = WatchEvent::Type::modified;
  } else if (type_name == "DELETED") {
    parsed.type = WatchEvent::Type::deleted;
  } else {
    return malformed("unknown watch event type \"" + type_name + "\"");
  }
  auto lease = lease_from_json(std::move(*object));
  if (!lease.ok()) return malformed(type_name + " event: " + lease.error().message);
  parsed.lease = std::move(lease.value());
  return parsed;
}

bool LineSplitter::append(std::string_view piece) {
  // Drop what was consumed before growing, so the buffer holds at most one partial line.
  if (start_ > 0) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  buffer_.append(piece);
  return buffer_.find('\n') != std::string::npos || buffer_.size() <= max_line;
}

std::optional<std::string> LineSplitter::next() {
  for (;;) {
    const auto end = buffer_.find('\n', start_);
    if (end == std::string::npos) return std::nullopt;
    std::string line = buffer_.substr(start_, end - start_);
    start_ = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) return line;
  }
}

}  // namespace le::kube
