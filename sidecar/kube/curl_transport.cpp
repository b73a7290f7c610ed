#include "kube/curl_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <mutex>
#include <stdexcept>

#include <spdlog/spdlog.h>

namespace le::kube {
namespace {

// curl_global_init is not thread-safe and must run once before any handle exists.
void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw std::runtime_error("curl_global_init failed");
  });
}

CURL* as_curl(void* handle) { return static_cast<CURL*>(handle); }

template <class Value>
void set_option(CURL* curl, CURLoption option, Value value, const char* name) {
  if (const CURLcode code = curl_easy_setopt(curl, option, value); code != CURLE_OK) {
    throw std::runtime_error(std::string("libcurl rejected ") + name + ": " + curl_easy_strerror(code));
  }
}

void set_blob(CURL* curl, CURLoption option, const std::string& pem, const char* name) {
  curl_blob blob{};
  blob.data = const_cast<char*>(pem.data());
  blob.len = pem.size();
  blob.flags = CURL_BLOB_COPY;
  set_option(curl, option, &blob, name);
}

bool header_name_is(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  return std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
}

std::string header_value(std::string_view line, std::size_t name_size) {
  std::string_view value = line.substr(name_size + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  return std::string(value);
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

void append(Slist& list, const std::string& line) {
  curl_slist* grown = curl_slist_append(list.get(), line.c_str());
  if (grown == nullptr) throw std::bad_alloc();
  (void)list.release();
  list.reset(grown);
}

}  // namespace

// What one request's callbacks fill in.
struct CurlTransport::Exchange {
  HttpResponse response;
  bool too_large = false;
  // Set for a stream: a 2xx body goes to the handler instead of `response.body`.
  StreamHandler* stream = nullptr;
  CURL* curl = nullptr;
  bool streaming = false;  // the headers said 2xx
  bool ended_by_handler = false;
  std::string date;  // the Date header of the final answer, for the clock offset
};

CurlTransport::CurlTransport(ClusterConfig config)
    : config_(std::move(config)), server_(config_.server), token_(config_.token, config_.token_file) {
  while (!server_.empty() && server_.back() == '/') server_.pop_back();
  global_init_once();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) throw std::runtime_error("curl_easy_init failed");
  handle_ = curl;
  try {
    // Signals cannot be used for timeouts in a multi-threaded program.
    set_option(curl, CURLOPT_NOSIGNAL, 1L, "CURLOPT_NOSIGNAL");
    set_option(curl, CURLOPT_USERAGENT, kUserAgent, "CURLOPT_USERAGENT");
    set_option(curl, CURLOPT_FOLLOWLOCATION, 0L, "CURLOPT_FOLLOWLOCATION");
    set_option(curl, CURLOPT_TCP_KEEPALIVE, 1L, "CURLOPT_TCP_KEEPALIVE");
    set_option(curl, CURLOPT_WRITEFUNCTION, &CurlTransport::on_body, "CURLOPT_WRITEFUNCTION");
    set_option(curl, CURLOPT_HEADERFUNCTION, &CurlTransport::on_header, "CURLOPT_HEADERFUNCTION");
    // CURLOPT_VERBOSE stays off: it would print the Authorization header.
    if (config_.insecure_skip_tls_verify) {
      set_option(curl, CURLOPT_SSL_VERIFYPEER, 0L, "CURLOPT_SSL_VERIFYPEER");
      set_option(curl, CURLOPT_SSL_VERIFYHOST, 0L, "CURLOPT_SSL_VERIFYHOST");
    } else {
      set_option(curl, CURLOPT_SSL_VERIFYPEER, 1L, "CURLOPT_SSL_VERIFYPEER");
      set_option(curl, CURLOPT_SSL_VERIFYHOST, 2L, "CURLOPT_SSL_VERIFYHOST");
    }
    // A configured CA replaces the system trust store instead of adding to it, as in client-go
    // (tls.Config.RootCAs holds only the configured CA), so a public CA cannot vouch for the API
    // server. PEM data wins over a file, as certificate-authority-data does in clientcmd.
    if (!config_.ca_pem.empty()) {
      set_option(curl, CURLOPT_CAINFO, static_cast<const char*>(nullptr), "CURLOPT_CAINFO");
      set_option(curl, CURLOPT_CAPATH, static_cast<const char*>(nullptr), "CURLOPT_CAPATH");
      set_blob(curl, CURLOPT_CAINFO_BLOB, config_.ca_pem, "CURLOPT_CAINFO_BLOB");
    } else if (!config_.ca_file.empty()) {
      set_option(curl, CURLOPT_CAPATH, static_cast<const char*>(nullptr), "CURLOPT_CAPATH");
      set_option(curl, CURLOPT_CAINFO, config_.ca_file.c_str(), "CURLOPT_CAINFO");
    }
    if (!config_.client_cert_pem.empty()) {
      set_blob(curl, CURLOPT_SSLCERT_BLOB, config_.client_cert_pem, "CURLOPT_SSLCERT_BLOB");
    } else if (!config_.client_cert_file.empty()) {
      set_option(curl, CURLOPT_SSLCERT, config_.client_cert_file.c_str(), "CURLOPT_SSLCERT");
    }
    if (!config_.client_cert_pem.empty() || !config_.client_cert_file.empty()) {
      set_option(curl, CURLOPT_SSLCERTTYPE, "PEM", "CURLOPT_SSLCERTTYPE");
    }
    if (!config_.client_key_pem.empty()) {
      set_blob(curl, CURLOPT_SSLKEY_BLOB, config_.client_key_pem, "CURLOPT_SSLKEY_BLOB");
    } else if (!config_.client_key_file.empty()) {
      set_option(curl, CURLOPT_SSLKEY, config_.client_key_file.c_str(), "CURLOPT_SSLKEY");
    }
    if (!config_.client_key_pem.empty() || !config_.client_key_file.empty()) {
      set_option(curl, CURLOPT_SSLKEYTYPE, "PEM", "CURLOPT_SSLKEYTYPE");
    }
  } catch (...) {
    curl_easy_cleanup(curl);
    handle_ = nullptr;
    throw;
  }
}

