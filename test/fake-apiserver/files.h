#pragma once
// File helpers. Everything a test may read while the server runs (port file, kubeconfig, data
// file) is written to a temporary name and renamed, so a reader never sees half a file.
#include <optional>
#include <string>

namespace fake {

std::optional<std::string> read_file(const std::string& path);
// Throws std::runtime_error with the path and errno text on failure.
void write_file_atomic(const std::string& path, const std::string& content);

}  // namespace fake
