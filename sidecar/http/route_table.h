#pragma once
// The routing table of the local HTTP server: (method, path) → handler. It knows nothing of
// sockets or Beast, so every route is tested as a plain function call.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace le::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // as sent: "GET", "HEAD", ...
  std::string target;  // origin-form, query included: "/leader?x=1"
  HeaderList headers;

  // The target without its query string or fragment: what routes are matched on.
  std::string_view path() const;
  // The first header of that name (names compare case-insensitively, RFC 9110 5.1).
  std::optional<std::string_view> header(std::string_view name) const;
  // The value of the first `name=value` of the query string, form-decoded ("" for a bare `name`);
  // nullopt when the name is not there.
  std::optional<std::string> query(std::string_view name) const;
};

class Responder;

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  HeaderList headers;  // extra headers, beyond Content-Type and Content-Length
  // An answer to HEAD: the body is kept so Content-Length announces the size a GET would
  // send (RFC 9110 9.3.2), but the server does not send it.
  bool omit_body = false;
  // Set by a route that answers later (a long poll) or goes on answering (an event stream): the
  // server then sends nothing now and calls this with the connection's Responder instead.
  std::function<void(std::shared_ptr<Responder>)> defer;
};

// How a deferred route answers, from any thread. It keeps the connection open until it answers or
// is dropped; once the connection is gone, every call is ignored (a chunk's `written` gets false).
class Responder {
 public:
  virtual ~Responder() = default;
  // The whole answer (a long poll), once.
  virtual void respond(Response response) = 0;
  // An endless body (server-sent events): the head once (its body is ignored), then one chunk at a
  // time, the next only after `written` reported the last one: true once it is written, false if
  // the client is gone or did not read it within the write timeout. The connection is not reused.
  virtual void start_stream(Response head) = 0;
  virtual void send_chunk(std::string data, std::function<void(bool)> written) = 0;
};

// A JSON response; `body` is already serialized.
Response json_response(unsigned status, std::string body);
// {"error": error, "path": path} (path left out when empty); bytes that are not UTF-8 (a
// target is whatever the client sent) are replaced rather than thrown on.
Response json_error(unsigned status, std::string_view error, std::string_view path = {});

using Handler = std::function<Response(const Request&)>;

class RouteTable {
 public:
  // Registers `handler` for exactly `method` and `path` (no patterns: the sidecar has a handful
  // of fixed endpoints). A GET route answers HEAD too, unless HEAD is registered itself.
  // Registering the same (method, path) again replaces the handler.
  void add(std::string method, std::string path, Handler handler);
  void get(std::string path, Handler handler) { add("GET", std::move(path), std::move(handler)); }

  // Never throws for a bad request: unknown path → 404, known path with another method → 405
  // with Allow. A handler that throws becomes a 500, so one bad route never takes the
  // connection, let alone the server, down.
  Response route(const Request& request) const;

 private:
  // path → method → handler; std::map keeps Allow in a stable order.
  std::map<std::string, std::map<std::string, Handler>, std::less<>> routes_;
};

}  // namespace le::http
