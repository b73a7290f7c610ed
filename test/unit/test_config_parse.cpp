#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "config_command_line.h"

using namespace std::chrono_literals;
using le::config::Config;
using le::config::LogFormat;
using le::config::LogLevel;
using le::config::parse_command_line;
using le::config::ParseOutcome;
using le::config::testing::Action;
using le::config::testing::Args;
using le::config::testing::contains;
using le::config::testing::Env;
using le::config::testing::error;
using le::config::testing::parse;
using le::config::testing::run;

le::config::testing::Args le::config::testing::leading_arguments() { return {}; }

namespace {

// One flag, one value, and what it must do to the Config.
struct FlagCase {
  std::string flag;  // without dashes
  std::string env;
  std::string value;
  std::function<void(const Config&)> check;
};

const std::vector<FlagCase>& flag_cases() {
  static const std::vector<FlagCase> cases{
      {"namespace", "LEASE_ELECTOR_NAMESPACE", "team-a",
       [](const Config& c) { CHECK(c.namespace_name == "team-a"); }},
      {"id", "LEASE_ELECTOR_ID", "pod-7", [](const Config& c) { CHECK(c.identity == "pod-7"); }},
      {"http", "LEASE_ELECTOR_HTTP", "127.0.0.1:8080",
       [](const Config& c) {
         CHECK(c.http_host == "127.0.0.1");
         CHECK(c.http_port == 8080);
       }},
      {"kubeconfig", "LEASE_ELECTOR_KUBECONFIG", "/etc/kube/config",
       [](const Config& c) { CHECK(c.kubeconfig == "/etc/kube/config"); }},
      {"lease-duration", "LEASE_ELECTOR_LEASE_DURATION", "1m",
       [](const Config& c) { CHECK(c.lease_duration == 60s); }},
      {"renew-deadline", "LEASE_ELECTOR_RENEW_DEADLINE", "7500ms",
       [](const Config& c) { CHECK(c.renew_deadline == 7500ms); }},
      {"retry-period", "LEASE_ELECTOR_RETRY_PERIOD", "1.5s",
       [](const Config& c) { CHECK(c.retry_period == 1500ms); }},
      {"release-delay", "LEASE_ELECTOR_RELEASE_DELAY", "0",
       [](const Config& c) { CHECK(c.release_delay == 0s); }},
      {"admin-http", "LEASE_ELECTOR_ADMIN_HTTP", "127.0.0.1:4041",
       [](const Config& c) {
         CHECK(c.admin_http_host == "127.0.0.1");
         CHECK(c.admin_http_port == 4041);
       }},
      {"app-health-url", "LEASE_ELECTOR_APP_HEALTH_URL", "http://localhost:8080/healthz",
       [](const Config& c) {
         REQUIRE(c.app_health.has_value());
         CHECK(c.app_health->host == "localhost");
         CHECK(c.app_health->port == 8080);
         CHECK(c.app_health->target == "/healthz");
         CHECK(c.app_health->period == 2s);  // the kubelet's probe defaults, but a 2 s period
         CHECK(c.app_health->timeout == 1s);
         CHECK(c.app_health->failure_threshold == 3);
         CHECK(c.app_health->success_threshold == 1);
       }},
      {"step-down-delay", "LEASE_ELECTOR_STEP_DOWN_DELAY", "3s",
       [](const Config& c) { CHECK(c.step_down_delay == 3s); }},
      {"step-down-holdoff", "LEASE_ELECTOR_STEP_DOWN_HOLDOFF", "2m",
       [](const Config& c) { CHECK(c.step_down_hold_off == 120s); }},
      {"log-level", "LEASE_ELECTOR_LOG_LEVEL", "debug",
       [](const Config& c) { CHECK(c.log_level == LogLevel::debug); }},
      {"log-format", "LEASE_ELECTOR_LOG_FORMAT", "json",
       [](const Config& c) { CHECK(c.log_format == LogFormat::json); }},
  };
  return cases;
}

}  // namespace

