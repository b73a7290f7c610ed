// libFuzzer target: a label value (an identity or a Lease name can be any bytes) through the
// metrics text writer. Whatever the bytes, the sample line must stay one line of valid UTF-8 whose
// label value has no bare quote, backslash or newline: one bad value must never break a scrape.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "util/metrics_text.h"

namespace {

bool valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<std::uint8_t>(text[i]);
    const std::size_t length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 ? 2 : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k)
      if ((static_cast<std::uint8_t>(text[i + k]) & 0xC0) != 0x80) return false;
    i += length;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  le::util::MetricsText text;
  text.sample("x", {{"identity", value}}, 1);
  const std::string_view line = text.text();
  // x{identity="..."} 1\n
  const std::string_view prefix = "x{identity=\"", suffix = "\"} 1\n";
  if (line.substr(0, prefix.size()) != prefix || line.size() < prefix.size() + suffix.size() ||
      line.substr(line.size() - suffix.size()) != suffix)
    std::abort();
  const auto escaped = line.substr(prefix.size(), line.size() - prefix.size() - suffix.size());
  if (!valid_utf8(escaped)) std::abort();
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] == '\n' || escaped[i] == '"') std::abort();
    if (escaped[i] == '\\') {
      if (i + 1 >= escaped.size() ||
          (escaped[i + 1] != '\\' && escaped[i + 1] != '"' && escaped[i + 1] != 'n'))
        std::abort();
      ++i;
    }
  }
  return 0;
}
