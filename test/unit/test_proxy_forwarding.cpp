// What the proxy changes in a message's header on its way through: hop-by-hop fields gone, the
// client recorded in X-Forwarded-* and Forwarded, and a client's own forwarding headers believed
// only from a trusted peer.
#include <doctest/doctest.h>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/fields.hpp>

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
