// SqlTrackingStore: run writes (create/update/lifecycle, log batch, tags,
// inputs and outputs).

#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "storage/sql/sql_util.h"
#include "storage/sql/sql_conn.h"
#include "storage/sql/sql_tracking_store.h"
#include "storage/sql/sql_tracking_store_metrics.h"
#include "storage/sql/store_queries.h"

namespace kiln::storage {

using sql::kRunNameTag;
using sql::RunRef;
using sql::Stmt;

namespace {

Status UpsertRunTag(sql::Conn& c, int64_t run_pk, const std::string& key,
                    const std::string& value) {
  KILN_ASSIGN_OR_RETURN(Stmt st,
                        c.Prepare("INSERT INTO tags(run_pk, key, value) VALUES (?, ?, ?) "
                                  "ON CONFLICT (run_pk, key) DO UPDATE SET value = excluded.value"));
  st.Args(run_pk, key, value);
  return st.Run();
}

Status SetRunName(sql::Conn& c, int64_t run_pk, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("UPDATE runs SET name = ? WHERE id = ?"));
  st.Args(name, run_pk);
  return st.Run();
}

Status ParamChanged(const std::string& run_id, const std::string& key, const std::string& old_value,
                    const std::string& new_value) {
  return InvalidArgument("Changing param values is not allowed. Param with key='" + key +
                         "' was already logged with value='" + old_value + "' for run ID='" + run_id +
                         "'. Attempted logging new value '" + new_value + "'.");
}

// PostgreSQL: all of a batch's params in one INSERT (the columns as arrays),
// then, only when some were there already, one look-up of those to refuse
// a changed value.
Status LogParamsPostgres(sql::Conn& c, const RunRef& run, const std::string& run_id,
                         const std::vector<Param>& params) {
  std::vector<std::string_view> keys, values;
  for (const auto& p : params) {
    keys.push_back(p.key);
    values.push_back(p.value);
  }
  const std::string key_array = sql::PgTextArray(keys);
  KILN_ASSIGN_OR_RETURN(Stmt ins, c.Prepare("INSERT INTO params(run_pk, key, value) SELECT ?1, k, v FROM "
                                            "unnest(CAST(?2 AS TEXT[]), CAST(?3 AS TEXT[])) AS u(k, v) "
                                            "ON CONFLICT DO NOTHING RETURNING key"));
  ins.Bind(1, run.pk).Bind(2, key_array).Bind(3, sql::PgTextArray(values));
  std::unordered_set<std::string> inserted;
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, ins.Step());
    if (!row) break;
    inserted.insert(ins.Text(0));
  }
  ins.Reset();
  if (inserted.size() == params.size()) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(Stmt old, c.Prepare("SELECT key, value FROM params WHERE run_pk = ?1 AND "
                                            "key = ANY(CAST(?2 AS TEXT[]))"));
  old.Bind(1, run.pk).Bind(2, key_array);
  std::unordered_map<std::string, std::string> stored;
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, old.Step());
    if (!row) break;
    stored.emplace(old.Text(0), old.Text(1));
  }
  for (const auto& p : params) {
    auto it = stored.find(p.key);
    if (it != stored.end() && it->second != p.value) return ParamChanged(run_id, p.key, it->second, p.value);
  }
  return Status::Ok();
}

Status LogParams(sql::Conn& c, const RunRef& run, const std::string& run_id,
                 const std::vector<Param>& params) {
  if (params.empty()) return Status::Ok();
  if (c.dialect() == sql::Dialect::kPostgres) return LogParamsPostgres(c, run, run_id, params);
  KILN_ASSIGN_OR_RETURN(Stmt ins, c.Prepare("INSERT INTO params(run_pk, key, value) "
                                            "VALUES (?, ?, ?) ON CONFLICT DO NOTHING"));
  for (const auto& p : params) {
    ins.Args(run.pk, p.key, p.value);
    KILN_RETURN_IF_ERROR(ins.Run());
    if (c.Changes() > 0) continue;
    KILN_ASSIGN_OR_RETURN(Stmt old,
                          c.Prepare("SELECT value FROM params WHERE run_pk = ? AND key = ?"));
    old.Args(run.pk, p.key);
    KILN_ASSIGN_OR_RETURN(bool row, old.Step());
    if (row && old.Text(0) != p.value) return ParamChanged(run_id, p.key, old.Text(0), p.value);
  }
  return Status::Ok();
}

