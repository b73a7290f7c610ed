#pragma once
// The wording of a request body's type errors, as each JSON decoder of kube-apiserver words them
// (KubeVersion::decoder). The strategies describe the error once, with what either decoder needs.
#include <string>

#include "json.h"
#include "kube_version.h"

namespace fake {

struct DecodeTypeError {
  // json-iterator: the path of Go types and fields, then the reader's complaint:
  // "v1.Lease.Spec: v1.LeaseSpec.HolderIdentity" and "ReadString: expects \" or n, but found 5".
  std::string iter_path;
  std::string iter_problem;
  // encoding/json: the innermost Go struct, the JSON field path and the Go type expected:
  // "LeaseSpec", "spec.holderIdentity", "string".
  std::string go_struct;
  std::string json_path;
  std::string go_type;
  // The JSON value found, as encoding/json names it: "number", "number 1.5", "string", ...
  std::string found;
};

// The problem text after "<Kind> in version "v1" cannot be handled as a <Kind>: ".
std::string word(JsonDecoder decoder, const DecodeTypeError& error);

// An Unmarshaler's own error (MicroTime's time.Parse): json-iterator puts the path and
// "unmarshalerDecoder: " before it, encoding/json passes it on as it is.
std::string word_unmarshaler_error(JsonDecoder decoder, const std::string& iter_path,
                                   const std::string& message);

// How encoding/json names a JSON value of the wrong type: "string", "bool", "array", "object",
// "number"; with `literal`, a number as "number <text>" (what it says of a number that does not
// fit an integer field).
std::string json_found(const Json& value, bool literal = false);

}  // namespace fake