CurlTransport::~CurlTransport() {
  if (handle_ != nullptr) curl_easy_cleanup(as_curl(handle_));
}

std::unique_ptr<CurlTransport> CurlTransport::make_independent() const {
  auto copy = std::make_unique<CurlTransport>(config_);
  copy->set_metrics(metrics_);
  return copy;
}

std::size_t CurlTransport::on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  const std::size_t bytes = size * count;
  if (exchange.streaming) {
    if (!exchange.stream->on_data(std::string_view(data, bytes))) {
      exchange.ended_by_handler = true;
      return 0;
    }
    return bytes;
  }
  if (exchange.response.body.size() + bytes > kMaxResponseBytes) {
    exchange.too_large = true;
    return 0;  // makes curl abort with CURLE_WRITE_ERROR
  }
  exchange.response.body.append(data, bytes);
  return bytes;
}

std::size_t CurlTransport::on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  const std::size_t bytes = size * count;
  const std::string_view line(data, bytes);
  if (line.starts_with("HTTP/")) {
    // A new status line (after "100 Continue", say): headers of an earlier interim answer do not count.
    exchange.response.content_type.clear();
    exchange.response.retry_after.reset();
    exchange.date.clear();
  } else if (header_name_is(line, "date")) {
    exchange.date = header_value(line, 4);
  } else if (header_name_is(line, "content-type")) {
    exchange.response.content_type = header_value(line, 12);
  } else if (header_name_is(line, "retry-after")) {
    exchange.response.retry_after = header_value(line, 11);
  } else if ((line == "\r\n" || line == "\n") && exchange.stream != nullptr) {
    long status = 0;
    curl_easy_getinfo(exchange.curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200) {  // not an interim answer
      exchange.response.status = static_cast<int>(status);
      exchange.streaming = status <= 299;
      if (exchange.stream->on_open) exchange.stream->on_open(static_cast<int>(status));
    }
  }
  return bytes;
}

TransportResult CurlTransport::request(std::string_view method, std::string_view path_and_query,
                                       std::string_view body, std::string_view content_type,
                                       std::chrono::milliseconds timeout) {
  Exchange exchange;
  return perform(method, path_and_query, body, content_type, timeout, exchange);
}

TransportResult CurlTransport::stream(std::string_view path_and_query, std::chrono::milliseconds timeout,
                                      StreamHandler& handler) {
  Exchange exchange;
  exchange.stream = &handler;
  return perform("GET", path_and_query, {}, {}, timeout, exchange);
}

TransportResult CurlTransport::perform(std::string_view method, std::string_view path_and_query,
                                       std::string_view body, std::string_view content_type,
                                       std::chrono::milliseconds timeout, Exchange& exchange) {
  // A request out of time is never sent: nothing to count.
  if (!metrics_ || timeout <= std::chrono::milliseconds::zero())
    return perform_once(method, path_and_query, body, content_type, timeout, exchange);
  const auto sent_wall = std::chrono::system_clock::now();
  const auto sent = std::chrono::steady_clock::now();
  auto result = perform_once(method, path_and_query, body, content_type, timeout, exchange);
  {
    const auto* response = std::get_if<HttpResponse>(&result);
    const bool streamed = exchange.stream != nullptr;
    // A watch counts once, when its answer's headers came (its status): its length is no latency.
    const int status = response ? response->status : (streamed ? exchange.response.status : 0);
    metrics_->count_request(
        method, status,
        streamed ? std::nullopt
                 : std::optional<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - sent));
    if (!exchange.date.empty() && !streamed)
      metrics_->observe_server_date(exchange.date, sent_wall, std::chrono::system_clock::now());
  }
  return result;
}

