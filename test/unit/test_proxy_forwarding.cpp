// What the proxy changes in a message's header on its way through: hop-by-hop fields gone, the
// client recorded in X-Forwarded-* and Forwarded, and a client's own forwarding headers believed
// only from a trusted peer.
#include <doctest/doctest.h>

#include <cstdint>
#include <sstream>
#include <string>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/write.hpp>

#include "proxy/forwarding.h"

namespace bhttp = boost::beast::http;
using boost::asio::ip::make_address;
using le::proxy::ClientFacts;
using le::proxy::to_std;
using le::proxy::TrustedPeers;

namespace {
std::string field(const bhttp::fields& f, const char* name) {
  const auto it = f.find(name);
  return it == f.end() ? "<none>" : std::string(to_std(it->value()));
}
}  // namespace

TEST_CASE("hop-by-hop fields go, those Connection names among them") {
  bhttp::fields f;
  f.set(bhttp::field::connection, "keep-alive, X-Secret, Upgrade");
  f.set(bhttp::field::keep_alive, "timeout=5");
  f.set("X-Secret", "1");
  f.set(bhttp::field::te, "trailers");
  f.set(bhttp::field::trailer, "X-Checksum");
  f.set(bhttp::field::proxy_connection, "keep-alive");
  f.set(bhttp::field::upgrade, "websocket");
  f.set("X-Kept", "yes");
  le::proxy::remove_hop_by_hop(f);
  for (const char* gone :
       {"Connection", "Keep-Alive", "X-Secret", "TE", "Trailer", "Proxy-Connection", "Upgrade"}) {
    CHECK_MESSAGE(field(f, gone) == "<none>", gone);
  }
  CHECK(field(f, "X-Kept") == "yes");

  bhttp::fields upgrade;
  upgrade.set(bhttp::field::connection, "Upgrade");
  upgrade.set(bhttp::field::upgrade, "websocket");
  le::proxy::remove_hop_by_hop(upgrade, true);
  CHECK(field(upgrade, "Upgrade") == "websocket");
}

TEST_CASE("an untrusted client's forwarding headers are replaced, a trusted one's appended to") {
  bhttp::fields f;
  f.set(bhttp::field::host, "svc.example:8080");
  f.set("X-Forwarded-For", "6.6.6.6");
  f.set("X-Forwarded-Proto", "https");
  f.set("X-Forwarded-Host", "evil.example");
  f.set(bhttp::field::forwarded, "for=6.6.6.6");
  auto untrusted = f;
  le::proxy::set_forwarding_headers(untrusted, ClientFacts{make_address("10.0.0.7"), false});
  CHECK(field(untrusted, "X-Forwarded-For") == "10.0.0.7");
  CHECK(field(untrusted, "X-Forwarded-Proto") == "http");
  CHECK(field(untrusted, "X-Forwarded-Host") == "svc.example:8080");
  CHECK(field(untrusted, "Forwarded") == "for=10.0.0.7;proto=http;host=\"svc.example:8080\"");

  auto trusted = f;
  le::proxy::set_forwarding_headers(trusted, ClientFacts{make_address("10.0.0.7"), true});
  CHECK(field(trusted, "X-Forwarded-For") == "6.6.6.6, 10.0.0.7");
  CHECK(field(trusted, "X-Forwarded-Proto") == "https");
  CHECK(field(trusted, "X-Forwarded-Host") == "evil.example");
  CHECK(field(trusted, "Forwarded") == "for=6.6.6.6, for=10.0.0.7;proto=http;host=\"svc.example:8080\"");

  // RFC 7239 6: an IPv6 node is bracketed and quoted; an IPv4 client of a dual-stack socket is IPv4.
  bhttp::fields v6;
  le::proxy::set_forwarding_headers(v6, ClientFacts{make_address("fd00::7"), false});
  CHECK(field(v6, "Forwarded") == "for=\"[fd00::7]\";proto=http");
  bhttp::fields mapped;
  le::proxy::set_forwarding_headers(mapped, ClientFacts{make_address("::ffff:10.0.0.7"), false});
  CHECK(field(mapped, "X-Forwarded-For") == "10.0.0.7");
}