TEST_CASE("defaults with only a lease name") {
  const auto outcome = parse({"--lease-name", "my-lease"});
  REQUIRE(outcome.action == Action::run);
  const Config& c = outcome.config;
  CHECK(c.lease_name == "my-lease");
  CHECK_FALSE(c.namespace_name.has_value());  // main resolves POD_NAMESPACE etc.
  CHECK_FALSE(c.identity.has_value());        // main resolves POD_NAME etc.
  CHECK_FALSE(c.kubeconfig.has_value());
  CHECK(c.http_host == "0.0.0.0");
  CHECK(c.http_port == 4040);
  CHECK(c.lease_duration == 15s);
  CHECK(c.renew_deadline == 10s);
  CHECK(c.retry_period == 2s);
  CHECK(c.release_delay == 1s);
  CHECK_FALSE(c.admin_http_host.has_value());  // no control listener unless asked for
  CHECK(c.step_down_hold_off == 30s);
  CHECK(c.step_down_delay == 1s);  // the release delay
  CHECK_FALSE(c.app_health.has_value());
  CHECK(c.log_level == LogLevel::info);
  CHECK(c.log_format == LogFormat::text);
  CHECK(outcome.notes.empty());
}

TEST_CASE("POD_NAMESPACE and POD_NAME are left to main") {
  const auto c = run({"--lease-name", "x"}, {{"POD_NAMESPACE", "ns"}, {"POD_NAME", "pod"}});
  CHECK_FALSE(c.namespace_name.has_value());
  CHECK_FALSE(c.identity.has_value());
}

TEST_CASE("every flag in every form: --f v, --f=v, -f v, -f=v") {
  for (const auto& c : flag_cases()) {
    for (const auto& args : std::vector<Args>{{"--lease-name", "l", "--" + c.flag, c.value},
                                              {"--lease-name=l", "--" + c.flag + "=" + c.value},
                                              {"-lease-name", "l", "-" + c.flag, c.value},
                                              {"-lease-name=l", "-" + c.flag + "=" + c.value}}) {
      CAPTURE(args[2]);
      const auto config = run(args);
      CHECK(config.lease_name == "l");
      c.check(config);
    }
  }
}

TEST_CASE("every flag has an environment variable, and the flag wins over it") {
  for (const auto& c : flag_cases()) {
    CAPTURE(c.env);
    c.check(run({"--lease-name", "l"}, {{c.env, c.value}}));
  }
  CHECK(run({}, {{"LEASE_ELECTOR_LEASE_NAME", "from-env"}}).lease_name == "from-env");
  CHECK(run({"--lease-name", "from-flag"}, {{"LEASE_ELECTOR_LEASE_NAME", "from-env"}}).lease_name ==
        "from-flag");
  CHECK(run({"--lease-name", "l", "--namespace", "flag-ns"}, {{"LEASE_ELECTOR_NAMESPACE", "env-ns"}})
            .namespace_name == "flag-ns");
  CHECK(run({"--lease-name", "l", "--log-level", "warn"}, {{"LEASE_ELECTOR_LOG_LEVEL", "trace"}}).log_level ==
        LogLevel::warn);
  // A flag wins even over an invalid variable, which is then never parsed.
  CHECK(run({"--lease-name", "l", "--http", ":1"}, {{"LEASE_ELECTOR_HTTP", "garbage"}}).http_port == 1);
  // An empty variable counts as unset.
  CHECK(run({"--lease-name", "l"}, {{"LEASE_ELECTOR_LOG_LEVEL", ""}}).log_level == LogLevel::info);
}

TEST_CASE("KUBECONFIG is left to the kube layer, which merges a list of files as clientcmd does") {
  CHECK_FALSE(run({"--lease-name", "l"}, {{"KUBECONFIG", "/a:/b"}}).kubeconfig.has_value());
  CHECK(run({"--lease-name", "l"}, {{"KUBECONFIG", "/k"}, {"LEASE_ELECTOR_KUBECONFIG", "/le"}}).kubeconfig ==
        "/le");
  CHECK(run({"--lease-name", "l", "--kubeconfig", "/f"},
            {{"KUBECONFIG", "/k"}, {"LEASE_ELECTOR_KUBECONFIG", "/le"}})
            .kubeconfig == "/f");
}

