// SQLite's MetricBulkWriter: the import's own connection (sqlite_import_db.h),
// statements prepared once per writer and text bound in place (SQLITE_STATIC:
// the points outlive Finish()).
//
// Into `metrics`, the writer suspends the metric_blocks insert trigger for
// its transaction (DROP TRIGGER, then the same CREATE TRIGGER text from
// sqlite_master before Finish returns) and writes the blocks it summed
// itself (metric_block_summary.h): the trigger's per-point upsert more than
// doubled each insert's cost. Schema changes are transactional in SQLite, so
// a transaction that fails or is rolled back restores the trigger with
// everything else, and no other connection ever sees the table without it.
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "storage/mlflow_import/bulk_metrics.h"
#include "storage/mlflow_import/metric_block_summary.h"
#include "storage/mlflow_import/sqlite_import_db.h"
#include "storage/sqlite/sqlite_db.h"

namespace kiln::storage::mlflow_import {
namespace {

// Measured on the import bench (bench/import/README.md): rows per statement
// beyond a few dozen gain little, since each row's b-tree insert dominates.
constexpr int kDefaultRows = 100;
constexpr int kMaxRows = 32766 / 6;

std::string InsertSql(MetricTable table, int rows) {
  std::string q = table == MetricTable::kMetrics ? "INSERT INTO metrics" : "INSERT INTO latest_metrics";
  q += "(run_pk, key, step, timestamp, value, is_nan) VALUES ";
  for (int i = 0; i < rows; ++i) q += i ? ",(?,?,?,?,?,?)" : "(?,?,?,?,?,?)";
  return q;
}

class SqliteWriter final : public MetricBulkWriter {
 public:
  SqliteWriter(sqlite3* db, MetricTable table, int rows) : db_(db), table_(table), rows_(rows) {}
  ~SqliteWriter() override {
    sqlite3_finalize(bulk_);
    sqlite3_finalize(one_);
  }

  Status Add(int64_t run_pk, const std::vector<MetricRec>& points) override {
    if (table_ == MetricTable::kMetrics && !trigger_checked_) KILN_RETURN_IF_ERROR(SuspendBlocksTrigger());
    for (const MetricRec& m : points) {
      if (!trigger_sql_.empty()) blocks_.Add(run_pk, m);
      if (rows_ == 1) {
        KILN_RETURN_IF_ERROR(Prepared(one_, 1));
        BindRow(one_, 0, run_pk, m);
        KILN_RETURN_IF_ERROR(Step(one_));
        continue;
      }
      pending_.push_back({run_pk, &m});
      if (static_cast<int>(pending_.size()) == rows_) {
        KILN_RETURN_IF_ERROR(Prepared(bulk_, rows_));
        for (int k = 0; k < rows_; ++k) BindRow(bulk_, k, pending_[k].first, *pending_[k].second);
        KILN_RETURN_IF_ERROR(Step(bulk_));
        pending_.clear();
      }
    }
    return Status::Ok();
  }

  Status Finish() override {
    if (!pending_.empty()) {
      KILN_RETURN_IF_ERROR(Prepared(one_, 1));
      for (const auto& [pk, m] : pending_) {
        BindRow(one_, 0, pk, *m);
        KILN_RETURN_IF_ERROR(Step(one_));
      }
      pending_.clear();
    }
    if (!trigger_sql_.empty()) {
      KILN_RETURN_IF_ERROR(WriteBlocks());
      KILN_RETURN_IF_ERROR(Exec(trigger_sql_));
      trigger_sql_.clear();
    }
    return Status::Ok();
  }
  int64_t rows() const override { return written_; }

 private:
  static constexpr const char* kBlocksTrigger = "metric_blocks_insert";

  Status Exec(const std::string& q) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, q.c_str(), nullptr, nullptr, &err);
    if (err) sqlite3_free(err);
    if (rc != SQLITE_OK) return sqlite::SqliteError(rc, db_, "bulk metric writer: " + q.substr(0, 80));
    return Status::Ok();
  }

