#include "util/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string_view>

#include "util/micro_time.h"

namespace le::util {
namespace {

// Our spellings, not spdlog's ("warning"), so the log level names match the --log-level values.
std::string_view level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

std::string timestamp(const spdlog::details::log_msg& msg) {
  return util::format_micro_time(util::to_micro(msg.time));
}

void append(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.append(text.data(), text.data() + text.size());
}

class TextFormatter final : public spdlog::formatter {
 public:
  TextFormatter(std::string lease, std::string identity)
      : lease_(std::move(lease)), identity_(std::move(identity)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    append(dest, timestamp(msg));
    append(dest, " ");
    append(dest, level_name(msg.level));
    if (!lease_.empty() || !identity_.empty()) {
      append(dest, " [");
      append(dest, lease_);
      append(dest, " ");
      append(dest, identity_);
      append(dest, "]");
    }
    append(dest, " ");
    // One entry, one line: a container log collector splits on newlines, so embedded ones are
    // written as \n rather than starting what would look like a new, untagged entry.
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      if (c == '\n') {
        append(dest, "\\n");
      } else if (c == '\r') {
        append(dest, "\\r");
      } else {
        dest.push_back(c);
      }
    }
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<TextFormatter>(lease_, identity_);
  }

 private:
  std::string lease_;
  std::string identity_;
};

class JsonFormatter final : public spdlog::formatter {
 public:
  JsonFormatter(std::string lease, std::string identity)
      : lease_(std::move(lease)), identity_(std::move(identity)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    // ordered_json keeps the field order readable (time first); nlohmann escapes quotes,
    // backslashes and control characters, and `replace` turns invalid UTF-8 into U+FFFD instead
    // of throwing from inside a log call.
    nlohmann::ordered_json line;
    line["time"] = timestamp(msg);
    line["level"] = level_name(msg.level);
    if (!lease_.empty()) line["lease"] = lease_;
    if (!identity_.empty()) line["identity"] = identity_;
    line["msg"] = std::string(msg.payload.data(), msg.payload.size());
    append(dest, line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>(lease_, identity_);
  }

 private:
  std::string lease_;
  std::string identity_;
};

void install(std::unique_ptr<spdlog::formatter> formatter, spdlog::level::level_enum level) {
  // Plain stderr, no colour: container runtimes store the bytes as they are.
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("lease-elector", std::move(sink));
  logger->set_formatter(std::move(formatter));
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace

spdlog::level::level_enum to_spdlog_level(LogLevel level) {
  switch (level) {
    case LogLevel::trace:
      return spdlog::level::trace;
    case LogLevel::debug:
      return spdlog::level::debug;
    case LogLevel::info:
      return spdlog::level::info;
    case LogLevel::warn:
      return spdlog::level::warn;
    case LogLevel::error:
      return spdlog::level::err;
    case LogLevel::off:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format, std::string lease,
                                                      std::string identity) {
  if (format == LogFormat::json)
    return std::make_unique<JsonFormatter>(std::move(lease), std::move(identity));
  return std::make_unique<TextFormatter>(std::move(lease), std::move(identity));
}

void setup_early_logging() { install(make_log_formatter(LogFormat::text, "", ""), spdlog::level::info); }

void setup_logging(LogLevel level, LogFormat format, std::string lease, std::string identity) {
  install(make_log_formatter(format, std::move(lease), std::move(identity)), to_spdlog_level(level));
}

std::string_view to_string(LogLevel level) {
  for (const auto& [value, spelling] : kLogLevels) {
    if (value == level) return spelling;
  }
  return "unknown";
}

std::string_view to_string(LogFormat format) {
  for (const auto& [value, spelling] : kLogFormats) {
    if (value == format) return spelling;
  }
  return "unknown";
}

}  // namespace le::util
