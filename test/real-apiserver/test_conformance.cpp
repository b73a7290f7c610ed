// Conformance of the local API server (test/fake-apiserver): one scripted sequence of requests, the
// sidecar's own and the mistakes it must survive, sent to the local API server and to a real
// kube-apiserver. Status codes, Status reason/code/message and the bodies must match, ignoring what
// differs between any two servers (uid, timestamps, resourceVersion values, managedFields).
//
// To extend it, add rows to conformance_script(): a row is a request template; "{name}",
// "{slice-version}" and "{saved-key}" placeholders are filled per server, and `save` keeps from the
// answer, for later rows, its resourceVersion as "{KEY}", its uid as "{KEY-uid}" and the whole
// object as read as "{KEY-object}".
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "http_client.h"
#include "process.h"
#include "real_control_plane.h"

using namespace std::chrono_literals;
using le::testing::ChildProcess;
using le::testing::HttpAnswer;
using le::testing::HttpClient;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

enum class Auth { admin, none, wrong_token, no_role };

struct Step {
  Step(std::string name, std::string method, std::string path, std::string body,
       std::string content_type = "application/json", Auth auth = Auth::admin, bool watch = false,
       std::string save = "")
      : name(std::move(name)),
        method(std::move(method)),
        path(std::move(path)),
        body(std::move(body)),
        content_type(std::move(content_type)),
        auth(auth),
        watch(watch),
        save(std::move(save)) {}
  std::string name;
  std::string method;
  std::string path;  // may hold placeholders
  std::string body;  // may hold placeholders
  std::string content_type;
  Auth auth;
  bool watch;        // the answer is a stream of JSON lines
  std::string save;  // keep the answer's resourceVersion, uid and body under this key
};

const std::string kLeases = "/apis/coordination.k8s.io/v1/namespaces/default/leases";

std::string lease_body(const std::string& resource_version, const json& spec,
                       const std::string& name = "{name}") {
  json lease{{"apiVersion", "coordination.k8s.io/v1"},
             {"kind", "Lease"},
             {"metadata", {{"name", name}, {"namespace", "default"}}},
             {"spec", spec}};
  if (!resource_version.empty()) lease["metadata"]["resourceVersion"] = resource_version;
  return lease.dump();
}

// A body under another metadata.name.
std::string fill_name(const std::string& body, const std::string& name) {
  json object = json::parse(body);
  object["metadata"]["name"] = name;
  return object.dump();
}

// A body that names a uid: kube-apiserver takes a uid in an update as a UID precondition.
std::string with_uid(const std::string& body, const std::string& uid) {
  json object = json::parse(body);
  object["metadata"]["uid"] = uid;
  return object.dump();
}

json held(const std::string& renew_time, int duration = 15) {
  return {{"holderIdentity", "pod-a"},
          {"leaseDurationSeconds", duration},
          {"acquireTime", "2026-11-24T23:59:00.123456Z"},
          {"renewTime", renew_time},
          {"leaseTransitions", 0}};
}

// A held Lease with CoordinatedLeaseStrategy fields; an empty strategy is left out.
json coordinated(const std::string& strategy, const std::string& preferred_holder) {
  json spec = held("2026-11-24T23:59:05.000000Z");
  if (!strategy.empty()) spec["strategy"] = strategy;
  spec["preferredHolder"] = preferred_holder;
  return spec;
}

const std::string kPods = "/api/v1/namespaces/default/pods";
const std::string kSlices = "/apis/discovery.k8s.io/{slice-version}/namespaces/default/endpointslices";
const std::string kEvents = "/api/v1/namespaces/default/events";

// A core/v1 Event as the sidecar's recorder writes one (kube/event_recorder.cpp, client-go's shape).
std::string event_body(const std::string& event_namespace = "default") {
  return json{{"apiVersion", "v1"},
              {"kind", "Event"},
              {"metadata", {{"name", "{name}.18ede0b33b260c2e"}, {"namespace", event_namespace}}},
              {"involvedObject",
               {{"kind", "Lease"},
                {"namespace", "default"},
                {"name", "{name}"},
                {"apiVersion", "coordination.k8s.io/v1"},
                {"uid", "90029f6d-3025-4548-ae8a-661458e1943a"},
                {"resourceVersion", "237"}}},
              {"reason", "LeaderElection"},
              {"message", "pod-a became leader"},
              {"source", {{"component", "lease-elector"}}},
              {"firstTimestamp", "2026-11-25T00:00:00Z"},
              {"lastTimestamp", "2026-11-25T00:00:00Z"},
              {"count", 1},
              {"type", "Normal"},
              {"reportingComponent", "lease-elector"},
              {"reportingInstance", "pod-a"}}
      .dump();
}

