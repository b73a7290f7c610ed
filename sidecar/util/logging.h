#pragma once
// Logging: spdlog's default logger on stderr, with UTC microsecond times and every line tagged
// with the Lease and this replica's identity, since several replicas' logs end up side by side.
#include <spdlog/formatter.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace le::util {

enum class LogFormat { text, json };
enum class LogLevel { trace, debug, info, warn, error, off };

// The spellings the flags accept.
inline constexpr std::array kLogLevels{
    std::pair{LogLevel::trace, "trace"}, std::pair{LogLevel::debug, "debug"},
    std::pair{LogLevel::info, "info"},   std::pair{LogLevel::warn, "warn"},
    std::pair{LogLevel::error, "error"}, std::pair{LogLevel::off, "off"}};
inline constexpr std::array kLogFormats{std::pair{LogFormat::text, "text"},
                                        std::pair{LogFormat::json, "json"}};
std::string_view to_string(LogLevel level);
std::string_view to_string(LogFormat format);

// Before the config is parsed: plain text to stderr at info, without lease or identity.
// May be called again; each call replaces the default logger.
void setup_early_logging();

// text: 2026-11-25T07:27:11.123456Z info [default/my-lease my-pod] message
// json: {"time":"2026-11-25T07:27:11.123456Z","level":"info","lease":"default/my-lease",
//        "identity":"my-pod","msg":"message"}   (one object per line)
// Replaces the default logger, so it may follow setup_early_logging or an earlier call.
void setup_logging(LogLevel level, LogFormat format, std::string lease /*"ns/name"*/, std::string identity);

// Added: the formatter setup_logging installs, for tests and for callers with their own sink.
// An empty lease and identity give the early format (no brackets, no JSON fields for them).
std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format, std::string lease,
                                                      std::string identity);

// Added: our level as spdlog's.
spdlog::level::level_enum to_spdlog_level(LogLevel level);

}  // namespace le::util