// Upserts tags in order (a key given twice keeps its last value). On
// PostgreSQL several tags are one statement (the columns as arrays; one
// upsert may not touch a row twice, hence the last-value filter first).
Status UpsertRunTags(sql::Conn& c, int64_t run_pk, const std::vector<Tag>& tags) {
  if (tags.size() <= 1 || c.dialect() != sql::Dialect::kPostgres) {
    for (const auto& t : tags) KILN_RETURN_IF_ERROR(UpsertRunTag(c, run_pk, t.key, t.value));
    return Status::Ok();
  }
  std::unordered_map<std::string_view, size_t> last;
  for (size_t i = 0; i < tags.size(); ++i) last[tags[i].key] = i;
  std::vector<std::string_view> keys, values;
  for (size_t i = 0; i < tags.size(); ++i) {
    if (last[tags[i].key] != i) continue;
    keys.push_back(tags[i].key);
    values.push_back(tags[i].value);
  }
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("INSERT INTO tags(run_pk, key, value) SELECT ?1, k, v FROM "
                                           "unnest(CAST(?2 AS TEXT[]), CAST(?3 AS TEXT[])) AS u(k, v) "
                                           "ON CONFLICT (run_pk, key) DO UPDATE SET value = excluded.value"));
  st.Bind(1, run_pk).Bind(2, sql::PgTextArray(keys)).Bind(3, sql::PgTextArray(values));
  return st.Run();
}

Status LogTags(sql::Conn& c, const RunRef& run, const std::vector<Tag>& tags) {
  KILN_RETURN_IF_ERROR(UpsertRunTags(c, run.pk, tags));
  const Tag* run_name = nullptr;
  for (const auto& t : tags) {
    if (t.key == kRunNameTag) run_name = &t;
  }
  return run_name ? SetRunName(c, run.pk, run_name->value) : Status::Ok();
}

StatusOr<int64_t> UpsertDataset(sql::Conn& c, int64_t experiment_id, const Dataset& d) {
  KILN_ASSIGN_OR_RETURN(
      Stmt ins, c.Prepare("INSERT INTO datasets(experiment_id, name, digest, source_type, source, "
                          "schema, profile) VALUES (?, ?, ?, ?, ?, ?, ?) "
                          "ON CONFLICT(experiment_id, name, digest) DO NOTHING RETURNING id"));
  ins.Args(experiment_id, d.name, d.digest, d.source_type, d.source, d.schema, d.profile);
  StatusOr<int64_t> id = sql::RunReturningInt(ins);
  if (id.ok() || id.status().code() != StatusCode::kNotFound) return id;
  return c.QueryInt("SELECT id FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?",
                    {experiment_id, d.name, d.digest});
}

}  // namespace

