// MLflow's search grammar (filter strings and order_by clauses) for runs,
// experiments and logged models, parsed into the storage layer's plain AST
// (storage/search_query.h). Mirrors mlflow/utils/search_utils.py: SearchUtils,
// SearchExperimentsUtils and SearchLoggedModelsUtils, including their error
// messages where practical. No SQL here: each metadata store translates the AST.
//
// Grammar (all families):
//   filter     := clause (AND clause)*            AND is case-insensitive; OR is rejected
//   clause     := ident op value | ident [NOT] IN list | ident (LIKE|ILIKE) value
//   ident      := [entity '.'] key                key: bare word(s) joined by '.', or
//                                                 quoted with `...` or "..." (any text)
//   op         := = != < <= > >=                  (anything else: "Invalid comparator")
//   value      := number | 'string' | "string"    strings are taken verbatim between the
//                                                 quotes, as MLflow does (no unescaping)
//   list       := '(' string (',' string)* [','] ')'
// An identifier without an entity prefix is an attribute. Attribute aliases are
// resolved to the canonical names listed in search_query.h.
//
// Thread-safety: pure functions of their arguments; safe to call concurrently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "storage/search_query.h"

namespace kiln::tracking {

// SearchRuns filter. Entities: metric(s) (numeric value; > >= = != < <=),
// param(s)/parameter(s) and tag(s) (quoted string; = != LIKE ILIKE),
// attribute(s)/attr/run or no prefix: run_id, run_name, status, user_id,
// artifact_uri (quoted string; = != LIKE ILIKE, and IN / NOT IN for run_id
// only), start_time, end_time (numeric comparators); aliases created/Created ->
// start_time and `run name`/`Run name`/`Run Name` -> run_name.
// dataset(s): name, digest, context (= != LIKE ILIKE IN NOT IN).
// Empty or all-whitespace filter -> no clauses.
StatusOr<std::vector<storage::FilterClause>> ParseRunFilter(std::string_view filter);

// SearchRuns order_by entries, e.g. "metrics.rmse ASC", "params.lr",
// "metrics.`my key` desc", "start_time", "attributes.end_time DESC".
// Attribute keys: run_id, run_name, status, user_id, artifact_uri, start_time,
// end_time (and created/Created -> start_time). Default direction: ascending.
StatusOr<std::vector<storage::OrderBy>> ParseRunOrderBy(const std::vector<std::string>& order_by);

// SearchExperiments filter. Entities: attribute (or no prefix) with keys name
// (= != LIKE ILIKE) and creation_time, last_update_time (numeric comparators);
// tag/tags (= != LIKE ILIKE). As in MLflow, "attributes." is not accepted here.
StatusOr<std::vector<storage::FilterClause>> ParseExperimentFilter(std::string_view filter);

// SearchExperiments order_by: attributes only, keys name, experiment_id,
// creation_time, last_update_time.
StatusOr<std::vector<storage::OrderBy>> ParseExperimentOrderBy(
    const std::vector<std::string>& order_by);

// SearchLoggedModels filter. Attributes (or no prefix): name, model_id,
// model_type, status, source_run_id (quoted string; = != LIKE ILIKE IN NOT IN),
// creation_timestamp, last_updated_timestamp (numeric; aliases creation_time,
// last_updated_time). metric(s) numeric, param(s)/tag(s) as for runs.
StatusOr<std::vector<storage::FilterClause>> ParseLoggedModelFilter(std::string_view filter);

// One SearchLoggedModels order_by entry as the protocol carries it.
struct LoggedModelOrderField {
  std::string field_name;  // "metrics.<key>" or an attribute key
  bool ascending = true;
  std::string dataset_name;    // validated only: the AST cannot carry it
  std::string dataset_digest;  // requires dataset_name
};

// SearchLoggedModels order_by: "metrics.<key>" or an attribute key from the
// filter list (creation_time -> creation_timestamp).
StatusOr<std::vector<storage::OrderBy>> ParseLoggedModelOrderBy(
    const std::vector<LoggedModelOrderField>& order_by);

// Registered-model search (model registry). Attributes: name (= != LIKE ILIKE,
// IN / NOT IN); tag/tags (= != LIKE ILIKE). order_by: name,
// last_updated_timestamp (alias timestamp), as MLflow accepts.
StatusOr<std::vector<storage::FilterClause>> ParseRegisteredModelFilter(std::string_view filter);
StatusOr<std::vector<storage::OrderBy>> ParseRegisteredModelOrderBy(const std::vector<std::string>& order_by);

// Model-version search. Attributes: name and run_id (= != LIKE ILIKE IN NOT
// IN), source_path (= != LIKE ILIKE), version_number (numeric comparators);
// tag/tags. order_by: name, version_number, creation_timestamp,
// last_updated_timestamp.
StatusOr<std::vector<storage::FilterClause>> ParseModelVersionFilter(std::string_view filter);
StatusOr<std::vector<storage::OrderBy>> ParseModelVersionOrderBy(const std::vector<std::string>& order_by);

}  // namespace kiln::tracking
