// Integration smoke test: starts the real fake-apiserver (TLS, kubeconfig, data file) on ephemeral
// ports and talks to it over HTTPS with libcurl, verifying the server with the CA it wrote.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <curl/curl.h>
#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// The server process; always terminated and reaped, even when a check fails.
class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> args) {
    int out[2];
    REQUIRE(::pipe(out) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<char*> argv;
      std::string binary = FAKE_APISERVER_BINARY;
      argv.push_back(binary.data());
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(binary.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    stdout_fd_ = out[0];
    startup = json::parse(read_line(std::chrono::seconds(20)));
  }
  ~ServerProcess() { stop(); }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    ::close(stdout_fd_);
  }
  json startup;

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;

  std::string read_line(std::chrono::seconds timeout) {
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{stdout_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char c;
      if (::read(stdout_fd_, &c, 1) != 1) break;
      if (c == '\n') return line;
      line += c;
    }
    FAIL("no startup line from fake-apiserver: " << line);
    return line;
  }
};

struct Answer {
  CURLcode curl = CURLE_OK;
  long status = 0;
  std::string body;
  json parsed() const { return json::parse(body); }
};

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

Answer request(const std::string& method, const std::string& url, const std::string& body = "",
               const std::string& token = "admin-token", const std::string& ca = "",
               const std::string& content_type = "application/json") {
  Answer a;
  CURL* curl = curl_easy_init();
  REQUIRE(curl);
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
  if (!token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "smoke-test/1.0");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
  if (!body.empty()) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  if (!ca.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a.body);
  a.curl = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return a;
}

fs::path temp_dir() {
  std::string pattern = (fs::temp_directory_path() / "fake-apiserver-smoke-XXXXXX").string();
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  return pattern;
}

const std::string kLeasePath = "/apis/coordination.k8s.io/v1/namespaces/default/leases";

}  // namespace

