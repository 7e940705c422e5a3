// GrpcServer: the gRPC listener next to kiln's HTTP server, serving kiln's
// gRPC services (Open Inference, Feast registry and serving) on one
// host:port (port 0 picks a free one; port() tells which).
// gRPC runs its own threads for the callback API; nothing here blocks them.
//
// Ownership: owns the grpc::Server; borrows the services, which must outlive
// it. The destructor shuts down at once if Shutdown was not called.
// Thread-safety: port() and Shutdown() may be called from any thread;
// Shutdown is idempotent.
//
// TLS: with a certificate and key the port speaks TLS only (and, with a client
// CA, requires client certificates that CA signed). gRPC's own file watcher
// re-reads the three files every tls_refresh_seconds, so a renewed
// certificate is picked up without a restart or a signal; replace the files
// atomically (rename), since a cert and key read mid-update do not match.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <grpcpp/server.h>

#include "core/status.h"

namespace kiln::api::grpcv2 {

struct GrpcServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  uint64_t max_message_bytes = 32ull << 20;  // largest request accepted (RESOURCE_EXHAUSTED above)
  std::string tls_cert_file;       // PEM chain; with tls_key_file: TLS on this port
  std::string tls_key_file;
  std::string tls_client_ca_file;  // require and verify client certificates (mTLS)
  unsigned tls_refresh_seconds = 5;
};

class GrpcServer {
 public:
  // Binds and starts serving; InvalidArgument/Unavailable when the address
  // cannot be bound (e.g. the port is taken).
  static StatusOr<std::unique_ptr<GrpcServer>> Start(const GrpcServerOptions& options,
                                                     const std::vector<::grpc::Service*>& services);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  int port() const { return port_; }
  bool tls() const { return tls_; }
  // Stops accepting calls, lets calls in flight finish for up to `grace`,
  // cancels the rest and returns once every call is done.
  void Shutdown(std::chrono::milliseconds grace);

 private:
  GrpcServer(std::unique_ptr<::grpc::Server> server, int port, bool tls)
      : server_(std::move(server)), port_(port), tls_(tls) {}

  std::unique_ptr<::grpc::Server> server_;
  const int port_;
  const bool tls_;
  std::once_flag shutdown_;
};

}  // namespace kiln::api::grpcv2
