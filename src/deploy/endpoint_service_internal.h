// EndpointService's private parts, shared by the files that implement it:
// endpoint_service.cc (the public operations), endpoint_resolve.cc
// (validation, route resolution, servability, feature binding),
// endpoint_loading.cc (models, snapshots, unloading, capture and drift) and
// rollout_controller.cc (rollout steps, guardrails, alias following).
//
// Locking: a per-endpoint change mutex serializes everything that stores a
// change to one endpoint (users and the controller); `mu` guards the
// in-memory maps below and is only held briefly, never while loading or
// storing. Order: change mutex, then mu.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "deploy/capture_store.h"
#include "deploy/drift.h"
#include "deploy/endpoint_metrics.h"
#include "deploy/endpoint_service.h"

namespace kiln::deploy {

// Who the controller records as the actor of what it does.
inline constexpr const char* kControllerActor = "kiln";

// Registry events (and the change feed's resync requests) cross from other
// threads to the controller through this queue; the subscriber only appends (it must not call back
// into the registry), and outlives the service (EventRecorder has no
// unsubscribe), hence shared.
struct AliasQueue {
  std::mutex mu;
  bool alive = true;
  std::deque<std::string> models;  // registered models whose aliases changed
  std::set<std::string> resync;    // endpoints another replica changed
  bool resync_all = false;         // ... or any of them
  std::function<void()> wake;      // wakes the controller; cleared on Stop
};

struct EndpointService::Impl {
  Impl(storage::EndpointStore& store, registry::RegistryService& registry, registry::EventRecorder& registry_events,
       tracking::TrackingService& tracking, serving::ModelRepository& models, RouteTable& routes,
       features::FeatureRegistry* feature_registry, MetricsRegistry& metrics, const Clock& clock,
       EndpointServiceOptions options)
      : store(store),
        registry(registry),
        registry_events(registry_events),
        tracking(tracking),
        models(models),
        routes(routes),
        feature_registry(feature_registry),
        clock(clock),
        options(std::move(options)),
        endpoint_metrics(metrics) {}

  storage::EndpointStore& store;
  registry::RegistryService& registry;
  registry::EventRecorder& registry_events;
  tracking::TrackingService& tracking;
  serving::ModelRepository& models;
  RouteTable& routes;
  features::FeatureRegistry* feature_registry;
  const Clock& clock;
  const EndpointServiceOptions options;
  EndpointMetrics endpoint_metrics;

  // --- per-endpoint change locks ---
  std::mutex locks_mu;
  std::map<std::string, std::shared_ptr<std::mutex>> locks;  // guarded by locks_mu
  std::shared_ptr<std::mutex> LockFor(const std::string& name);

  // --- in-memory state, guarded by mu ---
  struct Runtime {
    std::shared_ptr<CaptureStore> capture;
    std::shared_ptr<DriftMonitor> drift;
    std::string drift_key;  // what `drift` was built from
    std::string drift_error;
    // Monitors built for other keys (e.g. the previous version's "run"
    // baseline), so a rollback swaps back without reading a file.
    std::map<std::string, std::pair<std::shared_ptr<DriftMonitor>, std::string>> drift_cache;
    // Statistics per (revision, route index; -1 = the mirror), shared by
    // every snapshot that routes there.
    std::map<std::pair<int64_t, int>, std::shared_ptr<RouteStats>> stats;
    std::map<int64_t, storage::EndpointRevision> revisions;  // immutable once stored: a cache
    std::set<std::string> served;  // model names this endpoint keeps loaded
    bool rollout_active = false;
  };
  mutable std::mutex mu;
  std::map<std::string, Runtime> runtimes;
  std::map<std::string, int> pinned;  // served names being loaded for a change not stored yet
  std::set<std::string> loaded;       // served names this service loaded into `models`
  std::map<std::pair<std::string, int64_t>, std::vector<std::string>> columns;  // signature inputs per version

  // --- controller ---
  std::shared_ptr<AliasQueue> alias_queue = std::make_shared<AliasQueue>();
  std::set<std::string> alias_pending;  // controller thread only: models to re-check
  std::mutex run_mu;
  std::condition_variable run_cv;
  bool stopping = false;  // guarded by run_mu
  bool started = false;   // guarded by run_mu
  bool wake = false;      // guarded by run_mu
  std::thread thread;
  std::mutex tick_mu;     // one controller pass at a time (thread or Tick())

