// HttpClient: a small blocking HTTP/1.1 client over libcurl, for kiln's
// command-line tools that talk to a running kiln (`kiln validate`). One
// client keeps one connection alive to one base URL.
//
// Ownership: owns its curl handle.
// Thread-safety: a client is used by one thread at a time (one per thread in
// a load test); creating clients from several threads at once is safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "core/status.h"

namespace kiln::net {

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds timeout{30000};  // whole request
  // https: the CA that signed the server's certificate (default: the
  // system's), and a client certificate and key for a server with mTLS.
  std::string ca_file;
  std::string client_cert_file;
  std::string client_key_file;
};

struct HttpClientResponse {
  long status = 0;
  std::string body;
  std::string content_type;
  double seconds = 0;  // request sent -> response read
};

class HttpClient {
 public:
  // `base_url` like "http://127.0.0.1:5000" (a trailing slash is dropped).
  // InvalidArgument for a URL that is not http(s).
  static StatusOr<std::unique_ptr<HttpClient>> Create(std::string base_url, HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `path` starts with '/'. Unavailable when no answer came (connection
  // refused, timeout), with curl's reason; any HTTP status is an answer.
  StatusOr<HttpClientResponse> Request(const std::string& method, const std::string& path, const std::string& body = "",
                                       const std::map<std::string, std::string>& headers = {});
  StatusOr<HttpClientResponse> Get(const std::string& path) { return Request("GET", path); }
  StatusOr<HttpClientResponse> PostJson(const std::string& path, const std::string& json) {
    return Request("POST", path, json, {{"Content-Type", "application/json"}});
  }

  const std::string& base_url() const { return base_url_; }

 private:
  HttpClient(std::string base_url, HttpClientOptions options, void* curl);
  const std::string base_url_;
  const HttpClientOptions options_;
  void* curl_;  // CURL*, kept out of the header so users need no curl include
};

}  // namespace kiln::net
