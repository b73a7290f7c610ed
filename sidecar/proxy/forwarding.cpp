#include "proxy/forwarding.h"

#include <algorithm>
#include <stdexcept>

#include <boost/beast/http/field.hpp>

namespace le::proxy {

namespace bhttp = boost::beast::http;
namespace ip = boost::asio::ip;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 7239 4: an IPv6 address is quoted and bracketed; an IPv4 address is a plain token.
std::string forwarded_node(const ip::address& address) {
  if (address.is_v6()) return "\"[" + address.to_string() + "]\"";
  return address.to_string();
}

std::string joined(std::string_view earlier, const std::string& added) {
  if (trim(earlier).empty()) return added;
  return std::string(earlier) + ", " + added;
}

}  // namespace

TrustedPeers::TrustedPeers(const std::vector<std::string>& cidrs) {
  for (const auto& cidr : cidrs) {
    boost::system::error_code ec;
    if (cidr.find(':') != std::string::npos) {
      v6_.push_back(ip::make_network_v6(cidr, ec).canonical());
    } else {
      v4_.push_back(ip::make_network_v4(cidr, ec).canonical());
    }
    if (ec) throw std::invalid_argument("not a CIDR block: " + cidr);
  }
}

bool TrustedPeers::contains(const ip::address& peer) const {
  ip::address address = peer;
  // An IPv4 client on a dual-stack listener arrives as ::ffff:a.b.c.d.
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = ip::make_address_v4(ip::v4_mapped, address.to_v6());
  }
  // In a block when the address, cut to the block's prefix, is the block.
  if (address.is_v4()) {
    return std::any_of(v4_.begin(), v4_.end(), [&](const ip::network_v4& net) {
      return ip::network_v4(address.to_v4(), net.prefix_length()).canonical() == net;
    });
  }
  return std::any_of(v6_.begin(), v6_.end(), [&](const ip::network_v6& net) {
    return ip::network_v6(address.to_v6(), net.prefix_length()).canonical() == net;
  });
}

void remove_hop_by_hop(bhttp::fields& fields, bool keep_upgrade) {
  // The fields Connection names are hop-by-hop too (RFC 9110 7.6.1), whatever they are.
  std::vector<std::string> named;
  for (auto it = fields.find(bhttp::field::connection);
       it != fields.end() && it->name() == bhttp::field::connection; ++it) {
    std::string_view value = to_std(it->value());
    while (!value.empty()) {
      const auto comma = value.find(',');
      const auto token = trim(value.substr(0, comma));
      if (!token.empty() && !(keep_upgrade && iequals(token, "upgrade"))) named.emplace_back(token);
      value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    }
  }
  for (const auto& name : named) {
    if (keep_upgrade && iequals(name, "upgrade")) continue;
    fields.erase(name);
  }
  for (const auto field : {bhttp::field::connection, bhttp::field::keep_alive, bhttp::field::proxy_connection,
                           bhttp::field::te, bhttp::field::trailer}) {
    fields.erase(field);
  }
  if (!keep_upgrade) fields.erase(bhttp::field::upgrade);
}

ClientFacts::ClientFacts(const ip::address& address, bool is_trusted)
    : peer(address.is_v6() && address.to_v6().is_v4_mapped()
               ? ip::make_address_v4(ip::v4_mapped, address.to_v6())
               : address),
      trusted(is_trusted),
      for_text(peer.to_string()),
      forwarded("for=" + forwarded_node(peer) + ";proto=http") {}

