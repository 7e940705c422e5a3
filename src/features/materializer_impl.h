// The materializer's construction with its knobs and a FeatureCatalog, for
// tests and for CreateMaterializer (materializer_factory.cc).
#pragma once

#include <cstddef>
#include <memory>

#include "core/clock.h"
#include "features/historical_catalog.h"
#include "features/materializer.h"
#include "storage/offline_engine.h"
#include "storage/online_store.h"

namespace kiln::features {

struct MaterializerOptions {
  size_t batch_rows = 50000;         // rows per OnlineStore::Write
  size_t max_running_jobs = 2;       // background jobs at once; more: ResourceExhausted
  size_t max_finished_jobs = 100;    // finished jobs GetJob still answers
};

std::unique_ptr<Materializer> NewMaterializer(std::unique_ptr<FeatureCatalog> catalog, storage::OfflineEngine& engine,
                                              storage::OnlineStore& online, const Clock& clock,
                                              MaterializerOptions options);

// Feast's rule for an incremental start: the view's latest materialized end,
// else now - ttl, else (ttl 0) now - 52 weeks.
int64_t IncrementalStartUs(const ViewSchema& view, int64_t now_us);

}  // namespace kiln::features