TEST_CASE(
    "fake-apiserver over TLS: CA verification, auth, create/get/update/conflict, admin, watch, restart") {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const fs::path dir = temp_dir();
  const std::string data_file = (dir / "data.json").string();
  const std::string kubeconfig = (dir / "kubeconfig").string();
  const std::vector<std::string> args = {"--tls",
                                         "--state-dir",
                                         (dir / "state").string(),
                                         "--kubeconfig-out",
                                         kubeconfig,
                                         "--data-file",
                                         data_file,
                                         "--watch-window",
                                         "3",
                                         "--port-file",
                                         (dir / "port.json").string()};
  std::string first_rv;
  {
    ServerProcess server(args);
    const std::string url = server.startup["url"];
    const std::string ca = server.startup["ca"];
    const std::string admin = server.startup["admin"];
    CHECK(url.rfind("https://127.0.0.1:", 0) == 0);
    CHECK(json::parse(std::ifstream(dir / "port.json")) == server.startup);

    // The kubeconfig points at the server, its CA and the admin token.
    const YAML::Node kc = YAML::LoadFile(kubeconfig);
    CHECK(kc["clusters"][0]["cluster"]["server"].as<std::string>() == url);
    CHECK(kc["clusters"][0]["cluster"]["certificate-authority"].as<std::string>() == ca);
    CHECK(kc["users"][0]["user"]["token"].as<std::string>() == "admin-token");
    CHECK(kc["contexts"][0]["context"]["namespace"].as<std::string>() == "default");
    CHECK(kc["current-context"].as<std::string>() == "fake");

    // TLS: trusted with the written CA, refused without it; "localhost" is in the SANs too.
    CHECK(request("GET", url + "/healthz", "", "", ca).body == "ok");
    CHECK(request("GET", url + "/healthz").curl != CURLE_OK);
    const std::string port = url.substr(url.rfind(':') + 1);
    CHECK(request("GET", "https://localhost:" + port + "/healthz", "", "", ca).status == 200);

    CHECK(request("GET", url + kLeasePath + "/demo", "", "", ca).status == 403);
    CHECK(request("GET", url + kLeasePath + "/demo", "", "wrong", ca).status == 401);
    CHECK(request("GET", url + kLeasePath + "/demo", "", "admin-token", ca).status == 404);

    auto created =
        request("POST", url + kLeasePath,
                R"({"metadata":{"name":"demo"},"spec":{"holderIdentity":"a","leaseDurationSeconds":15,
                               "renewTime":"2026-11-24T23:59:00.123456Z","leaseTransitions":0}})",
                "admin-token", ca);
    REQUIRE(created.status == 201);
    json lease = created.parsed();
    CHECK(lease["metadata"]["managedFields"][0]["manager"] == "smoke-test");
    CHECK(request("GET", url + kLeasePath + "/demo", "", "admin-token", ca).parsed() == lease);

    json renewed = lease;
    renewed["spec"]["renewTime"] = "2026-11-24T23:59:02.000000Z";
    auto updated = request("PUT", url + kLeasePath + "/demo", renewed.dump(), "admin-token", ca);
    REQUIRE(updated.status == 200);
    CHECK(std::stoull(updated.parsed()["metadata"]["resourceVersion"].get<std::string>()) >
          std::stoull(lease["metadata"]["resourceVersion"].get<std::string>()));
    auto stale = request("PUT", url + kLeasePath + "/demo", renewed.dump(), "admin-token", ca);
    CHECK(stale.status == 409);
    CHECK(stale.parsed()["reason"] == "Conflict");

    // Admin: injected errors, then back to normal; token rotation; stats.
    CHECK(request("PUT", admin + "/faults", R"({"errorRate":1,"errorStatus":503,"retryAfterSeconds":1})", "")
              .status == 200);
    auto failing = request("GET", url + kLeasePath + "/demo", "", "admin-token", ca);
    CHECK(failing.status == 503);
    CHECK(failing.parsed()["reason"] == "ServiceUnavailable");
    CHECK(request("PUT", admin + "/faults", R"({"dropRate":1})", "").status == 200);
    CHECK(request("GET", url + kLeasePath + "/demo", "", "admin-token", ca).curl != CURLE_OK);
    CHECK(request("PUT", admin + "/faults", "{}", "").status == 200);
    CHECK(request("POST", admin + "/tokens", R"({"token":"rotated","user":"admin"})", "").status == 200);
    CHECK(request("POST", admin + "/tokens", R"({"revoke":"admin-token"})", "").status == 200);
    CHECK(request("GET", url + kLeasePath + "/demo", "", "admin-token", ca).status == 401);
    CHECK(request("GET", url + kLeasePath + "/demo", "", "rotated", ca).status == 200);
    const json stats = request("GET", admin + "/stats", "", "").parsed();
    CHECK(stats["total"].get<int>() >= 12);
    CHECK(stats["byUserAgent"]["smoke-test/1.0"].get<int>() >= 12);
    CHECK(stats["byVerb"]["update leases"].get<int>() == 2);

    // Watch: history replayed from a resourceVersion, a BOOKMARK at timeoutSeconds; too old -> 410.
    const std::string rv = lease["metadata"]["resourceVersion"];
    const auto watch =
        request("GET",
                url + kLeasePath + "?watch=true&resourceVersion=" + rv +
                    "&allowWatchBookmarks=true&timeoutSeconds=1&fieldSelector=metadata.name%3Ddemo",
                "", "rotated", ca);
    CHECK(watch.status == 200);
    CHECK(watch.body.find("{\"type\":\"MODIFIED\"") == 0);
    CHECK(watch.body.find("{\"type\":\"BOOKMARK\"") != std::string::npos);
    for (int i = 0; i < 3; ++i) {
      json more = request("GET", url + kLeasePath + "/demo", "", "rotated", ca).parsed();
      more["spec"]["leaseTransitions"] = i + 1;
      REQUIRE(request("PUT", url + kLeasePath + "/demo", more.dump(), "rotated", ca).status == 200);
    }
    const auto too_old =
        request("GET", url + kLeasePath + "?watch=1&resourceVersion=" + rv, "", "rotated", ca);
    CHECK(too_old.body.find("\"type\":\"ERROR\"") != std::string::npos);
    CHECK(too_old.body.find("\"code\":410") != std::string::npos);
    first_rv =
        request("GET", url + kLeasePath + "/demo", "", "rotated", ca).parsed()["metadata"]["resourceVersion"];
  }
  {
    // Restarted on the same data file: the object is still there and resourceVersions continue.
    ServerProcess server(args);
    const std::string url = server.startup["url"];
    const std::string ca = server.startup["ca"];
    CHECK(server.startup["resourceVersion"] == first_rv);
    const auto got = request("GET", url + kLeasePath + "/demo", "", "admin-token", ca);
    REQUIRE(got.status == 200);
    CHECK(got.parsed()["metadata"]["resourceVersion"] == first_rv);
    json next = got.parsed();
    next["spec"]["holderIdentity"] = "b";
    const auto updated = request("PUT", url + kLeasePath + "/demo", next.dump(), "admin-token", ca);
    CHECK(std::stoull(updated.parsed()["metadata"]["resourceVersion"].get<std::string>()) >
          std::stoull(first_rv));
  }
  fs::remove_all(dir);
  curl_global_cleanup();
}

TEST_CASE("bad flags exit 2 naming the flag, --help exits 0") {
  const std::string binary = FAKE_APISERVER_BINARY;
  CHECK(WEXITSTATUS(std::system((binary + " --bogus 2>/dev/null").c_str())) == 2);
  CHECK(WEXITSTATUS(std::system((binary + " --listen nonsense 2>/dev/null").c_str())) == 2);
  CHECK(WEXITSTATUS(std::system((binary + " --help >/dev/null").c_str())) == 0);
}
