#pragma once
// This replica's holderIdentity when --id is not given.
#include <functional>
#include <string>

#include "util/environment.h"

namespace le::config {

// POD_NAME from the Downward API; else the hostname plus a random suffix, since Pods with
// hostNetwork share their node's hostname and two replicas must never share an identity.
// `hostname` and `random32` are injectable for tests.
std::string default_identity(const util::Environment& env, const std::function<std::string()>& hostname,
                             const std::function<unsigned()>& random32);
std::string default_identity(const util::Environment& env);

}  // namespace le::config
