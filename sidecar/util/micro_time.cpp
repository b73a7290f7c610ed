#include "util/micro_time.h"

#include <array>

#include <fmt/chrono.h>

namespace le::util {
namespace {

using namespace std::chrono;

bool read_digits(std::string_view s, std::size_t pos, std::size_t count, int& out) {
  if (pos + count > s.size()) return false;
  int value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  out = value;
  return true;
}

// Every time this program writes goes through here. fmt prints the time of day with as many
// fractional digits as the duration has (%T), but fmt 9 (Debian 12) formats a time point's date in
// the local time zone, so the date comes from the calendar types, always UTC.
template <class Duration>
std::string format_utc(sys_time<Duration> t) {
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  return fmt::format("{:04}-{:02}-{:02}T{:%T}Z", int(ymd.year()), unsigned(ymd.month()), unsigned(ymd.day()),
                     t - day);
}

}  // namespace

WallTime to_micro(system_clock::time_point t) { return floor<microseconds>(t); }

std::string format_micro_time(WallTime t) {
  std::string out;
  append_micro_time(out, t);
  return out;
}

void append_micro_time(std::string& out, WallTime t) {
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const int year_number = int(ymd.year());
  if (year_number < 0 || year_number > 9999) {
    // Outside what four digits hold: as format_utc writes it.
    out += format_utc(t);
    return;
  }
  // The digits by hand: this runs for every /leader answer and every log line, and fmt's format
  // string parsing and chrono formatting cost more than the rest of building the answer.
  const hh_mm_ss<microseconds> time{t - day};
  std::array<char, 27> text{};  // 2006-01-02T15:04:05.000000Z
  const auto put = [&text](std::size_t at, unsigned value, std::size_t digits) {
    for (std::size_t i = digits; i-- > 0; value /= 10) text[at + i] = static_cast<char>('0' + value % 10);
  };
  put(0, static_cast<unsigned>(year_number), 4);
  text[4] = '-';
  put(5, unsigned(ymd.month()), 2);
  text[7] = '-';
  put(8, unsigned(ymd.day()), 2);
  text[10] = 'T';
  put(11, static_cast<unsigned>(time.hours().count()), 2);
  text[13] = ':';
  put(14, static_cast<unsigned>(time.minutes().count()), 2);
  text[16] = ':';
  put(17, static_cast<unsigned>(time.seconds().count()), 2);
  text[19] = '.';
  put(20, static_cast<unsigned>(time.subseconds().count()), 6);
  text[26] = 'Z';
  out.append(text.data(), text.size());
}

std::string format_seconds_time(sys_seconds t) { return format_utc(t); }

std::optional<WallTime> parse_micro_time(std::string_view s) {
  // 2006-01-02T15:04:05[.ffffff](Z|+07:00)
  int y, mo, d, h, mi, sec;
  if (!read_digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !read_digits(s, 5, 2, mo) || s[7] != '-' ||
      !read_digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') || !read_digits(s, 11, 2, h) ||
      s[13] != ':' || !read_digits(s, 14, 2, mi) || s[16] != ':' || !read_digits(s, 17, 2, sec))
    return std::nullopt;
  std::size_t pos = 19;
  long micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 6) micros = micros * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) return std::nullopt;
    for (std::size_t i = digits; i < 6; ++i) micros *= 10;
  }
  if (pos >= s.size()) return std::nullopt;
  minutes offset{0};
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!read_digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !read_digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset = hours{oh} + minutes{om};
    if (s[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const year_month_day ymd{year{y}, month{unsigned(mo)}, day{unsigned(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  const auto t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} + microseconds{micros} - offset;
  return WallTime{duration_cast<microseconds>(t.time_since_epoch())};
}

}  // namespace le::util
