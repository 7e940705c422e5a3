// KServe's V1 protocol: GET /v1/models, GET /v1/models/{m},
// POST /v1/models/{m}:predict with {"instances": [[...], ...]} (or "inputs")
// answered {"predictions": [...]}. Tabular rows only; errors are
// {"error": "..."} as in V2.
#pragma once

#include "net/router.h"
#include "serving/inference_metrics.h"
#include "serving/model_repository.h"

namespace kiln::api::v1 {

// Borrows the repository and metrics (may be null), which must outlive the router.
void AddV1Routes(net::Router& router, serving::ModelRepository& repository,
                 serving::InferenceMetrics* metrics = nullptr);

}  // namespace kiln::api::v1
