// HttpServer: HTTP/1.1 on Boost.Beast with C++20 coroutines.
//
// - A fixed set of I/O threads, each running its own single-threaded
//   io_context; connections are spread over them round-robin and stay on one
//   thread, so a connection's reads and writes never race and need no strand.
// - Limits: header bytes (431), body bytes per route (413), read and idle
//   timeouts (the connection is closed).
// - Routes marked Execution::kPool run on the WorkerPool; when its queue is
//   full the request is refused with 503 in the route's error format.
// - Streamed routes: uploads are handed to a RequestBodySink chunk by chunk
//   and downloads are read from a ResponseBodySource chunk by chunk, both on
//   the pool, so memory stays flat for any artifact size.
// - Every response carries X-Request-Id; requests are counted and timed in
//   the MetricsRegistry; an access-log line per request when enabled.
// - TLS when a certificate and key are given (TLS 1.2+; client certificates
//   required when a client CA is given). ReloadTls() -- and SIGHUP when
//   handle_signals is set -- rebuilds the context from the same files for new
//   connections; a file that does not load keeps the previous one.
// - Shutdown() (and SIGTERM/SIGINT with handle_signals): first the
//   shutdown delay, when one is set: the server keeps accepting and serving,
//   draining() (and the DrainState in the options) turns true so /health
//   answers 503, and every response carries Connection: close, so clients
//   reconnect through their load balancer to another replica. Then the
//   listener closes, idle connections are closed, in-flight requests finish
//   (bounded by shutdown_grace) and Run() returns. A second Shutdown() or
//   signal during the delay cuts it short.
//
// The server borrows the router, pool and registry; they must outlive it.
// Run() blocks the calling thread; Shutdown() is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/metrics.h"
#include "core/status.h"
#include "core/worker_pool.h"
#include "net/drain_state.h"
#include "net/router.h"

namespace kiln::net {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 5000;  // 0 picks a free port; see HttpServer::port()
  size_t io_threads = 2;
  uint64_t max_header_bytes = 16 * 1024;
  uint64_t max_body_bytes = 32ull << 20;       // default for routes without their own limit
  std::chrono::milliseconds read_timeout{30000};  // receiving one request
  std::chrono::milliseconds idle_timeout{60000};  // keep-alive wait between requests
  std::chrono::milliseconds shutdown_grace{30000};
  // On SIGTERM/Shutdown(), keep accepting and serving this long while
  // /health answers 503 "draining", so a load balancer (a Kubernetes
  // Service) stops sending new requests before the listeners close.
  std::chrono::milliseconds shutdown_delay{0};
  // Borrowed, optional: set when the shutdown begins (the readiness route reads it).
  DrainState* drain_state = nullptr;
  bool access_log = true;
  bool handle_signals = true;  // SIGINT/SIGTERM start a graceful shutdown, SIGHUP reloads TLS
  // HTTPS when cert and key are set (PEM). With a client CA, clients must
  // present a certificate it signed (mTLS); its CN reaches the request.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
};

class HttpServer {
 public:
  static StatusOr<std::unique_ptr<HttpServer>> Create(const HttpServerOptions& options, const Router& router,
                                                      WorkerPool& pool, MetricsRegistry& metrics);
  ~HttpServer();

  uint16_t port() const;
  // Serves until shutdown completes. Returns OK after a graceful shutdown.
  Status Run();
  // Starts the shutdown (the delay first, when set); a second call skips
  // what is left of the delay.
  void Shutdown();
  // True from the start of the shutdown (delay included).
  bool draining() const;
  // True once the listener is closed (after the delay).
  bool listener_closed() const;
  int64_t in_flight() const;
  bool tls_enabled() const;
  // Thread-safe. Connections accepted afterwards use the new certificate;
  // on error the previous one stays in use.
  Status ReloadTls();

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::net
