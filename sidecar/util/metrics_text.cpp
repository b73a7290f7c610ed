#include "util/metrics_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>

namespace le::util {
namespace {

// The length of the valid UTF-8 sequence at the start of `bytes`, or 0 when it is not one
// (overlong forms, surrogates and code points past U+10FFFF are not valid).
std::size_t utf8_sequence_length(std::string_view bytes) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
  const auto continuation = [&](std::size_t i) { return i < bytes.size() && (byte(i) & 0xC0) == 0x80; };
  const std::uint8_t lead = byte(0);
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return 0;
    if (lead == 0xE0 && byte(1) < 0xA0) return 0;   // overlong
    if (lead == 0xED && byte(1) >= 0xA0) return 0;  // UTF-16 surrogates
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (lead == 0xF0 && byte(1) < 0x90) return 0;   // overlong
    if (lead == 0xF4 && byte(1) >= 0x90) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string escaped;
  escaped.reserve(value.size());
  while (!value.empty()) {
    const std::size_t length = utf8_sequence_length(value);
    if (length == 0) {
      escaped += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER, for one invalid byte
      value.remove_prefix(1);
      continue;
    }
    if (length == 1) {
      switch (value[0]) {
        case '\\':
          escaped += "\\\\";
          break;
        case '"':
          escaped += "\\\"";
          break;
        case '\n':
          escaped += "\\n";
          break;
        default:
          escaped += value[0];
      }
    } else {
      escaped.append(value.substr(0, length));
    }
    value.remove_prefix(length);
  }
  return escaped;
}

std::string format_metric_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.0f", value);
    return buffer;
  }
  char buffer[40];
  const auto written = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, written.ptr);
}

void MetricsText::family(std::string_view name, Type type, std::string_view help) {
  text_.append("# HELP ").append(name).append(" ").append(help).append("\n");
  text_.append("# TYPE ").append(name);
  switch (type) {
    case Type::gauge:
      text_.append(" gauge\n");
      break;
    case Type::counter:
      text_.append(" counter\n");
      break;
    case Type::histogram:
      text_.append(" histogram\n");
      break;
  }
}

void MetricsText::histogram(std::string_view name, const MetricLabels& labels,
                            std::span<const double> upper_bounds,
                            std::span<const std::uint64_t> bucket_counts, double sum) {
  const std::string bucket = std::string(name) + "_bucket";
  MetricLabels with_le = labels;
  with_le.emplace_back("le", "");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= upper_bounds.size(); ++i) {
    if (i < bucket_counts.size()) cumulative += bucket_counts[i];
    const std::string bound = i < upper_bounds.size() ? format_metric_value(upper_bounds[i]) : "+Inf";
    with_le.back().second = bound;
    sample(bucket, with_le, static_cast<double>(cumulative));
  }
  sample(std::string(name) + "_sum", labels, sum);
  sample(std::string(name) + "_count", labels, static_cast<double>(cumulative));
}

void MetricsText::sample(std::string_view name, const MetricLabels& labels, double value) {
  text_.append(name);
  if (!labels.empty()) {
    text_ += '{';
    bool first = true;
    for (const auto& [label, label_value] : labels) {
      if (!first) text_ += ',';
      first = false;
      text_.append(label).append("=\"").append(escape_label_value(label_value)).append("\"");
    }
    text_ += '}';
  }
  text_.append(" ").append(format_metric_value(value)).append("\n");
}

}  // namespace le::util
