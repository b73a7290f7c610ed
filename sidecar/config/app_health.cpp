#include "config/app_health.h"

#include <charconv>
#include <chrono>

#include "config/flags.h"
#include "config/http_address.h"
#include "util/duration.h"

namespace le::config {
namespace {

using std::chrono::nanoseconds;

// Longer than this between checks would leave a broken app leading for too long to be of use.
constexpr std::chrono::hours kMaxPeriod{1};
constexpr int kMaxThreshold = 100;

std::optional<std::string> read_duration(const RawValue* raw, nanoseconds& out, nanoseconds max) {
  if (!raw) return std::nullopt;
  const auto parsed = util::parse_go_duration(raw->text);
  if (!parsed) return cite(*raw) + " is not a duration: use Go syntax such as 500ms, 2s or 1m";
  if (*parsed <= nanoseconds::zero()) return cite(*raw) + " must be greater than zero";
  if (*parsed > max) return cite(*raw) + " must be at most " + util::format_go_duration(max);
  out = *parsed;
  return std::nullopt;
}

std::optional<std::string> read_threshold(const RawValue* raw, int& out) {
  if (!raw) return std::nullopt;
  int value = 0;
  const char* end = raw->text.data() + raw->text.size();
  const auto [stop, ec] = std::from_chars(raw->text.data(), end, value);
  if (ec != std::errc{} || stop != end || value < 1 || value > kMaxThreshold) {
    return cite(*raw) + " must be a whole number from 1 to " + std::to_string(kMaxThreshold);
  }
  out = value;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> resolve_app_health(const RawSettings& raw, Config& config) {
  const RawValue* url_text = find(raw, Setting::app_health_url);
  if (!url_text) {
    for (const Setting setting :
         {Setting::app_health_period, Setting::app_health_timeout, Setting::app_health_failure_threshold,
          Setting::app_health_success_threshold}) {
      if (const RawValue* given = find(raw, setting)) {
        return given->source + " needs --app-health-url (the check it configures is off without it)";
      }
    }
    return std::nullopt;
  }
  const auto url = parse_http_url(url_text->text);
  if (!url) {
    return cite(*url_text) +
           " is not an http URL: use http://HOST[:PORT]/PATH such as http://localhost:8080/healthz "
           "(the app is in the same Pod: no https)";
  }
  Config::AppHealth health;
  health.host = url->host;
  health.port = url->port;
  health.target = url->target;
  health.url = url_text->text;
  if (auto error = read_duration(find(raw, Setting::app_health_period), health.period, kMaxPeriod))
    return error;
  if (auto error = read_duration(find(raw, Setting::app_health_timeout), health.timeout, kMaxPeriod))
    return error;
  if (health.timeout > health.period) {
    return "--app-health-timeout (" + util::format_go_duration(health.timeout) +
           ") must not be longer than --app-health-period (" + util::format_go_duration(health.period) +
           "): one check at a time";
  }
  if (auto error =
          read_threshold(find(raw, Setting::app_health_failure_threshold), health.failure_threshold)) {
    return error;
  }
  if (auto error =
          read_threshold(find(raw, Setting::app_health_success_threshold), health.success_threshold)) {
    return error;
  }
  config.app_health = health;
  return std::nullopt;
}

std::optional<std::string> resolve_notify(const RawSettings& raw, Config& config) {
  const RawValue* url_text = find(raw, Setting::notify_url);
  if (!url_text) {
    if (const RawValue* given = find(raw, Setting::notify_timeout)) {
      return given->source + " needs --notify-url (the webhook it configures is off without it)";
    }
    return std::nullopt;
  }
  const auto url = parse_http_url(url_text->text);
  if (!url) {
    return cite(*url_text) +
           " is not an http URL: use http://HOST[:PORT]/PATH such as http://localhost:8080/leader-changed "
           "(the app is in the same Pod: no https)";
  }
  Config::Notify notify;
  notify.host = url->host;
  notify.port = url->port;
  notify.target = url->target;
  notify.url = url_text->text;
  if (auto error = read_duration(find(raw, Setting::notify_timeout), notify.timeout, kMaxPeriod))
    return error;
  config.notify = std::move(notify);
  return std::nullopt;
}

}  // namespace le::config
