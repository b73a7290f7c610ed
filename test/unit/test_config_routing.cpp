// --route and the flags of each mode: defaults, environment variables, the Downward API values,
// and errors that name the flag.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/routing.h"
#include "config_command_line.h"

using le::config::Config;
using le::config::parse_command_line;
using le::config::ParseOutcome;
using le::config::RouteMode;
using le::config::testing::Action;
using le::config::testing::Args;
using le::config::testing::contains;
using le::config::testing::Env;
using le::config::testing::error;
using le::config::testing::parse;
using le::config::testing::run;

// Every command line here names a Lease, so that each case shows only the routing flags.
le::config::testing::Args le::config::testing::leading_arguments() { return {"--lease-name", "demo"}; }

namespace {

const Env kPod{{"POD_NAME", "app-0"}, {"POD_IP", "10.1.2.3"}};

}  // namespace

TEST_CASE("readiness is the default and needs nothing else") {
  const auto c = run({});
  CHECK(c.route == RouteMode::readiness);
  CHECK(c.leader_label_key == "lease-elector.io/leader");
  CHECK(c.leader_label_value == "true");
  CHECK(c.readiness_gate == "lease-elector.io/leader");
}

TEST_CASE("label mode: selector, label, POD_NAME - from flags or environment") {
  auto c = run(
      {"--route", "label", "--pod-selector", "app=demo,tier!=db", "--leader-label", "example.com/lead=yes"},
      kPod);
  CHECK(c.route == RouteMode::label);
  CHECK(c.pod_selector == "app=demo,tier!=db");
  CHECK(c.leader_label_key == "example.com/lead");
  CHECK(c.leader_label_value == "yes");
  CHECK(c.pod_name == "app-0");
  c = run({}, {{"LEASE_ELECTOR_ROUTE", "label"}, {"LEASE_ELECTOR_POD_SELECTOR", "app=x"}, {"POD_NAME", "p"}});
  CHECK(c.route == RouteMode::label);
  CHECK(c.pod_selector == "app=x");
  CHECK(contains(error({"--route", "label"}, kPod), "--route label needs --pod-selector"));
  CHECK(contains(error({"--route", "label", "--pod-selector", "app=demo"}), "needs POD_NAME"));
  CHECK(contains(error({"--route", "label", "--pod-selector", "app in (a,b)"}, kPod),
                 "--pod-selector \"app in (a,b)\" is not a label selector"));
  CHECK(contains(error({"--route", "label", "--pod-selector", "app=demo", "--leader-label", "lead"}, kPod),
                 "--leader-label \"lead\" is not KEY=VALUE"));
  CHECK(
      contains(error({"--route", "label", "--pod-selector", "app=demo", "--leader-label", "bad key=x"}, kPod),
               "--leader-label"));
}

TEST_CASE("readiness-gate mode") {
  const auto c = run(
      {"--route", "readiness-gate", "--pod-selector", "app=demo", "--readiness-gate", "example.com/leader"},
      kPod);
  CHECK(c.route == RouteMode::readiness_gate);
  CHECK(c.readiness_gate == "example.com/leader");
  CHECK(contains(
      error({"--route", "readiness-gate", "--pod-selector", "app=demo", "--readiness-gate", "-x"}, kPod),
      "--readiness-gate \"-x\" is not a valid condition type"));
}

TEST_CASE("endpoints mode: service, ports, POD_IP") {
  const auto c = run(
      {"--route", "endpoints", "--service", "web", "--endpoint-ports", "http:8080/TCP, dns:53/UDP"}, kPod);
  CHECK(c.route == RouteMode::endpoints);
  CHECK(c.service == "web");
  REQUIRE(c.endpoint_ports.size() == 2);
  CHECK(c.endpoint_ports[0].name == "http");
  CHECK(c.endpoint_ports[0].port == 8080);
  CHECK(c.endpoint_ports[0].protocol == "TCP");
  CHECK(c.endpoint_ports[1].protocol == "UDP");
  CHECK(c.pod_ip == "10.1.2.3");
  CHECK(contains(error({"--route", "endpoints", "--endpoint-ports", "http:80"}, kPod), "needs --service"));
  CHECK(contains(error({"--route", "endpoints", "--service", "web"}, kPod), "needs --endpoint-ports"));
  CHECK(contains(
      error({"--route", "endpoints", "--service", "web", "--endpoint-ports", "http:80"}, {{"POD_NAME", "p"}}),
      "needs POD_IP"));
  for (const char* bad : {"http", "http:0", "http:70000", "http:80/HTTP", "Http:80", "a:1,a:2"}) {
    CAPTURE(bad);
    CHECK(contains(error({"--route", "endpoints", "--service", "web", "--endpoint-ports", bad}, kPod),
                   "--endpoint-ports"));
  }
  CHECK(contains(error({"--route", "endpoints", "--service", "Web", "--endpoint-ports", "http:80"}, kPod),
                 "--service \"Web\" is not a valid Service name"));
}

TEST_CASE("an unknown mode names the choices - settings of another mode are a note, not an error") {
  CHECK(contains(error({"--route", "sidecar"}),
                 "--route \"sidecar\" is not a routing mode: use readiness, label, endpoints, "
                 "readiness-gate or proxy"));
  const auto outcome = parse({"--service", "web"});
  REQUIRE(outcome.action == Action::run);
  REQUIRE(outcome.notes.size() == 1);
  CHECK(outcome.notes[0] == "--service has no effect with --route readiness");
}

TEST_CASE("label keys and values as Kubernetes validates them") {
  using le::config::is_label_value;
  using le::config::is_qualified_name;
  CHECK(is_qualified_name("app"));
  CHECK(is_qualified_name("lease-elector.io/leader"));
  CHECK_FALSE(is_qualified_name("Lease_Elector.IO/leader"));  // the prefix is a DNS subdomain
  CHECK_FALSE(is_qualified_name("a/b/c"));
  CHECK_FALSE(is_qualified_name(std::string(64, 'a')));
  CHECK(is_label_value(""));
  CHECK(is_label_value("v1.2_3-x"));
  CHECK_FALSE(is_label_value("-x"));
  CHECK(le::config::check_label_selector("app=demo,!canary,tier") == std::nullopt);
  CHECK(le::config::check_label_selector("app=demo,") != std::nullopt);
}
