// MLflow's input validation rules (mlflow/utils/validation.py, MLflow 3.x) as
// Status-returning checks. Every failure is InvalidArgument with MLflow's
// message wording, so the API adapter can pass it through as
// INVALID_PARAMETER_VALUE. Lengths are counted in Unicode code points (Python's
// len(str)); strings are expected to be UTF-8.
//
// Note on long values: MLflow's server truncates over-long param and tag
// values by default (MLFLOW_TRUNCATE_LONG_VALUES=true) instead of rejecting
// them. To mirror that, pass the value through TruncateUtf8(value, limit)
// before validating; the Validate* functions themselves always reject.
//
// Thread-safety: pure functions of their arguments; safe to call concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "storage/search_query.h"
#include "storage/tracking_entities.h"

namespace kiln::tracking {

inline constexpr size_t kMaxParamsTagsPerBatch = 100;  // params and tags, each
inline constexpr size_t kMaxMetricsPerBatch = 1000;
inline constexpr size_t kMaxDatasetsPerBatch = 1000;
inline constexpr size_t kMaxEntitiesPerBatch = 1000;  // metrics + params + tags
inline constexpr size_t kMaxBatchLogRequestSize = 1000000;  // bytes of the JSON body
inline constexpr size_t kMaxParamValLength = 6000;
inline constexpr size_t kMaxTagValLength = 8000;
inline constexpr size_t kMaxEntityKeyLength = 250;  // metric, param and run tag keys
inline constexpr size_t kMaxExperimentNameLength = 500;
inline constexpr size_t kMaxExperimentTagKeyLength = 250;
inline constexpr size_t kMaxExperimentTagValLength = 5000;
inline constexpr int64_t kSearchMaxResultsDefault = 1000;      // runs and experiments
inline constexpr int64_t kSearchMaxResultsThreshold = 50000;   // runs and experiments
inline constexpr int64_t kGetMetricHistoryMaxResults = 25000;
inline constexpr int64_t kSearchLoggedModelMaxResultsDefault = 100;

// Number of Unicode code points in UTF-8 `s` (an invalid byte counts as one).
size_t Utf8Length(std::string_view s);

// The longest prefix of `s` holding at most `max_code_points` code points;
// never splits a UTF-8 sequence. Mirrors MLflow's value[:limit] truncation.
std::string_view TruncateUtf8(std::string_view s, size_t max_code_points);

// Metric / param / tag key rules: characters from [/\w.\- :] (\w: ASCII letters,
// digits, underscore, and any non-ASCII code point), and the name must not
// change under POSIX path normalisation (so no empty name, no leading '/', no
// "..", "." or empty path components, no trailing '/'). `path` names the
// request field in the message (MLflow: "name" for metrics, "key" otherwise;
// "metrics[3].key" style inside log-batch).
Status ValidateMetricName(std::string_view name, std::string_view path = "name");
Status ValidateParamName(std::string_view name, std::string_view path = "key");
Status ValidateTagName(std::string_view name, std::string_view path = "key");

// A metric as logged: name rules, timestamp >= 0 and key length <= 250.
// NaN and +-Inf values are allowed. `path` prefixes field names ("metrics[0]").
Status ValidateMetric(std::string_view key, double value, int64_t timestamp, int64_t step,
                      std::string_view path = "");

// A run param: name rules, key length <= 250, value length <= 6000.
Status ValidateParam(std::string_view key, std::string_view value, std::string_view path = "");
Status ValidateParamValue(std::string_view value);

// A run tag: name rules, key length <= 250, value length <= 8000.
Status ValidateTag(std::string_view key, std::string_view value, std::string_view path = "");
Status ValidateTagValue(std::string_view value, std::string_view path = "value");

// An experiment tag: name rules, key length <= 250, value length <= 5000.
Status ValidateExperimentTag(std::string_view key, std::string_view value);

// log-batch entity counts: metrics <= 1000, params <= 100, tags <= 100, total <= 1000.
Status ValidateBatchLimits(size_t n_metrics, size_t n_params, size_t n_tags);
// log-batch JSON body size <= 1,000,000 bytes.
Status ValidateBatchRequestSize(size_t bytes);
// Rejects any param key that occurs more than once in one batch (values are not compared).
Status ValidateDuplicateParamKeys(const std::vector<storage::Param>& params);

// Non-empty, at most 500 code points.
Status ValidateExperimentName(std::string_view name);
// MLflow's tracking server refuses locations whose scheme makes it connect
// to the host they name (ftp, sftp, hdfs, viewfs, http, https, r2, b2, abfss,
// and mlflow-artifacts://<host>/...): "'<field_name>' cannot use the 'http'
// scheme: ...".
Status CheckHostAddressedScheme(std::string_view uri, std::string_view field_name);
// MLflow's checks of an experiment's artifact_location: no fragment or
// params, no '..' in the query, no host-addressed scheme, not a runs:/ URI.
Status ValidateArtifactLocation(std::string_view location);
// MLflow's resolve_uri_if_local: a relative local path ("arts", "./arts",
// "file:arts") becomes absolute against `cwd` (the server's working
// directory), keeping a file: scheme ("file:///cwd/arts"); anything else is
// returned unchanged.
std::string ResolveLocalArtifactLocation(std::string_view location, std::string_view cwd);
// ^[a-zA-Z0-9][\w\-]{0,255}$
Status ValidateRunId(std::string_view run_id, std::string_view path = "run_id");
// ^[a-zA-Z0-9][\w\-]{0,63}$
Status ValidateExperimentId(std::string_view experiment_id);

// 1 <= max_results <= threshold.
Status ValidateMaxResults(int64_t max_results, int64_t threshold = kSearchMaxResultsThreshold);

// Run status as MLflow's protocol carries it: a name (RUNNING, SCHEDULED,
// FINISHED, FAILED, KILLED) or its enum number ("1".."5"). Returns the name.
StatusOr<std::string> NormalizeRunStatus(std::string_view status);
Status ValidateRunStatus(std::string_view status);

// ViewType: ACTIVE_ONLY, DELETED_ONLY, ALL (any case) or enum number "1".."3".
StatusOr<storage::ViewType> ParseViewType(std::string_view view_type);
Status ValidateViewType(std::string_view view_type);

// --- model registry ---
inline constexpr size_t kMaxRegistryTagKeyLength = 250;
inline constexpr size_t kMaxRegistryTagValLength = 100000;
inline constexpr size_t kMaxAliasLength = 255;
inline constexpr int64_t kSearchRegisteredModelsMaxResultsDefault = 100;
inline constexpr int64_t kSearchRegisteredModelsMaxResultsThreshold = 1000;
inline constexpr int64_t kSearchModelVersionsMaxResultsDefault = 10000;
inline constexpr int64_t kSearchModelVersionsMaxResultsThreshold = 200000;

// Non-blank, no '/' or ':', unchanged by path normalisation.
Status ValidateRegisteredModelName(std::string_view name, std::string_view path = "name");
// Tag key rules as for runs; key <= 250, value <= 100,000 code points.
Status ValidateRegistryTag(std::string_view key, std::string_view value);
// Non-empty, [\w-]*, <= 255 code points.
Status ValidateAliasName(std::string_view alias);
// Refuses "latest" (any case) and v<digits>, which name versions in model URIs.
Status ValidateAliasNotReserved(std::string_view alias);
// "latest" in any case: names a model's highest version wherever an alias may.
bool IsLatestAlias(std::string_view alias);
// None / Staging / Production / Archived, any case; returns the canonical form.
StatusOr<std::string> CanonicalStage(std::string_view stage);
// A model version number as Python's int() reads it.
StatusOr<int64_t> ParseModelVersion(std::string_view version);

}  // namespace kiln::tracking
