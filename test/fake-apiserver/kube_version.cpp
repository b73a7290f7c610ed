#include "kube_version.h"

namespace fake {
namespace {

KubeVersion v1_20() {
  KubeVersion v;
  v.minor = "20";
  v.git_version = "v1.20.2";
  v.version_document = Json{{"major", "1"},
                            {"minor", "20"},
                            {"gitVersion", "v1.20.2"},
                            {"gitCommit", "faecb196815e248d3ecfb03c680a4507229c2a56"},
                            {"gitTreeState", "clean"},
                            {"buildDate", "2021-01-13T13:20:00Z"},
                            {"goVersion", "go1.15.5"},
                            {"compiler", "gc"},
                            {"platform", "linux/amd64"}};
  return v;  // the defaults of KubeVersion are 1.20's rules
}

KubeVersion v1_37() {
  KubeVersion v;
  v.minor = "37";
  v.git_version = "v1.37.2";
  // As test/e2e/control-plane's 1.37.2 (built by test/e2e/build-go-tools) answers it.
  v.version_document = Json{{"major", "1"},
                            {"minor", "37"},
                            {"emulationMajor", "1"},
                            {"emulationMinor", "37"},
                            {"minCompatibilityMajor", "1"},
                            {"minCompatibilityMinor", "36"},
                            {"gitVersion", "v1.37.2"},
                            {"gitCommit", "$Format:%H$"},
                            {"gitTreeState", "clean"},
                            {"buildDate", "1970-01-01T00:00:00Z"},
                            {"goVersion", "go1.26.8"},
                            {"compiler", "gc"},
                            {"platform", "linux/amd64"}};
  v.decoder = JsonDecoder::encoding_json;
  v.zero_resource_version = "0";
  v.lease_coordinated_fields = true;
  v.pod_generation = true;
  v.not_found_before_uid_precondition = true;
  return v;
}

}  // namespace

std::optional<KubeVersion> kube_version(std::string_view version) {
  if (!version.empty() && version.front() == 'v') version.remove_prefix(1);
  // "1.37", or a gitVersion: "1.37.2", "1.20.5+really1.20.2" (Debian's build); what follows the
  // minor version changes none of the rules here.
  if (const auto dot = version.find('.', 2); dot != std::string_view::npos) {
    if (dot + 1 >= version.size()) return std::nullopt;
    version = version.substr(0, dot);
  }
  if (version == "1.20") return v1_20();
  if (version == "1.37") return v1_37();
  return std::nullopt;
}

const char* kube_versions_supported() { return "1.20, 1.37"; }

}  // namespace fake
