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
#include <vector>

#include "core/status.h"

namespace kiln::features {

struct MaterializeRequest {
  std::string project;  // empty: resolved by the registry
  std::vector<std::string> views;  // empty: every online view with a batch source
  int64_t start_us = 0;            // ignored when incremental
  int64_t end_us = 0;
  bool incremental = false;  // start at each view's last materialized end (or end - ttl, as Feast)
  std::string actor;
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

}  // namespace kiln::features
