#include "storage/sql/store_queries.h"

#include <cstring>
#include <limits>
#include <utility>
#include <unordered_map>

#include "storage/sql/search_sql_common.h"
#include "storage/sql/sql_util.h"

namespace kiln::storage::sql {
namespace {

template <typename K>
std::unordered_map<K, size_t> IndexOf(const std::vector<K>& ids) {
  std::unordered_map<K, size_t> m;
  for (size_t i = 0; i < ids.size(); ++i) m.emplace(ids[i], i);
  return m;
}

Status NoExperiment(const std::string& id) {
  return NotFound("Experiment with id '" + id + "' does not exist.");
}

// Runs `sql` with `arg` bound to ?1 and calls fn(stmt) for each row.
// `sql` names the JSON array of ids as `IN IN_IDS` (integers) or
// `IN IN_TEXT` (text), spelled for the connection's engine.
//
// On PostgreSQL the list becomes `= ANY(ARRAY(subquery))`: an `IN
// (subquery)` is planned as a hash semi-join, and with the default
// random_page_cost the planner then reads the whole table (runs, params,
// tags, latest_metrics: 10 k rows each for a 100-run search page, ~12 ms
// measured for runs alone) rather than probing its primary key 100 times;
// an array computed once is an index condition (~1 ms).
template <typename Fn>
Status ForEachRow(sql::Conn& c, std::string sql, const std::string& arg, Fn&& fn) {
  for (auto [mark, integers] : {std::pair<const char*, bool>{"IN IN_IDS", true}, {"IN IN_TEXT", false}}) {
    const size_t at = sql.find(mark);
    if (at == std::string::npos) continue;
    const std::string values = JsonArrayValues(c.dialect(), "?1", integers);
    sql.replace(at, std::strlen(mark),
                c.dialect() == Dialect::kPostgres ? "= ANY(ARRAY" + values + ")" : "IN " + values);
  }
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(sql));
  st.Bind(1, arg);
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::Ok();
    fn(st);
  }
}

}  // namespace

double DecodeMetricValue(double stored, bool is_nan) {
  return is_nan ? std::numeric_limits<double>::quiet_NaN() : stored;
}

StatusOr<ExperimentRef> FindExperiment(sql::Conn& c, const std::string& experiment_id) {
  int64_t id = 0;
  if (!ParseInt64(experiment_id, &id)) return NoExperiment(experiment_id);
  KILN_ASSIGN_OR_RETURN(
      Stmt st, c.Prepare("SELECT lifecycle_stage, artifact_location FROM experiments "
                         "WHERE experiment_id = ?"));
  st.Bind(1, id);
  KILN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NoExperiment(experiment_id);
  return ExperimentRef{id, st.Text(0), st.Text(1)};
}

StatusOr<ExperimentRef> FindActiveExperiment(sql::Conn& c, const std::string& experiment_id) {
  KILN_ASSIGN_OR_RETURN(ExperimentRef e, FindExperiment(c, experiment_id));
  if (e.lifecycle_stage != kLifecycleActive) {
    return FailedPrecondition("The experiment " + experiment_id +
                              " must be in the 'active' state. Current state is " +
                              e.lifecycle_stage + ".");
  }
  return e;
}

StatusOr<RunRef> FindRun(sql::Conn& c, const std::string& run_id) {
  KILN_ASSIGN_OR_RETURN(
      Stmt st, c.Prepare("SELECT id, experiment_id, lifecycle_stage FROM runs WHERE run_id = ?"));
  st.Bind(1, run_id);
  KILN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFound("Run with id=" + run_id + " not found");
  return RunRef{st.Int(0), st.Int(1), st.Text(2)};
}

StatusOr<RunRef> FindActiveRun(sql::Conn& c, const std::string& run_id) {
  KILN_ASSIGN_OR_RETURN(RunRef r, FindRun(c, run_id));
  if (r.lifecycle_stage != kLifecycleActive) {
    return FailedPrecondition("The run " + run_id +
                              " must be in the 'active' state. Current state is " +
                              r.lifecycle_stage + ".");
  }
  return r;
}

