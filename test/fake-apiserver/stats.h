#pragma once
// Request counts on the API listener, read and reset through the admin API, so tests can assert
// how hard a client hits the server (e.g. renew rate, retry storms after a fault).
#include <cstdint>
#include <map>
#include <string>

#include "json.h"

namespace fake {

class Stats {
 public:
  // `verb` is "<k8s verb> <resource>" ("update leases") or "<method> <path>" for non-resource paths.
  void record(const std::string& user_agent, const std::string& user, const std::string& verb,
              unsigned status);
  void reset() { *this = Stats(); }
  Json to_json() const;

 private:
  std::uint64_t total_ = 0;
  std::map<std::string, std::uint64_t> by_user_agent_;
  std::map<std::string, std::uint64_t> by_user_;
  std::map<std::string, std::uint64_t> by_verb_;
  std::map<std::string, std::uint64_t> by_user_verb_;  // "user verb": one client's cost, per request kind
  std::map<std::string, std::uint64_t> by_status_;
};

}  // namespace fake
