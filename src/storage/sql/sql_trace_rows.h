// Row helpers shared by the SQLite trace store's files. Internal to
// storage/sqlite; every function runs on a connection the caller holds inside
// a transaction.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "storage/sql/sql_conn.h"
#include "storage/trace_store.h"

namespace kiln::storage::sql {

// Columns read by ReadTraceRow, in order (prefix with an alias as needed).
inline constexpr const char* kTraceColumns =
    "trace_id, experiment_id, client_request_id, request_time, execution_duration, state, request_preview, "
    "response_preview";

// Reads the kTraceColumns of the current row starting at column `first`.
TraceInfo ReadTraceRow(const Stmt& st, int first = 0);
// Fills info.tags and info.metadata.
Status LoadTraceChildren(sql::Conn& c, TraceInfo& info);
// The full info, or NotFound with MLflow's wording.
StatusOr<TraceInfo> LoadTrace(sql::Conn& c, const std::string& trace_id);
StatusOr<bool> TraceExists(sql::Conn& c, const std::string& trace_id);
Status TraceNotFound(const std::string& trace_id);
// InvalidArgument unless the id is an integer (kiln's experiment ids are).
StatusOr<int64_t> ExperimentPk(const std::string& experiment_id);
Status UpsertTraceTag(sql::Conn& c, const std::string& trace_id, const std::string& key, const std::string& value);

}  // namespace kiln::storage::sql
