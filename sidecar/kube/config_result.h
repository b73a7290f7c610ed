#pragma once
// The outcome of loading credentials or a kubeconfig: a value, or a message for the operator that
// names the file and the missing or bad key. Loading never throws to the caller.
#include <string>
#include <utility>
#include <variant>

namespace le::kube {

struct ConfigError {
  std::string message;
};

template <class T>
class ConfigResult {
 public:
  ConfigResult(T value) : value_(std::move(value)) {}
  ConfigResult(ConfigError error) : value_(std::move(error)) {}
  bool ok() const { return std::holds_alternative<T>(value_); }
  const T& value() const { return std::get<T>(value_); }
  T& value() { return std::get<T>(value_); }
  const std::string& error() const { return std::get<ConfigError>(value_).message; }

 private:
  std::variant<T, ConfigError> value_;
};

}  // namespace le::kube
