#pragma once
// Faults injected on the API listener, set at run time through the admin API (PUT /faults).
#include <chrono>
#include <map>
#include <string>
#include <variant>

#include "ids.h"
#include "json.h"

namespace fake {

struct FaultConfig {
  std::chrono::milliseconds latency{0};         // added before every answer
  std::chrono::milliseconds latency_jitter{0};  // plus a uniform random [0, jitter]
  double error_rate = 0;                        // answered with error_status, not applied
  unsigned error_status = 500;
  double drop_rate = 0;              // connection closed without an answer; half of these after applying
  double conflict_rate = 0;          // writes answered 409 Conflict, not applied
  unsigned retry_after_seconds = 0;  // Retry-After on error answers when > 0
  // The next N writes are applied, then their connection is closed without an answer: a reused
  // connection that dies after the server read the request. libcurl resends such a request once
  // on a fresh connection, so the server sees the write twice. Counts down as it fires.
  unsigned drop_applied_writes = 0;

  // Every field optional; an omitted one takes its default. A string result is the error.
  static std::variant<FaultConfig, std::string> from_json(const Json& doc);
  Json to_json() const;
};

// Every fault in force: the general ones, and per object name the ones that replace them on the
// requests about that object. A request is about the object its path names or, for a list or
// watch, the one its fieldSelector metadata.name=NAME selects (as kube-apiserver's
// RequestInfoFactory names it). The chaos suite gives each of its Leases its own faults this way.
// JSON: FaultConfig's fields, plus "byName": {"NAME": {FaultConfig's fields}}.
struct FaultRules {
  FaultConfig general;
  std::map<std::string, FaultConfig> by_name;

  static std::variant<FaultRules, std::string> from_json(const Json& doc);
  Json to_json() const;
  // The faults for a request about `name` (empty: about no single object). Not const: deciding
  // counts down dropAppliedWrites.
  FaultConfig& for_object(const std::string& name);
};

enum class FaultAction {
  Pass,
  Error,          // answer error_status, request not applied
  Conflict,       // answer 409, request not applied
  DropUnapplied,  // close the connection; the request was never applied
  DropApplied,    // apply the request, then close without answering: a write whose answer is lost
};

struct FaultDecision {
  FaultAction action = FaultAction::Pass;
  std::chrono::milliseconds delay{0};
};

// Mutates `config` only to count down drop_applied_writes.
FaultDecision decide_fault(FaultConfig& config, bool is_write, IdGenerator& rng);

}  // namespace fake