StatusOr<std::vector<Experiment>> LoadExperiments(sql::Conn& c, const std::vector<int64_t>& ids) {
  std::vector<Experiment> out(ids.size());
  std::vector<bool> found(ids.size(), false);
  auto index = IndexOf(ids);
  std::string arg = JsonIntArray(ids);
  KILN_RETURN_IF_ERROR(ForEachRow(
      c,
      "SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time, "
      "last_update_time FROM experiments WHERE experiment_id IN IN_IDS",
      arg, [&](Stmt& st) {
        auto it = index.find(st.Int(0));
        if (it == index.end()) return;
        Experiment& e = out[it->second];
        e.experiment_id = std::to_string(st.Int(0));
        e.name = st.Text(1);
        e.artifact_location = st.Text(2);
        e.lifecycle_stage = st.Text(3);
        e.creation_time = st.Int(4);
        e.last_update_time = st.Int(5);
        found[it->second] = true;
      }));
  KILN_RETURN_IF_ERROR(ForEachRow(
      c,
      "SELECT experiment_id, key, value FROM experiment_tags "
      "WHERE experiment_id IN IN_IDS ORDER BY experiment_id, key",
      arg, [&](Stmt& st) {
        auto it = index.find(st.Int(0));
        if (it != index.end()) out[it->second].tags.push_back({st.Text(1), st.Text(2)});
      }));
  std::vector<Experiment> present;
  present.reserve(out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (found[i]) present.push_back(std::move(out[i]));
  }
  return present;
}

