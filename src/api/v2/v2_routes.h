// The Open Inference Protocol (KServe V2) REST adapter: server and model
// metadata, health, JSON inference, and Triton's model-repository extension
// (index, load, unload). Errors are {"error": "..."} with 400 (bad request),
// 404 (unknown model or version), 501, 503 (not ready).
//
// With an EndpointRouter, a model name that is a deployment endpoint (and no
// version in the path) reaches the endpoint's traffic split: infer runs on
// the routed model and answers model_name = the endpoint, model_version = the
// registered version that answered; ready, metadata and config answer for
// the model the endpoint routes to.
#pragma once

#include <string>

#include "net/router.h"
#include "serving/endpoint_router.h"
#include "serving/inference_metrics.h"
#include "serving/model_repository.h"

namespace kiln::api::v2 {

// Borrows the repository, metrics and endpoints (both may be null), which
// must outlive the router.
void AddV2Routes(net::Router& router, serving::ModelRepository& repository, const std::string& server_version,
                 serving::InferenceMetrics* metrics = nullptr, const serving::EndpointRouter* endpoints = nullptr);

}  // namespace kiln::api::v2
