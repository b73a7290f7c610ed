#pragma once
// What the proxy changes in a request and a response on their way through: the hop-by-hop headers
// go (RFC 9110 7.6.1: Connection and the fields it names, Keep-Alive, Proxy-Connection, TE,
// Trailer, Upgrade unless tunnelled; a body's chunked framing is redone by the proxy as it goes),
// the client's address is recorded (X-Forwarded-For, -Proto, -Host and RFC 7239's Forwarded), and
// what a client may not choose is replaced: forwarding headers from a peer outside
// --proxy-trusted-cidrs (every Pod can reach every proxy, so a client could claim any address
// otherwise), our hop header and the fencing token header. Plain functions on Beast's header
// container, tested without sockets.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>

namespace le::proxy {

// The header a follower's proxy adds when it passes a request to the leader's proxy: the identity
// and acquireTime of the term it forwards to, "IDENTITY ACQUIRE_TIME". A proxy that receives it
// serves the request only while it leads exactly that term, and never forwards it again: no chains,
// no loops. It only ever narrows what a proxy does, so it is honoured from any peer; the app never
// sees it.
inline constexpr char kHopHeader[] = "Lease-Elector-Hop";
// The fencing token of the term a request was let through in (README "Fencing token"), on every
// request the app receives through the proxy.
inline constexpr char kFencingTokenHeader[] = "Lease-Elector-Fencing-Token";

class TrustedPeers {
 public:
  TrustedPeers() = default;
  // Blocks as config/ validated them ("10.0.0.0/8", "fd00::/8"); throws std::invalid_argument else.
  explicit TrustedPeers(const std::vector<std::string>& cidrs);
  bool contains(const boost::asio::ip::address& peer) const;
  bool empty() const { return v4_.empty() && v6_.empty(); }

 private:
  std::vector<boost::asio::ip::network_v4> v4_;
  std::vector<boost::asio::ip::network_v6> v6_;
};

// Beast's string_view (Boost's, in Boost 1.74) as the standard one.
inline std::string_view to_std(boost::beast::string_view view) { return {view.data(), view.size()}; }

// Removes the hop-by-hop fields of a message, those Connection names among them. `keep_upgrade`
// keeps Upgrade (and "upgrade" in Connection is the caller's to set again) for a tunnelled upgrade.
void remove_hop_by_hop(boost::beast::http::fields& fields, bool keep_upgrade = false);

// A client connection's address as the forwarding headers name it, worked out once per connection
// (an address's text costs a formatted print).
struct ClientFacts {
  ClientFacts(const boost::asio::ip::address& peer, bool trusted);
  boost::asio::ip::address peer;  // the connection's remote address, IPv4-mapped as IPv4
  bool trusted = false;           // peer is in --proxy-trusted-cidrs
  std::string for_text;           // X-Forwarded-For's element
  std::string forwarded;          // Forwarded's element, up to ";host="
};

// Records the client in the forwarding headers: appended to what a trusted peer sent, replacing
// what an untrusted one sent.
void set_forwarding_headers(boost::beast::http::fields& fields, const ClientFacts& client);

// A message's start line and fields as they go on the wire, into `out` (cleared first; its
// capacity is kept for the next message): byte for byte what Beast's serializer writes before the
// body. The proxy frames the body itself (write_chunk_size).
void serialize_head(const boost::beast::http::request_header<>& head, std::string& out);
void serialize_head(const boost::beast::http::response_header<>& head, std::string& out);
// A chunk's size line ("1a2b\r\n") into `out`, which holds at least 18 bytes; its length.
std::size_t write_chunk_size(std::uint64_t size, char* out);

// The hop header's value for a term, and its parts back (nullopt when malformed).
std::string hop_value(std::string_view holder, std::string_view acquire_time);
struct HopTerm {
  std::string holder;
  std::string acquire_time;
};
std::optional<HopTerm> parse_hop(std::string_view value);

}  // namespace le::proxy
