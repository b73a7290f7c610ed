#pragma once
// The Prometheus text exposition format 0.0.4, written by hand in one place: Debian's
// prometheus-cpp ships only shared libraries (and civetweb), which the all-static image cannot
// link. A scrape must never break on one bad value, so label values are escaped (\\, \", \n) and
// bytes that are not UTF-8 (an identity can be anything) are replaced with U+FFFD.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace le::http {

// What Prometheus 3 requires of the answer's Content-Type for this format, exactly.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

using MetricLabels = std::vector<std::pair<std::string_view, std::string_view>>;

class MetricsText {
 public:
  enum class Type { gauge, counter };

  // Starts a family: its # HELP and # TYPE lines. `name` and `help` are the program's own
  // constants; only label values come from outside.
  void family(std::string_view name, Type type, std::string_view help);
  void sample(std::string_view name, const MetricLabels& labels, double value);
  void sample(std::string_view name, double value) { sample(name, {}, value); }

  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// A label value as the format needs it: valid UTF-8, with \\, \" and \n escaped.
std::string escape_label_value(std::string_view value);
// A sample value: integers without a fraction, others with enough digits to read back the same
// double, and +Inf, -Inf, NaN as the format spells them.
std::string format_metric_value(double value);

}  // namespace le::http
