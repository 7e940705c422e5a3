// Materializer: copies the latest feature rows of a window from a view's
// offline source into the online store, as `feast materialize` does, and
// records the window in the registry. Runs synchronously (CLI, HTTP without
// ?async) or as a background job (HTTP ?async=true) with progress.
//
// Idempotent and crash-safe by construction: only the latest row per entity
// key in the window is written, and the online store never replaces a newer
// row, so a re-run after a crash finishes the job without duplicates; the
// window is recorded in the registry only after every row is durable.
//
// Ownership: borrows the registry, engine and online store; owns its jobs.
// Thread-safety: thread-safe. A view is materialized by at most one job at a
// time: Start answers AlreadyExists (HTTP 409) while one of its views is busy.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "core/worker_pool.h"
#include "storage/offline_engine.h"
#include "storage/online_store.h"

namespace kiln::features {

class FeatureRegistry;

struct MaterializeRequest {
  std::string project;  // empty: resolved by the registry
  std::vector<std::string> views;  // empty: every online view with a batch source
  int64_t start_us = 0;            // ignored when incremental
  int64_t end_us = 0;
  bool incremental = false;  // start at each view's last materialized end (or end - ttl, as Feast)
  std::string actor;
  // Throttle (0: none): a backfill can be kept from crowding out online
  // reads and writes on the same machine. Rows are still written in whole
  // batches; the pause comes between them.
  uint64_t max_rows_per_second = 0;
};

struct MaterializeProgress {
  std::string job_id;
  std::string state;  // "running", "succeeded", "failed"
  std::string view;   // the view being copied now
  uint64_t rows_total = 0;
  uint64_t rows_done = 0;
  double rows_per_second = 0;
  double eta_seconds = 0;
  std::string error;
  std::vector<std::string> views;
  // The window each view copies, parallel to `views`: [start_us, end_us],
  // end inclusive (an incremental run's start is per view).
  std::vector<std::pair<int64_t, int64_t>> windows;
  std::string project;
  std::vector<std::string> skipped;  // "view: why" for views a listing left out (not online, on-demand)
  int64_t started_us = 0;
  int64_t finished_us = 0;  // 0 while running
};

using ProgressFn = std::function<void(const MaterializeProgress&)>;

class Materializer {
 public:
  virtual ~Materializer() = default;
  virtual StatusOr<MaterializeProgress> Run(const MaterializeRequest& request, const ProgressFn& progress) = 0;
  // Background job; AlreadyExists while any requested view is materializing.
  virtual StatusOr<MaterializeProgress> Start(const MaterializeRequest& request) = 0;
  virtual StatusOr<MaterializeProgress> GetJob(const std::string& job_id) = 0;
  virtual std::vector<MaterializeProgress> ListJobs() = 0;
};

// The materializer `kiln serve` and the CLI use. Jobs run on threads of their
// own (at most two at a time), never on `pool`, so a long job holds no
// request worker. Everything passed in must outlive the materializer; its
// destructor stops running jobs at their next batch and joins them.
std::unique_ptr<Materializer> CreateMaterializer(FeatureRegistry& registry, storage::OfflineEngine& engine,
                                                 storage::OnlineStore& online, const Clock& clock, WorkerPool& pool);

}  // namespace kiln::features