// The e2e suite's Pod (test/e2e/e2e_cluster.cpp): no scheduler serves its schedulerName, so it stays
// Pending; no token volume, as the control plane runs no ServiceAccount admission.
json pod_object() {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", "{name}"}, {"namespace", "default"}, {"labels", {{"app", "conformance"}}}}},
          {"spec",
           {{"schedulerName", "lease-elector-e2e-unscheduled"},
            {"automountServiceAccountToken", false},
            {"containers", json::array({{{"name", "app"}, {"image", "registry.invalid/app:1"}}})},
            {"readinessGates", json::array({{{"conditionType", "lease-elector.io/leader"}}})}}}};
}

// The Service-routing mode's EndpointSlice: one endpoint, the leader's address.
std::string slice_body(const std::string& resource_version, const std::string& address) {
  json slice{{"apiVersion", "discovery.k8s.io/{slice-version}"},
             {"kind", "EndpointSlice"},
             {"metadata",
              {{"name", "{name}"},
               {"namespace", "default"},
               {"labels",
                {{"kubernetes.io/service-name", "conformance"},
                 {"endpointslice.kubernetes.io/managed-by", "lease-elector.io"}}}}},
             {"addressType", "IPv4"},
             {"endpoints", json::array({{{"addresses", {address}}, {"conditions", {{"ready", true}}}}})},
             {"ports", json::array({{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}}})}};
  if (!resource_version.empty()) slice["metadata"]["resourceVersion"] = resource_version;
  return slice.dump();
}

