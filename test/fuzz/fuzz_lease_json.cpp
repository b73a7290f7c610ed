// libFuzzer target: a Lease body from the API server (parse_lease), and the update body built
// back from whatever parsed. Neither may crash, throw, or build a body that is not JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kube/lease_json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto lease = le::kube::parse_lease(body);
  if (!lease.ok()) return 0;
  auto record = lease.value().record;
  record.holder_identity = "fuzz";
  const auto update = le::kube::build_update_body(lease.value(), record);
  if (update.ok() && nlohmann::json::parse(update.value(), nullptr, false).is_discarded()) std::abort();
  return 0;
}
