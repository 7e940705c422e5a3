// MetricBulkWriter: metric points written into kiln's `metrics` or
// `latest_metrics` table at import rates, inside the caller's transaction,
// through each engine's fastest path:
// - SQLite (a connection of sqlite_import_db.h): one prepared multi-row
//   INSERT re-used for the whole chunk, text bound without copies;
// - PostgreSQL (storage/postgres PgConn): COPY ... FROM STDIN;
// - any other sql::Conn: 64-row INSERT ... VALUES through the SQL seam.
// Rows are inserted as given: the caller passes each run's points
// deduplicated and in kiln's primary-key order, for runs the target does not
// hold yet (a duplicate is an error, never silently dropped).
//
// Ownership: borrows the Conn and, until Finish(), the points passed to Add
// (SQLite binds their text in place).
// Thread-safety: none; one writer per transaction, and while a PostgreSQL
// COPY is open (from the first Add to Finish) the connection runs nothing else.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "storage/mlflow_import/records.h"
#include "storage/sql/sql_conn.h"

namespace kiln::storage::mlflow_import {

enum class MetricTable { kMetrics, kLatestMetrics };

class MetricBulkWriter {
 public:
  virtual ~MetricBulkWriter() = default;
  virtual Status Add(int64_t run_pk, const std::vector<MetricRec>& points) = 0;
  // Writes what is buffered; the rows are in the transaction once it returns OK.
  virtual Status Finish() = 0;
  virtual int64_t rows() const = 0;

  // `rows_per_statement` applies to the SQLite and generic paths (SQLite
  // allows 32766 variables: at most 5461 rows of six).
  static StatusOr<std::unique_ptr<MetricBulkWriter>> For(sql::Conn& c, MetricTable table,
                                                         int rows_per_statement = 0);
};

// The engine-specific writers (bulk_metrics_sqlite.cc, bulk_metrics_postgres.cc);
// null when `c` is not theirs.
std::unique_ptr<MetricBulkWriter> SqliteMetricWriter(sql::Conn& c, MetricTable table, int rows_per_statement);
std::unique_ptr<MetricBulkWriter> PostgresMetricWriter(sql::Conn& c, MetricTable table);

// kiln's column values: NaN as 0 + is_nan.
inline double StoredMetricValue(double v) { return v != v ? 0.0 : v; }

}  // namespace kiln::storage::mlflow_import