TEST_CASE("errors from environment variables name the variable") {
  const auto message = error({"--lease-name", "l"}, {{"LEASE_ELECTOR_RETRY_PERIOD", "soon"}});
  CHECK(contains(message, "LEASE_ELECTOR_RETRY_PERIOD"));
  CHECK(contains(message, "\"soon\""));
  CHECK(contains(error({}, {{"LEASE_ELECTOR_LEASE_NAME", "Bad_Name"}}),
                 "LEASE_ELECTOR_LEASE_NAME \"Bad_Name\""));
  CHECK(contains(error({"--lease-name", "l"}, {{"LEASE_ELECTOR_LOG_FORMAT", "xml"}}),
                 "LEASE_ELECTOR_LOG_FORMAT"));
  CHECK(contains(error({"--lease-name", "l"}, {{"LEASE_ELECTOR_LEASE_DURATION", "5s"}}),
                 "--renew-deadline (10s) must be less than LEASE_ELECTOR_LEASE_DURATION (5s)"));
}

TEST_CASE("classic leader-elector flags") {
  const auto c =
      run({"--election=my-election", "--election-namespace=ns1", "--id=pod-1", "--http=0.0.0.0:4040"});
  CHECK(c.lease_name == "my-election");
  CHECK(c.namespace_name == "ns1");
  CHECK(c.identity == "pod-1");
  // Go's flag package accepts single dashes, and the classic manifests may use them.
  CHECK(run({"-election", "e", "-election-namespace", "n"}).lease_name == "e");
  // The same value through both spellings is fine; different values are an error naming both.
  CHECK(run({"--election", "a", "--lease-name", "a"}).lease_name == "a");
  const auto message = error({"--election", "a", "--lease-name", "b"});
  CHECK(contains(message, "--election \"a\""));
  CHECK(contains(message, "--lease-name \"b\""));
  CHECK(contains(error({"--lease-name", "l", "--namespace", "x", "--election-namespace", "y"}),
                 "--election-namespace"));
  // Repeating one flag keeps the last value, as Go's flag package does.
  CHECK(run({"--lease-name", "a", "--lease-name", "b"}).lease_name == "b");
}

TEST_CASE("--use-cluster-credentials is accepted with a note and changes nothing") {
  for (const auto& form : {"--use-cluster-credentials", "--use-cluster-credentials=true",
                           "--use-cluster-credentials=false", "-use-cluster-credentials"}) {
    CAPTURE(form);
    const auto outcome = parse({"--election", "e", form});
    REQUIRE(outcome.action == Action::run);
    CHECK_FALSE(outcome.config.kubeconfig.has_value());
    REQUIRE(outcome.notes.size() == 1);
    CHECK(contains(outcome.notes[0], "--use-cluster-credentials has no effect"));
  }
  CHECK(contains(error({"--election", "e", "--use-cluster-credentials=maybe"}), "--use-cluster-credentials"));
  // A boolean flag never takes the next argument, as in Go: this "true" is a positional argument.
  CHECK(contains(error({"--election", "e", "--use-cluster-credentials", "true"}),
                 "unexpected argument \"true\""));
}

TEST_CASE("--ttl derives the three timings as the classic image did") {
  struct Case {
    const char* ttl;
    std::chrono::seconds lease;
    std::chrono::nanoseconds renew;
    std::chrono::nanoseconds retry;
  };
  for (const auto& c : {Case{"10s", 10s, 5s, 2500ms}, Case{"1s", 1s, 500ms, 250ms}, Case{"1m", 60s, 30s, 15s},
                        Case{"3s", 3s, 1500ms, 750ms}}) {
    CAPTURE(c.ttl);
    const auto config = run({"--election", "e", "--ttl", c.ttl});
    CHECK(config.lease_duration == c.lease);
    CHECK(config.renew_deadline == c.renew);
    CHECK(config.retry_period == c.retry);
    CHECK(config.release_delay == 1s);  // untouched
  }
}

TEST_CASE("--ttl must be whole seconds and stands alone") {
  CHECK(contains(error({"--election", "e", "--ttl", "1500ms"}),
                 "--ttl \"1500ms\" must be a whole number of seconds"));
  CHECK(contains(error({"--election", "e", "--ttl", "500ms"}), "--ttl \"500ms\""));
  CHECK(contains(error({"--election", "e", "--ttl", "0"}), "--ttl \"0\""));
  CHECK(contains(error({"--election", "e", "--ttl", "10"}), "--ttl \"10\" is not a duration"));
  for (const char* other : {"--lease-duration", "--renew-deadline", "--retry-period"}) {
    CAPTURE(other);
    const auto message = error({"--election", "e", "--ttl", "10s", other, "3s"});
    CHECK(contains(message, "--ttl"));
    CHECK(contains(message, other));
  }
  // The order does not matter.
  CHECK(contains(error({"--lease-duration", "30s", "--election", "e", "--ttl", "10s"}), "--lease-duration"));
  // A flag wins over a variable: --ttl overrides the timing variables, with a note.
  const auto outcome = parse({"--election", "e", "--ttl", "10s"}, {{"LEASE_ELECTOR_LEASE_DURATION", "60s"}});
  REQUIRE(outcome.action == Action::run);
  CHECK(outcome.config.lease_duration == 10s);
  REQUIRE(outcome.notes.size() == 1);
  CHECK(contains(outcome.notes[0], "--ttl overrides LEASE_ELECTOR_LEASE_DURATION"));
}

