// The request and response types that handlers see. They hide Beast so API
// adapters depend only on this small surface.
//
// Value types owned by the connection handling one request; a handler may
// read and modify them from whichever thread runs it, never concurrently.
#pragma once

#include <any>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/access.h"
#include "core/status.h"

namespace kiln::net {

struct HttpRequest {
  std::string method;       // "GET", "POST", ...
  std::string target;       // as received: path?query
  std::string path;         // percent-decoded path
  std::string raw_path;     // path as received, still encoded
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::vector<std::pair<std::string, std::string>> path_params;  // from the route pattern
  std::string body;
  std::string request_id;
  std::string remote_address;  // peer "ip:port"
  std::string protocol = "http";  // "http" or "https"
  std::string client_cert_subject;  // subject CN of the verified client certificate (mTLS), else empty
  // Set by the request gate when auth is on: who is calling and what they may
  // see. Null when auth is off (everything is visible) -- handlers that list
  // objects filter by it inside their queries.
  std::shared_ptr<const AccessScope> access;
  std::string audit_id;  // the audit record of this request, when one is written
  // A protocol adapter's parse of `body`, kept by whichever of the access
  // check and the handler reads the body first, so a large body (a metric
  // batch) is parsed once per request. Only that adapter knows its type;
  // mutable because reading the body is what fills it.
  mutable std::any parsed_body;
  // The handler runs on an I/O thread (Route::inline_if chose it): it must
  // not block, and answers HttpResponse::RunOnPool() when it would.
  bool on_io_thread = false;

  // First query value for key, or empty.
  std::string_view QueryValue(std::string_view key) const;
  bool HasQuery(std::string_view key) const;
  std::vector<std::string> QueryValues(std::string_view key) const;
  std::string_view Header(std::string_view lower_name) const;
  std::string_view PathParam(std::string_view name) const;
};

// A response body produced in chunks on the worker pool (artifact downloads).
class ResponseBodySource {
 public:
  virtual ~ResponseBodySource() = default;
  virtual int64_t size() const = 0;
  // Blocking; returns 0 at the end.
  virtual StatusOr<size_t> Read(char* buffer, size_t capacity) = 0;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::unique_ptr<ResponseBodySource> stream;  // when set, replaces body
  // Only from a handler running on_io_thread: "this needs to block; run me
  // on the worker pool instead". Never sent.
  bool run_on_pool = false;

  static HttpResponse RunOnPool() {
    HttpResponse r;
    r.run_on_pool = true;
    return r;
  }
  static HttpResponse Json(unsigned status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
  static HttpResponse Text(unsigned status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.content_type = "text/plain; charset=utf-8";
    r.body = std::move(body);
    return r;
  }
};

// Receives a streamed request body (artifact uploads) chunk by chunk on the
// worker pool, then produces the response.
class RequestBodySink {
 public:
  virtual ~RequestBodySink() = default;
  virtual Status Write(std::string_view chunk) = 0;
  virtual HttpResponse Finish() = 0;
};

}  // namespace kiln::net
