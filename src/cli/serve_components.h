// What GET /api/v1/health/components checks in `kiln serve`
// (api/ops/component_health.h): the stores, the audit log, the model
// repositories, the change feed between replicas, then each mounted service
// derived from the stores it reads.
//
// Ownership: every pointer is borrowed and must outlive the router; a null
// pointer (no audit log with --audit=false) reports the component "off".
#pragma once

#include <vector>

#include "api/ops/component_health.h"
#include "cli/config.h"
#include "core/change_feed.h"
#include "serving/model_repository.h"
#include "storage/artifact_store.h"
#include "storage/audit_store.h"
#include "storage/online_store.h"
#include "storage/tracking_store.h"

namespace kiln::cli {

struct ServeComponents {
  const Config* config = nullptr;
  ServiceSet services;
  storage::TrackingStore* metadata = nullptr;
  storage::ArtifactStore* artifacts = nullptr;
  storage::OnlineStore* online = nullptr;
  storage::AuditStore* audit = nullptr;
  const serving::ModelRepository* models = nullptr;           // --model-repository (V2/V1 serving)
  const serving::ModelRepository* endpoint_models = nullptr;  // deployment endpoints' revisions
  ChangeFeed* feed = nullptr;
};

std::vector<api::ComponentCheck> ComponentChecks(const ServeComponents& in);

}  // namespace kiln::cli
