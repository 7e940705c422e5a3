// MLflow's search_traces filter and order_by grammar (SearchTraceUtils in
// mlflow/utils/search_utils.py), parsed into the storage layer's trace AST.
// No SQL here.
//
// Supported:
//   attributes (prefix attribute./attributes./trace. or none):
//     request_id, status, client_request_id   = != IN NOT IN LIKE ILIKE
//     timestamp(_ms), execution_time(_ms), end_time(_ms)   = != < <= > >= (numbers)
//     name  -> tag mlflow.traceName,  run_id -> metadata mlflow.sourceRun   = != LIKE ILIKE
//   tag./tags.<key>, request_metadata./metadata.<key>   = != LIKE ILIKE IS NULL IS NOT NULL
//   span.name, span.type, span.status   = != IN NOT IN LIKE ILIKE
// Clauses are joined by AND (OR is refused, as MLflow refuses it). Keys may
// be quoted with backticks or double quotes.
// Refused with InvalidArgument naming the reason: RLIKE (no regular
// expressions in the embedded store), full-text `text`, `prompt`, span
// content/attributes, feedback./expectation./issue. filters.
//
// order_by: "<key> [ASC|DESC]" with attribute keys experiment_id, request_id,
// status, timestamp(_ms), execution_time(_ms), end_time(_ms), name, run_id,
// or tag./request_metadata. keys.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>
#include <vector>

#include "core/status.h"
#include "storage/trace_store.h"

namespace kiln::tracking {

StatusOr<std::vector<storage::TraceFilterClause>> ParseTraceFilter(std::string_view filter);
StatusOr<std::vector<storage::TraceOrderBy>> ParseTraceOrderBy(const std::vector<std::string>& order_by);

}  // namespace kiln::tracking
