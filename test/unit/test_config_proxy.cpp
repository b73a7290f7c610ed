// --route proxy and its flags: defaults, what each flag accepts, and errors that name the flag.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "config/config.h"
#include "config/proxy.h"
#include "config_command_line.h"

using le::config::Config;
using le::config::RouteMode;
using le::config::testing::contains;
using le::config::testing::Env;
using le::config::testing::error;
using le::config::testing::run;
using namespace std::chrono_literals;

le::config::testing::Args le::config::testing::leading_arguments() { return {"--lease-name", "demo"}; }

namespace {
const Env kPod{{"POD_IP", "10.1.2.3"}};
}  // namespace

TEST_CASE("proxy mode needs only the app's address and POD_IP, and writes nothing to the API") {
  const auto c = run({"--route", "proxy", "--proxy-upstream", "127.0.0.1:8080"}, kPod);
  CHECK(c.route == RouteMode::proxy);
  REQUIRE(c.proxy);
  CHECK(c.proxy->listen_host == "0.0.0.0");
  CHECK(c.proxy->listen_port == 4080);
  CHECK(c.proxy->upstream_host == "127.0.0.1");
  CHECK(c.proxy->upstream_port == 8080);
  CHECK(c.proxy->mode == Config::Proxy::Mode::http);
  CHECK(c.proxy->follower == Config::Proxy::Follower::forward);
  CHECK(c.proxy->trusted_cidrs.empty());
  CHECK(c.proxy->connect_timeout == 5s);
  CHECK(c.proxy->idle_timeout == 60s);
  CHECK(c.proxy->max_body == 0);
  CHECK(c.pod_ip == "10.1.2.3");
}

TEST_CASE("every proxy flag, from flags and from the environment") {
  const auto c = run({"--route", "proxy", "--proxy-listen", "[::]:9000", "--proxy-upstream", "[::1]:8080",
                      "--proxy-mode", "http", "--proxy-follower", "reject", "--proxy-trusted-cidrs",
                      "10.0.0.0/8, fd00::/8", "--proxy-connect-timeout", "250ms", "--proxy-idle-timeout",
                      "5m", "--proxy-max-body", "10Mi"});
  REQUIRE(c.proxy);
  CHECK(c.proxy->listen_host == "::");
  CHECK(c.proxy->listen_port == 9000);
  CHECK(c.proxy->upstream_host == "::1");
  CHECK(c.proxy->mode == Config::Proxy::Mode::http);
  CHECK(c.proxy->follower == Config::Proxy::Follower::reject);
  CHECK(c.proxy->trusted_cidrs == std::vector<std::string>{"10.0.0.0/8", "fd00::/8"});
  CHECK(c.proxy->connect_timeout == 250ms);
  CHECK(c.proxy->idle_timeout == 5min);
  CHECK(c.proxy->max_body == 10u * 1024 * 1024);
  const auto e = run({}, {{"LEASE_ELECTOR_ROUTE", "proxy"},
                          {"LEASE_ELECTOR_PROXY_UPSTREAM", "localhost:3000"},
                          {"LEASE_ELECTOR_PROXY_IDLE_TIMEOUT", "90s"},
                          {"LEASE_ELECTOR_PROXY_FOLLOWER", "redirect"},
                          {"POD_IP", "fd00::9"}});
  REQUIRE(e.proxy);
  CHECK(e.proxy->upstream_host == "localhost");
  CHECK(e.proxy->idle_timeout == 90s);
  CHECK(e.proxy->follower == Config::Proxy::Follower::redirect);
}

