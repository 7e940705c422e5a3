// SqlTrackingStore: a log-batch's metric points written in a few multi-row
// statements. One statement per point was one network round trip per point
// on PostgreSQL (a 100-metric batch: ~200 round trips); now a batch of up to
// kMetricRowsPerStatement points takes two statements (points, then the
// latest values), whatever the engine.
//
// Free functions over the caller's connection, inside its transaction; not
// synchronised themselves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/sql/sql_conn.h"
#include "storage/tracking_entities.h"

namespace kiln::storage::sql {

// Points per multi-row statement: 512 x 8 parameters stays far below
// SQLite's 32766 and PostgreSQL's 65535 bound parameters.
inline constexpr size_t kMetricRowsPerStatement = 512;

// Same effect as inserting the points one at a time in order: a point
// already stored (same key, step, timestamp, value, NaN-ness) is skipped;
// each key's latest value becomes the greatest (step, timestamp, value)
// among the stored one and the newly inserted points (the earlier one on a
// tie); newly inserted points that name a logged model are added to its
// metrics.
Status InsertMetrics(Conn& c, int64_t run_pk, const std::string& run_id, const std::vector<Metric>& metrics);

// PostgreSQL, a batch of metrics none of which names a logged model: the
// same effect as FindActiveRun + InsertMetrics in one statement (the run
// looked up inside it), so a metrics-only log-batch can be a transaction of
// its own (Database::WriteOneStatement). Returns false, having written
// nothing, when no active run has that id. Running it again is harmless.
bool CanInsertMetricsByRunId(Dialect d, const std::vector<Metric>& metrics);
StatusOr<bool> InsertMetricsByRunId(Conn& c, const std::string& run_id, const std::vector<Metric>& metrics);

}  // namespace kiln::storage::sql
