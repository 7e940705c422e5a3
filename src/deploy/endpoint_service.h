// EndpointService: deployment endpoints — a name plus an ordered history of
// immutable revisions, each routing traffic to registered model versions —
// and their rollouts. The domain logic behind /api/v1/endpoints and the
// runbook's /api/v1/models/deploy|rollback; no HTTP, no SQL.
//
// - Creating or updating an endpoint resolves every route (version, @alias or
//   stage) to a version number through the registry, checks the version can
//   be served (the package reader's reason otherwise) and that a feature
//   binding matches the model signature, loads the models, and only then
//   stores the revision and starts its rollout. Loading happens before any
//   traffic moves, so no request ever meets a model that is not ready.
// - Rollouts (all_at_once, canary, linear) are advanced by the controller
//   thread; each step is stored (optimistic concurrency on config_version),
//   recorded as an event and published to the RouteTable. During a rollout
//   the guardrails read the new revision's own RouteStats and roll back on a
//   breach. One change at a time: a change while a rollout runs is refused
//   (FailedPrecondition, 409).
// - The rolled-out and previous rolled-out revisions stay loaded, so
//   :rollback is a table swap, not a cold start. Models no revision in use
//   references are unloaded.
// - Replicas: each replica's controller re-reads an endpoint another replica
//   changed (OnStoreChanged, from the ChangeFeed) and publishes it; rollout
//   steps are stored conditionally on config_version, so whichever replica's
//   controller steps first wins and the others follow what is stored.
// - Alias following: registry events announcing an alias move are queued to
//   the controller thread, which creates a new revision for every endpoint
//   that opted in and routes to that alias.
//
// Ownership: borrows everything passed to Create (all outlive the service);
// owns the controller thread (Stop joins it; the destructor calls Stop).
// Thread-safety: every method is thread-safe. Methods block on storage and on
// model loading: call them from the worker pool.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "core/status.h"
#include "deploy/drift.h"
#include "deploy/live_endpoint.h"
#include "features/feature_registry.h"
#include "registry/event_recorder.h"
#include "registry/registry_service.h"
#include "serving/model_repository.h"
#include "storage/endpoint_store.h"
#include "tracking/tracking_service.h"

namespace kiln::deploy {

class CaptureStore;

struct EndpointServiceOptions {
  int64_t tick_ms = 200;  // controller period
  size_t capture_max_bytes = 64 << 20;  // per endpoint
  std::string default_feature_project;
};

// One route's live status (what GET shows per route).
struct RouteStatus {
  int64_t revision = 0;
  std::string model;
  int64_t version = 0;
  int percent = 0;  // effective share of the endpoint's traffic, rounded
  bool ready = false;
  std::string reason;  // why not ready
  WindowReading last_minute;
};

struct EndpointView {
  storage::EndpointRecord record;
  std::vector<storage::EndpointRevision> revisions;
  std::vector<RouteStatus> routes;
  std::vector<DriftStatus> drift;  // empty without a baseline
  std::string drift_error;         // why the baseline could not be used
};

struct EndpointCreate {
  std::string name;  // [A-Za-z0-9][A-Za-z0-9._-]{0,127}
  storage::RevisionSpec spec;  // route versions are resolved here
  storage::EndpointSettings settings;
};

struct DeployOutcome {
  std::string endpoint;
  int64_t revision = 0;
  std::string model;
  int64_t version = 0;
  std::string stage;  // "Staging" | "Production"
  bool created = false;  // the endpoint was created by this call
};

class EndpointService {
 public:
  static StatusOr<std::unique_ptr<EndpointService>> Create(
      storage::EndpointStore& store, registry::RegistryService& registry, registry::EventRecorder& registry_events,
      tracking::TrackingService& tracking, serving::ModelRepository& models, RouteTable& routes, features::FeatureRegistry* feature_registry,
      MetricsRegistry& metrics, const Clock& clock, EndpointServiceOptions options = {});
  ~EndpointService();
  EndpointService(const EndpointService&) = delete;
  EndpointService& operator=(const EndpointService&) = delete;

  // Loads what every stored endpoint serves, publishes its routes and starts
  // the controller. A model that fails to load leaves its route not ready
  // (and the endpoint Unavailable if nothing is), never stops the server.
  Status Start();
  void Stop();

  StatusOr<EndpointView> CreateEndpoint(const std::string& actor, const EndpointCreate& request);
  StatusOr<EndpointView> GetEndpoint(const std::string& name);
  StatusOr<std::vector<EndpointView>> ListEndpoints();
  // A new revision from `spec`, rolled out by spec.rollout.
  StatusOr<EndpointView> UpdateEndpoint(const std::string& actor, const std::string& name,
                                        const storage::RevisionSpec& spec, const std::string& reason = "manual");
  StatusOr<EndpointView> UpdateSettings(const std::string& actor, const std::string& name,
                                        const storage::EndpointSettings& settings);
  Status DeleteEndpoint(const std::string& actor, const std::string& name);
  // Back to the previous rolled-out revision at once (during a rollout: back
  // to the revision it started from). FailedPrecondition when there is none.
  StatusOr<EndpointView> Rollback(const std::string& actor, const std::string& name,
                                  const std::string& reason = "manual");
  // Ends a rollout early: the new revision gets 100 %. FailedPrecondition
  // when no rollout runs.
  StatusOr<EndpointView> Promote(const std::string& actor, const std::string& name,
                                 const std::string& reason = "manual");
  StatusOr<std::vector<storage::EndpointEvent>> ListEvents(const std::string& name, int64_t after_id,
                                                           int64_t max_results);

  // POST /api/v1/models/deploy: transitions the version to `stage` (case-
  // insensitive "staging" | "production"; archives the stage's other versions)
  // and deploys it to the stage's endpoint "<model>-<stage>" (created on first
  // use), by that endpoint's rollout policy (all_at_once when created here).
  StatusOr<DeployOutcome> DeployModel(const std::string& actor, const std::string& model, const std::string& version,
                                      const std::string& stage);
  // POST /api/v1/models/rollback: the stage's endpoint back to its previous
  // revision, and that revision's version back into the stage.
  StatusOr<DeployOutcome> RollbackModel(const std::string& actor, const std::string& model, const std::string& stage);

  // The endpoint's capture store (null when the endpoint does not exist).
  std::shared_ptr<CaptureStore> Capture(const std::string& name) const;

  // Another replica changed endpoint `name` in the store ("" = any of them
  // may have changed): the controller re-reads it and publishes what is
  // stored, loading its models first (the current routes serve meanwhile),
  // or stops serving it when it was deleted. Only queues: returns at once.
  void OnStoreChanged(const std::string& name);

  // One controller pass now, on the caller's thread (tests; the thread does the same).
  void Tick();

 private:
  struct Impl;
  explicit EndpointService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::deploy