  // Keeps the trigger's text and drops it; a schema without it (none before
  // v10) has no blocks to keep.
  Status SuspendBlocksTrigger() {
    trigger_checked_ = true;
    // The benchmark's knob (bench/import/README.md): the trigger's own cost.
    if (const char* env = std::getenv("KILN_IMPORT_KEEP_BLOCKS_TRIGGER"); env && *env == '1') return Status::Ok();
    if (sqlite3_get_autocommit(db_)) {
      return FailedPrecondition("bulk metric writer: not inside a transaction (the trigger would stay dropped)");
    }
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db_, "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?1", -1, &st,
                                nullptr);
    if (rc != SQLITE_OK) return sqlite::SqliteError(rc, db_, "read the metric_blocks trigger");
    sqlite3_bind_text(st, 1, kBlocksTrigger, -1, SQLITE_STATIC);
    std::string sql;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0)) {
      sql.assign(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                 static_cast<size_t>(sqlite3_column_bytes(st, 0)));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite::SqliteError(rc, db_, "read the metric_blocks trigger");
    if (sql.empty()) return Status::Ok();
    KILN_RETURN_IF_ERROR(Exec(std::string("DROP TRIGGER ") + kBlocksTrigger));
    trigger_sql_ = std::move(sql);
    return Status::Ok();
  }

  // The runs are new to the target, so every block is too: a plain INSERT,
  // and a conflict is an error, not a merge.
  Status WriteBlocks() {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db_,
                                "INSERT INTO metric_blocks(run_pk, key, block, count, nan_count, min_value, max_value, "
                                "sum_value, min_step, max_step) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                -1, &st, nullptr);
    if (rc != SQLITE_OK) return sqlite::SqliteError(rc, db_, "prepare metric block insert");
    auto real = [&](int idx, const std::optional<double>& v) {
      if (v) {
        sqlite3_bind_double(st, idx, *v);
      } else {
        sqlite3_bind_null(st, idx);
      }
    };
    for (const MetricBlockRow& b : blocks_.rows()) {
      sqlite3_bind_int64(st, 1, b.run_pk);
      sqlite3_bind_text(st, 2, b.key.data(), static_cast<int>(b.key.size()), SQLITE_STATIC);
      sqlite3_bind_int64(st, 3, b.block);
      sqlite3_bind_int64(st, 4, b.count);
      sqlite3_bind_int64(st, 5, b.nan_count);
      real(6, b.min_value);
      real(7, b.max_value);
      real(8, b.sum_value);
      sqlite3_bind_int64(st, 9, b.min_step);
      sqlite3_bind_int64(st, 10, b.max_step);
      rc = sqlite3_step(st);
      sqlite3_reset(st);
      if (rc != SQLITE_DONE) break;
    }
    Status s = rc == SQLITE_DONE || blocks_.rows().empty() ? Status::Ok()
                                                           : sqlite::SqliteError(rc, db_, "metric block insert");
    sqlite3_finalize(st);
    return s;
  }

  Status Prepared(sqlite3_stmt*& st, int rows) {
    if (st) return Status::Ok();
    const std::string q = InsertSql(table_, rows);
    int rc = sqlite3_prepare_v3(db_, q.c_str(), static_cast<int>(q.size()), SQLITE_PREPARE_PERSISTENT, &st, nullptr);
    if (rc != SQLITE_OK) return sqlite::SqliteError(rc, db_, "prepare bulk metric insert");
    return Status::Ok();
  }
  static void BindRow(sqlite3_stmt* st, int k, int64_t pk, const MetricRec& m) {
    const int p = 6 * k;
    sqlite3_bind_int64(st, p + 1, pk);
    sqlite3_bind_text(st, p + 2, m.key.data(), static_cast<int>(m.key.size()), SQLITE_STATIC);
    sqlite3_bind_int64(st, p + 3, m.step);
    sqlite3_bind_int64(st, p + 4, m.timestamp);
    sqlite3_bind_double(st, p + 5, StoredMetricValue(m.value));
    sqlite3_bind_int64(st, p + 6, std::isnan(m.value) ? 1 : 0);
  }
  Status Step(sqlite3_stmt* st) {
    const int rc = sqlite3_step(st);
    const int n = sqlite3_bind_parameter_count(st) / 6;
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
      if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        return AlreadyExists(std::string("bulk metric insert: ") + sqlite3_errmsg(db_));
      }
      return sqlite::SqliteError(rc, db_, "bulk metric insert");
    }
    written_ += n;
    return Status::Ok();
  }

  sqlite3* db_;
  MetricTable table_;
  int rows_;
  sqlite3_stmt* bulk_ = nullptr;
  sqlite3_stmt* one_ = nullptr;
  std::vector<std::pair<int64_t, const MetricRec*>> pending_;
  int64_t written_ = 0;
  bool trigger_checked_ = false;
  std::string trigger_sql_;  // non-empty while the trigger is suspended
  MetricBlockSummary blocks_;
};

}  // namespace

std::unique_ptr<MetricBulkWriter> SqliteMetricWriter(sql::Conn& c, MetricTable table, int rows_per_statement) {
  sqlite3* db = ImportSqliteHandle(c);
  if (!db) return nullptr;
  int rows = rows_per_statement > 0 ? rows_per_statement : kDefaultRows;
  // The benchmark's knob (bench/import/README.md): compare statement shapes.
  if (const char* env = std::getenv("KILN_IMPORT_SQLITE_ROWS"); env && rows_per_statement == 0) {
    rows = std::max(1, std::atoi(env));
  }
  if (rows > kMaxRows) rows = kMaxRows;
  return std::make_unique<SqliteWriter>(db, table, rows);
}

}  // namespace kiln::storage::mlflow_import
