#include "storage/mlflow_import/bulk_metrics.h"

#include <cmath>

namespace kiln::storage::mlflow_import {
namespace {

constexpr int kGenericRows = 64;

std::string InsertSql(MetricTable table, int rows) {
  std::string q = table == MetricTable::kMetrics ? "INSERT INTO metrics" : "INSERT INTO latest_metrics";
  q += "(run_pk, key, step, timestamp, value, is_nan) VALUES ";
  for (int i = 0; i < rows; ++i) q += i ? ",(?,?,?,?,?,?)" : "(?,?,?,?,?,?)";
  return q;
}

// Through the SQL seam: portable, and the slowest (every value is copied
// into a bound Arg).
class GenericWriter final : public MetricBulkWriter {
 public:
  GenericWriter(sql::Conn& c, MetricTable table, int rows) : c_(c), table_(table), rows_(rows) {}
  Status Add(int64_t run_pk, const std::vector<MetricRec>& points) override {
    for (const MetricRec& m : points) {
      pending_.push_back({run_pk, &m});
      if (static_cast<int>(pending_.size()) == rows_) KILN_RETURN_IF_ERROR(Flush(rows_));
    }
    return Status::Ok();
  }
  Status Finish() override {
    while (!pending_.empty()) KILN_RETURN_IF_ERROR(Flush(1));
    return Status::Ok();
  }
  int64_t rows() const override { return written_; }

 private:
  Status Flush(int n) {
    KILN_ASSIGN_OR_RETURN(sql::Stmt st, c_.Prepare(InsertSql(table_, n)));
    for (int k = 0; k < n; ++k) {
      const auto& [pk, m] = pending_[static_cast<size_t>(k)];
      const int p = 6 * k;
      st.Bind(p + 1, pk).Bind(p + 2, m->key).Bind(p + 3, m->step).Bind(p + 4, m->timestamp);
      st.Bind(p + 5, StoredMetricValue(m->value)).Bind(p + 6, int64_t{std::isnan(m->value)});
    }
    KILN_RETURN_IF_ERROR(st.Run());
    pending_.erase(pending_.begin(), pending_.begin() + n);
    written_ += n;
    return Status::Ok();
  }
  sql::Conn& c_;
  MetricTable table_;
  int rows_;
  std::vector<std::pair<int64_t, const MetricRec*>> pending_;
  int64_t written_ = 0;
};

}  // namespace

StatusOr<std::unique_ptr<MetricBulkWriter>> MetricBulkWriter::For(sql::Conn& c, MetricTable table,
                                                                  int rows_per_statement) {
  if (auto w = SqliteMetricWriter(c, table, rows_per_statement)) return w;
  if (auto w = PostgresMetricWriter(c, table)) return w;
  return std::unique_ptr<MetricBulkWriter>(
      new GenericWriter(c, table, rows_per_statement > 0 ? rows_per_statement : kGenericRows));
}

}  // namespace kiln::storage::mlflow_import