StatusOr<Run> SqlTrackingStore::CreateRun(const RunInfo& info, const std::vector<Tag>& tags) {
  std::vector<Run> created;
  // The unique run_id catches a duplicate (ON CONFLICT ... RETURNING yields
  // no row), so no isolation beyond READ COMMITTED is needed: a SERIALIZABLE
  // `SELECT 1 FROM runs WHERE run_id = ?` first made concurrent creations
  // fail each other on the index pages they read (409 after 20 retries).
  Status s = WriteCommitted([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(sql::ExperimentRef e,
                          sql::FindActiveExperiment(c, info.experiment_id));
    std::string name = info.run_name;
    if (name.empty()) {
      for (const auto& t : tags) {
        if (t.key == kRunNameTag) name = t.value;
      }
    }
    KILN_ASSIGN_OR_RETURN(
        Stmt ins, c.Prepare("INSERT INTO runs(run_id, experiment_id, name, user_id, status, "
                            "start_time, end_time, artifact_uri, lifecycle_stage) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active') "
                            "ON CONFLICT (run_id) DO NOTHING RETURNING id"));
    ins.Args(info.run_id, e.id, name, info.user_id, info.status, info.start_time);
    if (info.end_time) {
      ins.Bind(7, *info.end_time);
    } else {
      ins.BindNull(7);
    }
    ins.Bind(8, e.artifact_location + "/" + info.run_id + "/artifacts");
    StatusOr<int64_t> inserted = sql::RunReturningInt(ins);
    if (!inserted.ok() && inserted.status().code() == StatusCode::kNotFound) {
      return AlreadyExists("Run with id=" + info.run_id + " already exists");
    }
    KILN_ASSIGN_OR_RETURN(int64_t pk, std::move(inserted));
    std::vector<Tag> stored;
    stored.reserve(tags.size() + 1);
    for (const auto& t : tags) {
      if (t.key != kRunNameTag) stored.push_back(t);
    }
    if (!name.empty()) stored.push_back({kRunNameTag, name});
    KILN_RETURN_IF_ERROR(UpsertRunTags(c, pk, stored));
    KILN_ASSIGN_OR_RETURN(created, sql::LoadRuns(c, {pk}));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (created.empty()) return Internal("created run vanished");
  return std::move(created.front());
}

StatusOr<RunInfo> SqlTrackingStore::UpdateRun(const std::string& run_id,
                                                 const std::optional<std::string>& status,
                                                 const std::optional<int64_t>& end_time,
                                                 const std::optional<std::string>& run_name) {
  RunInfo out;
  Status s = WriteCommitted([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(RunRef r, sql::FindActiveRun(c, run_id));
    if (status) {
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("UPDATE runs SET status = ? WHERE id = ?"));
      st.Args(*status, r.pk);
      KILN_RETURN_IF_ERROR(st.Run());
    }
    if (end_time) {
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("UPDATE runs SET end_time = ? WHERE id = ?"));
      st.Args(*end_time, r.pk);
      KILN_RETURN_IF_ERROR(st.Run());
    }
    if (run_name) {
      KILN_RETURN_IF_ERROR(SetRunName(c, r.pk, *run_name));
      KILN_RETURN_IF_ERROR(UpsertRunTag(c, r.pk, kRunNameTag, *run_name));
    }
    KILN_ASSIGN_OR_RETURN(out, sql::LoadRunInfo(c, r.pk));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Status SqlTrackingStore::SetRunLifecycle(const std::string& run_id, const std::string& stage,
                                            int64_t now_ms) {
  if (stage != kLifecycleActive && stage != kLifecycleDeleted) {
    return InvalidArgument("Invalid lifecycle stage '" + stage + "'");
  }
  return WriteCommitted([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(RunRef r, sql::FindRun(c, run_id));
    KILN_ASSIGN_OR_RETURN(
        Stmt st, c.Prepare("UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE id = ?"));
    st.Bind(1, stage);
    if (stage == kLifecycleDeleted) {
      st.Bind(2, now_ms);
    } else {
      st.BindNull(2);
    }
    st.Bind(3, r.pk);
    return st.Run();
  });
}

Status SqlTrackingStore::LogBatch(const std::string& run_id, const std::vector<Metric>& metrics,
                                     const std::vector<Param>& params,
                                     const std::vector<Tag>& tags) {
  if (params.empty() && tags.empty() && sql::CanInsertMetricsByRunId(db_.dialect(), metrics)) {
    // Metrics only (what log_metric and autologging send), on PostgreSQL: the
    // run lookup and the writes are one statement, committed by itself.
    return db_.WriteOneStatement([&](sql::Conn& c) -> Status {
      for (int attempt = 0; attempt < 2; ++attempt) {
        KILN_ASSIGN_OR_RETURN(bool found, sql::InsertMetricsByRunId(c, run_id, metrics));
        if (found) return Status::Ok();
        // Nothing was written: say why (no such run, or not active), unless
        // the run became active since the statement began.
        KILN_RETURN_IF_ERROR(sql::FindActiveRun(c, run_id).status());
      }
      return Unavailable("run " + run_id + " changed while logging its metrics; try again");
    });
  }
  return WriteCommitted([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(RunRef r, sql::FindActiveRun(c, run_id));
    KILN_RETURN_IF_ERROR(LogParams(c, r, run_id, params));
    KILN_RETURN_IF_ERROR(sql::InsertMetrics(c, r.pk, run_id, metrics));
    return LogTags(c, r, tags);
  });
}

Status SqlTrackingStore::DeleteRunTag(const std::string& run_id, const std::string& key) {
  return WriteCommitted([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(RunRef r, sql::FindActiveRun(c, run_id));
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("DELETE FROM tags WHERE run_pk = ? AND key = ?"));
    st.Args(r.pk, key);
    KILN_RETURN_IF_ERROR(st.Run());
    if (c.Changes() == 0) {
      return NotFound("No tag with name: " + key + " in run with id " + run_id);
    }
    return Status::Ok();
  });
}

Status SqlTrackingStore::LogInputs(const std::string& run_id,
                                      const std::vector<DatasetInput>& datasets,
                                      const std::vector<ModelInput>& models) {
  return WriteCommitted([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(RunRef r, sql::FindActiveRun(c, run_id));
    for (const auto& in : datasets) {
      KILN_ASSIGN_OR_RETURN(int64_t dataset_id, UpsertDataset(c, r.experiment_id, in.dataset));
      KILN_ASSIGN_OR_RETURN(Stmt link,
                            c.Prepare("INSERT INTO dataset_inputs(run_pk, dataset_id) VALUES "
                                      "(?, ?) ON CONFLICT(run_pk, dataset_id) DO NOTHING RETURNING id"));
      link.Args(r.pk, dataset_id);
      StatusOr<int64_t> input_id = sql::RunReturningInt(link);
      if (!input_id.ok() && input_id.status().code() == StatusCode::kNotFound) continue;  // already an input: idempotent
      if (!input_id.ok()) return input_id.status();
      KILN_ASSIGN_OR_RETURN(
          Stmt tag, c.Prepare("INSERT INTO input_tags(input_id, key, value) VALUES (?, ?, ?) "
                              "ON CONFLICT (input_id, key) DO UPDATE SET value = excluded.value"));
      for (const auto& t : in.tags) {
        tag.Args(*input_id, t.key, t.value);
        KILN_RETURN_IF_ERROR(tag.Run());
      }
    }
    KILN_ASSIGN_OR_RETURN(
        Stmt model, c.Prepare("INSERT INTO run_model_inputs(run_pk, model_id) "
                              "VALUES (?, ?) ON CONFLICT DO NOTHING"));
    for (const auto& m : models) {
      model.Args(r.pk, m.model_id);
      KILN_RETURN_IF_ERROR(model.Run());
    }
    return Status::Ok();
  });
}

Status SqlTrackingStore::LogOutputs(const std::string& run_id,
                                       const std::vector<ModelOutput>& models) {
  return WriteCommitted([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(RunRef r, sql::FindActiveRun(c, run_id));
    KILN_ASSIGN_OR_RETURN(
        Stmt st, c.Prepare("INSERT INTO run_model_outputs(run_pk, model_id, step) "
                           "VALUES (?, ?, ?) ON CONFLICT DO NOTHING"));
    for (const auto& m : models) {
      st.Args(r.pk, m.model_id, m.step);
      KILN_RETURN_IF_ERROR(st.Run());
    }
    return Status::Ok();
  });
}

}  // namespace kiln::storage
