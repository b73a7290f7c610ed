// RBAC on a real kube-apiserver: the sidecar does its job with exactly the Role the chart renders
// (test/e2e/control-plane binds it to the user "restricted"), and with a Role missing a rule it
// says which rule is missing and keeps running.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "real_control_plane.h"

using namespace std::chrono;
using namespace std::chrono_literals;
using le::testing::Elector;
using le::testing::ElectorTimings;
using le::testing::HttpClient;
using le::testing::LeaderSampler;
using le::testing::LeaseAdmin;
using le::testing::LogDir;
using nlohmann::json;

namespace {

const ElectorTimings kTimings{"2s", "1s", "200ms"};

bool wait_for_log(Elector& elector, const std::string& text, milliseconds timeout) {
  const auto until = steady_clock::now() + timeout;
  while (steady_clock::now() < until) {
    if (elector.process().log().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// The log line that reports the refusal names who, which verb, resource and API group: the rule
// an administrator must add. (Quotes may be escaped in the log, so the parts are found one by one.)
bool names_rule(const std::string& log, const std::string& user, const std::string& verb) {
  const auto at = log.find("cannot " + verb + " resource");
  if (at == std::string::npos) return false;
  const auto line_start = log.rfind('\n', at) + 1;
  const auto line = log.substr(line_start, log.find('\n', at) - line_start);
  return line.find(user) != std::string::npos && line.find("leases") != std::string::npos &&
         line.find("coordination.k8s.io") != std::string::npos && line.find("Forbidden") != std::string::npos;
}

// A Role bound to the user "partial" for the length of a test, as an administrator would grant it.
class TemporaryRole {
 public:
  TemporaryRole(LeaseAdmin& admin, const std::string& ns, const std::string& name, json rules)
      : admin_(admin), ns_(ns), name_(name) {
    const json role{{"apiVersion", "rbac.authorization.k8s.io/v1"},
                    {"kind", "Role"},
                    {"metadata", {{"name", name}, {"namespace", ns}}},
                    {"rules", std::move(rules)}};
    const json binding{
        {"apiVersion", "rbac.authorization.k8s.io/v1"},
        {"kind", "RoleBinding"},
        {"metadata", {{"name", name}, {"namespace", ns}}},
        {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", name}}},
        {"subjects", {{{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "User"}, {"name", "partial"}}}}};
    remove();
    auto answer = admin_.request("POST", path("roles"), role.dump());
    REQUIRE_MESSAGE(answer.status == 201, answer.body);
    answer = admin_.request("POST", path("rolebindings"), binding.dump());
    REQUIRE_MESSAGE(answer.status == 201, answer.body);
  }
  ~TemporaryRole() { remove(); }

 private:
  std::string path(const std::string& kind) const {
    return "/apis/rbac.authorization.k8s.io/v1/namespaces/" + ns_ + "/" + kind;
  }
  void remove() {
    admin_.request("DELETE", path("rolebindings") + "/" + name_);
    admin_.request("DELETE", path("roles") + "/" + name_);
  }
  LeaseAdmin& admin_;
  std::string ns_, name_;
};

// Checks that a sidecar that cannot do its job stays up: alive, answering, never leading.
void check_keeps_running(Elector& sidecar) {
  HttpClient http;
  std::this_thread::sleep_for(3s);
  CHECK_MESSAGE(sidecar.process().running(), sidecar.process().log());
  CHECK(http.get(sidecar.base_url() + "/healthz").status == 200);
  const auto leader = http.get(sidecar.leader_url());
  REQUIRE(leader.status == 200);
  CHECK(json::parse(leader.body)["isLeader"] == false);
}

}  // namespace

TEST_CASE("RBAC: with the restricted user's Role the sidecar leads and releases") {
  const auto& plane = le::testing::real_control_plane_or_skip();
  REQUIRE_MESSAGE(!plane.restricted_lease.empty(), "the Role of the role source names no Lease");
  LeaseAdmin admin(plane);
  admin.recreate_free(plane.restricted_lease);
  LogDir logs("rbac");
  auto first = Elector::sidecar(LEASE_ELECTOR_BINARY, "restricted-0", plane.kubeconfig_restricted, plane.ns,
                                plane.restricted_lease, kTimings, logs.path);
  auto second = Elector::sidecar(LEASE_ELECTOR_BINARY, "restricted-1", plane.kubeconfig_restricted, plane.ns,
                                 plane.restricted_lease, kTimings, logs.path);
  LeaderSampler sampler({first->leader_url(), second->leader_url()});
  std::optional<std::size_t> leader;
  for (int i = 0; i < 400 && !leader; ++i) {
    leader = sampler.leader();
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE_MESSAGE(leader, first->process().log() << second->process().log());
  Elector& old = *leader == 0 ? *first : *second;
  const std::size_t next = 1 - *leader;
  CHECK(admin.read(plane.restricted_lease)["spec"]["holderIdentity"] == old.identity());

  const auto sent = steady_clock::now();
  old.process().signal(SIGTERM);
  CHECK_MESSAGE(old.process().wait_for(10s) == 0, old.process().log());
  CHECK(sampler.wait_until_leading(next, sent, 15s));
  CHECK(sampler.proven_overlaps() == 0);
  for (auto* sidecar : {first.get(), second.get()}) {
    CHECK_MESSAGE(sidecar->process().log().find("Forbidden") == std::string::npos, sidecar->process().log());
  }
  admin.remove(plane.restricted_lease);
}

TEST_CASE("RBAC: a Role without update on leases: the sidecar names the missing rule and keeps running") {
  const auto& plane = le::testing::real_control_plane_or_skip();
  LeaseAdmin admin(plane);
  const std::string lease = "rbac-no-update";
  admin.remove(lease);
  TemporaryRole role(
      admin, plane.ns, "e2e-no-update",
      json::array({{{"apiGroups", {"coordination.k8s.io"}},
                    {"resources", {"leases"}},
                    {"resourceNames", {lease}},
                    {"verbs", {"get", "list", "watch"}}},
                   {{"apiGroups", {"coordination.k8s.io"}}, {"resources", {"leases"}}, {"verbs", {"create"}}},
                   {{"apiGroups", {""}}, {"resources", {"events"}}, {"verbs", {"create", "patch"}}}}));
  LogDir logs("rbac");
  auto sidecar = Elector::sidecar(LEASE_ELECTOR_BINARY, "no-update", plane.kubeconfig_partial, plane.ns,
                                  lease, kTimings, logs.path);
  // It creates the Lease (allowed), then its first renewal is refused: the real server's message
  // names the user, verb, resource and API group, and the sidecar logs it.
  REQUIRE_MESSAGE(wait_for_log(*sidecar, "cannot update resource", 20s), sidecar->process().log());
  CHECK_MESSAGE(names_rule(sidecar->process().log(), "partial", "update"), sidecar->process().log());
  check_keeps_running(*sidecar);
  admin.remove(lease);
}

TEST_CASE("RBAC: a user with no Role: the sidecar names the missing rule and keeps running") {
  const auto& plane = le::testing::real_control_plane_or_skip();
  LeaseAdmin admin(plane);
  const std::string lease = "rbac-no-role";
  admin.remove(lease);
  LogDir logs("rbac");
  auto sidecar = Elector::sidecar(LEASE_ELECTOR_BINARY, "no-role", plane.kubeconfig_norole, plane.ns, lease,
                                  kTimings, logs.path);
  REQUIRE_MESSAGE(wait_for_log(*sidecar, "cannot get resource", 20s), sidecar->process().log());
  CHECK_MESSAGE(names_rule(sidecar->process().log(), "norole", "get"), sidecar->process().log());
  check_keeps_running(*sidecar);
  CHECK(admin.read(lease).is_null());
}
