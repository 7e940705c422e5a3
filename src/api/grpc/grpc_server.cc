#include "api/grpc/grpc_server.h"

#include <algorithm>
#include <limits>

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/server_builder.h>

#include "net/tls_context.h"

namespace kiln::api::grpcv2 {

namespace {

StatusOr<std::shared_ptr<::grpc::ServerCredentials>> Credentials(const GrpcServerOptions& options) {
  net::TlsFiles files{options.tls_cert_file, options.tls_key_file, options.tls_client_ca_file};
  if (!files.enabled()) {
    if (!files.client_ca_file.empty()) return InvalidArgument("a TLS client CA needs a TLS certificate and key");
    return ::grpc::InsecureServerCredentials();
  }
  // gRPC's watcher only logs unreadable files and then fails every
  // handshake: check them here so a bad file refuses the start instead.
  auto checked = net::BuildServerTlsContext(files);
  if (!checked.ok()) return checked.status();
  auto provider = std::make_shared<::grpc::experimental::FileWatcherCertificateProvider>(
      files.key_file, files.cert_file, files.client_ca_file, std::max(1u, options.tls_refresh_seconds));
  ::grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (files.client_ca_file.empty()) {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    tls.watch_root_certs();
    tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return ::grpc::experimental::TlsServerCredentials(tls);
}

}  // namespace

StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(const GrpcServerOptions& options,
                                                     const std::vector<::grpc::Service*>& services) {
  const bool ipv6 = options.host.find(':') != std::string::npos;
  const std::string address =
      (ipv6 ? "[" + options.host + "]" : options.host) + ":" + std::to_string(options.port);
  auto credentials = Credentials(options);
  if (!credentials.ok()) return credentials.status();
  ::grpc::ServerBuilder builder;
  int selected = 0;
  builder.AddListeningPort(address, *credentials, &selected);
  for (::grpc::Service* service : services) builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::min<uint64_t>(options.max_message_bytes, static_cast<uint64_t>(std::numeric_limits<int>::max()))));
  // gRPC sets SO_REUSEPORT by default, which would let a second kiln bind a
  // port already in use and silently share it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  std::unique_ptr<::grpc::Server> server = builder.BuildAndStart();
  if (!server || selected == 0) {
    return Unavailable("cannot listen for gRPC on " + address + " (address in use or not available)");
  }
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(server), selected, !options.tls_cert_file.empty()));
}

GrpcServer::~GrpcServer() { Shutdown(std::chrono::milliseconds(0)); }

void GrpcServer::Shutdown(std::chrono::milliseconds grace) {
  std::call_once(shutdown_, [&] {
    server_->Shutdown(std::chrono::system_clock::now() + grace);
    server_->Wait();
  });
}

}  // namespace kiln::api::grpcv2
