#pragma once
// metav1.ObjectMeta as every resource decodes and validates it (apimachinery's ValidateObjectMeta).
#include <optional>
#include <string>

#include "json.h"
#include "kube_version.h"
#include "names.h"
#include "status.h"

namespace fake {

// The metadata fields a client may send and the server keeps, in the order the server writes them.
// On a type error, `problem` receives the decoder's text: for json-iterator `iter_path` (e.g.
// "v1.Lease.ObjectMeta") then ": v1.ObjectMeta.Labels: ..."; for encoding/json "json: cannot
// unmarshal ... into Go struct field ObjectMeta.metadata.labels ..." (`kind` names the outer struct).
std::optional<Json> decode_object_meta(const Json& meta, JsonDecoder decoder, const std::string& kind,
                                       const std::string& iter_path, std::string& problem);

// The rule a name must follow (apimachinery's ValidateNameFunc, not a prefix): the messages of its
// failures, empty when the name is good.
using NameRule = std::vector<std::string> (*)(std::string_view name);

// ValidateObjectMeta: name (or generateName) present and following `name_rule` (a DNS-1123
// subdomain for most kinds: NameIsDNSSubdomain), namespace a DNS-1123 label.
FieldErrors validate_object_meta(const Json& meta, bool namespaced,
                                 NameRule name_rule = dns1123_subdomain_errors);
// ValidateObjectMetaUpdate: the above, plus uid and name immutable.
FieldErrors validate_object_meta_update(const Json& meta, const Json& old,
                                        NameRule name_rule = dns1123_subdomain_errors);

// Puts the metadata fields in ObjectMeta's declaration order (name, namespace, uid,
// resourceVersion, creationTimestamp, labels, annotations, ..., managedFields), as the server writes them.
void order_object_meta(Json& meta);

// Go's %q: the form a string value takes in an "Invalid value" message.
std::string go_quoted(const std::string& s);

}  // namespace fake
