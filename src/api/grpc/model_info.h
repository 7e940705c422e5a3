// The repository's answers to the V2 gRPC metadata calls, as protobuf
// messages: model metadata, Triton's model configuration and statistics,
// and the repository index. The same facts the REST adapter renders as JSON
// (api/v2/v2_routes.cc), read from the same ModelRepository.
//
// Stateless functions; safe to call concurrently (the repository is).
#pragma once

#include <string>

#include "core/status.h"
#include "inference/grpc_service.pb.h"
#include "serving/model_repository.h"

namespace kiln::api::grpcv2 {

// NotFound for an unknown model or version, Unavailable when not loaded.
Status FillModelMetadata(const serving::ModelRepository& repo, const std::string& name, const std::string& version,
                         inference::ModelMetadataResponse* out);
// The metadata and configuration of one served model under `name` (a
// deployment endpoint's); metadata lists its version as the only version.
void FillServedModelMetadata(const serving::ServedModel& model, const std::string& name,
                             inference::ModelMetadataResponse* out);
void FillServedModelConfig(const serving::ServedModel& model, const std::string& name, inference::ModelConfig* out);
Status FillModelConfig(const serving::ModelRepository& repo, const std::string& name, const std::string& version,
                       inference::ModelConfig* out);
// An empty name: every ready model; an empty version: every version.
Status FillModelStatistics(const serving::ModelRepository& repo, const std::string& name, const std::string& version,
                           inference::ModelStatisticsResponse* out);
void FillRepositoryIndex(const serving::ModelRepository& repo, bool ready_only,
                         inference::RepositoryIndexResponse* out);

}  // namespace kiln::api::grpcv2
