// Deployment endpoints as the metadata store holds them: an endpoint (name,
// settings and its mutable rollout state), its immutable revisions, and the
// events that changed it. The domain service (deploy/endpoint_service.h)
// decides what these mean; the store only keeps them, atomically per change.
// Times are milliseconds since the Unix epoch.
//
// Value types; not synchronised.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kiln::storage {

// One served model of a revision: a registered model and what the caller
// named (a version, an alias or a stage), resolved to a version number when
// the revision was created.
struct EndpointRoute {
  std::string model;               // registered model name
  std::string ref_kind = "version";  // "version" | "alias" | "stage"
  std::string ref;                 // "3" | "champion" | "Production" (as given)
  int64_t version = 0;             // resolved at creation; never changes
  int percent = 100;               // share of the revision's traffic; a revision's percents sum to 100
};

// A shadow route: `percent` of the revision's requests are also sent here and
// the answers discarded.
struct EndpointMirror {
  EndpointRoute route;  // route.percent unused
  int percent = 0;      // 1..100
};

// Dynamic batching of the revision's models; 0 / -1 fields take the server's defaults.
struct EndpointBatching {
  int64_t max_batch_rows = 0;
  int64_t max_queue_delay_us = -1;
  int64_t max_queue = 0;
};

// Predict from entity ids: the online features of a Feast feature service
// (or a list of "view:feature" references) become the model's input columns,
// matched by name against the model signature.
struct FeatureBinding {
  std::string project;                // empty: the server's default project
  std::string feature_service;        // either this ...
  std::vector<std::string> features;  // ... or "view:feature" references
  // Value used when a feature is missing (NOT_FOUND / NULL_VALUE) or, with
  // allow_stale false, outside its view's ttl. A feature without a default is
  // an error for that request.
  std::map<std::string, double> defaults;
  bool allow_stale = false;  // serve OUTSIDE_MAX_AGE values as they are
};

struct Guardrail {
  std::string metric;   // "error_rate" | "p99_ms"
  std::string op = ">";  // ">" | ">=" | "<" | "<="
  double threshold = 0;
  int64_t window_s = 60;
  int64_t min_requests = 1;  // the window needs this many requests before the guardrail can trip
};

struct RolloutPolicy {
  std::string strategy = "all_at_once";  // "all_at_once" | "canary" | "linear"
  int step_percent = 0;   // canary: the canary's share; linear: each step's increment
  int64_t interval_s = 0;  // linear: seconds between steps
  int64_t bake_s = 0;      // canary: seconds at step_percent before 100 %; linear: after the last step
  std::vector<Guardrail> rollback_on;
};

// What a revision serves; immutable once stored.
struct RevisionSpec {
  std::vector<EndpointRoute> routes;
  std::optional<EndpointMirror> mirror;
  EndpointBatching batching;
  std::string sticky_header;  // lower-case header name; empty: no stickiness
  std::optional<FeatureBinding> features;
  RolloutPolicy rollout;
};

struct EndpointRevision {
  int64_t number = 0;  // 1, 2, ... per endpoint
  RevisionSpec spec;
  int64_t created_ms = 0;
  std::string created_by;
  std::string reason;  // "create" | "update" | "deploy" | "alias_move"
};

// Endpoint-level settings that change without a new revision.
struct EndpointSettings {
  std::string description;
  bool follow_aliases = false;  // a route given as @alias gets a new revision when the alias moves
  double capture_percent = 0;   // share of requests captured (0..100)
  // Drift baseline: a CSV or Parquet file kiln can read, or "run" (the
  // serving run's logged training dataset); empty: none.
  std::string drift_baseline;
  double drift_threshold = 0.1;
};

// A revision's current share of the endpoint's traffic.
struct TrafficShare {
  int64_t revision = 0;
  int percent = 0;
};

struct RolloutState {
  bool active = false;
  int64_t from_revision = 0;  // what had 100 % when the rollout began (0: none)
  int64_t to_revision = 0;
  int percent = 0;            // to_revision's current share
  std::string phase;          // "stepping" | "baking"
  int64_t started_ms = 0;
  int64_t next_step_ms = 0;   // when the controller acts next
};

struct EndpointState {
  int64_t config_version = 0;  // +1 on every stored change (optimistic concurrency)
  int64_t latest_revision = 0;
  int64_t latest_ready_revision = 0;
  int64_t rolled_out_revision = 0;           // the last revision that reached 100 %
  int64_t previous_rolled_out_revision = 0;  // the one before it (what :rollback returns to)
  std::vector<TrafficShare> traffic;         // sums to 100 once anything is rolled out
  RolloutState rollout;
};

struct EndpointRecord {
  std::string name;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  std::string created_by;
  EndpointSettings settings;
  EndpointState state;
};

struct EndpointEvent {
  int64_t id = 0;  // assigned by the store, increasing per database
  std::string endpoint;
  int64_t timestamp_ms = 0;
  std::string actor;   // who asked; "kiln" for the rollout controller
  std::string action;  // "create" | "update" | "settings" | "rollout_step" | "rolled_out" | "promote" | "rollback" | "delete"
  std::string reason;  // "manual" | "guardrail" | "alias_move" | "rollout" | "deploy"
  int64_t revision = 0;
  std::string detail_json;  // JSON object with what changed (traffic, guardrail reading, ...)
};

}  // namespace kiln::storage
