// SqlTrackingStore: run reads (get, search, metric history).
#include "storage/sql/run_search_sql.h"
#include "storage/sql/sql_conn.h"
#include "storage/sql/sql_tracking_store.h"
#include "storage/sql/store_queries.h"

namespace kiln::storage {

using sql::Stmt;

StatusOr<Run> SqlTrackingStore::GetRun(const std::string& run_id) {
  std::vector<Run> runs;
  Status s = Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(sql::RunRef r, sql::FindRun(c, run_id));
    KILN_ASSIGN_OR_RETURN(runs, sql::LoadRuns(c, {r.pk}));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (runs.empty()) return NotFound("Run with id=" + run_id + " not found");
  return std::move(runs.front());
}

StatusOr<Page<Run>> SqlTrackingStore::SearchRuns(const RunQuery& query) {
  if (query.max_results < 0 || query.offset < 0) {
    return InvalidArgument("max_results and offset must be non-negative");
  }
  KILN_ASSIGN_OR_RETURN(sql::SqlQuery q, sql::BuildRunSearchSql(query, db_.dialect()));
  Page<Run> page;
  Status s = Read([&](sql::Conn& c) -> Status {
    std::vector<int64_t> pks;
    {
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(q.sql));
      st.BindAll(q.args);
      while (true) {
        KILN_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        pks.push_back(st.Int(0));
      }
    }
    if (static_cast<int64_t>(pks.size()) > query.max_results) {
      page.has_more = true;
      pks.resize(static_cast<size_t>(query.max_results));
    }
    KILN_ASSIGN_OR_RETURN(page.items, sql::LoadRuns(c, pks));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return page;
}

StatusOr<Page<Metric>> SqlTrackingStore::GetMetricHistory(
    const std::string& run_id, const std::string& key, int64_t offset, int64_t max_results,
    std::optional<int64_t> start_step, std::optional<int64_t> end_step) {
  if (max_results < 0 || offset < 0) {
    return InvalidArgument("max_results and offset must be non-negative");
  }
  Page<Metric> page;
  Status s = Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(sql::RunRef r, sql::FindRun(c, run_id));
    KILN_ASSIGN_OR_RETURN(
        Stmt st,
        c.Prepare("SELECT step, timestamp, value, is_nan, model_id FROM metrics "
                  "WHERE run_pk = ?1 AND key = ?2 AND (?3 IS NULL OR step >= ?3) AND "
                  "(?4 IS NULL OR step <= ?4) ORDER BY step, timestamp, value "
                  "LIMIT ?5 OFFSET ?6"));
    st.Bind(1, r.pk).Bind(2, key);
    if (start_step) {
      st.Bind(3, *start_step);
    } else {
      st.BindNull(3);
    }
    if (end_step) {
      st.Bind(4, *end_step);
    } else {
      st.BindNull(4);
    }
    st.Bind(5, max_results + 1).Bind(6, offset);
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      if (static_cast<int64_t>(page.items.size()) == max_results) {
        page.has_more = true;
        break;
      }
      Metric m;
      m.key = key;
      m.step = st.Int(0);
      m.timestamp = st.Int(1);
      m.value = sql::DecodeMetricValue(st.Double(2), st.Int(3) != 0);
      m.model_id = st.Text(4);
      m.run_id = run_id;
      page.items.push_back(std::move(m));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return page;
}

}  // namespace kiln::storage
