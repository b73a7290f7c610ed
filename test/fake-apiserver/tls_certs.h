#pragma once
// A throwaway PKI made at start-up with the OpenSSL 3 API: an EC P-256 CA and a server
// certificate it signs, valid for IP:127.0.0.1, IP:::1 and DNS:localhost, so clients verify the
// server against ca.crt exactly as they would a cluster's CA.
#include <string>

namespace fake {

struct GeneratedPki {
  std::string ca_cert_pem;
  std::string server_cert_pem;
  std::string server_key_pem;
};

// Throws std::runtime_error naming the OpenSSL call that failed.
GeneratedPki generate_pki();

}  // namespace fake
