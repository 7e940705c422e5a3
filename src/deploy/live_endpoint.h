// What the request path sees of a deployment endpoint: an immutable snapshot
// of its traffic (which loaded model gets which share), swapped atomically by
// the EndpointService on every change. A request takes the snapshot once and
// finishes on it, so a rollout step, a rollback or a delete never fails a call
// in flight: the models it holds stay alive through their shared_ptr.
//
// Thread-safety: LiveEndpoint is immutable after Publish (RouteStats inside
// are updated lock-free). RouteTable is thread-safe; Find takes a shared lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "deploy/route_stats.h"
#include "serving/model_repository.h"
#include "storage/endpoint_entities.h"

namespace kiln::deploy {

class CaptureStore;
class DriftMonitor;

// One loaded route of one revision.
struct LiveRoute {
  int64_t revision = 0;
  std::string model;    // registered model name
  int64_t version = 0;  // registered version number
  // Share of the endpoint's traffic in basis points (revision share x route
  // percent); an endpoint's routes sum to 10000.
  int weight_bp = 0;
  std::shared_ptr<const serving::ServedModel> served;
  // The model signature's input column names in order; empty when the
  // version has no signature (inputs must then be positional rows).
  std::vector<std::string> input_columns;
  std::shared_ptr<RouteStats> stats;  // shared by every snapshot that routes to this revision's route
};

struct LiveEndpoint {
  std::string name;
  int64_t config_version = 0;
  std::vector<LiveRoute> routes;  // weight_bp > 0 only, in revision then route order
  std::optional<LiveRoute> mirror;
  int mirror_percent = 0;
  std::string sticky_header;  // lower-case; empty: random split
  std::optional<storage::FeatureBinding> features;  // of the revision that is rolling out, else the rolled-out one
  double capture_percent = 0;
  std::shared_ptr<CaptureStore> capture;  // may be null
  std::shared_ptr<DriftMonitor> drift;    // may be null

  // The route for one call: `key` is a hash of the sticky header's value
  // (the same caller always lands on the same route while the split holds)
  // or a random number. Requires !routes.empty().
  const LiveRoute& Pick(uint64_t key) const;
};

class RouteTable {
 public:
  std::shared_ptr<const LiveEndpoint> Find(std::string_view name) const;
  void Publish(std::shared_ptr<const LiveEndpoint> endpoint);
  void Remove(const std::string& name);

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<const LiveEndpoint>, std::less<>> endpoints_;  // guarded by mu_
};

// 64-bit hash of a sticky header value (stable across restarts and replicas).
uint64_t StickyHash(std::string_view value);
// A random routing key from a thread-local generator.
uint64_t RandomKey();

}  // namespace kiln::deploy
