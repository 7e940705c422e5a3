// PostgreSQL's MetricBulkWriter: COPY ... FROM STDIN in text format on the
// transaction's own connection, sent in ~1 MiB pieces. Doubles are written in
// their shortest round-trip form (std::to_chars), infinities as Infinity.
#include <libpq-fe.h>

#include <charconv>
#include <cmath>

#include "storage/mlflow_import/bulk_metrics.h"
#include "storage/postgres/pg_conn.h"

namespace kiln::storage::mlflow_import {
namespace {

constexpr size_t kSendBytes = 1 << 20;

class PgWriter final : public MetricBulkWriter {
 public:
  PgWriter(PGconn* conn, MetricTable table) : conn_(conn), table_(table) {}
  ~PgWriter() override {
    // An abandoned COPY (an error elsewhere) must not leave the connection
    // in COPY state for the rollback.
    if (open_) {
      PQputCopyEnd(conn_, "import abandoned");
      while (PGresult* r = PQgetResult(conn_)) PQclear(r);
    }
  }

  Status Add(int64_t run_pk, const std::vector<MetricRec>& points) override {
    if (points.empty()) return Status::Ok();
    if (!open_) KILN_RETURN_IF_ERROR(Open());
    char num[32];
    auto put_int = [&](int64_t v) {
      auto r = std::to_chars(num, num + sizeof num, v);
      buf_.append(num, r.ptr);
    };
    for (const MetricRec& m : points) {
      put_int(run_pk);
      buf_ += '\t';
      AppendText(m.key);
      buf_ += '\t';
      put_int(m.step);
      buf_ += '\t';
      put_int(m.timestamp);
      buf_ += '\t';
      const double v = StoredMetricValue(m.value);
      if (std::isinf(v)) {
        buf_ += v > 0 ? "Infinity" : "-Infinity";
      } else {
        auto r = std::to_chars(num, num + sizeof num, v);
        buf_.append(num, r.ptr);
      }
      buf_ += std::isnan(m.value) ? "\t1\n" : "\t0\n";
      ++rows_;
    }
    if (buf_.size() >= kSendBytes) return Send();
    return Status::Ok();
  }

  Status Finish() override {
    if (!open_) return Status::Ok();
    KILN_RETURN_IF_ERROR(Send());
    open_ = false;
    if (PQputCopyEnd(conn_, nullptr) != 1) return Internal(std::string("COPY end: ") + PQerrorMessage(conn_));
    Status s = Status::Ok();
    while (PGresult* r = PQgetResult(conn_)) {
      if (PQresultStatus(r) != PGRES_COMMAND_OK && s.ok()) s = Error(r);
      PQclear(r);
    }
    return s;
  }
  int64_t rows() const override { return rows_; }

 private:
  Status Open() {
    const char* q = table_ == MetricTable::kMetrics
                        ? "COPY metrics(run_pk, key, step, timestamp, value, is_nan) FROM STDIN"
                        : "COPY latest_metrics(run_pk, key, step, timestamp, value, is_nan) FROM STDIN";
    PGresult* r = PQexec(conn_, q);
    const bool ok = PQresultStatus(r) == PGRES_COPY_IN;
    Status s = ok ? Status::Ok() : Error(r);
    PQclear(r);
    open_ = ok;
    return s;
  }
  Status Send() {
    if (buf_.empty()) return Status::Ok();
    if (PQputCopyData(conn_, buf_.data(), static_cast<int>(buf_.size())) != 1) {
      return Internal(std::string("COPY data: ") + PQerrorMessage(conn_));
    }
    buf_.clear();
    return Status::Ok();
  }
  // COPY's text format: backslash escapes for the delimiter, line ends and
  // the backslash itself.
  void AppendText(const std::string& s) {
    for (char ch : s) {
      switch (ch) {
        case '\\': buf_ += "\\\\"; break;
        case '\t': buf_ += "\\t"; break;
        case '\n': buf_ += "\\n"; break;
        case '\r': buf_ += "\\r"; break;
        default: buf_ += ch;
      }
    }
  }
  Status Error(PGresult* r) {
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    std::string msg = std::string("COPY into ") + (table_ == MetricTable::kMetrics ? "metrics" : "latest_metrics") +
                      ": " + PQresultErrorMessage(r);
    if (state && std::string(state) == "23505") return AlreadyExists(msg);
    if (state && (std::string(state) == "40001" || std::string(state) == "40P01")) return Status{StatusCode::kAborted, msg};
    return Internal(msg);
  }

  PGconn* conn_;
  MetricTable table_;
  bool open_ = false;
  std::string buf_;
  int64_t rows_ = 0;
};

}  // namespace

std::unique_ptr<MetricBulkWriter> PostgresMetricWriter(sql::Conn& c, MetricTable table) {
  auto* pg = dynamic_cast<postgres::PgConn*>(&c);
  if (!pg) return nullptr;
  return std::make_unique<PgWriter>(pg->raw(), table);
}

}  // namespace kiln::storage::mlflow_import
