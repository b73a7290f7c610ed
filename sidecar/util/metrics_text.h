#pragma once
// The Prometheus text exposition format 0.0.4, written by hand in one place: Debian's
// prometheus-cpp ships only shared libraries (and civetweb), which the all-static image cannot
// link. A scrape must never break on one bad value, so label values are escaped (\\, \", \n) and
// bytes that are not UTF-8 (an identity can be anything) are replaced with U+FFFD.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace le::util {

// What Prometheus 3 requires of the answer's Content-Type for this format, exactly.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

using MetricLabels = std::vector<std::pair<std::string_view, std::string_view>>;

class MetricsText {
 public:
  enum class Type { gauge, counter, histogram };

  // Starts a family: its # HELP and # TYPE lines. `name` and `help` are the program's own
  // constants; only label values come from outside.
  void family(std::string_view name, Type type, std::string_view help);
  void sample(std::string_view name, const MetricLabels& labels, double value);
  void sample(std::string_view name, double value) { sample(name, {}, value); }
  // One labelled histogram of a family started with Type::histogram: its _bucket lines (cumulative,
  // `le` from `upper_bounds` and then +Inf), _sum and _count. `bucket_counts` holds one count per
  // bound plus one past the last (not cumulative); _count is their total, so the lines always
  // agree with one another even while another thread keeps observing.
  void histogram(std::string_view name, const MetricLabels& labels, std::span<const double> upper_bounds,
                 std::span<const std::uint64_t> bucket_counts, double sum);

  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// A label value as the format needs it: valid UTF-8, with \\, \" and \n escaped.
std::string escape_label_value(std::string_view value);
// A sample value: integers without a fraction, others in the fewest digits that read back as the
// same double (0.1, not 0.10000000000000001), and +Inf, -Inf, NaN as the format spells them.
std::string format_metric_value(double value);

}  // namespace le::util