std::vector<Step> conformance_script() {
  json created = json::parse(lease_body("", held("2026-11-24T23:59:00.123456Z")));
  created["metadata"]["labels"] = {{"team", "a"}};
  created["metadata"]["annotations"] = {{"note", "kept"}};
  json bad_time = held("yesterday");
  json released{{"leaseDurationSeconds", 1},
                {"acquireTime", "2026-11-24T23:59:09.000001Z"},
                {"renewTime", "2026-11-24T23:59:09.000001Z"},
                {"leaseTransitions", 0}};
  const std::string one = kLeases + "/{name}";
  const std::string pod = kPods + "/{name}";
  const std::string slice = kSlices + "/{name}";
  json missing_pod = pod_object();
  missing_pod["metadata"]["name"] = "{name}-missing";
  return {
      {"GET a missing Lease", "GET", one, ""},
      {"create", "POST", kLeases, created.dump(), "application/json", Auth::admin, false, "created"},
      {"create the same name again", "POST", kLeases, created.dump()},
      {"GET", "GET", one, ""},
      {"list by field selector", "GET", kLeases + "?fieldSelector=metadata.name%3D{name}", ""},
      {"update with the resourceVersion read", "PUT", one,
       lease_body("{created}", held("2026-11-24T23:59:02.654321Z")), "application/json", Auth::admin, false,
       "updated"},
      {"update with a stale resourceVersion", "PUT", one,
       lease_body("{created}", held("2026-11-24T23:59:03.000000Z"))},
      {"update without resourceVersion", "PUT", one, lease_body("", held("2026-11-24T23:59:03.000000Z"))},
      {"update with a negative lease duration", "PUT", one,
       lease_body("{updated}", held("2026-11-24T23:59:03.000000Z", -5))},
      {"update with a bad MicroTime", "PUT", one, lease_body("{updated}", bad_time)},
      {"create with a bad MicroTime", "POST", kLeases, lease_body("", bad_time, "{name}-2")},
      {"truncated JSON", "POST", kLeases,
       R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"na)"},
      {"update naming another object", "PUT", one,
       lease_body("{updated}", held("2026-11-24T23:59:03.000000Z"), "other")},
      {"merge patch", "PATCH", one, R"({"metadata":{"annotations":{"patched":"yes"}}})",
       "application/merge-patch+json", Auth::admin, false, "patched"},
      {"PATCH with Content-Type application/json", "PATCH", one, R"({"metadata":{"annotations":{"x":"y"}}})"},
      {"wrong token", "GET", one, "", "", Auth::wrong_token},
      {"no token (anonymous)", "GET", one, "", "", Auth::none},
      {"forbidden (no Role)", "GET", one, "", "", Auth::no_role},
      {"forbidden update (no Role)", "PUT", one, lease_body("{patched}", held("2026-11-24T23:59:03.000000Z")),
       "application/json", Auth::no_role},
      {"watch from the resourceVersion before the patch", "GET",
       kLeases + "?watch=1&fieldSelector=metadata.name%3D{name}&resourceVersion={updated}&timeoutSeconds=1",
       "", "", Auth::admin, true},
      {"watch from a resourceVersion older than the window", "GET",
       kLeases + "?watch=1&fieldSelector=metadata.name%3D{name}&resourceVersion=1&timeoutSeconds=1", "", "",
       Auth::admin, true},
      {"release (holderIdentity left out)", "PUT", one, lease_body("{patched}", released), "application/json",
       Auth::admin, false, "released"},
      // A uid in an update body is a UID precondition (rest.DefaultUpdatedObjectInfo.Preconditions),
      // checked by the etcd3 store before the resourceVersion and before create-on-update
      // (storage.Preconditions.Check in GuaranteedUpdate); the sidecar sends the Lease as read, uid
      // included. Its 409 quotes the etcd key: /registry/... as long as the real server keeps the
      // default --etcd-prefix (test/e2e/control-plane does).
      {"GET the Lease as the sidecar reads it", "GET", one, "", "", Auth::admin, false, "read"},
      {"update with the uid read and a stale resourceVersion", "PUT", one,
       with_uid(lease_body("{patched}", held("2026-11-24T23:59:03.000000Z")), "{read-uid}")},
      {"DELETE", "DELETE", one, ""},
      {"GET after DELETE", "GET", one, ""},
      {"update of the deleted Lease as read, with its uid (no create)", "PUT", one, "{read-object}"},
      {"update of a missing Lease without uid, with a resourceVersion (creates it)", "PUT", one,
       lease_body("{released}", held("2026-11-24T23:59:04.000000Z"))},
      {"update of the recreated Lease as read before the DELETE (another uid)", "PUT", one, "{read-object}"},
      {"DELETE with the deleted Lease's uid as precondition", "DELETE", one,
       R"({"preconditions":{"uid":"{read-uid}"}})"},
      {"DELETE the recreated Lease", "DELETE", one, ""},
      {"update of a missing Lease without uid or resourceVersion (creates it)", "PUT", one,
       lease_body("", held("2026-11-24T23:59:04.000000Z"))},
      {"DELETE again", "DELETE", one, ""},
      // coordination/v1 LeaseSpec strategy and preferredHolder (1.31+): a server with the
      // CoordinatedLeaderElection gate on keeps and validates them, 1.20 drops them as unknown.
      {"create with strategy and preferredHolder", "POST", kLeases,
       lease_body("", coordinated("OldestEmulationVersion", "pod-b"), "{name}-c"), "application/json",
       Auth::admin, false, "coordinated"},
      {"update changing preferredHolder", "PUT", kLeases + "/{name}-c",
       lease_body("{coordinated}", coordinated("OldestEmulationVersion", "pod-c"), "{name}-c"),
       "application/json", Auth::admin, false, "coordinated-updated"},
      {"update with a strategy that is not a qualified name", "PUT", kLeases + "/{name}-c",
       lease_body("{coordinated-updated}", coordinated("example.com/not a name", "pod-c"), "{name}-c")},
      {"merge patch of preferredHolder", "PATCH", kLeases + "/{name}-c",
       R"({"spec":{"preferredHolder":"pod-d"}})", "application/merge-patch+json"},
      {"GET the Lease with strategy", "GET", kLeases + "/{name}-c", ""},
      {"DELETE the Lease with strategy", "DELETE", kLeases + "/{name}-c", ""},
      {"create with an unknown strategy", "POST", kLeases,
       lease_body("", coordinated("Bogus", "pod-b"), "{name}-s")},
      {"DELETE the Lease with an unknown strategy (if created)", "DELETE", kLeases + "/{name}-s", ""},
      {"create with preferredHolder but no strategy", "POST", kLeases,
       lease_body("", coordinated("", "pod-b"), "{name}-p")},
      {"DELETE the Lease with preferredHolder only (if created)", "DELETE", kLeases + "/{name}-p", ""},
      // Pods: what the label and readiness-gate routing modes send.
      {"create a Pod", "POST", kPods, pod_object().dump(), "application/json", Auth::admin, false, "pod"},
      {"GET the Pod", "GET", pod, ""},
      {"list Pods by label selector", "GET", kPods + "?labelSelector=app%3Dconformance", ""},
      {"merge patch adding a label, resourceVersion precondition", "PATCH", pod,
       R"({"metadata":{"resourceVersion":"{pod}","labels":{"lease-elector.io/leader":"true"}}})",
       "application/merge-patch+json", Auth::admin, false, "labelled"},
      {"merge patch with a stale resourceVersion", "PATCH", pod,
       R"({"metadata":{"resourceVersion":"{pod}","labels":{"lease-elector.io/leader":"false"}}})",
       "application/merge-patch+json"},
      {"merge patch removing the label", "PATCH", pod,
       R"({"metadata":{"labels":{"lease-elector.io/leader":null}}})", "application/merge-patch+json"},
      {"strategic merge patch of pods/status adding a condition", "PATCH", pod + "/status",
       R"({"status":{"conditions":[{"type":"lease-elector.io/leader","status":"True","lastProbeTime":null,)"
       R"("lastTransitionTime":"2026-11-25T00:00:00Z"}]}})",
       "application/strategic-merge-patch+json"},
      {"PATCH a Pod with Content-Type application/json", "PATCH", pod,
       R"({"metadata":{"labels":{"x":"y"}}})"},
      {"patch of a missing Pod", "PATCH", pod + "-missing", R"({"metadata":{"labels":{"x":"y"}}})",
       "application/merge-patch+json"},
      // Pods have no create-on-update: 1.20 checks the UID precondition before that NotFound (409),
      // 1.37 answers 404 first.
      {"update of a missing Pod with a uid", "PUT", pod + "-missing",
       with_uid(missing_pod.dump(), "{pod-uid}")},
      {"update of a missing Pod without a uid", "PUT", pod + "-missing", missing_pod.dump()},
      {"patch of a Pod as a user without a Role", "PATCH", pod, R"({"metadata":{"labels":{"x":"y"}}})",
       "application/merge-patch+json", Auth::no_role},
      // EndpointSlices: what the Service routing mode sends.
      {"create an EndpointSlice", "POST", kSlices, slice_body("", "10.0.0.1"), "application/json",
       Auth::admin, false, "slice"},
      {"GET the EndpointSlice", "GET", slice, ""},
      {"update the EndpointSlice with the resourceVersion read", "PUT", slice,
       slice_body("{slice}", "10.0.0.2")},
      {"update the EndpointSlice with a stale resourceVersion", "PUT", slice,
       slice_body("{slice}", "10.0.0.3")},
      {"create the EndpointSlice again", "POST", kSlices, slice_body("", "10.0.0.1")},
      // No create-on-update either: 409 (UID precondition) on 1.20, 404 on 1.37, as for Pods.
      {"update of a missing EndpointSlice with a uid", "PUT", slice + "-missing",
       with_uid(fill_name(slice_body("", "10.0.0.1"), "{name}-missing"), "{slice-uid}")},
      // Events: what the sidecar's recorder sends (create, then a repeat's strategic merge patch)
      // and what kubectl describe asks.
      {"create an Event", "POST", kEvents, event_body()},
      {"GET the Event", "GET", kEvents + "/{name}.18ede0b33b260c2e", ""},
      {"strategic merge patch of a repeat's count", "PATCH", kEvents + "/{name}.18ede0b33b260c2e",
       R"({"count":2,"lastTimestamp":"2026-11-25T00:00:07Z"})", "application/strategic-merge-patch+json"},
      {"list Events as kubectl describe does", "GET",
       kEvents +
           "?fieldSelector=involvedObject.kind%3DLease%2CinvolvedObject.name%3D{name}%2C"
           "involvedObject.namespace%3Ddefault%2CinvolvedObject.uid%3D90029f6d-3025-4548-ae8a-661458e1943a",
       ""},
      {"list Events by a field label they do not have", "GET", kEvents + "?fieldSelector=spec.foo%3Dx", ""},
      {"create an Event in another namespace than its object's", "POST",
       "/api/v1/namespaces/kube-public/events", event_body("kube-public")},
      {"patch of a missing Event", "PATCH", kEvents + "/{name}.missing", R"({"count":2})",
       "application/strategic-merge-patch+json"},
      {"DELETE the Event", "DELETE", kEvents + "/{name}.18ede0b33b260c2e", ""},
  };
}

