// Parsed search requests (filters and orderings) as plain data. The tracking
// service parses MLflow's filter grammar into these; each metadata store
// translates them into its own SQL dialect. No SQL and no parsing here.
//
// Value types; not synchronised.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace kiln::storage {

// Which family of field a clause or ordering refers to.
enum class SearchEntity {
  kMetric,     // latest value of metric <key> (runs only)
  kParam,      // param <key> (runs only)
  kTag,        // tag <key>
  kAttribute,  // a column: see the canonical attribute names below
  kDataset,    // dataset input attribute: name, digest or context (runs only)
};

// Canonical attribute keys after alias resolution by the parser:
//   runs:        run_id, run_name, status, user_id, artifact_uri, start_time,
//                end_time, lifecycle_stage
//   experiments: name, experiment_id, creation_time, last_update_time, lifecycle_stage
//   logged models: model_id, name, model_type, status, creation_timestamp,
//                last_updated_timestamp, source_run_id
// kIsNull / kIsNotNull: whether a tag or param key is set at all (no value).
enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe, kLike, kILike, kIn, kNotIn, kIsNull, kIsNotNull };

using SearchValue = std::variant<double, std::string, std::vector<std::string>>;

struct FilterClause {
  SearchEntity entity = SearchEntity::kAttribute;
  std::string key;
  CompareOp op = CompareOp::kEq;
  SearchValue value;  // double for numeric comparisons, string, or list for IN
};

struct OrderBy {
  SearchEntity entity = SearchEntity::kAttribute;
  std::string key;
  bool ascending = true;
  // Logged-model metric orderings only: the metric's value on this dataset
  // (empty: any dataset).
  std::string dataset_name = {};
  std::string dataset_digest = {};
};

// Which lifecycle stages a search sees (MLflow's ViewType).
enum class ViewType { kActiveOnly, kDeletedOnly, kAll };

struct RunQuery {
  std::vector<std::string> experiment_ids;
  ViewType view = ViewType::kActiveOnly;
  std::vector<FilterClause> filter;  // clauses joined by AND
  std::vector<OrderBy> order_by;     // then start_time DESC, run_id ASC
  int64_t max_results = 1000;
  int64_t offset = 0;
};

struct ExperimentQuery {
  ViewType view = ViewType::kActiveOnly;
  std::vector<FilterClause> filter;
  std::vector<OrderBy> order_by;  // then creation_time DESC, experiment_id ASC
  int64_t max_results = 1000;
  int64_t offset = 0;
};

// A dataset a logged model's metrics were computed on; an empty digest
// matches any digest.
struct DatasetScope {
  std::string name;
  std::string digest;
};

struct LoggedModelQuery {
  std::vector<std::string> experiment_ids;
  std::vector<FilterClause> filter;
  // Models with metrics on any of these datasets; metric clauses in `filter`
  // then match only values on them.
  std::vector<DatasetScope> datasets;
  std::vector<OrderBy> order_by;  // then creation_timestamp DESC, model_id ASC
  int64_t max_results = 100;
  int64_t offset = 0;
};

}  // namespace kiln::storage
