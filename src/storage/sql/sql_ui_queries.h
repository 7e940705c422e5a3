// SqlUiQueryStore: storage::UiQueryStore over any sql::Database (SQLite or
// PostgreSQL) in the portable SQL of sql_conn.h, on the tracking store's
// tables.
//
// A bucket query is a GROUP BY over an integer bucket expression on the
// metrics primary key (run_pk, key, step, ...), so the database returns at
// most N rows per run however long the history is (on SQLite with x = step,
// one range aggregate per bucket instead: SQLite would sort the GROUP BY);
// the first and last point of each bucket come from a second statement that
// seeks only the buckets' end x values.
//
// Ownership: borrows the Database, which must outlive it. Thread-safety:
// every method is thread-safe (each runs in its own read transaction).
#pragma once

#include "storage/sql/sql_conn.h"
#include "storage/ui_query_store.h"

namespace kiln::storage {

class SqlUiQueryStore final : public UiQueryStore {
 public:
  explicit SqlUiQueryStore(sql::Database& db) : db_(db) {}

  StatusOr<std::vector<MetricBuckets>> GetMetricBuckets(const std::vector<MetricBucketsQuery>& queries) override;
  StatusOr<std::map<std::string, std::map<std::string, MetricRange>>> GetMetricRanges(
      const std::vector<std::string>& run_ids, const std::vector<std::string>& keys) override;
  StatusOr<RunColumnKeys> GetRunColumnKeys(const std::vector<std::string>& experiment_ids) override;
  StatusOr<std::vector<GroupRow>> GetGroupRows(const RunQuery& query, GroupSource source, const std::string& group_key,
                                               const std::string& metric_key, int64_t max_runs) override;

 private:
  sql::Database& db_;
};

}  // namespace kiln::storage
