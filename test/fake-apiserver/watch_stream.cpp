#include "watch_stream.h"

#include "status.h"

namespace fake {

namespace {
// kube-apiserver's --min-request-timeout: a watch without timeoutSeconds lasts about this long.
constexpr unsigned kDefaultWatchSeconds = 1800;

// ApiServer::watch has refused selectors that do not parse (400) before a stream starts.
Selector parse_or_empty(const std::string& text, const FieldLabels* fields) {
  std::string ignored;
  auto s = fields ? Selector::parse_fields(text, ignored, *fields) : Selector::parse_labels(text, ignored);
  return s ? *s : Selector();
}
}  // namespace

WatchStream::WatchStream(boost::asio::io_context& ioc, ObjectStore& store, ResourceInfo resource,
                         WatchSpec spec)
    : store_(store),
      resource_(std::move(resource)),
      spec_(std::move(spec)),
      labels_(parse_or_empty(spec_.label_selector, nullptr)),
      fields_(parse_or_empty(spec_.field_selector, &resource_.field_labels)),
      timer_(ioc) {}

std::string WatchStream::event_line(const char* type, const Json& object) {
  Json event = Json::object();
  event["type"] = type;
  event["object"] = object;
  return event.dump() + "\n";
}

bool WatchStream::matches(const std::string& resource, const Json& object) const {
  if (resource != resource_.resource) return false;
  if (!spec_.ns.empty() && object["metadata"].value("namespace", "") != spec_.ns) return false;
  return labels_.matches_labels(object) && fields_.matches_fields(object, resource_.field_labels);
}

void WatchStream::send(const ChangeEvent& event) {
  if (!sink_ || event.resource_version <= last_sent_rv_) return;
  if (!matches(event.resource, event.object)) return;
  last_sent_rv_ = event.resource_version;
  sink_->write(event_line(to_string(event.type), event.object));
}

void WatchStream::start(std::shared_ptr<StreamSink> sink) {
  sink_ = std::move(sink);
  auto self = shared_from_this();
  sink_->on_closed([self] { self->end(); });

  if (spec_.send_initial) {
    last_sent_rv_ = 0;
    for (const Json* object : store_.list(resource_.resource, spec_.ns)) {
      if (matches(resource_.resource, *object)) sink_->write(event_line("ADDED", *object));
    }
    last_sent_rv_ = spec_.since;
  } else {
    const auto history = store_.events_since(spec_.since);
    if (!history) {
      // The watch cache's wording: "too old resource version: <asked> (<oldest kept>)".
      const auto expired = gone_expired("too old resource version: " + std::to_string(spec_.since) + " (" +
                                        std::to_string(store_.resource_version()) + ")");
      sink_->write(event_line("ERROR", expired.status));
      sink_->finish();
      sink_.reset();
      return;
    }
    last_sent_rv_ = spec_.since;
    for (const auto& event : *history) send(event);
  }
  subscription_ = store_.subscribe([self](const ChangeEvent& event) { self->send(event); });

  timer_.expires_after(std::chrono::seconds(spec_.timeout_seconds.value_or(kDefaultWatchSeconds)));
  timer_.async_wait([self](boost::system::error_code ec) {
    if (ec || !self->sink_) return;
    if (self->spec_.bookmarks) {
      // A BOOKMARK carries only the resourceVersion the client may resume from.
      Json object = Json::object();
      object["kind"] = self->resource_.kind;
      object["apiVersion"] = self->resource_.api_version();
      object["metadata"] = Json{{"resourceVersion", std::to_string(self->store_.resource_version())},
                                {"creationTimestamp", nullptr}};
      object["spec"] = Json::object();
      self->sink_->write(event_line("BOOKMARK", object));
    }
    self->sink_->finish();
    self->end();
  });
}

void WatchStream::end() {
  if (subscription_) store_.unsubscribe(*subscription_);
  subscription_.reset();
  timer_.cancel();
  sink_.reset();
}

}  // namespace fake
