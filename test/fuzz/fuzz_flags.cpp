// libFuzzer target: the command line (arguments separated by NUL bytes) through the flag parser,
// and each argument through the Go duration parser. A bad flag must come back as an error that
// names something, never as a crash or an exception.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "config/config.h"
#include "util/duration.h"
#include "util/environment.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args(1);
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      args.emplace_back();
    } else {
      args.back().push_back(static_cast<char>(data[i]));
    }
  }
  for (const auto& arg : args) {
    if (const auto d = le::util::parse_go_duration(arg)) (void)le::util::format_go_duration(*d);
  }
  const auto outcome = le::config::parse_command_line(args, le::util::map_environment({}));
  if (outcome.action == le::config::ParseOutcome::Action::error && outcome.message.empty()) std::abort();
  return 0;
}
