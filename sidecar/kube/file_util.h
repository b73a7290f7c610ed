#pragma once
// Small file helpers shared by the credential loaders and the token source.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace le::kube {

// The whole file, or nullopt if it cannot be opened or read.
std::optional<std::string> read_file(const std::filesystem::path& path);

// Without leading and trailing ASCII whitespace (Go's strings.TrimSpace for the ASCII range).
std::string_view trim_space(std::string_view text);

}  // namespace le::kube
