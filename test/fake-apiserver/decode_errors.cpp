#include "decode_errors.h"

namespace fake {

std::string word(JsonDecoder decoder, const DecodeTypeError& error) {
  switch (decoder) {
    case JsonDecoder::json_iterator:
      return error.iter_path + ": " + error.iter_problem;
    case JsonDecoder::encoding_json:
      // UnmarshalTypeError.Error() with the context decodeState.addErrorContext adds
      // (sigs.k8s.io/json internal/golang/encoding/json/decode.go).
      return "json: cannot unmarshal " + error.found + " into Go struct field " + error.go_struct + "." +
             error.json_path + " of type " + error.go_type;
  }
  return error.iter_problem;
}

std::string word_unmarshaler_error(JsonDecoder decoder, const std::string& iter_path,
                                   const std::string& message) {
  if (decoder == JsonDecoder::json_iterator) return iter_path + ": unmarshalerDecoder: " + message;
  return message;
}

std::string json_found(const Json& value, bool literal) {
  if (value.is_number()) return literal ? "number " + value.dump() : "number";
  if (value.is_boolean()) return "bool";
  return value.type_name();  // "string", "array", "object"
}

}  // namespace fake