TEST_CASE("proxy mistakes exit 2 naming the flag") {
  CHECK(contains(error({"--route", "proxy"}, kPod), "--route proxy needs --proxy-upstream"));
  CHECK(
      contains(error({"--proxy-upstream", "127.0.0.1:8080"}, kPod), "--proxy-upstream needs --route proxy"));
  CHECK(contains(error({"--route", "readiness", "--proxy-follower", "reject"}),
                 "--proxy-follower needs --route proxy"));
  CHECK(contains(error({"--route", "proxy", "--proxy-upstream", "8080"}, kPod),
                 "--proxy-upstream \"8080\" is not HOST:PORT"));
  CHECK(contains(error({"--route", "proxy", "--proxy-upstream", ":8080"}, kPod),
                 "--proxy-upstream \":8080\" is not HOST:PORT"));
  CHECK(contains(error({"--route", "proxy", "--proxy-upstream", "127.0.0.1:0"}, kPod), "is not HOST:PORT"));
  CHECK(contains(error({"--route", "proxy", "--proxy-upstream", "127.0.0.1:80", "--proxy-mode", "udp"}, kPod),
                 "--proxy-mode \"udp\" is not a proxy mode: use http or tcp"));
  CHECK(contains(
      error({"--route", "proxy", "--proxy-upstream", "127.0.0.1:80", "--proxy-follower", "drop"}, kPod),
      "--proxy-follower \"drop\" is not a follower mode: use forward, reject or redirect"));
  CHECK(contains(error({"--route", "proxy", "--proxy-upstream", "127.0.0.1:80", "--proxy-mode", "tcp",
                        "--proxy-follower", "redirect"},
                       kPod),
                 "--proxy-follower redirect needs --proxy-mode http"));
  CHECK(contains(error({"--route", "proxy", "--proxy-upstream", "127.0.0.1:80", "--proxy-trusted-cidrs",
                        "10.0.0.0/8,10.1.2.3"},
                       kPod),
                 "\"10.1.2.3\" is not a CIDR block"));
  CHECK(contains(
      error({"--route", "proxy", "--proxy-upstream", "127.0.0.1:80", "--proxy-idle-timeout", "0s"}, kPod),
      "--proxy-idle-timeout \"0s\" must be greater than zero"));
  CHECK(contains(
      error({"--route", "proxy", "--proxy-upstream", "127.0.0.1:80", "--proxy-max-body", "10MB"}, kPod),
      "--proxy-max-body \"10MB\" is not a size in bytes"));
  CHECK(contains(
      error({"--route", "proxy", "--proxy-upstream", "127.0.0.1:80", "--proxy-listen", "0.0.0.0:4040"}, kPod),
      "--proxy-listen uses the port of --http (4040)"));
  // Forward and redirect publish the leader's address: its Pod's IP.
  CHECK(contains(error({"--route", "proxy", "--proxy-upstream", "127.0.0.1:80"}),
                 "--route proxy with --proxy-follower forward needs POD_IP"));
  CHECK(contains(error({"--route", "proxy", "--proxy-upstream", "127.0.0.1:80"}, {{"POD_IP", "pod-a"}}),
                 "POD_IP \"pod-a\" is not an IP address"));
  CHECK(run({"--route", "proxy", "--proxy-upstream", "127.0.0.1:80", "--proxy-follower", "reject"}).proxy);
  // TCP mode forwards whole connections: a follower can forward or refuse one, not redirect it.
  CHECK(run({"--route", "proxy", "--proxy-upstream", "127.0.0.1:80", "--proxy-mode", "tcp"}, kPod)
            .proxy->mode == Config::Proxy::Mode::tcp);
}

TEST_CASE("byte sizes take binary suffixes only") {
  CHECK(le::config::parse_byte_size("0") == 0u);
  CHECK(le::config::parse_byte_size("1048576") == 1048576u);
  CHECK(le::config::parse_byte_size("512Ki") == 512u * 1024);
  CHECK(le::config::parse_byte_size("1Gi") == 1024u * 1024 * 1024);
  CHECK_FALSE(le::config::parse_byte_size(""));
  CHECK_FALSE(le::config::parse_byte_size("Mi"));
  CHECK_FALSE(le::config::parse_byte_size("-1"));
  CHECK_FALSE(le::config::parse_byte_size("1.5Mi"));
  CHECK_FALSE(le::config::parse_byte_size("99999999999999999999"));
}