struct Server {
  std::string name, url, ca, admin_token, no_role_token;
};

struct Answer {
  int status = 0;
  json body;  // normalized; a list of events for a watch
  std::string raw;
};

std::string fill(std::string text, const std::map<std::string, std::string>& vars) {
  for (const auto& [key, value] : vars) {
    const std::string placeholder = "{" + key + "}";
    for (auto at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + value.size()))
      text.replace(at, placeholder.size(), value);
  }
  return text;
}

// What any two servers may answer differently: identities, times and versions they assign.
void normalize(json& value) {
  if (value.is_array()) {
    for (auto& item : value) normalize(item);
    return;
  }
  if (!value.is_object()) return;
  if (auto metadata = value.find("metadata"); metadata != value.end() && metadata->is_object()) {
    for (const char* key : {"uid", "creationTimestamp", "resourceVersion", "managedFields", "selfLink"}) {
      if (metadata->contains(key)) (*metadata)[key] = "<ignored>";
    }
  }
  // The watch cache's "too old resource version: ASKED (OLDEST)" quotes the server's own oldest
  // resourceVersion.
  if (auto message = value.find("message"); message != value.end() && message->is_string()) {
    static const std::regex oldest(R"(too old resource version: (\d+) \(\d+\))");
    *message =
        std::regex_replace(message->get<std::string>(), oldest, "too old resource version: $1 (<ignored>)");
  }
  // kube-apiserver's JSON decoder (json-iterator) appends the raw bytes around a decoding error;
  // the local API server does not reproduce that view of the request body.
  if (auto message = value.find("message"); message != value.end() && message->is_string()) {
    static const std::regex context(R"(, error found in #\d+ byte of \.\.\.\|.*\|\.\.\.$)");
    *message = std::regex_replace(message->get<std::string>(), context, "");
  }
  // A UID precondition's conflict quotes uids, each server's own. Whether a uid is quoted or
  // empty (a missing object) stays visible.
  if (auto message = value.find("message"); message != value.end() && message->is_string()) {
    static const std::regex uid("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
    *message = std::regex_replace(message->get<std::string>(), uid, "<uid>");
  }
  if (auto details = value.find("details");
      details != value.end() && details->is_object() && details->contains("uid"))
    (*details)["uid"] = "<ignored>";
  for (auto& [key, item] : value.items()) {
    if (key != "metadata") normalize(item);
  }
}

Answer ask(HttpClient& http, const Server& server, const Step& step,
           std::map<std::string, std::string>& vars) {
  http.set_ca_file(server.ca);
  switch (step.auth) {
    case Auth::admin:
      http.set_bearer_token(server.admin_token);
      break;
    case Auth::none:
      http.set_bearer_token("");
      break;
    case Auth::wrong_token:
      http.set_bearer_token("not-a-valid-token");
      break;
    case Auth::no_role:
      http.set_bearer_token(server.no_role_token);
      break;
  }
  const HttpAnswer reply = http.request(step.method, server.url + fill(step.path, vars),
                                        fill(step.body, vars), step.content_type, 5000ms);
  Answer answer;
  answer.status = reply.status;
  answer.raw = reply.body.empty() ? reply.error : reply.body;
  if (step.watch) {
    answer.body = json::array();
    std::istringstream lines(reply.body);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) answer.body.push_back(json::parse(line, nullptr, false));
    }
  } else {
    answer.body = json::parse(reply.body, nullptr, false);
    if (!step.save.empty() && answer.body.is_object()) {
      vars[step.save] = answer.body["metadata"].value("resourceVersion", "");
      vars[step.save + "-uid"] = answer.body["metadata"].value("uid", "");
      vars[step.save + "-object"] = reply.body;
    }
  }
  if (answer.body.is_discarded()) answer.body = "<not JSON>";
  normalize(answer.body);
  return answer;
}

