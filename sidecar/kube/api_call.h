#pragma once
// One request to the API server, with every failure as a util::ApiError (transport errors,
// non-2xx Status answers, exceptions). The one path of every call: the Lease, Pod and EndpointSlice
// clients all send their requests through it.
#include <chrono>
#include <string>
#include <string_view>

#include "kube/http_transport.h"
#include "util/result.h"

namespace le::kube {

// A 2xx answer (its status is kept for errors about its body). `what` names the call in logs and
// in errors ("patch pod default/app-0").
util::Result<HttpResponse> api_call(HttpTransport& transport, std::string_view method,
                                    const std::string& path, std::string_view body,
                                    std::string_view content_type, std::chrono::milliseconds timeout,
                                    const std::string& what);

// A malformed_response error for an answer that did not parse.
util::ApiError malformed(const std::string& what, int http_status, const std::string& why);

// Percent-encodes a query parameter value (label selectors contain '=', ',', '!').
std::string query_escape(std::string_view value);

}  // namespace le::kube