TransportResult CurlTransport::perform_once(std::string_view method, std::string_view path_and_query,
                                            std::string_view body, std::string_view content_type,
                                            std::chrono::milliseconds timeout, Exchange& exchange) {
  const std::string method_text(method);
  const std::string url = server_ + std::string(path_and_query);
  const std::string what = method_text + " " + url;
  // curl reads a zero timeout as "no timeout"; a caller out of time gets the answer it would get.
  if (timeout <= std::chrono::milliseconds::zero()) {
    return TransportError{TransportErrorKind::timeout, what + ": no time left for the request"};
  }
  CURL* curl = as_curl(handle_);
  exchange.curl = curl;
  char error_buffer[CURL_ERROR_SIZE] = {};
  Slist headers;
  CURLcode code = CURLE_OK;
  try {
    append(headers, "Accept: application/json");
    // curl would otherwise wait up to a second for "100 Continue" before sending a large body.
    append(headers, "Expect:");
    if (!content_type.empty()) append(headers, "Content-Type: " + std::string(content_type));
    if (const std::string& token = token_.current(); !token.empty()) {
      append(headers, "Authorization: Bearer " + token);
    }
    set_option(curl, CURLOPT_URL, url.c_str(), "CURLOPT_URL");
    set_option(curl, CURLOPT_HTTPHEADER, headers.get(), "CURLOPT_HTTPHEADER");
    set_option(curl, CURLOPT_ERRORBUFFER, error_buffer, "CURLOPT_ERRORBUFFER");
    set_option(curl, CURLOPT_WRITEDATA, static_cast<void*>(&exchange), "CURLOPT_WRITEDATA");
    set_option(curl, CURLOPT_HEADERDATA, static_cast<void*>(&exchange), "CURLOPT_HEADERDATA");
    set_option(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()), "CURLOPT_TIMEOUT_MS");
    // A dead endpoint should fail fast enough to retry within the same renew deadline.
    const auto connect_timeout = std::min<std::chrono::milliseconds>(timeout, std::chrono::seconds(5));
    set_option(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout.count()),
               "CURLOPT_CONNECTTIMEOUT_MS");
    const bool streamed = exchange.stream != nullptr;
    set_option(curl, CURLOPT_NOPROGRESS, streamed ? 0L : 1L, "CURLOPT_NOPROGRESS");
    if (streamed) {
      // Called about once a second even while nothing arrives, so a cancel ends an idle watch.
      using ProgressFunction = int (*)(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t);
      const ProgressFunction on_progress = [](void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
        auto& state = *static_cast<Exchange*>(user);
        if (state.stream->cancelled && state.stream->cancelled()) {
          state.ended_by_handler = true;
          return 1;  // makes curl abort with CURLE_ABORTED_BY_CALLBACK
        }
        return 0;
      };
      set_option(curl, CURLOPT_XFERINFOFUNCTION, on_progress, "CURLOPT_XFERINFOFUNCTION");
      set_option(curl, CURLOPT_XFERINFODATA, static_cast<void*>(&exchange), "CURLOPT_XFERINFODATA");
    }
    if (method_text == "GET") {
      set_option(curl, CURLOPT_CUSTOMREQUEST, static_cast<const char*>(nullptr), "CURLOPT_CUSTOMREQUEST");
      set_option(curl, CURLOPT_HTTPGET, 1L, "CURLOPT_HTTPGET");
    } else {
      set_option(curl, CURLOPT_POST, 1L, "CURLOPT_POST");
      set_option(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()),
                 "CURLOPT_POSTFIELDSIZE_LARGE");
      // Never a null pointer: with POST set, a null POSTFIELDS would make curl read the body from stdin.
      const char* data = body.empty() ? "" : body.data();
      set_option(curl, CURLOPT_POSTFIELDS, data, "CURLOPT_POSTFIELDS");
      set_option(curl, CURLOPT_CUSTOMREQUEST, method_text.c_str(), "CURLOPT_CUSTOMREQUEST");
    }
    code = curl_easy_perform(curl);
  } catch (const std::exception& e) {
    code = CURLE_FAILED_INIT;
    std::snprintf(error_buffer, sizeof error_buffer, "%s", e.what());
  }
  // The header list (it holds the token) and body are freed now; do not leave dangling pointers
  // in the handle.
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, static_cast<char*>(nullptr));
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, static_cast<const char*>(nullptr));
  headers.reset();

  if (exchange.ended_by_handler) {
    spdlog::debug("{}: stream ended by the client", what);
    return std::move(exchange.response);
  }
  if (code != CURLE_OK) {
    std::string message = what + ": " + curl_easy_strerror(code);
    if (exchange.too_large) {
      message = what + ": response larger than " + std::to_string(kMaxResponseBytes) + " bytes";
    } else if (error_buffer[0] != '\0') {
      message += " (" + std::string(error_buffer) + ")";
    }
    const auto kind =
        code == CURLE_OPERATION_TIMEDOUT ? TransportErrorKind::timeout : TransportErrorKind::network;
    return TransportError{kind, message};
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  exchange.response.status = static_cast<int>(status);
  spdlog::debug("{} -> {}", what, status);
  return std::move(exchange.response);
}

}  // namespace le::kube
