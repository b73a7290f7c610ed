#include "config/sources.h"

#include <array>

namespace le::config {
namespace {

constexpr std::array timing_settings{Setting::lease_duration, Setting::renew_deadline, Setting::retry_period};

// Flags, in order. Repeating one flag keeps the last value, as Go's flag package does; but a
// classic alias and its modern flag that disagree are an error, since that is a half-migrated
// manifest and either choice could elect on the wrong Lease.
std::optional<std::string> apply_flags(const std::vector<FlagUse>& uses, RawSettings& out) {
  for (const auto& use : uses) {
    const std::string source = use.spec->dashed();
    if (use.spec->setting == Setting::use_cluster_credentials) {
      out.notes.emplace_back(
          "--use-cluster-credentials has no effect: in-cluster credentials are used whenever no kubeconfig "
          "is given");
      continue;
    }
    auto [it, inserted] = out.values.try_emplace(use.spec->setting, RawValue{use.value, source});
    if (inserted) continue;
    if (it->second.source != source && it->second.text != use.value) {
      return it->second.source + " \"" + it->second.text + "\" and " + source + " \"" + use.value +
             "\" disagree; give only one of them";
    }
    it->second = RawValue{use.value, source};
  }
  return std::nullopt;
}

}  // namespace

const RawValue* find(const RawSettings& raw, Setting setting) {
  const auto it = raw.values.find(setting);
  return it == raw.values.end() ? nullptr : &it->second;
}

std::string cite(const RawValue& value) { return value.source + " \"" + value.text + "\""; }

RawSettings collect_settings(const std::vector<FlagUse>& uses, const util::Environment& env) {
  RawSettings out;
  if (auto error = apply_flags(uses, out)) {
    out.error = std::move(error);
    return out;
  }

  const bool ttl_given = out.values.count(Setting::ttl) != 0;
  if (ttl_given) {
    for (const auto setting : timing_settings) {
      if (const auto it = out.values.find(setting); it != out.values.end()) {
        out.error = "--ttl cannot be combined with " + it->second.source +
                    ": --ttl sets the lease duration, renew deadline and retry period together";
        return out;
      }
    }
  }

  for (const auto& spec : flag_specs()) {
    if (spec.env.empty() || out.values.count(spec.setting) != 0) continue;
    const auto value = env(std::string(spec.env));
    if (!value) continue;
    const bool timing = spec.setting == Setting::lease_duration || spec.setting == Setting::renew_deadline ||
                        spec.setting == Setting::retry_period;
    if (ttl_given && timing) {
      // A flag wins over a variable; --ttl is the flag for all three timing settings.
      out.notes.push_back("--ttl overrides " + std::string(spec.env) + "=" + *value);
      continue;
    }
    out.values.emplace(spec.setting, RawValue{*value, std::string(spec.env)});
  }

  // kubectl's KUBECONFIG is not read here: it may be a list of files, which the kube layer merges
  // as clientcmd does (kube::resolve_cluster_config), after --kubeconfig and ours.
  return out;
}

}  // namespace le::config
