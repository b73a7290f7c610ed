#include "faults.h"

namespace fake {
namespace {

template <class T>
bool read_number(const Json& doc, const char* key, T min, T max, T& out, std::string& error) {
  if (!doc.contains(key) || doc[key].is_null()) return true;
  if (!doc[key].is_number()) {
    error = std::string(key) + " must be a number";
    return false;
  }
  const double v = doc[key].get<double>();
  if (v < static_cast<double>(min) || v > static_cast<double>(max)) {
    error = std::string(key) + " must be between " + std::to_string(min) + " and " + std::to_string(max);
    return false;
  }
  out = static_cast<T>(v);
  return true;
}

}  // namespace

std::variant<FaultConfig, std::string> FaultConfig::from_json(const Json& doc) {
  if (!doc.is_object()) return std::string("faults must be a JSON object");
  static const std::vector<std::string> kKnown = {"latencyMs",         "latencyJitterMs",  "errorRate",
                                                  "errorStatus",       "dropRate",         "conflictRate",
                                                  "retryAfterSeconds", "dropAppliedWrites"};
  for (const auto& [key, value] : doc.items()) {
    if (std::find(kKnown.begin(), kKnown.end(), key) == kKnown.end()) return "unknown field \"" + key + "\"";
  }
  FaultConfig c;
  std::string error;
  long latency = 0;
  long jitter = 0;
  if (!read_number(doc, "latencyMs", 0L, 3'600'000L, latency, error) ||
      !read_number(doc, "latencyJitterMs", 0L, 3'600'000L, jitter, error) ||
      !read_number(doc, "errorRate", 0.0, 1.0, c.error_rate, error) ||
      !read_number(doc, "errorStatus", 100u, 599u, c.error_status, error) ||
      !read_number(doc, "dropRate", 0.0, 1.0, c.drop_rate, error) ||
      !read_number(doc, "conflictRate", 0.0, 1.0, c.conflict_rate, error) ||
      !read_number(doc, "retryAfterSeconds", 0u, 86'400u, c.retry_after_seconds, error) ||
      !read_number(doc, "dropAppliedWrites", 0u, 1'000'000u, c.drop_applied_writes, error)) {
    return error;
  }
  c.latency = std::chrono::milliseconds(latency);
  c.latency_jitter = std::chrono::milliseconds(jitter);
  return c;
}

Json FaultConfig::to_json() const {
  Json j = Json::object();
  j["latencyMs"] = latency.count();
  j["latencyJitterMs"] = latency_jitter.count();
  j["errorRate"] = error_rate;
  j["errorStatus"] = error_status;
  j["dropRate"] = drop_rate;
  j["conflictRate"] = conflict_rate;
  j["retryAfterSeconds"] = retry_after_seconds;
  j["dropAppliedWrites"] = drop_applied_writes;
  return j;
}

std::variant<FaultRules, std::string> FaultRules::from_json(const Json& doc) {
  if (!doc.is_object()) return std::string("faults must be a JSON object");
  Json general = doc;
  general.erase("byName");
  auto parsed = FaultConfig::from_json(general);
  if (auto* error = std::get_if<std::string>(&parsed)) return std::move(*error);
  FaultRules rules;
  rules.general = std::get<FaultConfig>(parsed);
  if (!doc.contains("byName")) return rules;
  if (!doc["byName"].is_object()) return std::string("byName must be an object of name to faults");
  for (const auto& [name, faults] : doc["byName"].items()) {
    auto one = FaultConfig::from_json(faults);
    if (auto* error = std::get_if<std::string>(&one)) return "byName \"" + name + "\": " + *error;
    rules.by_name[name] = std::get<FaultConfig>(one);
  }
  return rules;
}

Json FaultRules::to_json() const {
  Json j = general.to_json();
  if (!by_name.empty()) {
    Json names = Json::object();
    for (const auto& [name, faults] : by_name) names[name] = faults.to_json();
    j["byName"] = std::move(names);
  }
  return j;
}

FaultConfig& FaultRules::for_object(const std::string& name) {
  if (name.empty()) return general;
  const auto it = by_name.find(name);
  return it == by_name.end() ? general : it->second;
}

FaultDecision decide_fault(FaultConfig& config, bool is_write, IdGenerator& rng) {
  FaultDecision d;
  d.delay = config.latency;
  if (config.latency_jitter.count() > 0) {
    d.delay += std::chrono::milliseconds(
        static_cast<long>(rng.unit() * static_cast<double>(config.latency_jitter.count() + 1)));
  }
  // Each draw happens whether or not its rate is 0, so a given seed makes the same decisions
  // regardless of which faults are on.
  const double drop = rng.unit();
  const double applied = rng.unit();
  const double err = rng.unit();
  const double conflict = rng.unit();
  if (is_write && config.drop_applied_writes > 0) {
    --config.drop_applied_writes;
    d.action = FaultAction::DropApplied;
  } else if (drop < config.drop_rate) {
    d.action = applied < 0.5 ? FaultAction::DropApplied : FaultAction::DropUnapplied;
  } else if (err < config.error_rate) {
    d.action = FaultAction::Error;
  } else if (is_write && conflict < config.conflict_rate) {
    d.action = FaultAction::Conflict;
  }
  return d;
}

}  // namespace fake
