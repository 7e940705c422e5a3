// PredictService: one prediction through a deployment endpoint, the domain
// logic behind POST /api/v1/endpoints/{name}/predict.
//
// Either the caller gives the model inputs (named columns, reordered to the
// model signature's column order and checked against it by name, or
// positional rows in that order), or — for an endpoint bound to features —
// entity ids: kiln reads the online features in-process
// (features::OnlineService), builds the input row per entity in the
// signature's column order (mapping by name: a column matches a feature's
// short name or its "view__feature" full name), and refuses a missing,
// null or stale value unless the binding declares a default for it. Never a
// silent zero.
//
// The call picks a route from the endpoint's LiveEndpoint (sticky hash or
// random), queues the rows at that model's batcher, records the outcome in
// the route's RouteStats, feeds the endpoint's DriftMonitor with the inputs
// used, mirrors the call when the endpoint has a mirror, and answers from the
// batcher's thread. A call made on an I/O thread (`on_io_thread`) reads its
// features from memory only and, when the rows are cheap for the model
// (serving::Runtime::RowCost: a tree model and at most kInlineRowCost node
// visits in all), runs the model right there: a one-row request then costs
// no thread handoff at all, which on a small machine is most of its latency
// and of its tail. Anything larger still goes through the batcher; a read
// that would block answers WouldBlock (features/feature_registry.h) so the
// caller can start again on a worker.
//
// Errors: NotFound (no such endpoint), InvalidArgument (bad input, unknown
// or missing column, missing feature value without default: the message
// names the entity row and feature), Unavailable (nothing ready),
// ResourceExhausted (the model's queue is full).
//
// Ownership: borrows the route table and online service (may be null: no
// feature-bound predictions), which outlive it.
// Thread-safety: thread-safe, no mutable state of its own. Predict may block
// briefly on the online store's shared lock and on a registry cache miss
// unless on_io_thread is set: call it from the worker pool otherwise.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "deploy/live_endpoint.h"
#include "features/value_json.h"
#include "features/online_service.h"
#include "serving/tensor.h"
#include "storage/endpoint_entities.h"

namespace kiln::deploy {

struct PredictRequest {
  std::string endpoint;
  // Model inputs: `columns` names (empty: positional, the signature's order)
  // and `rows` x width values row-major, NaN for a missing value.
  std::vector<std::string> columns;
  int64_t rows = 0;
  std::vector<double> values;
  // Or entity ids (join key -> one value per row) for a feature-bound endpoint.
  std::vector<std::pair<std::string, std::vector<features::RequestValue>>> entities;
  std::string sticky_value;     // the endpoint's sticky header's value, if any
  bool return_features = false;  // answer the input matrix that was used
  // The caller is an I/O thread: never block (see the class comment).
  bool on_io_thread = false;
};

struct PredictResponse {
  std::string endpoint;
  std::string model;
  int64_t version = 0;
  int64_t revision = 0;
  std::vector<serving::Tensor> outputs;  // the model's outputs, first dimension = rows
  // With return_features: the input columns and row-major values used.
  std::vector<std::string> feature_names;
  std::vector<double> feature_values;
  int64_t rows = 0;
  double latency_ms = 0;
};

using PredictDone = std::function<void(StatusOr<PredictResponse>)>;

// Checks at revision creation that a binding can feed the model: every
// signature column is a bound feature (or has a default), the features exist.
// `input_columns` empty (no signature): InvalidArgument, a binding needs names.
Status CheckFeatureBinding(features::FeatureRegistry& registry, const std::string& default_project,
                           const storage::FeatureBinding& binding, const std::vector<std::string>& input_columns);

class PredictService {
 public:
  PredictService(const RouteTable& routes, features::OnlineService* online);
  // Rows x RowCost up to which an on_io_thread call runs the model in place:
  // ~20-40 us of tree walking on this machine's cores.
  static constexpr int64_t kInlineRowCost = 20'000;

  // `done` runs exactly once, on this thread (errors before queueing, and
  // models run in place) or on the model batcher's thread.
  void Predict(PredictRequest request, PredictDone done) const;
  // True when feature reads wait on the network (Redis): an on_io_thread
  // call from entities would only answer WouldBlock.
  bool FeatureReadsBlock() const { return online_ && online_->ReadsBlock(); }

 private:
  const RouteTable& routes_;
  features::OnlineService* online_;
};

}  // namespace kiln::deploy
