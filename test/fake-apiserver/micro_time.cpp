#include "micro_time.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <ctime>

namespace fake {
namespace {

// Go quotes values in ParseError with strconv.Quote; the inputs here are JSON strings already, so
// escaping quotes and backslashes is enough for the messages to read the same.
std::string go_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

MicroTimeError cannot_parse(std::string_view value, std::string_view layout, std::string_view rest,
                            std::string_view element) {
  return {"parsing time " + go_quote(value) + " as " + go_quote(layout) + ": cannot parse " + go_quote(rest) +
          " as " + go_quote(element)};
}

MicroTimeError out_of_range(std::string_view value, std::string_view what) {
  return {"parsing time " + go_quote(value) + ": " + std::string(what) + " out of range"};
}

bool is_digit(std::string_view s, std::size_t i) { return i < s.size() && s[i] >= '0' && s[i] <= '9'; }

int digits(std::string_view s) {
  int n = 0;
  for (char c : s) n = n * 10 + (c - '0');
  return n;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in(int month, int year) {
  static constexpr std::array<int, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kDays[static_cast<std::size_t>(month - 1)];
}

// A layout walk equivalent to time.Parse for exactly kMicroTimeLayout: each element consumes from
// the front of `rest`; a failure names the remaining text and the layout element, as Go does.
struct Cursor {
  std::string_view value;
  std::string_view rest;

  bool literal(char c) {
    if (rest.empty() || rest.front() != c) return false;
    rest.remove_prefix(1);
    return true;
  }
  // getnum(value, fixed=true): exactly two digits.
  std::optional<int> two_digits() {
    if (!is_digit(rest, 0) || !is_digit(rest, 1)) return std::nullopt;
    const int n = digits(rest.substr(0, 2));
    rest.remove_prefix(2);
    return n;
  }
};

// How the layout treats a fraction of a second after the seconds.
enum class Fraction {
  // ".000000" (stdFracSecond0): exactly six digits must follow a '.' (MicroTime).
  exactly_six,
  // No fraction element (time.RFC3339): Go still accepts one after the seconds, a '.' or ',' and
  // any number of digits ("Special case: do we have a fractional second but no fractional second in
  // the format?" in time.parse).
  optional,
};

struct ParsedTime {
  std::chrono::sys_seconds utc;
  std::int64_t nanos = 0;
};

// time.Parse for the one layout "2006-01-02T15:04:05" + fraction + "Z07:00": each element consumes
// from the front of the text; a failure names the remaining text and the layout element, as Go does.
std::variant<ParsedTime, MicroTimeError> parse_layout(std::string_view text, std::string_view layout,
                                                      Fraction fraction) {
  Cursor c{text, text};
  const auto literal = [&](char ch) -> std::optional<MicroTimeError> {
    if (c.literal(ch)) return std::nullopt;
    return cannot_parse(text, layout, c.rest, std::string_view(&ch, 1));
  };

  // "2006": four characters, the first a digit, all of them digits for atoi.
  if (c.rest.size() < 4 || !is_digit(c.rest, 0) || !is_digit(c.rest, 1) || !is_digit(c.rest, 2) ||
      !is_digit(c.rest, 3)) {
    return cannot_parse(text, layout, c.rest, "2006");
  }
  const int year = digits(c.rest.substr(0, 4));
  c.rest.remove_prefix(4);
  if (auto e = literal('-')) return *e;
  const auto month_at = c.rest;
  const auto month = c.two_digits();
  if (!month) return cannot_parse(text, layout, month_at, "01");
  if (*month < 1 || *month > 12) return out_of_range(text, "month");
  if (auto e = literal('-')) return *e;
  const auto day_at = c.rest;
  const auto day = c.two_digits();
  if (!day) return cannot_parse(text, layout, day_at, "02");
  if (*day > 31) return out_of_range(text, "day");
  if (auto e = literal('T')) return *e;
  // "15" is Go's stdHour, which takes one or two digits.
  const auto hour_at = c.rest;
  if (!is_digit(c.rest, 0)) return cannot_parse(text, layout, hour_at, "15");
  const std::size_t hour_len = is_digit(c.rest, 1) ? 2 : 1;
  const int hour = digits(c.rest.substr(0, hour_len));
  c.rest.remove_prefix(hour_len);
  if (hour > 23) return out_of_range(text, "hour");
  if (auto e = literal(':')) return *e;
  const auto minute_at = c.rest;
  const auto minute = c.two_digits();
  if (!minute) return cannot_parse(text, layout, minute_at, "04");
  if (*minute > 59) return out_of_range(text, "minute");
  if (auto e = literal(':')) return *e;
  const auto second_at = c.rest;
  const auto second = c.two_digits();
  if (!second) return cannot_parse(text, layout, second_at, "05");
  if (*second > 59) return out_of_range(text, "second");
  std::int64_t nanos = 0;
  if (fraction == Fraction::exactly_six) {
    // ".000000" (stdFracSecond0) demands exactly the layout's number of digits.
    const auto frac_at = c.rest;
    if (c.rest.size() < 7 || c.rest[0] != '.') return cannot_parse(text, layout, frac_at, ".000000");
    for (std::size_t i = 1; i < 7; ++i) {
      if (!is_digit(c.rest, i)) return cannot_parse(text, layout, frac_at, ".000000");
    }
    nanos = std::int64_t{digits(c.rest.substr(1, 6))} * 1000;
    c.rest.remove_prefix(7);
  } else if (c.rest.size() >= 2 && (c.rest[0] == '.' || c.rest[0] == ',') && is_digit(c.rest, 1)) {
    // parseNanoseconds: the first nine digits count, further ones are dropped.
    std::size_t n = 1;
    while (is_digit(c.rest, n)) {
      if (n <= 9) nanos = nanos * 10 + (c.rest[n] - '0');
      ++n;
    }
    for (std::size_t i = n; i <= 9; ++i) nanos *= 10;
    c.rest.remove_prefix(n);
  }
  // "Z07:00": "Z", or a sign, two digits, ':', two digits.
  const auto zone_at = c.rest;
  int offset_minutes = 0;
  if (!c.rest.empty() && c.rest[0] == 'Z') {
    c.rest.remove_prefix(1);
  } else {
    if (c.rest.size() < 6 || c.rest[3] != ':' || (c.rest[0] != '+' && c.rest[0] != '-') ||
        !is_digit(c.rest, 1) || !is_digit(c.rest, 2) || !is_digit(c.rest, 4) || !is_digit(c.rest, 5)) {
      return cannot_parse(text, layout, zone_at, "Z07:00");
    }
    offset_minutes = digits(c.rest.substr(1, 2)) * 60 + digits(c.rest.substr(4, 2));
    if (c.rest[0] == '-') offset_minutes = -offset_minutes;
    c.rest.remove_prefix(6);
  }
  if (!c.rest.empty()) {
    // Quoted, as the Go of both servers compared (test/e2e/control-plane: Debian's 1.20 built with
    // Go 1.19, 1.37 with Go 1.26) words it; Go 1.15 did not quote it.
    return MicroTimeError{"parsing time " + go_quote(text) + ": extra text: " + go_quote(c.rest)};
  }
  if (*day < 1 || *day > days_in(*month, year)) return out_of_range(text, "day");

  using namespace std::chrono;
  const sys_days date{std::chrono::year{year} / static_cast<unsigned>(*month) / static_cast<unsigned>(*day)};
  return ParsedTime{
      sys_seconds{date} + hours{hour} + minutes{*minute} + seconds{*second} - minutes{offset_minutes}, nanos};
}

// Go's time.Time zero value, which metav1.Time and MicroTime write as null.
bool is_zero(const ParsedTime& t) {
  using namespace std::chrono;
  return t.nanos == 0 && t.utc == sys_days{std::chrono::year{1} / 1 / 1};
}

std::string format_utc(std::chrono::sys_seconds utc, std::optional<std::int64_t> micros) {
  using namespace std::chrono;
  const auto utc_day = floor<days>(utc);
  const year_month_day ymd{utc_day};
  const hh_mm_ss hms{utc - utc_day};
  char out[40];
  std::snprintf(out, sizeof out, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  std::string s = out;
  if (micros) {
    std::snprintf(out, sizeof out, ".%06lld", static_cast<long long>(*micros));
    s += out;
  }
  return s + "Z";
}

}  // namespace

std::variant<std::string, MicroTimeError> normalize_micro_time(std::string_view text) {
  auto parsed = parse_layout(text, kMicroTimeLayout, Fraction::exactly_six);
  if (auto* error = std::get_if<MicroTimeError>(&parsed)) return *error;
  const auto& t = std::get<ParsedTime>(parsed);
  return format_utc(t.utc, t.nanos / 1000);
}

std::variant<std::optional<std::string>, MicroTimeError> normalize_time(std::string_view text) {
  auto parsed = parse_layout(text, kTimeLayout, Fraction::optional);
  if (auto* error = std::get_if<MicroTimeError>(&parsed)) return *error;
  const auto& t = std::get<ParsedTime>(parsed);
  if (is_zero(t)) return std::optional<std::string>();
  // Time.MarshalJSON: t.UTC().Format(time.RFC3339), which drops the fraction.
  return std::optional<std::string>(format_utc(t.utc, std::nullopt));
}

std::string format_rfc3339_seconds(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

}  // namespace fake