// PostgreSQL: a page of runs in one statement (one round trip instead of
// seven): the rows of runs, params, tags, latest_metrics, dataset inputs and
// their tags, model inputs and outputs as one UNION ALL, told apart by its
// first column and ordered as the per-table queries are. The ids travel as
// one BIGINT[] parameter, cast once (an InitPlan): where a branch is
// planned as a scan with a filter, `= ANY(CAST($1 AS BIGINT[]))` parsed the
// array again for every row (7-16 ms per page of 100 runs at 1 000 runs).
StatusOr<std::vector<Run>> LoadRunsPostgres(sql::Conn& c, const std::vector<int64_t>& pks) {
  std::vector<Run> out(pks.size());
  std::vector<bool> found(pks.size(), false);
  auto index = IndexOf(pks);
  auto slot = [&](int64_t pk) -> Run* {
    auto it = index.find(pk);
    return it == index.end() ? nullptr : &out[it->second];
  };
  // Columns: kind, run_pk, sort, t1..t6 (text), d (float8), n1..n3 (bigint).
  KILN_ASSIGN_OR_RETURN(
      Stmt st,
      c.Prepare(
          "WITH ids AS MATERIALIZED (SELECT CAST(?1 AS BIGINT[]) AS a) "
          "SELECT 0 AS kind, id AS run_pk, CAST(0 AS BIGINT) AS sort, run_id AS t1, name AS t2, user_id AS t3, "
          "status AS t4, artifact_uri AS t5, lifecycle_stage AS t6, CAST(NULL AS DOUBLE PRECISION) AS d, "
          "experiment_id AS n1, start_time AS n2, end_time AS n3 FROM runs WHERE id = ANY(CAST((SELECT a FROM ids) AS BIGINT[])) "
          "UNION ALL SELECT 1, run_pk, 0, key, value, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL "
          "FROM params WHERE run_pk = ANY(CAST((SELECT a FROM ids) AS BIGINT[])) "
          "UNION ALL SELECT 2, run_pk, 0, key, value, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL "
          "FROM tags WHERE run_pk = ANY(CAST((SELECT a FROM ids) AS BIGINT[])) "
          "UNION ALL SELECT 3, run_pk, 0, key, NULL, NULL, NULL, NULL, NULL, value, is_nan, timestamp, step "
          "FROM latest_metrics WHERE run_pk = ANY(CAST((SELECT a FROM ids) AS BIGINT[])) "
          "UNION ALL SELECT 4, di.run_pk, di.id, d.name, d.digest, d.source_type, d.source, d.schema, d.profile, "
          "NULL, NULL, NULL, NULL FROM dataset_inputs di JOIN datasets d ON d.id = di.dataset_id "
          "WHERE di.run_pk = ANY(CAST((SELECT a FROM ids) AS BIGINT[])) "
          "UNION ALL SELECT 5, di.run_pk, it.input_id, it.key, it.value, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
          "NULL FROM dataset_inputs di JOIN input_tags it ON it.input_id = di.id "
          "WHERE di.run_pk = ANY(CAST((SELECT a FROM ids) AS BIGINT[])) "
          "UNION ALL SELECT 6, run_pk, 0, model_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL "
          "FROM run_model_inputs WHERE run_pk = ANY(CAST((SELECT a FROM ids) AS BIGINT[])) "
          "UNION ALL SELECT 7, run_pk, step, model_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL "
          "FROM run_model_outputs WHERE run_pk = ANY(CAST((SELECT a FROM ids) AS BIGINT[])) "
          "ORDER BY kind, run_pk, sort, t1"));
  st.Bind(1, PgIntArray(pks));
  std::unordered_map<int64_t, std::pair<Run*, size_t>> inputs;  // dataset_inputs.id -> its run and slot
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    const int64_t kind = st.Int(0);
    const int64_t pk = st.Int(1);
    if (kind == 0) {
      auto it = index.find(pk);
      if (it == index.end()) continue;
      RunInfo& i = out[it->second].info;
      i.run_id = st.Text(3);
      i.run_name = st.Text(4);
      i.user_id = st.Text(5);
      i.status = st.Text(6);
      i.artifact_uri = st.Text(7);
      i.lifecycle_stage = st.Text(8);
      i.experiment_id = std::to_string(st.Int(10));
      i.start_time = st.Int(11);
      if (!st.IsNull(12)) i.end_time = st.Int(12);
      found[it->second] = true;
      continue;
    }
    Run* r = slot(pk);
    if (!r) continue;
    switch (kind) {
      case 1: r->params.push_back({st.Text(3), st.Text(4)}); break;
      case 2: r->tags.push_back({st.Text(3), st.Text(4)}); break;
      case 3: {
        Metric m;
        m.key = st.Text(3);
        m.value = DecodeMetricValue(st.Double(9), st.Int(10) != 0);
        m.timestamp = st.Int(11);
        m.step = st.Int(12);
        r->metrics.push_back(std::move(m));
        break;
      }
      case 4: {
        DatasetInput in;
        in.dataset = {st.Text(3), st.Text(4), st.Text(5), st.Text(6), st.Text(7), st.Text(8)};
        inputs[st.Int(2)] = {r, r->dataset_inputs.size()};
        r->dataset_inputs.push_back(std::move(in));
        break;
      }
      case 5: {
        // Kind 4 sorts before kind 5: every input is known by now.
        auto it = inputs.find(st.Int(2));
        if (it != inputs.end()) it->second.first->dataset_inputs[it->second.second].tags.push_back({st.Text(3), st.Text(4)});
        break;
      }
      case 6: r->model_inputs.push_back({st.Text(3)}); break;
      case 7: r->model_outputs.push_back({st.Text(3), st.Int(2)}); break;
      default: break;
    }
  }
  std::vector<Run> present;
  present.reserve(out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (found[i]) present.push_back(std::move(out[i]));
  }
  return present;
}

