#pragma once
// One ?watch=true response: replays history after the requested resourceVersion (or the current
// state as ADDED events), then streams changes as JSON lines until timeoutSeconds, ending with a
// BOOKMARK when asked for (sample 20). A resourceVersion older than the kept history gets the
// single ERROR event with a 410 Expired Status (sample 21).
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>

#include "api_types.h"
#include "http_server.h"
#include "object_store.h"
#include "resource.h"

namespace fake {

class WatchStream : public std::enable_shared_from_this<WatchStream> {
 public:
  WatchStream(boost::asio::io_context& ioc, ObjectStore& store, ResourceInfo resource, WatchSpec spec);
  void start(std::shared_ptr<StreamSink> sink);

  // Exposed for unit tests: the JSON line of one event.
  static std::string event_line(const char* type, const Json& object);

 private:
  ObjectStore& store_;
  ResourceInfo resource_;
  WatchSpec spec_;
  Selector labels_;
  Selector fields_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<StreamSink> sink_;
  std::optional<std::uint64_t> subscription_;
  std::uint64_t last_sent_rv_ = 0;

  bool matches(const std::string& resource, const Json& object) const;
  void send(const ChangeEvent& event);
  void end();
};

}  // namespace fake
