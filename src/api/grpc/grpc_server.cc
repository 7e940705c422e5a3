#include "api/grpc/grpc_server.h"

#include <algorithm>
#include <limits>

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

namespace kiln::api::grpcv2 {

StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(const GrpcServerOptions& options,
                                                     const std::vector<::grpc::Service*>& services) {
  const bool ipv6 = options.host.find(':') != std::string::npos;
  const std::string address =
      (ipv6 ? "[" + options.host + "]" : options.host) + ":" + std::to_string(options.port);
  ::grpc::ServerBuilder builder;
  int selected = 0;
  builder.AddListeningPort(address, ::grpc::InsecureServerCredentials(), &selected);
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
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(server), selected));
}

GrpcServer::~GrpcServer() { Shutdown(std::chrono::milliseconds(0)); }

void GrpcServer::Shutdown(std::chrono::milliseconds grace) {
  std::call_once(shutdown_, [&] {
    server_->Shutdown(std::chrono::system_clock::now() + grace);
    server_->Wait();
  });
}

}  // namespace kiln::api::grpcv2
