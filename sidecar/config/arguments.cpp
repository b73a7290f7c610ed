#include "config/arguments.h"

#include <string_view>

namespace le::config {
namespace {

// Go's strconv.ParseBool, which the flag package uses for -flag=VALUE of boolean flags.
std::optional<bool> parse_go_bool(std::string_view text) {
  for (std::string_view t : {"1", "t", "T", "true", "TRUE", "True"}) {
    if (text == t) return true;
  }
  for (std::string_view f : {"0", "f", "F", "false", "FALSE", "False"}) {
    if (text == f) return false;
  }
  return std::nullopt;
}

// "--name=value" or "-name" → the name without dashes; nullopt when the argument is not a flag.
std::optional<std::string_view> flag_name(std::string_view arg) {
  if (arg.size() < 2 || arg.front() != '-') return std::nullopt;
  arg.remove_prefix(arg[1] == '-' ? 2 : 1);
  return arg.substr(0, arg.find('='));
}

// Whether the next argument should be taken as this flag's value. Go takes it unconditionally;
// we refuse when it is itself one of our flags, so "--lease-name --namespace x" says the value is
// missing instead of naming the Lease "--namespace". Negative durations like "-1s" still pass.
bool usable_as_value(std::string_view next) {
  const auto name = flag_name(next);
  return !name || find_flag(*name) == nullptr;
}

}  // namespace

ScannedArguments scan_arguments(const std::vector<std::string>& args) {
  ScannedArguments out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--") {
      // Go's terminator: everything after it is run mode's command, taken as it is (a bare "--"
      // at the end is accepted, as Go's flag package accepts it).
      out.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      return out;
    }
    if (arg.size() < 2 || arg.front() != '-') {
      out.error = "unexpected argument \"" + args[i] +
                  "\": lease-elector takes flags, then optionally -- COMMAND ARGS... (see --help)";
      return out;
    }
    const std::size_t dashes = arg[1] == '-' ? 2 : 1;
    const std::string_view body = arg.substr(dashes);
    const auto equals = body.find('=');
    const std::string_view name = body.substr(0, equals);
    if (name.empty() || name.front() == '-') {
      out.error = "bad flag syntax: " + args[i];
      return out;
    }
    const FlagSpec* spec = find_flag(name);
    if (spec == nullptr) {
      out.error = "unknown flag " + std::string(arg.substr(0, dashes + name.size())) + " (see --help)";
      return out;
    }
    const bool has_inline_value = equals != std::string_view::npos;
    const std::string inline_value = has_inline_value ? std::string(body.substr(equals + 1)) : std::string();

    switch (spec->kind) {
      case FlagKind::action:
        if (has_inline_value) {
          out.error = "flag " + spec->dashed() + " does not take a value";
          return out;
        }
        out.action = spec->setting;
        return out;
      case FlagKind::boolean: {
        if (!has_inline_value) {
          out.uses.push_back({spec, "true"});
          break;
        }
        const auto value = parse_go_bool(inline_value);
        if (!value) {
          out.error = "flag " + spec->dashed() + " takes true or false, not \"" + inline_value + "\"";
          return out;
        }
        out.uses.push_back({spec, *value ? "true" : "false"});
        break;
      }
      case FlagKind::action_with_value:
        if (has_inline_value) {
          out.action_value = inline_value;
        } else if (i + 1 < args.size() && usable_as_value(args[i + 1])) {
          out.action_value = args[i + 1];
        }
        if (out.action_value.empty()) {
          out.error = "flag " + spec->dashed() + " needs a value";
          return out;
        }
        out.action = spec->setting;
        return out;
      case FlagKind::value:
        if (has_inline_value) {
          out.uses.push_back({spec, inline_value});
        } else if (i + 1 < args.size() && usable_as_value(args[i + 1])) {
          out.uses.push_back({spec, args[++i]});
        } else {
          out.error = "flag " + spec->dashed() + " needs a value";
          return out;
        }
        break;
    }
  }
  return out;
}

}  // namespace le::config