std::string show(const Answer& answer) { return std::to_string(answer.status) + " " + answer.body.dump(1); }

std::vector<Answer> run_script(const Server& server, const std::vector<Step>& script, const std::string& name,
                               const std::string& slice_version) {
  HttpClient http;
  std::map<std::string, std::string> vars{{"name", name}, {"slice-version", slice_version}};
  std::vector<Answer> answers;
  for (const auto& step : script) answers.push_back(ask(http, server, step, vars));
  return answers;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The local API server with the same users as the real one: an admin and a user without any grant.
// Its history starts past resourceVersion 1, as the real one's watch window does (control-plane
// writes to etcd before kube-apiserver starts).
struct LocalServer {
  std::string dir = le::testing::make_temp_dir("conformance");
  std::unique_ptr<ChildProcess> process;
  Server server;

  LocalServer(const std::string& slice_version, const std::string& kube_version) {
    std::ofstream(dir + "/tokens.csv") << "admin-token,admin,uid-admin,\"system:masters\"\n"
                                          "norole-token,norole,uid-norole\n";
    std::ofstream(dir + "/rbac.json") << R"({"users": {}})";
    const std::string port_file = dir + "/apiserver.json";
    process = std::make_unique<ChildProcess>(
        std::vector<std::string>{FAKE_APISERVER_BINARY, "--listen", "127.0.0.1:0", "--tls", "--state-dir",
                                 dir, "--port-file", port_file, "--token-file", dir + "/tokens.csv",
                                 "--rbac-file", dir + "/rbac.json", "--start-resource-version", "50",
                                 "--endpointslice-version", slice_version, "--kube-version", kube_version},
        dir + "/apiserver.log");
    for (int i = 0; i < 2000 && !fs::exists(port_file); ++i) std::this_thread::sleep_for(10ms);
    REQUIRE_MESSAGE(fs::exists(port_file), process->log());
    const auto ports = json::parse(read_file(port_file));
    server = {"local API server", ports.at("url"), ports.value("ca", dir + "/ca.crt"), "admin-token",
              "norole-token"};
  }
  ~LocalServer() {
    process.reset();
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

}  // namespace

TEST_CASE(
    "conformance: the local API server answers the Lease, Pod, EndpointSlice and Event requests as "
    "kube-apiserver does") {
  const auto& plane = le::testing::real_control_plane_or_skip();
  const Server real{"kube-apiserver", plane.url, plane.ca, plane.token_admin, plane.token_norole};
  // kube-apiserver 1.20 serves EndpointSlices as discovery.k8s.io/v1beta1 only (v1 came with 1.21): the
  // local API server serves the one version the real one does.
  HttpClient probe;
  probe.set_ca_file(real.ca);
  probe.set_bearer_token(real.admin_token);
  const std::string slice_version =
      probe.request("GET", real.url + "/apis/discovery.k8s.io/v1", "", "", 5000ms).status == 200 ? "v1"
                                                                                                 : "v1beta1";
  // The local API server imitates the real one's version: test/e2e/control-plane names it in
  // REAL_KUBE_VERSION (v1.37.2); without it, the real server's GET /version says it.
  std::string kube_version;
  if (const char* named = std::getenv("REAL_KUBE_VERSION"); named && *named) {
    kube_version = named;
  } else {
    const auto version =
        json::parse(probe.request("GET", real.url + "/version", "", "", 5000ms).body, nullptr, false);
    REQUIRE_MESSAGE(version.is_object(), "GET /version of the real server");
    kube_version = version.value("gitVersion", "");
  }
  MESSAGE("EndpointSlices as discovery.k8s.io/" << slice_version << ", imitating kube-apiserver "
                                                << kube_version);
  LocalServer local(slice_version, kube_version);
  const std::string name = "conformance-" + std::to_string(::getpid());
  le::testing::LeaseAdmin(plane).remove(name);
  // The script leaves its Pod and EndpointSlice behind, and a label selector list would see those of
  // an earlier run on the same real server: remove them first (not compared).
  const auto remove_leftovers = [&] {
    for (const std::string& collection : {kPods + "?labelSelector=app%3Dconformance",
                                          fill(kSlices, {{"slice-version", slice_version}}) +
                                              "?labelSelector=kubernetes.io%2Fservice-name%3Dconformance"})
      probe.request("DELETE", real.url + collection, "", "", 5000ms);
  };
  remove_leftovers();

  const auto script = conformance_script();
  const auto real_answers = run_script(real, script, name, slice_version);
  const auto local_answers = run_script(local.server, script, name, slice_version);
  remove_leftovers();
  int differences = 0;
  for (std::size_t i = 0; i < script.size(); ++i) {
    const auto& r = real_answers[i];
    const auto& l = local_answers[i];
    const bool same = r.status == l.status && r.body == l.body;
    if (!same) ++differences;
    CHECK_MESSAGE(same, "step " << i + 1 << " \"" << script[i].name << "\" differs.\n--- kube-apiserver: "
                                << show(r) << "\n--- local API server: " << show(l) << "\n");
  }
  MESSAGE(script.size() << " requests compared, " << differences << " differences");
}