StatusOr<std::vector<Run>> LoadRuns(sql::Conn& c, const std::vector<int64_t>& pks) {
  if (c.dialect() == Dialect::kPostgres) return LoadRunsPostgres(c, pks);
  std::vector<Run> out(pks.size());
  std::vector<bool> found(pks.size(), false);
  auto index = IndexOf(pks);
  std::string arg = JsonIntArray(pks);
  auto slot = [&](int64_t pk) -> Run* {
    auto it = index.find(pk);
    return it == index.end() ? nullptr : &out[it->second];
  };
  KILN_RETURN_IF_ERROR(ForEachRow(
      c,
      "SELECT id, run_id, experiment_id, name, user_id, status, start_time, end_time, "
      "artifact_uri, lifecycle_stage FROM runs WHERE id IN IN_IDS",
      arg, [&](Stmt& st) {
        auto it = index.find(st.Int(0));
        if (it == index.end()) return;
        RunInfo& i = out[it->second].info;
        i.run_id = st.Text(1);
        i.experiment_id = std::to_string(st.Int(2));
        i.run_name = st.Text(3);
        i.user_id = st.Text(4);
        i.status = st.Text(5);
        i.start_time = st.Int(6);
        if (!st.IsNull(7)) i.end_time = st.Int(7);
        i.artifact_uri = st.Text(8);
        i.lifecycle_stage = st.Text(9);
        found[it->second] = true;
      }));
  KILN_RETURN_IF_ERROR(ForEachRow(
      c,
      "SELECT run_pk, key, value FROM params WHERE run_pk IN IN_IDS "
      "ORDER BY run_pk, key",
      arg, [&](Stmt& st) {
        if (Run* r = slot(st.Int(0))) r->params.push_back({st.Text(1), st.Text(2)});
      }));
  KILN_RETURN_IF_ERROR(ForEachRow(
      c,
      "SELECT run_pk, key, value FROM tags WHERE run_pk IN IN_IDS "
      "ORDER BY run_pk, key",
      arg, [&](Stmt& st) {
        if (Run* r = slot(st.Int(0))) r->tags.push_back({st.Text(1), st.Text(2)});
      }));
  KILN_RETURN_IF_ERROR(ForEachRow(
      c,
      "SELECT run_pk, key, value, is_nan, timestamp, step FROM latest_metrics "
      "WHERE run_pk IN IN_IDS ORDER BY run_pk, key",
      arg, [&](Stmt& st) {
        if (Run* r = slot(st.Int(0))) {
          Metric m;
          m.key = st.Text(1);
          m.value = DecodeMetricValue(st.Double(2), st.Int(3) != 0);
          m.timestamp = st.Int(4);
          m.step = st.Int(5);
          r->metrics.push_back(std::move(m));
        }
      }));
  // Dataset inputs, then their tags keyed by input row id.
  std::unordered_map<int64_t, std::pair<Run*, size_t>> inputs;
  KILN_RETURN_IF_ERROR(ForEachRow(
      c,
      "SELECT di.run_pk, di.id, d.name, d.digest, d.source_type, d.source, d.schema, d.profile "
      "FROM dataset_inputs di JOIN datasets d ON d.id = di.dataset_id "
      "WHERE di.run_pk IN IN_IDS ORDER BY di.run_pk, di.id",
      arg, [&](Stmt& st) {
        Run* r = slot(st.Int(0));
        if (!r) return;
        DatasetInput in;
        in.dataset = {st.Text(2), st.Text(3), st.Text(4), st.Text(5), st.Text(6), st.Text(7)};
        inputs[st.Int(1)] = {r, r->dataset_inputs.size()};
        r->dataset_inputs.push_back(std::move(in));
      }));
  if (!inputs.empty()) {
    KILN_RETURN_IF_ERROR(ForEachRow(
        c,
        "SELECT it.input_id, it.key, it.value FROM dataset_inputs di "
        "JOIN input_tags it ON it.input_id = di.id "
        "WHERE di.run_pk IN IN_IDS ORDER BY it.input_id, it.key",
        arg, [&](Stmt& st) {
          auto it = inputs.find(st.Int(0));
          if (it == inputs.end()) return;
          auto [r, idx] = it->second;
          r->dataset_inputs[idx].tags.push_back({st.Text(1), st.Text(2)});
        }));
  }
  KILN_RETURN_IF_ERROR(ForEachRow(
      c,
      "SELECT run_pk, model_id FROM run_model_inputs "
      "WHERE run_pk IN IN_IDS ORDER BY run_pk, model_id",
      arg, [&](Stmt& st) {
        if (Run* r = slot(st.Int(0))) r->model_inputs.push_back({st.Text(1)});
      }));
  KILN_RETURN_IF_ERROR(ForEachRow(
      c,
      "SELECT run_pk, model_id, step FROM run_model_outputs "
      "WHERE run_pk IN IN_IDS ORDER BY run_pk, step, model_id",
      arg, [&](Stmt& st) {
        if (Run* r = slot(st.Int(0))) r->model_outputs.push_back({st.Text(1), st.Int(2)});
      }));
  std::vector<Run> present;
  present.reserve(out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (found[i]) present.push_back(std::move(out[i]));
  }
  return present;
}