TEST_CASE("trusted peers: IPv4 and IPv6 blocks, mapped addresses, the edges of a block") {
  const TrustedPeers peers({"10.1.0.0/16", "fd00::/8", "192.0.2.7/32"});
  CHECK(peers.contains(make_address("10.1.0.0")));
  CHECK(peers.contains(make_address("10.1.255.255")));
  CHECK_FALSE(peers.contains(make_address("10.2.0.0")));
  CHECK(peers.contains(make_address("192.0.2.7")));
  CHECK_FALSE(peers.contains(make_address("192.0.2.8")));
  CHECK(peers.contains(make_address("::ffff:10.1.2.3")));
  CHECK(peers.contains(make_address("fd12::1")));
  CHECK_FALSE(peers.contains(make_address("fe80::1")));
  CHECK_FALSE(TrustedPeers().contains(make_address("127.0.0.1")));
  CHECK(TrustedPeers({"0.0.0.0/0"}).contains(make_address("8.8.8.8")));
}

TEST_CASE("the hop header names a term and reads back") {
  const auto value = le::proxy::hop_value("pod-a", "2026-12-05T00:00:00.000000Z");
  CHECK(value == "pod-a 2026-12-05T00:00:00.000000Z");
  const auto parsed = le::proxy::parse_hop(value);
  REQUIRE(parsed);
  CHECK(parsed->holder == "pod-a");
  CHECK(parsed->acquire_time == "2026-12-05T00:00:00.000000Z");
  CHECK_FALSE(le::proxy::parse_hop("pod-a"));
  CHECK_FALSE(le::proxy::parse_hop(""));
  CHECK_FALSE(le::proxy::parse_hop(" 2026"));
}

TEST_CASE("the head the proxy serializes itself is byte for byte Beast's") {
  const auto beast_text = [](const auto& head) {
    std::ostringstream out;
    out << head;  // Beast's own writer, the serializer's
    return out.str();
  };
  bhttp::request<bhttp::empty_body> request{bhttp::verb::post, "/jobs?x=1", 11};
  request.set(bhttp::field::host, "svc:8080");
  request.set("X-Custom", "a, b");
  request.insert("X-Custom", "c");  // a repeated field keeps its place and order
  request.chunked(true);
  request.set(le::proxy::kFencingTokenHeader, "42");
  std::string ours = "left over from the last message";
  le::proxy::serialize_head(request.base(), ours);
  CHECK(ours == beast_text(request.base()));

  bhttp::request<bhttp::empty_body> unknown;
  unknown.method_string("PROPFIND");  // a method Beast does not name
  unknown.target("/dav");
  unknown.version(10);
  le::proxy::serialize_head(unknown.base(), ours);
  CHECK(ours == beast_text(unknown.base()));
  CHECK(ours.rfind("PROPFIND /dav HTTP/1.0\r\n", 0) == 0);

  for (const unsigned status : {200u, 204u, 304u, 418u, 599u}) {
    bhttp::response<bhttp::empty_body> response{static_cast<bhttp::status>(status), 11};
    response.set(bhttp::field::content_length, "0");
    le::proxy::serialize_head(response.base(), ours);
    CHECK(ours == beast_text(response.base()));
  }
  // A reason the app chose is kept, as Beast keeps it.
  bhttp::response<bhttp::empty_body> custom{bhttp::status::ok, 10};
  custom.reason("Fine Thanks");
  le::proxy::serialize_head(custom.base(), ours);
  CHECK(ours == beast_text(custom.base()));
  CHECK(ours.rfind("HTTP/1.0 200 Fine Thanks\r\n", 0) == 0);
}

TEST_CASE("a chunk's size line is its size in hex") {
  char line[18];
  const auto text = [&](std::uint64_t size) {
    return std::string(line, le::proxy::write_chunk_size(size, line));
  };
  CHECK(text(0) == "0\r\n");
  CHECK(text(10) == "a\r\n");
  CHECK(text(65536) == "10000\r\n");
  CHECK(text(0xffffffffffffffffull) == "ffffffffffffffff\r\n");
}
