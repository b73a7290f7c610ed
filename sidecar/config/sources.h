#pragma once
// Gathers the text of each setting from the flags and the environment, before any conversion:
// decides precedence (flag over variable), classic-alias conflicts and --ttl's exclusivity.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/arguments.h"
#include "util/environment.h"

namespace le::config {

struct RawValue {
  std::string text;
  // Where it came from, as error messages name it: "--lease-name", "--election",
  // "LEASE_ELECTOR_LEASE_NAME" or "KUBECONFIG".
  std::string source;
};

struct RawSettings {
  std::map<Setting, RawValue> values;  // only settings that were given somewhere
  std::vector<std::string> notes;
  std::optional<std::string> error;
};

RawSettings collect_settings(const std::vector<FlagUse>& uses, const util::Environment& env);

// The value given for `setting`, flag or variable; nullptr when it was given nowhere.
const RawValue* find(const RawSettings& raw, Setting setting);

// `--lease-duration "1500ms"` or `LEASE_ELECTOR_LEASE_DURATION "1500ms"`: how messages cite a value.
std::string cite(const RawValue& value);

}  // namespace le::config