  // --- endpoint_resolve.cc ---
  // Checks and normalizes a spec (stage names, sticky header case, refs),
  // resolves every route and the mirror to a version, checks they can be
  // served and that a feature binding fits the signature.
  Status ResolveSpec(storage::RevisionSpec* spec);
  Status ResolveRoute(storage::EndpointRoute* route, const std::string& where);
  // The signature's input column names of a version (cached).
  StatusOr<std::vector<std::string>> InputColumns(const std::string& model, int64_t version);

  // --- endpoint_loading.cc ---
  static std::string ServedName(const std::string& model, int64_t version, const storage::EndpointBatching& batching);
  std::optional<serving::BatchingOptions> BatchingFor(const storage::EndpointBatching& batching) const;
  // Loads every model `spec` serves (no-op for those loaded). The names stay
  // pinned (never unloaded) until the returned handle is released.
  StatusOr<std::shared_ptr<void>> LoadSpec(const storage::RevisionSpec& spec);
  // The revisions a state keeps loaded: traffic, rollout ends, rolled-out and previous.
  static std::set<int64_t> RevisionsInUse(const storage::EndpointState& state);
  // Revision `number` of `name` (from the cache or the store).
  StatusOr<storage::EndpointRevision> Revision(const std::string& name, int64_t number);
  // Builds and publishes the endpoint's snapshot from `record`; loads what is
  // missing (normally nothing: changes load before they are stored).
  void Publish(const storage::EndpointRecord& record);
  // Unloads models no endpoint keeps and no pending change pins.
  void SweepUnused();
  // Capture store and drift monitor of the endpoint, (re)built when the
  // settings or the served version changed.
  void RefreshObservers(const storage::EndpointRecord& record, const storage::EndpointRevision* primary);
  StatusOr<Baseline> LoadBaseline(const std::string& baseline, const std::string& model, int64_t version,
                                  const std::vector<std::string>& columns);
  std::vector<RouteStatus> RouteStatuses(const storage::EndpointRecord& record);

  // --- endpoint_service.cc ---
  // Reads the endpoint, lets `change` edit it (and set a new revision and
  // the event), stores it conditionally on the config_version it read
  // (re-reading on Aborted), then publishes the snapshot.
  using Change = std::function<Status(storage::EndpointRecord&, std::optional<storage::EndpointRevision>&,
                                      storage::EndpointEvent&)>;
  StatusOr<storage::EndpointRecord> Apply(const std::string& name, const Change& change);
  StatusOr<EndpointView> View(const storage::EndpointRecord& record);
  // A new revision from `spec` (validated, resolved and loaded here), rolled
  // out by its policy. Requires the endpoint's change lock.
  StatusOr<storage::EndpointRecord> NewRevision(const std::string& actor, const std::string& name,
                                                storage::RevisionSpec spec, const std::string& reason,
                                                const std::string& cause);
  // Stores a new endpoint whose revision 1 is `spec` (resolved and loaded by
  // the caller), with a "create" event (`detail_json` merged into its
  // detail), and publishes it. Requires the endpoint's change lock.
  StatusOr<storage::EndpointRecord> CreateStored(const std::string& actor, const std::string& name,
                                                 const storage::EndpointSettings& settings,
                                                 const storage::RevisionSpec& spec, const std::string& reason,
                                                 const std::string& detail_json);
  StatusOr<storage::EndpointRecord> RollbackLocked(const std::string& actor, const std::string& name,
                                                   const std::string& reason, const std::string& detail_json);

  // --- rollout_controller.cc ---
  // Puts `revision` into `state` by `policy` from what is rolled out now;
  // returns the rollout's description for the event.
  void BeginRollout(storage::EndpointState& state, int64_t revision, const storage::RolloutPolicy& policy,
                    int64_t now_ms) const;
  void TickOnce();
  void TickEndpoint(const std::string& name);
  void HandleAliasMoves();
  void Loop();

  // --- endpoint_resync.cc ---
  // Serves what the store holds for the endpoints other replicas changed.
  void HandleResyncs();
  void Resync(const std::string& name);
  // Forgets an endpoint that no longer exists (routes, metrics, runtime).
  void Unpublish(const std::string& name);
};

// Status/record helpers shared by the files.
std::string TrafficJson(const storage::EndpointState& state);
Status ValidateEndpointName(const std::string& name);
Status ValidateSettings(const storage::EndpointSettings& settings);
// "staging" -> "Staging", "production" -> "Production"; InvalidArgument otherwise.
StatusOr<std::string> NormalizeDeployStage(const std::string& stage);

}  // namespace kiln::deploy