StatusOr<RunInfo> LoadRunInfo(sql::Conn& c, int64_t run_pk) {
  KILN_ASSIGN_OR_RETURN(
      Stmt st, c.Prepare("SELECT run_id, experiment_id, name, user_id, status, start_time, "
                         "end_time, artifact_uri, lifecycle_stage FROM runs WHERE id = ?"));
  st.Bind(1, run_pk);
  KILN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFound("Run not found");
  RunInfo i;
  i.run_id = st.Text(0);
  i.experiment_id = std::to_string(st.Int(1));
  i.run_name = st.Text(2);
  i.user_id = st.Text(3);
  i.status = st.Text(4);
  i.start_time = st.Int(5);
  if (!st.IsNull(6)) i.end_time = st.Int(6);
  i.artifact_uri = st.Text(7);
  i.lifecycle_stage = st.Text(8);
  return i;
}

StatusOr<std::vector<LoggedModel>> LoadLoggedModels(sql::Conn& c,
                                                    const std::vector<std::string>& ids) {
  std::vector<LoggedModel> out(ids.size());
  std::vector<bool> found(ids.size(), false);
  auto index = IndexOf(ids);
  std::string arg = JsonStringArray(ids);
  auto slot = [&](const std::string& id) -> LoggedModel* {
    auto it = index.find(id);
    return it == index.end() ? nullptr : &out[it->second];
  };
  KILN_RETURN_IF_ERROR(ForEachRow(
      c,
      "SELECT model_id, experiment_id, name, artifact_uri, creation_timestamp, "
      "last_updated_timestamp, status, status_message, lifecycle_stage, model_type, "
      "source_run_id FROM logged_models WHERE model_id IN IN_TEXT",
      arg, [&](Stmt& st) {
        auto it = index.find(st.Text(0));
        if (it == index.end()) return;
        LoggedModel& m = out[it->second];
        m.model_id = st.Text(0);
        m.experiment_id = std::to_string(st.Int(1));
        m.name = st.Text(2);
        m.artifact_uri = st.Text(3);
        m.creation_timestamp = st.Int(4);
        m.last_updated_timestamp = st.Int(5);
        m.status = st.Text(6);
        m.status_message = st.Text(7);
        m.lifecycle_stage = st.Text(8);
        m.model_type = st.Text(9);
        m.source_run_id = st.Text(10);
        found[it->second] = true;
      }));
  KILN_RETURN_IF_ERROR(ForEachRow(
      c,
      "SELECT model_id, key, value FROM logged_model_tags "
      "WHERE model_id IN IN_TEXT ORDER BY model_id, key",
      arg, [&](Stmt& st) {
        if (LoggedModel* m = slot(st.Text(0))) m->tags.push_back({st.Text(1), st.Text(2)});
      }));
  KILN_RETURN_IF_ERROR(ForEachRow(
      c,
      "SELECT model_id, key, value FROM logged_model_params "
      "WHERE model_id IN IN_TEXT ORDER BY model_id, key",
      arg, [&](Stmt& st) {
        if (LoggedModel* m = slot(st.Text(0))) m->params.push_back({st.Text(1), st.Text(2)});
      }));
  KILN_RETURN_IF_ERROR(ForEachRow(
      c,
      "SELECT model_id, key, value, is_nan, timestamp, step, run_id, dataset_name, dataset_digest "
      "FROM logged_model_metrics "
      "WHERE model_id IN IN_TEXT "
      "ORDER BY model_id, key, step, timestamp, value",
      arg, [&](Stmt& st) {
        if (LoggedModel* m = slot(st.Text(0))) {
          Metric x;
          x.key = st.Text(1);
          x.value = DecodeMetricValue(st.Double(2), st.Int(3) != 0);
          x.timestamp = st.Int(4);
          x.step = st.Int(5);
          x.run_id = st.Text(6);
          x.dataset_name = st.Text(7);
          x.dataset_digest = st.Text(8);
          x.model_id = m->model_id;
          m->metrics.push_back(std::move(x));
        }
      }));
  std::vector<LoggedModel> present;
  for (size_t i = 0; i < out.size(); ++i) {
    if (found[i]) present.push_back(std::move(out[i]));
  }
  return present;
}

}  // namespace kiln::storage::sql