void set_forwarding_headers(bhttp::fields& fields, const ClientFacts& client) {
  std::string earlier_for, earlier_forwarded;
  if (client.trusted) {
    // Several X-Forwarded-For lines mean one list (RFC 9110 5.3).
    for (auto it = fields.find("X-Forwarded-For");
         it != fields.end() && iequals(to_std(it->name_string()), "X-Forwarded-For"); ++it) {
      earlier_for = joined(earlier_for, std::string(it->value()));
    }
    for (auto it = fields.find(bhttp::field::forwarded);
         it != fields.end() && it->name() == bhttp::field::forwarded; ++it) {
      earlier_forwarded = joined(earlier_forwarded, std::string(it->value()));
    }
  }
  std::string host;
  if (const auto it = fields.find(bhttp::field::host); it != fields.end()) host = std::string(it->value());
  const bool keep_proto_host = client.trusted;
  fields.erase("X-Forwarded-For");
  fields.erase(bhttp::field::forwarded);
  if (!keep_proto_host) {
    fields.erase("X-Forwarded-Proto");
    fields.erase("X-Forwarded-Host");
    fields.erase("X-Forwarded-Port");
  }
  fields.set("X-Forwarded-For", joined(earlier_for, client.for_text));
  if (fields.find("X-Forwarded-Proto") == fields.end()) fields.set("X-Forwarded-Proto", "http");
  if (!host.empty() && fields.find("X-Forwarded-Host") == fields.end()) fields.set("X-Forwarded-Host", host);
  std::string element = client.forwarded;
  // RFC 7239 5.3: host is a quoted-string when it holds anything a token cannot (":" of a port).
  if (!host.empty() && host.find_first_of("\"\\") == std::string::npos) element += ";host=\"" + host + "\"";
  fields.set(bhttp::field::forwarded, joined(earlier_forwarded, element));
}

namespace {

void append_fields(const bhttp::fields& fields, std::string& out) {
  for (const auto& field : fields) {
    out.append(field.name_string().data(), field.name_string().size());
    out.append(": ");
    out.append(field.value().data(), field.value().size());
    out.append("\r\n");
  }
  out.append("\r\n");
}

void append_version(unsigned version, std::string& out) {
  out.append("HTTP/");
  out.push_back(static_cast<char>('0' + version / 10));
  out.push_back('.');
  out.push_back(static_cast<char>('0' + version % 10));
}

}  // namespace

void serialize_head(const bhttp::request_header<>& head, std::string& out) {
  out.clear();
  const auto method = head.method_string();
  out.append(method.data(), method.size());
  out.push_back(' ');
  out.append(head.target().data(), head.target().size());
  out.push_back(' ');
  append_version(head.version(), out);
  out.append("\r\n");
  append_fields(head, out);
}

void serialize_head(const bhttp::response_header<>& head, std::string& out) {
  out.clear();
  append_version(head.version(), out);
  out.push_back(' ');
  const unsigned status = head.result_int();
  out.push_back(static_cast<char>('0' + status / 100 % 10));
  out.push_back(static_cast<char>('0' + status / 10 % 10));
  out.push_back(static_cast<char>('0' + status % 10));
  out.push_back(' ');
  const auto reason = head.reason();
  out.append(reason.data(), reason.size());
  out.append("\r\n");
  append_fields(head, out);
}

std::size_t write_chunk_size(std::uint64_t size, char* out) {
  constexpr char kDigits[] = "0123456789abcdef";
  char reversed[16];
  std::size_t n = 0;
  do {
    reversed[n++] = kDigits[size & 0xf];
    size >>= 4;
  } while (size != 0);
  for (std::size_t i = 0; i < n; ++i) out[i] = reversed[n - 1 - i];
  out[n] = '\r';
  out[n + 1] = '\n';
  return n + 2;
}

std::string hop_value(std::string_view holder, std::string_view acquire_time) {
  return std::string(holder) + " " + std::string(acquire_time);
}

std::optional<HopTerm> parse_hop(std::string_view value) {
  value = trim(value);
  const auto space = value.rfind(' ');
  if (space == std::string_view::npos || space == 0 || space + 1 == value.size()) return std::nullopt;
  return HopTerm{std::string(trim(value.substr(0, space))), std::string(value.substr(space + 1))};
}

}  // namespace le::proxy