TEST_CASE("invalid durations name the flag and the value") {
  struct Case {
    Args args;
    const char* expected;
  };
  const Case cases[] = {
      {{"--renew-deadline", "5"}, "--renew-deadline \"5\" is not a duration"},
      {{"--retry-period", "1x"}, "--retry-period \"1x\" is not a duration"},
      {{"--lease-duration=1500ms"}, "--lease-duration \"1500ms\" must be a whole number of seconds"},
      {{"--lease-duration", "0"}, "--lease-duration \"0\" must be a whole number of seconds"},
      {{"--lease-duration", "-15s"}, "--lease-duration \"-15s\" must be a whole number of seconds"},
      {{"--renew-deadline", "-1s"}, "--renew-deadline (-1s) must be greater than zero"},
      {{"--retry-period", "0"}, "--retry-period (0s) must be greater than zero"},
      {{"--release-delay", "-1s"}, "--release-delay (-1s) must not be negative"},
      {{"--release-delay", "16s"}, "--release-delay (16s) must be at most 15s"},
      {{"--release-delay", "1h"}, "--release-delay (1h0m0s) must be at most 15s"},
      {{"--release-delay="}, "flag --release-delay needs a value"},
      {{"--step-down-delay", "-1s"}, "--step-down-delay (-1s) must not be negative"},
      {{"--step-down-delay", "6m"}, "--step-down-delay (6m0s) must be at most 5m0s"},
      {{"--step-down-holdoff", "-1s"}, "--step-down-holdoff (-1s) must not be negative"},
      {{"--step-down-holdoff", "25h"}, "--step-down-holdoff (25h0m0s) must be at most 24h"},
      {{"--step-down-holdoff", "soon"}, "--step-down-holdoff \"soon\" is not a duration"},
  };
  for (const auto& c : cases) {
    Args args{"--lease-name", "l"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    CAPTURE(c.expected);
    CHECK(contains(error(args), c.expected));
  }
  // The whole-seconds message says why.
  const auto why = error({"--lease-name", "l", "--lease-duration", "1500ms"});
  CHECK(contains(why, "leaseDurationSeconds"));
  CHECK(contains(why, "rounding down"));
  CHECK(contains(error({"--lease-name", "l", "--release-delay", "30s"}), "SIGTERM"));
  // A unit hint for bare numbers.
  CHECK(contains(error({"--lease-name", "l", "--retry-period", "5"}), "\"5s\"?"));
  CHECK(run({"--lease-name", "l", "--release-delay", "15s"}).release_delay == 15s);
  CHECK(run({"--lease-name", "l", "--lease-duration", "2m", "--renew-deadline", "1m30s"}).lease_duration ==
        120s);
}

TEST_CASE("timing must satisfy client-go's NewLeaderElector checks") {
  CHECK(error({"--lease-name", "l", "--lease-duration", "5s"}) ==
        "--renew-deadline (10s) must be less than --lease-duration (5s)");
  CHECK(error({"--lease-name", "l", "--lease-duration", "10s"}) ==
        "--renew-deadline (10s) must be less than --lease-duration (10s)");
  // RenewDeadline <= JitterFactor * RetryPeriod is an error: 1.2 * 2.5s = 3s.
  const auto message = error({"--lease-name", "l", "--renew-deadline", "3s", "--retry-period", "2.5s"});
  CHECK(contains(message, "--retry-period (2.5s)"));
  CHECK(contains(message, "--renew-deadline (3s)"));
  CHECK(run({"--lease-name", "l", "--renew-deadline", "3001ms", "--retry-period", "2.5s"}).renew_deadline ==
        3001ms);
  // Defaults cite the flag they came from.
  CHECK(contains(error({"--lease-name", "l", "--retry-period", "9s"}),
                 "must be less than --renew-deadline (10s)"));
  // 1.2 times this overflows 64-bit nanoseconds; the check must still refuse it.
  CHECK(contains(error({"--lease-name", "l", "--retry-period", "2500000h"}), "--retry-period"));
}

TEST_CASE("--http forms") {
  CHECK(run({"--lease-name", "l", "--http", ":4041"}).http_host == "0.0.0.0");
  CHECK(run({"--lease-name", "l", "--http", "[::]:4040"}).http_host == "::");
  CHECK(run({"--lease-name", "l", "--http", "[::1]:4040"}).http_host == "::1");
  CHECK(run({"--lease-name", "l", "--http", "localhost:4040"}).http_host == "localhost");
  CHECK(run({"--lease-name", "l", "--http", "127.0.0.1:0"}).http_port == 0);
  for (const char* bad : {"4040", ":70000", "localhost", "::1:4040"}) {
    CAPTURE(bad);
    CHECK(contains(error({"--lease-name", "l", "--http", bad}), std::string("--http \"") + bad + "\""));
  }
}

TEST_CASE("names, levels and formats are validated") {
  CHECK(contains(error({}), "--lease-name is required"));
  CHECK(contains(error({"--lease-name", "My_Lease"}), "--lease-name \"My_Lease\" is not a valid Lease name"));
  CHECK(contains(error({"--lease-name", std::string(254, 'a')}), "--lease-name"));
  CHECK(run({"--lease-name", "a.b-c"}).lease_name == "a.b-c");
  CHECK(contains(error({"--lease-name", "l", "--namespace", "a.b"}),
                 "--namespace \"a.b\" is not a valid namespace"));
  CHECK(contains(error({"--lease-name", "l", "--log-level", "verbose"}), "--log-level \"verbose\""));
  CHECK(contains(error({"--lease-name", "l", "--log-format", "xml"}), "--log-format \"xml\""));
  CHECK(contains(error({"--lease-name", "l", "--id="}), "flag --id needs a value"));
  for (const char* level : {"trace", "debug", "info", "warn", "error", "off"}) {
    CAPTURE(level);
    CHECK(to_string(run({"--lease-name", "l", "--log-level", level}).log_level) == level);
  }
}

TEST_CASE("unknown flags, missing values and positional arguments are errors") {
  CHECK(error({"--lease-name", "l", "--foo"}) == "unknown flag --foo (see --help)");
  CHECK(contains(error({"--lease-name", "l", "-foo=1"}), "unknown flag -foo"));
  CHECK(error({"--lease-name"}) == "flag --lease-name needs a value");
  CHECK(error({"--lease-name", "--namespace", "ns"}) == "flag --lease-name needs a value");
  CHECK(contains(error({"--lease-name", "l", "extra"}), "unexpected argument \"extra\""));
  CHECK(contains(error({"--lease-name", "l", "-"}), "unexpected argument \"-\""));
  CHECK(contains(error({"---lease-name", "l"}), "bad flag syntax"));
  CHECK(contains(error({"--help=yes"}), "--help does not take a value"));
  CHECK(run({"--lease-name", "l", "--"}).lease_name == "l");
  // A value that starts with '-' but is not a flag is a value (here, an invalid one).
  CHECK(contains(error({"--lease-name", "l", "--release-delay", "-1s"}), "must not be negative"));
}

TEST_CASE("help and version") {
  for (const auto& flag : {"-h", "--help", "-help", "--h"}) {
    CAPTURE(flag);
    const auto outcome = parse({flag});
    CHECK(outcome.action == Action::help);
    CHECK(outcome.message == le::config::help_text());
  }
  // Help wins over missing required flags and anything after it.
  CHECK(parse({"--namespace", "x", "--help", "--bogus"}).action == Action::help);
  const auto version = parse({"--version"});
  CHECK(version.action == Action::version);
  CHECK(contains(version.message, "lease-elector "));
  CHECK(version.message == le::config::version_text());
}

TEST_CASE("help text documents every flag, its variable and default, exit codes and endpoints") {
  const auto help = le::config::help_text();
  for (const char* needle : {"Usage: lease-elector --lease-name NAME",
                             "--namespace NS",
                             "--id ID",
                             "--http ADDR:PORT",
                             "--kubeconfig PATH",
                             "--lease-duration DURATION",
                             "--renew-deadline DURATION",
                             "--retry-period DURATION",
                             "--release-delay DURATION",
                             "--log-level LEVEL",
                             "--log-format FORMAT",
                             "LEASE_ELECTOR_LEASE_NAME",
                             "LEASE_ELECTOR_NAMESPACE",
                             "LEASE_ELECTOR_ID",
                             "LEASE_ELECTOR_HTTP",
                             "LEASE_ELECTOR_KUBECONFIG",
                             "LEASE_ELECTOR_LEASE_DURATION",
                             "LEASE_ELECTOR_RENEW_DEADLINE",
                             "LEASE_ELECTOR_RETRY_PERIOD",
                             "LEASE_ELECTOR_RELEASE_DELAY",
                             "LEASE_ELECTOR_LOG_LEVEL",
                             "LEASE_ELECTOR_LOG_FORMAT",
                             "default 15s",
                             "default 10s",
                             "default 2s",
                             "default 1s",
                             "default 0.0.0.0:4040",
                             "default info",
                             "default text",
                             "classic leader-elector",
                             "--election NAME",
                             "--election-namespace NS",
                             "--ttl DURATION",
                             "--use-cluster-credentials",
                             "/leader",
                             "/healthz",
                             "/readyz",
                             "0 success",
                             "1 runtime failure",
                             "2 bad configuration",
                             "--version"}) {
    CAPTURE(needle);
    CHECK(contains(help, needle));
  }
  // No line is wider than 100 columns.
  std::size_t start = 0;
  while (start < help.size()) {
    const auto end = help.find('\n', start);
    CAPTURE(help.substr(start, end - start));
    CHECK(end - start <= 100);
    start = end + 1;
  }
}

TEST_CASE("--admin-http: a bare port listens on loopback, not on every interface") {
  // Unlike --http: whoever reaches the control listener can move leadership.
  const auto shorthand = run({"--lease-name", "l", "--admin-http", ":4041"});
  CHECK(shorthand.admin_http_host == "127.0.0.1");
  CHECK(shorthand.admin_http_port == 4041);
  const auto v6 = run({"--lease-name", "l", "--admin-http", "[::1]:4041"});
  CHECK(v6.admin_http_host == "::1");
  CHECK(run({"--lease-name", "l", "--admin-http", "0.0.0.0:4041"}).admin_http_host == "0.0.0.0");
  CHECK(contains(error({"--lease-name", "l", "--admin-http", "4041"}),
                 "--admin-http \"4041\" is not a listen address"));
  CHECK(contains(error({"--lease-name", "l", "--admin-http", ":99999"}), "--admin-http"));
}

TEST_CASE("--admin-http on the port of --http is a flag error, not a bind failure at start-up") {
  // --http listens on 0.0.0.0:4040 by default: any host on 4040 collides with it.
  CHECK(contains(error({"--lease-name", "l", "--admin-http", ":4040"}), "uses the port of --http (4040)"));
  CHECK(contains(error({"--lease-name", "l", "--http", "127.0.0.1:5000", "--admin-http", "127.0.0.1:5000"}),
                 "--admin-http"));
  // Another port, another address on the same port, or port 0 (any free port, in tests) are fine.
  CHECK(run({"--lease-name", "l", "--admin-http", ":4041"}).admin_http_port == 4041);
  CHECK(run({"--lease-name", "l", "--http", "127.0.0.1:5000", "--admin-http", "127.0.0.2:5000"})
            .admin_http_port == 5000);
  CHECK(run({"--lease-name", "l", "--http", ":0", "--admin-http", ":0"}).admin_http_port == 0);
}

TEST_CASE("--step-down-delay defaults to the release delay but at least 1s, and may differ from it") {
  // A native sidecar releases at once on SIGTERM (its app has stopped), but a step-down leaves the
  // app running.
  CHECK(run({"--lease-name", "l", "--release-delay", "4s"}).step_down_delay == 4s);
  CHECK(run({"--lease-name", "l", "--release-delay", "0s"}).step_down_delay == 1s);
  CHECK(run({"--lease-name", "l", "--release-delay", "0s", "--step-down-delay", "0s"}).step_down_delay == 0s);
  const auto apart = run({"--lease-name", "l", "--release-delay", "0s", "--step-down-delay", "1s"});
  CHECK(apart.release_delay == 0s);
  CHECK(apart.step_down_delay == 1s);
}

TEST_CASE("the app's health check: its settings, and what is refused") {
  const Args url{"--lease-name", "l", "--app-health-url", "http://127.0.0.1:9000/ready?full=1"};
  Args all = url;
  all.insert(all.end(), {"--app-health-period", "500ms", "--app-health-timeout", "250ms",
                         "--app-health-failure-threshold", "5", "--app-health-success-threshold", "2"});
  const auto c = run(all);
  REQUIRE(c.app_health.has_value());
  CHECK(c.app_health->target == "/ready?full=1");
  CHECK(c.app_health->period == 500ms);
  CHECK(c.app_health->timeout == 250ms);
  CHECK(c.app_health->failure_threshold == 5);
  CHECK(c.app_health->success_threshold == 2);
  CHECK(c.app_health->url == "http://127.0.0.1:9000/ready?full=1");

  struct Case {
    Args extra;
    const char* expected;
  };
  const Case cases[] = {
      {{"--app-health-url", "https://localhost/healthz"}, "is not an http URL"},
      {{"--app-health-url", "localhost:8080/healthz"}, "is not an http URL"},
      {{"--app-health-url", "http://user@localhost/"}, "is not an http URL"},
      {{"--app-health-url", "http://localhost:0/"}, "is not an http URL"},
      {{"--app-health-url", "http://:8080/"}, "is not an http URL"},
      {{"--app-health-url", "http://localhost/a b"}, "is not an http URL"},
      {{"--app-health-url", "http://localhost/#x"}, "is not an http URL"},
      {{"--app-health-period", "1s"}, "--app-health-period needs --app-health-url"},
      {{"--app-health-failure-threshold", "2"}, "--app-health-failure-threshold needs --app-health-url"},
  };
  for (const auto& k : cases) {
    Args args{"--lease-name", "l"};
    args.insert(args.end(), k.extra.begin(), k.extra.end());
    CAPTURE(k.expected);
    CHECK(contains(error(args), k.expected));
  }
  const Case with_url[] = {
      {{"--app-health-period", "0s"}, "--app-health-period \"0s\" must be greater than zero"},
      {{"--app-health-period", "2h"}, "--app-health-period \"2h\" must be at most 1h0m0s"},
      {{"--app-health-timeout", "soon"}, "--app-health-timeout \"soon\" is not a duration"},
      {{"--app-health-timeout", "3s"},
       "--app-health-timeout (3s) must not be longer than --app-health-period (2s)"},
      {{"--app-health-failure-threshold", "0"}, "must be a whole number from 1 to 100"},
      {{"--app-health-success-threshold", "101"}, "must be a whole number from 1 to 100"},
      {{"--app-health-success-threshold", "2x"}, "must be a whole number from 1 to 100"},
  };
  for (const auto& k : with_url) {
    Args args = url;
    args.insert(args.end(), k.extra.begin(), k.extra.end());
    CAPTURE(k.expected);
    CHECK(contains(error(args), k.expected));
  }
  // Hosts as --http takes them, the port optional.
  CHECK(run({"--lease-name", "l", "--app-health-url", "http://[::1]:8080/h"}).app_health->host == "::1");
  const auto bare = run({"--lease-name", "l", "--app-health-url", "http://localhost"});
  CHECK(bare.app_health->port == 80);
  CHECK(bare.app_health->target == "/");
  CHECK(run({"--lease-name", "l", "--app-health-url", "http://localhost?x=1"}).app_health->target == "/?x=1");
}

TEST_CASE("run mode: everything after -- is the command, taken as it is") {
  const auto c = run({"--lease-name", "l", "--", "/app/worker", "--lease-name", "x", "-v"});
  REQUIRE(c.run);
  CHECK(c.run->command == std::vector<std::string>{"/app/worker", "--lease-name", "x", "-v"});
  CHECK(c.lease_name == "l");  // the command's own flags are not ours
  CHECK(c.run->grace == std::chrono::seconds{5});
  CHECK(c.run->on_exit == le::config::Config::Run::OnExit::restart);
  CHECK_FALSE(run({"--lease-name", "l"}).run);
  CHECK_FALSE(run({"--lease-name", "l", "--"}).run);  // a bare terminator, as Go accepts it
  const auto r = run({"--lease-name", "l", "--run-grace", "2s", "--run-exit", "release", "--", "w"});
  REQUIRE(r.run);
  CHECK(r.run->grace == std::chrono::seconds{2});
  CHECK(r.run->on_exit == le::config::Config::Run::OnExit::release);
  CHECK(run({"--lease-name", "l", "--", "w"}, {{"LEASE_ELECTOR_RUN_EXIT", "release"}}).run->on_exit ==
        le::config::Config::Run::OnExit::release);
}

TEST_CASE(
    "run mode: its flags need a command, a bad value names the flag, the grace must fit the renew deadline") {
  CHECK(contains(error({"--lease-name", "l", "--run-grace", "2s"}), "--run-grace needs a command to run"));
  CHECK(contains(error({"--lease-name", "l", "--run-exit", "release"}), "--run-exit needs a command"));
  CHECK(contains(error({"--lease-name", "l", "--run-exit", "never", "--", "w"}),
                 "--run-exit \"never\" is not a choice: use restart or release"));
  CHECK(contains(error({"--lease-name", "l", "--run-grace", "soon", "--", "w"}), "--run-grace \"soon\""));
  CHECK(contains(error({"--lease-name", "l", "--run-grace", "0s", "--", "w"}), "must be greater than zero"));
  // 10s - 2 x 2s = 6s: SIGTERM must come only after two retries could have failed.
  CHECK(contains(error({"--lease-name", "l", "--run-grace", "6s", "--", "w"}),
                 "must be below the renew deadline minus two retry periods (10s - 2 x 2s = 6s)"));
  CHECK(run({"--lease-name", "l", "--run-grace", "5999ms", "--", "w"}).run);
  // The default grace (5s) does not fit a 6s renew deadline with 1s retries: say which flag.
  CHECK(contains(error({"--lease-name", "l", "--lease-duration", "8s", "--renew-deadline", "6s",
                        "--retry-period", "1s", "--", "w"}),
                 "--run-grace (default 5s) must be below"));
}

TEST_CASE("run mode with --app-health-url is refused: a follower would have no app to check") {
  CHECK(contains(error({"--lease-name", "l", "--app-health-url", "http://localhost:8080/healthz", "--", "w"}),
                 "--app-health-url cannot be used with run mode"));
  CHECK(contains(error({"--lease-name", "l", "--notify-url", "http://localhost:8080/hook", "--", "w"}),
                 "--notify-url cannot be used with run mode"));
}

TEST_CASE("--notify-url: an http URL of the app, and its timeout only with it") {
  const auto c = run({"--lease-name", "l", "--notify-url", "http://localhost:8080/leader-changed"});
  REQUIRE(c.notify);
  CHECK(c.notify->host == "localhost");
  CHECK(c.notify->port == 8080);
  CHECK(c.notify->target == "/leader-changed");
  CHECK(c.notify->timeout == std::chrono::seconds{2});
  CHECK(run({"--lease-name", "l", "--notify-url", "http://127.0.0.1:9/x", "--notify-timeout", "500ms"})
            .notify->timeout == std::chrono::milliseconds{500});
  CHECK_FALSE(run({"--lease-name", "l"}).notify);
  CHECK(contains(error({"--lease-name", "l", "--notify-url", "https://localhost/x"}),
                 "--notify-url \"https://localhost/x\" is not an http URL"));
  CHECK(contains(error({"--lease-name", "l", "--notify-timeout", "1s"}),
                 "--notify-timeout needs --notify-url"));
  CHECK(
      contains(error({"--lease-name", "l", "--notify-url", "http://localhost:1/x", "--notify-timeout", "0s"}),
               "must be greater than zero"));
}

TEST_CASE("--install-to PATH is an action: nothing else is needed, nothing else is read") {
  const auto outcome = le::config::parse_command_line({"--install-to", "/opt/le/lease-elector"},
                                                      le::util::map_environment({}));
  CHECK(outcome.action == le::config::ParseOutcome::Action::install);
  CHECK(outcome.message == "/opt/le/lease-elector");
  CHECK(le::config::parse_command_line({"--install-to=/x"}, le::util::map_environment({})).message == "/x");
  CHECK(contains(error({"--install-to"}), "flag --install-to needs a value"));
  CHECK(contains(error({"--install-to="}), "flag --install-to needs a value"));
  CHECK(contains(error({"--install-to", "--help"}), "flag --install-to needs a value"));
}
