#include <doctest/doctest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "util/logging.h"

using le::util::LogFormat;
using le::util::LogLevel;

namespace {

// Formats through a real logger into a string, as setup_logging would to stderr.
std::string log_one(LogFormat format, const std::string& lease, const std::string& identity,
                    spdlog::level::level_enum level, const std::string& message) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("test", sink);
  logger.set_formatter(le::util::make_log_formatter(format, lease, identity));
  logger.set_level(spdlog::level::trace);
  logger.log(level, message);
  logger.flush();
  return out.str();
}

bool is_utc_micro_time(const std::string& t) {
  // 2026-11-25T07:27:11.123456Z
  return t.size() == 27 && t[4] == '-' && t[10] == 'T' && t[19] == '.' && t.back() == 'Z';
}

}  // namespace

TEST_CASE("JSON log lines are one parseable object with the message escaped") {
  const std::string message = "say \"hi\"\nback\\slash\ttab \x01 bell and caf\xC3\xA9";
  const auto line = log_one(LogFormat::json, "default/my-lease", "my-pod", spdlog::level::warn, message);
  REQUIRE(!line.empty());
  CHECK(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);  // the newline in the message is escaped
  const auto json = nlohmann::json::parse(line);
  CHECK(json["msg"] == message);
  CHECK(json["level"] == "warn");
  CHECK(json["lease"] == "default/my-lease");
  CHECK(json["identity"] == "my-pod");
  CHECK(is_utc_micro_time(json["time"].get<std::string>()));
  CHECK(line.rfind("{\"time\":", 0) == 0);  // time first, for people reading raw lines
}

TEST_CASE("JSON log lines survive invalid UTF-8 and quotes in the lease and identity") {
  const auto line = log_one(LogFormat::json, "ns/l", "pod\"x", spdlog::level::err, "bad \xFF byte");
  const auto json = nlohmann::json::parse(line);
  CHECK(json["identity"] == "pod\"x");
  CHECK(json["level"] == "error");
  CHECK(json["msg"].get<std::string>().find("bad ") == 0);
}

TEST_CASE("text log lines carry time, level, lease and identity on one line") {
  const auto line = log_one(LogFormat::text, "default/my-lease", "my-pod", spdlog::level::info, "two\nlines");
  CHECK(is_utc_micro_time(line.substr(0, 27)));
  CHECK(line.substr(27) == " info [default/my-lease my-pod] two\\nlines\n");
  const auto early = log_one(LogFormat::text, "", "", spdlog::level::debug, "starting");
  CHECK(early.substr(27) == " debug starting\n");
}

TEST_CASE("setup functions replace the default logger and may be called again") {
  le::util::setup_early_logging();
  CHECK(spdlog::default_logger()->level() == spdlog::level::info);
  le::util::setup_logging(LogLevel::debug, LogFormat::json, "default/l", "p");
  CHECK(spdlog::default_logger()->level() == spdlog::level::debug);
  le::util::setup_logging(LogLevel::off, LogFormat::text, "default/l", "p");
  CHECK(spdlog::default_logger()->level() == spdlog::level::off);
  le::util::setup_early_logging();
  CHECK(spdlog::default_logger()->level() == spdlog::level::info);
  CHECK(le::util::to_spdlog_level(LogLevel::warn) == spdlog::level::warn);
}
