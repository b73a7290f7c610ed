#include "pod_strategy.h"

#include "decode_errors.h"
#include "object_meta.h"
#include "strategic_merge.h"

namespace fake {
namespace {

ApiError cannot_handle(const std::string& problem) {
  return bad_request("Pod in version \"v1\" cannot be handled as a Pod: " + problem);
}

// The patchMergeKey tags of core/v1 that a routing test may touch.
const MergeKeys& pod_merge_keys() {
  static const MergeKeys keys{{"metadata.finalizers", ""},
                              {"metadata.ownerReferences", "uid"},
                              {"spec.containers", "name"},
                              {"spec.initContainers", "name"},
                              {"spec.ephemeralContainers", "name"},
                              {"spec.volumes", "name"},
                              {"spec.containers[].env", "name"},
                              {"spec.containers[].ports", "containerPort"},
                              {"spec.containers[].volumeMounts", "mountPath"},
                              {"spec.initContainers[].env", "name"},
                              {"status.conditions", "type"}};
  return keys;
}

// A JSON field's Go name, as json-iterator's error path spells it: "status" is Status.
std::string go_name(std::string field) {
  if (!field.empty()) field[0] = static_cast<char>(field[0] - 'a' + 'A');
  return field;
}

// IsQualifiedName, loosely: [prefix/]name with no spaces; the message of the real check.
bool plausible_condition_type(const std::string& type) {
  if (type.empty() || type.size() > 316) return false;
  return type.find_first_of(" \t\n\"'") == std::string::npos && type.front() != '/' && type.back() != '/';
}

}  // namespace

PodStrategy::PodStrategy(KubeVersion version) : version_(std::move(version)) {
  info_.group = "";
  info_.version = "v1";
  info_.resource = "pods";
  info_.kind = "Pod";
  info_.list_kind = "PodList";
  info_.singular = "";
  info_.namespaced = true;
  info_.allow_unconditional_update = true;
  info_.subresources = {"status"};
  info_.verbs = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"};
  info_.short_names = {"po"};
}

std::variant<Json, ApiError> PodStrategy::decode(const Json& body) const {
  if (!body.is_object()) {
    return bad_request(
        "the object provided is unrecognized (must be of type Pod): couldn't get version/kind; "
        "json parse error: json: cannot unmarshal " +
        std::string(body.type_name()) + " into Go value of type struct");
  }
  const std::string kind = body.value("kind", "");
  const std::string api_version = body.value("apiVersion", "");
  if ((!kind.empty() && kind != "Pod") || (!api_version.empty() && api_version != "v1")) {
    return bad_request(kind + " in version \"" + api_version + "\" cannot be handled as a Pod: no kind \"" +
                       kind + "\" is registered for version \"" + api_version + "\"");
  }
  const JsonDecoder decoder = version_.decoder;
  Json pod = Json::object();
  pod["kind"] = "Pod";
  pod["apiVersion"] = "v1";
  std::string problem;
  auto meta = decode_object_meta(body.contains("metadata") ? body["metadata"] : Json(), decoder, "Pod",
                                 "v1.Pod.ObjectMeta", problem);
  if (!meta) return cannot_handle(problem);
  pod["metadata"] = std::move(*meta);
  for (const auto& [section, go_field] : {std::pair{"spec", "Spec"}, std::pair{"status", "Status"}}) {
    const Json in = body.contains(section) ? body[section] : Json();
    if (!in.is_null() && !in.is_object()) {
      return cannot_handle(
          word(decoder, {std::string("v1.Pod.") + go_field,
                         "readObjectStart: expect { or n, but found " + in.dump().substr(0, 1), "Pod",
                         section, std::string("v1.Pod") + go_field, json_found(in)}));
    }
    pod[section] = in.is_object() ? in : Json::object();
  }
  if (pod["status"].contains("conditions")) {
    const Json& conditions = pod["status"]["conditions"];
    const std::string iter_path = "v1.Pod.Status: v1.PodStatus.Conditions";
    if (!conditions.is_array() && !conditions.is_null())
      return cannot_handle(
          word(decoder,
               {iter_path,
                "[]v1.PodCondition: decode slice: expect [ or n, but found " + conditions.dump().substr(0, 1),
                "PodStatus", "status.conditions", "[]v1.PodCondition", json_found(conditions)}));
    if (conditions.is_array()) {
      // PodCondition's string fields and their Go types; the times are metav1.Time, whose
      // UnmarshalJSON reads a Go string first. Other fields are unknown and ignored.
      static constexpr const char* kFields[][2] = {{"type", "v1.PodConditionType"},
                                                   {"status", "v1.ConditionStatus"},
                                                   {"lastProbeTime", "string"},
                                                   {"lastTransitionTime", "string"},
                                                   {"reason", "string"},
                                                   {"message", "string"}};
      Json normalized = Json::array();
      for (const auto& c : conditions) {
        if (!c.is_object())
          return cannot_handle(
              word(decoder, {iter_path + ": []v1.PodCondition",
                             "readObjectStart: expect { or n, but found " + c.dump().substr(0, 1),
                             "PodStatus", "status.conditions", "v1.PodCondition", json_found(c)}));
        for (const auto& [field, go_type] : kFields) {
          const auto v = c.find(field);
          if (v != c.end() && !v->is_string() && !v->is_null())
            return cannot_handle(word(
                decoder, {iter_path + ": []v1.PodCondition: v1.PodCondition." + go_name(field),
                          "ReadString: expects \" or n, but found " + v->dump().substr(0, 1), "PodCondition",
                          std::string("status.conditions.") + field, go_type, json_found(*v)}));
        }
        // As Go writes a PodCondition back: field order, the two times always (null when zero),
        // reason and message only when set; unknown fields dropped.
        Json out = Json::object();
        out["type"] = c.value("type", Json(""));
        out["status"] = c.value("status", Json(""));
        out["lastProbeTime"] = c.value("lastProbeTime", Json());
        out["lastTransitionTime"] = c.value("lastTransitionTime", Json());
        for (const char* optional : {"reason", "message"}) {
          if (c.contains(optional) && c[optional].is_string() && !c[optional].get<std::string>().empty())
            out[optional] = c[optional];
        }
        normalized.push_back(std::move(out));
      }
      pod["status"]["conditions"] = std::move(normalized);
    }
  }
  return pod;
}

FieldErrors PodStrategy::validate(const Json& object) const {
  auto errors = validate_object_meta(object["metadata"], true);
  const Json& spec = object["spec"];
  if (!spec.contains("containers") || !spec["containers"].is_array() || spec["containers"].empty()) {
    errors.push_back(FieldError::required("spec.containers", ""));
  } else {
    for (std::size_t i = 0; i < spec["containers"].size(); ++i) {
      const Json& c = spec["containers"][i];
      const std::string at = "spec.containers[" + std::to_string(i) + "]";
      if (!c.is_object() || c.value("name", "").empty())
        errors.push_back(FieldError::required(at + ".name", ""));
      if (!c.is_object() || c.value("image", "").empty())
        errors.push_back(FieldError::required(at + ".image", ""));
    }
  }
  return errors;
}

FieldErrors PodStrategy::validate_update(const Json& object, const Json& old) const {
  auto errors = validate_object_meta_update(object["metadata"], old["metadata"]);
  // ValidatePodStatusUpdate: each condition has a qualified-name type and a known status.
  const Json& status = object["status"];
  if (status.contains("conditions") && status["conditions"].is_array()) {
    const Json& conditions = status["conditions"];
    for (std::size_t i = 0; i < conditions.size(); ++i) {
      const std::string at = "status.conditions[" + std::to_string(i) + "]";
      const std::string type = conditions[i].value("type", "");
      if (!plausible_condition_type(type)) {
        errors.push_back(
            FieldError::invalid(at + ".type", go_quoted(type),
                                "name part must consist of alphanumeric characters, '-', '_' or '.'"));
      }
      const std::string s = conditions[i].value("status", "");
      if (s != "True" && s != "False" && s != "Unknown") {
        errors.push_back(FieldError{"FieldValueNotSupported", at + ".status", go_quoted(s),
                                    "supported values: \"False\", \"True\", \"Unknown\""});
      }
    }
  }
  if (object["spec"] != old["spec"]) {
    // The fake does not model the few mutable spec fields (image, activeDeadlineSeconds, ...).
    errors.push_back(
        FieldError::invalid("spec", "core.PodSpec{...}",
                            "Forbidden: pod updates may not change fields other than `spec.containers[*]"
                            ".image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds` or "
                            "`spec.tolerations` (only additions to existing tolerations)"));
  }
  return errors;
}

namespace {

// The defaults kube-apiserver 1.20 gives a Pod on create (SetDefaults_PodSpec, SetDefaults_Container)
// and those its default admission plugins add (DefaultTolerationSeconds, Priority), as the real
// answers in test/fixtures/k8s-api-samples/30-*.json show. Fields the client sent are kept.
void default_container(Json& c) {
  if (!c.is_object()) return;
  if (!c.contains("resources")) c["resources"] = Json::object();
  if (!c.contains("terminationMessagePath")) c["terminationMessagePath"] = "/dev/termination-log";
  if (!c.contains("terminationMessagePolicy")) c["terminationMessagePolicy"] = "File";
  if (!c.contains("imagePullPolicy")) {
    // "Always" for an untagged image or the tag "latest", else "IfNotPresent".
    std::string image = c.value("image", "");
    if (auto at = image.find('@'); at != std::string::npos) image.erase(at);
    const auto slash = image.rfind('/');
    const auto colon = image.rfind(':');
    const bool tagged = colon != std::string::npos && (slash == std::string::npos || colon > slash);
    const bool latest = !tagged || image.substr(colon + 1) == "latest";
    c["imagePullPolicy"] = latest ? "Always" : "IfNotPresent";
  }
}

void default_pod_spec(Json& spec) {
  if (!spec.is_object()) return;
  for (const char* list : {"containers", "initContainers"}) {
    if (spec.contains(list) && spec[list].is_array())
      for (auto& c : spec[list]) default_container(c);
  }
  if (!spec.contains("restartPolicy")) spec["restartPolicy"] = "Always";
  if (!spec.contains("terminationGracePeriodSeconds")) spec["terminationGracePeriodSeconds"] = 30;
  if (!spec.contains("dnsPolicy")) spec["dnsPolicy"] = "ClusterFirst";
  if (!spec.contains("securityContext")) spec["securityContext"] = Json::object();
  if (!spec.contains("schedulerName")) spec["schedulerName"] = "default-scheduler";
  if (!spec.contains("enableServiceLinks")) spec["enableServiceLinks"] = true;
  // Priority admission: no PriorityClass named, none is the default.
  if (!spec.contains("priority")) spec["priority"] = 0;
  if (!spec.contains("preemptionPolicy")) spec["preemptionPolicy"] = "PreemptLowerPriority";
  // DefaultTolerationSeconds admission: 300 s on not-ready and unreachable nodes unless tolerated.
  if (!spec.contains("tolerations") || !spec["tolerations"].is_array()) spec["tolerations"] = Json::array();
  for (const char* key : {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}) {
    bool tolerated = false;
    for (const auto& t : spec["tolerations"]) {
      if (!t.is_object()) continue;
      const std::string effect = t.value("effect", "");
      const bool matches_key =
          t.value("key", "") == key || (t.value("key", "").empty() && t.value("operator", "") == "Exists");
      if (matches_key && (effect.empty() || effect == "NoExecute")) tolerated = true;
    }
    if (!tolerated)
      spec["tolerations"].push_back(
          Json{{"key", key}, {"operator", "Exists"}, {"effect", "NoExecute"}, {"tolerationSeconds", 300}});
  }
}

}  // namespace

Json PodStrategy::prepare_for_create(Json object) const {
  default_pod_spec(object["spec"]);
  // podStrategy.PrepareForCreate (1.33+): pod.Generation = 1.
  if (version_.pod_generation) object["metadata"]["generation"] = 1;
  // podStrategy.PrepareForCreate: the status is the server's (no node: Pending).
  object["status"] = Json{{"phase", "Pending"}, {"qosClass", "BestEffort"}};
  return object;
}

Json PodStrategy::prepare_for_update(Json object, const Json& old, const std::string& subresource) const {
  if (subresource == "status") {
    // podStatusStrategy: only status changes; metadata is the stored one but for the
    // resourceVersion, which stays as the precondition the client sent.
    const Json rv = object["metadata"].value("resourceVersion", Json(""));
    object["spec"] = old["spec"];
    object["metadata"] = old["metadata"];
    object["metadata"]["resourceVersion"] = rv;
  } else {
    object["status"] = old.contains("status") ? old["status"] : Json::object();
    // rest.BeforeUpdate keeps the stored generation (a client cannot set it); 1.33+
    // updatePodGeneration adds one when the spec changes. pods/status keeps the stored metadata.
    if (version_.pod_generation) {
      const auto generation = old["metadata"].value("generation", std::int64_t{1});
      object["metadata"]["generation"] = object["spec"] == old["spec"] ? generation : generation + 1;
    }
  }
  return object;
}

Json PodStrategy::strategic_merge(const Json& original, const Json& patch) const {
  return strategic_merge_patch(original, patch, pod_merge_keys());
}

}  // namespace fake
