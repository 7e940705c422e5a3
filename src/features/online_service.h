// OnlineService: Feast's online serving as a domain service — the reads
// behind /get-online-features and ServingService.GetOnlineFeatures, and the
// writes behind /write-to-online-store and /push.
//
// Reads resolve the requested features (a list of "view:feature" or a
// feature service) through the FeatureRegistry, serialize each view's entity
// keys exactly as Feast does (entity_key.h), read the online store and answer
// column-oriented: the request's join-key columns first (status PRESENT, no
// timestamp), then one column per feature, each with a value, a status and
// the row's event timestamp per entity row. Statuses go beyond Feast's Python
// server: NOT_FOUND for an unknown entity key, NULL_VALUE for a stored null,
// OUTSIDE_MAX_AGE when the row's event time is older than now - ttl (the
// value is still returned, as Feast's Go server does).
//
// Writes convert the request's columns by each view's declared types and
// store one row per entity key with its event and created timestamps; the
// store keeps the newest row.
//
// Errors (Status codes; the API adapters map them once): NotFound with
// Feast's messages ("Feature view x does not exist in project p", "Feature
// service ...", "Unable to find push source 'x'."), InvalidArgument for bad
// input (unknown feature, wrong entity key type, column lengths that differ,
// too many rows, missing columns), Unimplemented for what kiln does not do
// (on-demand views' Python UDFs, offline pushes).
//
// Ownership: borrows the registry, store and clock (they outlive it).
// Thread-safety: thread-safe; holds no mutable state. Calls may block on the
// registry's metadata store (a cache miss) and, for writes, on the online
// store's durability: run them on the worker pool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/status.h"
#include "features/feature_registry.h"
#include "features/value_json.h"
#include "storage/online_store.h"

namespace kiln::features {

struct OnlineLimits {
  // Entity rows one read may ask for (Feast has no limit; kiln documents
  // 10000 and answers 400 above it, so one request cannot monopolize a worker).
  size_t max_entity_rows = 10000;
  // Rows one /write-to-online-store or /push request may carry.
  size_t max_write_rows = 100000;
  // Project for requests that name none (`kiln serve --feature-project`);
  // empty: FeatureRegistry::ResolveProject infers it.
  std::string default_project;
};

// feast.serving.FieldStatus numbers.
enum class FieldStatus : int { kInvalid = 0, kPresent = 1, kNullValue = 2, kNotFound = 3, kOutsideMaxAge = 4 };
std::string_view FieldStatusName(FieldStatus s);

struct OnlineRequest {
  std::string project;  // kiln extension; empty: FeatureRegistry::ResolveProject
  std::vector<std::string> features;  // "view:feature" (ignored when feature_service is set)
  std::string feature_service;
  bool full_feature_names = false;
  // Entity columns in request order: join key (or request-data name) -> one
  // value per entity row.
  std::vector<std::pair<std::string, std::vector<RequestValue>>> entities;
  // Answer only from memory (a caller on an I/O thread): when the registry's
  // cache misses or the store's reads block, fail with WouldBlock()
  // (feature_registry.h) and nothing else done.
  bool memory_only = false;
};

struct OnlineColumn {
  std::string name;
  std::vector<FieldStatus> statuses;  // per entity row
  std::vector<int64_t> event_ts_us;   // per entity row; 0: none
  // Per entity row: (offset, size) in OnlineResult::arena of a serialized
  // feast.types.Value (size 0: null).
  std::vector<std::pair<uint32_t, uint32_t>> values;
};

struct OnlineResult {
  size_t rows = 0;
  std::vector<OnlineColumn> columns;
  std::string arena;

  std::string_view ValueBytes(const OnlineColumn& c, size_t row) const {
    return std::string_view(arena).substr(c.values[row].first, c.values[row].second);
  }
};

enum class PushTarget { kOnline, kOffline, kOnlineAndOffline };

struct WriteOutcome {
  std::vector<std::string> views;  // the views written
  uint64_t rows = 0;               // rows received
  uint64_t written = 0;            // rows stored
  uint64_t skipped = 0;            // rows older than the stored row
};

class OnlineService {
 public:
  OnlineService(FeatureRegistry& registry, storage::OnlineStore& store, const Clock& clock, OnlineLimits limits);

  StatusOr<OnlineResult> GetOnlineFeatures(const OnlineRequest& request);

  // `df` is a JSON object of equally long columns, as Feast's SDK posts it:
  // join keys, every feature of the view, the source's timestamp field (or
  // "event_timestamp") and optionally its created column (or "created"), the
  // timestamps as ISO 8601 text.
  StatusOr<WriteOutcome> WriteToOnlineStore(const std::string& project, const std::string& view,
                                            const nlohmann::json& df);
  // Writes `df` into every view the push source feeds.
  StatusOr<WriteOutcome> Push(const std::string& project, const std::string& push_source, const nlohmann::json& df,
                              PushTarget to);

  const OnlineLimits& limits() const { return limits_; }
  // True when reads wait on the network (Redis): a memory_only read always
  // answers WouldBlock.
  bool ReadsBlock() const { return store_.ReadsBlock(); }

 private:
  const std::string& ProjectOr(const std::string& requested) const;
  StatusOr<WriteOutcome> WriteViews(const std::string& project, const std::vector<ViewSchema>& views,
                                    const nlohmann::json& df);

  FeatureRegistry& registry_;
  storage::OnlineStore& store_;
  const Clock& clock_;
  const OnlineLimits limits_;
};

}  // namespace kiln::features
