#pragma once
// Standard base64 (RFC 4648 §4, with padding), as kubeconfig's *-data fields are encoded: Go's
// encoding/json decodes a []byte field with base64.StdEncoding.
#include <optional>
#include <string>
#include <string_view>

namespace le::kube {

// Whitespace (line breaks in hand-edited files) is ignored; nullopt for anything else invalid.
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace le::kube
