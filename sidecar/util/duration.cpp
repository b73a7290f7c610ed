#include "util/duration.h"

#include <cstdint>
#include <tuple>
#include <utility>

namespace le::util {
namespace {

// Go accumulates the magnitude in a uint64 and allows exactly 1<<63 so that the most negative
// int64 duration parses; we mirror that bound.
constexpr std::uint64_t magnitude_limit = std::uint64_t{1} << 63;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Leading decimal integer; nullopt on overflow (Go's leadingInt).
std::optional<std::uint64_t> take_integer(std::string_view& s) {
  std::uint64_t x = 0;
  std::size_t i = 0;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    if (x > magnitude_limit / 10) return std::nullopt;
    x = x * 10 + static_cast<std::uint64_t>(s[i] - '0');
    if (x > magnitude_limit) return std::nullopt;
  }
  s.remove_prefix(i);
  return x;
}

// Leading fraction digits; digits beyond what fits are dropped, not an error (Go's
// leadingFraction), since they are below a nanosecond anyway.
std::pair<std::uint64_t, double> take_fraction(std::string_view& s) {
  std::uint64_t x = 0;
  double scale = 1;
  bool overflow = false;
  std::size_t i = 0;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    if (overflow) continue;
    if (x > (magnitude_limit - 1) / 10) {
      overflow = true;
      continue;
    }
    const std::uint64_t y = x * 10 + static_cast<std::uint64_t>(s[i] - '0');
    if (y > magnitude_limit) {
      overflow = true;
      continue;
    }
    x = y;
    scale *= 10;
  }
  s.remove_prefix(i);
  return {x, scale};
}

std::optional<std::uint64_t> unit_in_nanoseconds(std::string_view unit) {
  if (unit == "ns") return 1;
  // Go accepts "us" and both micro signs: U+00B5 (micro sign) and U+03BC (Greek small mu).
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1'000;
  if (unit == "ms") return 1'000'000;
  if (unit == "s") return 1'000'000'000;
  if (unit == "m") return 60'000'000'000;
  if (unit == "h") return 3'600'000'000'000;
  return std::nullopt;
}

// Digits of v, most significant first, written before position w (Go's fmtInt).
void prepend_integer(std::string& out, std::uint64_t v) {
  if (v == 0) {
    out.insert(out.begin(), '0');
    return;
  }
  while (v > 0) {
    out.insert(out.begin(), static_cast<char>('0' + v % 10));
    v /= 10;
  }
}

// The low `precision` digits of v as a fraction without trailing zeros (Go's fmtFrac); returns
// v with those digits removed.
std::uint64_t prepend_fraction(std::string& out, std::uint64_t v, int precision) {
  bool print = false;
  for (int i = 0; i < precision; ++i) {
    const auto digit = v % 10;
    print = print || digit != 0;
    if (print) out.insert(out.begin(), static_cast<char>('0' + digit));
    v /= 10;
  }
  if (print) out.insert(out.begin(), '.');
  return v;
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_go_duration(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds{0};
  if (s.empty()) return std::nullopt;

  std::uint64_t total = 0;
  while (!s.empty()) {
    if (!(s.front() == '.' || is_digit(s.front()))) return std::nullopt;
    const auto before_integer = s.size();
    const auto integer = take_integer(s);
    if (!integer) return std::nullopt;
    const bool has_integer = before_integer != s.size();

    std::uint64_t fraction = 0;
    double scale = 1;
    bool has_fraction = false;
    if (!s.empty() && s.front() == '.') {
      s.remove_prefix(1);
      const auto before_fraction = s.size();
      std::tie(fraction, scale) = take_fraction(s);
      has_fraction = before_fraction != s.size();
    }
    if (!has_integer && !has_fraction) return std::nullopt;  // "." or ".s"

    std::size_t unit_length = 0;
    while (unit_length < s.size() && s[unit_length] != '.' && !is_digit(s[unit_length])) ++unit_length;
    if (unit_length == 0) return std::nullopt;  // "5": Go requires a unit except for "0"
    const auto unit = unit_in_nanoseconds(s.substr(0, unit_length));
    if (!unit) return std::nullopt;
    s.remove_prefix(unit_length);

    std::uint64_t value = *integer;
    if (value > magnitude_limit / *unit) return std::nullopt;
    value *= *unit;
    if (fraction > 0) {
      // Same float arithmetic as Go, so both round a fraction like "1.0000000005s" alike.
      value +=
          static_cast<std::uint64_t>(static_cast<double>(fraction) * (static_cast<double>(*unit) / scale));
      if (value > magnitude_limit) return std::nullopt;
    }
    total += value;
    if (total > magnitude_limit) return std::nullopt;
  }
  if (negative) return std::chrono::nanoseconds{static_cast<std::int64_t>(0 - total)};
  if (total > magnitude_limit - 1) return std::nullopt;
  return std::chrono::nanoseconds{static_cast<std::int64_t>(total)};
}

std::string format_go_duration(std::chrono::nanoseconds duration) {
  const auto count = duration.count();
  const bool negative = count < 0;
  // Two's complement negation in unsigned arithmetic, so the minimum int64 does not overflow.
  std::uint64_t u = negative ? 0 - static_cast<std::uint64_t>(count) : static_cast<std::uint64_t>(count);

  std::string out = "s";
  if (u < 1'000'000'000) {
    int precision = 0;
    if (u == 0) return "0s";
    if (u < 1'000) {
      out.insert(0, "n");
    } else if (u < 1'000'000) {
      precision = 3;
      out.insert(0, "\xC2\xB5");  // Go writes U+00B5 MICRO SIGN
    } else {
      precision = 6;
      out.insert(0, "m");
    }
    u = prepend_fraction(out, u, precision);
    prepend_integer(out, u);
  } else {
    u = prepend_fraction(out, u, 9);
    prepend_integer(out, u % 60);
    u /= 60;
    if (u > 0) {
      out.insert(out.begin(), 'm');
      prepend_integer(out, u % 60);
      u /= 60;
      if (u > 0) {
        out.insert(out.begin(), 'h');
        prepend_integer(out, u);
      }
    }
  }
  if (negative) out.insert(out.begin(), '-');
  return out;
}

}  // namespace le::util
