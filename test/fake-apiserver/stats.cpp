#include "stats.h"

namespace fake {

void Stats::record(const std::string& user_agent, const std::string& user, const std::string& verb,
                   unsigned status) {
  ++total_;
  ++by_user_agent_[user_agent];
  ++by_user_[user];
  ++by_verb_[verb];
  ++by_user_verb_[user + " " + verb];
  // status 0: the connection was dropped without an answer.
  ++by_status_[status == 0 ? "dropped" : std::to_string(status)];
}

Json Stats::to_json() const {
  Json j = Json::object();
  j["total"] = total_;
  const auto map = [](const std::map<std::string, std::uint64_t>& m) {
    Json o = Json::object();
    for (const auto& [k, v] : m) o[k] = v;
    return o;
  };
  j["byUserAgent"] = map(by_user_agent_);
  j["byUser"] = map(by_user_);
  j["byVerb"] = map(by_verb_);
  j["byUserAndVerb"] = map(by_user_verb_);
  j["byStatus"] = map(by_status_);
  return j;
}

}  // namespace fake
