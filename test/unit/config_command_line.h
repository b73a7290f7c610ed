#pragma once
// Parsing a command line and an environment as main() does, for the config module's unit tests.
#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "config/config.h"
#include "util/environment.h"

namespace le::config::testing {

using Action = ParseOutcome::Action;
using Args = std::vector<std::string>;
using Env = std::map<std::string, std::string>;

// What every command line of a test binary starts with; each test_config_*.cpp defines it
// (test_config_routing.cpp: a lease name, so that its cases show only the routing flags).
Args leading_arguments();

inline ParseOutcome parse(const Args& args, const Env& env = {}) {
  Args all = leading_arguments();
  all.insert(all.end(), args.begin(), args.end());
  return parse_command_line(all, le::util::map_environment(env));
}

// The Config of a command line that must be accepted.
inline Config run(const Args& args, const Env& env = {}) {
  const auto outcome = parse(args, env);
  INFO("message: " << outcome.message);
  REQUIRE(outcome.action == Action::run);
  return outcome.config;
}

// The message of a command line that must be refused.
inline std::string error(const Args& args, const Env& env = {}) {
  const auto outcome = parse(args, env);
  REQUIRE(outcome.action == Action::error);
  return outcome.message;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace le::config::testing
