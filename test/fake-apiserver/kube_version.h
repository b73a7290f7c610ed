#pragma once
// The Kubernetes version the local API server imitates (--kube-version), as the few rules in which
// kube-apiserver 1.20 and 1.37 answer the same request differently. Everything version-specific
// is a field here, looked up once at start; the REST flow and the strategies read these fields and
// never compare version numbers themselves. Each rule names the upstream source it follows;
// test/real-apiserver/test_conformance.cpp checks them against both real servers.
#include <optional>
#include <string>
#include <string_view>

#include "json.h"

namespace fake {

// Which JSON decoder turns a request body into a typed object; its error wording reaches clients
// in "Lease in version "v1" cannot be handled as a Lease: <problem>".
enum class JsonDecoder {
  // json-iterator (1.20): "v1.Lease.Spec: v1.LeaseSpec.HolderIdentity: ReadString: expects " or n,
  // but found 5", and an Unmarshaler's error after "unmarshalerDecoder: ".
  json_iterator,
  // sigs.k8s.io/json, encoding/json's decoder made case-sensitive (1.23+): "json: cannot unmarshal
  // number into Go struct field LeaseSpec.spec.holderIdentity of type string"; an Unmarshaler's
  // error as it is.
  encoding_json,
};

struct KubeVersion {
  std::string minor;        // "20"
  std::string git_version;  // "v1.20.2"
  Json version_document;    // GET /version, as the real server of that version answers it

  JsonDecoder decoder = JsonDecoder::json_iterator;

  // The missing resourceVersion (a uint64) of an update, as field.Error.ErrorBody prints it: with
  // %#v on 1.20 ("0x0"); 1.37 prints a value not of a simple type with json.Marshal ("0")
  // (apimachinery util/validation/field/errors.go).
  std::string zero_resource_version = "0x0";

  // Lease spec.strategy and spec.preferredHolder (coordination/v1 LeaseSpec since 1.31): kept and
  // validated where the CoordinatedLeaderElection gate is on (1.37 as test/e2e/control-plane starts
  // it), unknown fields and dropped on 1.20.
  bool lease_coordinated_fields = false;

  // Pods carry metadata.generation: 1 on create, +1 when the spec changes (1.33+
  // pkg/registry/core/pod/strategy.go PrepareForCreate, updatePodGeneration).
  bool pod_generation = false;

  // A PUT to a missing object of a resource without create-on-update: 1.20's Store.Update always
  // asked GuaranteedUpdate to ignore NotFound, so the UID precondition failed first (409 Conflict
  // StorageError); 1.37's asks it to ignore NotFound only with AllowCreateOnUpdate, so the etcd3
  // store answers 404 NotFound before any precondition (apiserver registry/generic/registry/store.go
  // Update, storage/etcd3/store.go getState).
  bool not_found_before_uid_precondition = false;
};

// The versions imitated: "1.20" or "1.37" (a "v" prefix and a patch level are accepted, so a
// gitVersion such as REAL_KUBE_VERSION=v1.37.2 can be passed as it is). nullopt for any other.
std::optional<KubeVersion> kube_version(std::string_view version);
// The supported versions, for --help and error messages: "1.20, 1.37".
const char* kube_versions_supported();

}  // namespace fake
