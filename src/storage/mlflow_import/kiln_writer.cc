#include "storage/mlflow_import/kiln_writer.h"

#include "storage/mlflow_import/bulk_metrics.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace kiln::storage::mlflow_import {
namespace {

constexpr const char* kRunNameTag = "mlflow.runName";

// kiln stores NaN as 0 with is_nan = 1 (SQLite turns a NaN into NULL).
double Stored(double v) { return std::isnan(v) ? 0.0 : v; }

Status InsertKv(sql::Conn& c, const std::string& sql, const sql::Arg& owner, const std::vector<Kv>& kvs) {
  if (kvs.empty()) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare(sql));
  for (const auto& kv : kvs) {
    st.Bind(1, owner).Bind(2, kv.key).Bind(3, kv.value);
    KILN_RETURN_IF_ERROR(st.Run());
  }
  return Status::Ok();
}

// latest_metrics: the greatest (step, timestamp, stored value) per key, as
// kiln's LogMetrics keeps it; `metrics` is in key order.
std::vector<MetricRec> LatestPerKey(const std::vector<MetricRec>& metrics) {
  std::vector<MetricRec> out;
  auto rank = [](const MetricRec& x) { return std::make_tuple(x.step, x.timestamp, Stored(x.value)); };
  for (size_t b = 0; b < metrics.size();) {
    size_t e = b;
    const MetricRec* best = &metrics[b];
    for (; e < metrics.size() && metrics[e].key == metrics[b].key; ++e) {
      if (rank(metrics[e]) > rank(*best)) best = &metrics[e];
    }
    out.push_back(*best);
    b = e;
  }
  return out;
}

StatusOr<int64_t> DatasetId(sql::Conn& c, int64_t experiment_id, const DatasetInputRec& in) {
  return c.QueryInt("SELECT id FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?",
                    {experiment_id, in.name, in.digest});
}

}  // namespace

int64_t NormalizeMetrics(std::vector<MetricRec>& metrics) {
  auto key = [](const MetricRec& m) {
    return std::make_tuple(std::cref(m.key), m.step, m.timestamp, Stored(m.value), std::isnan(m.value));
  };
  auto less = [&](const MetricRec& a, const MetricRec& b) { return key(a) < key(b); };
  // SQL sources hand the points over sorted already (MetricScan).
  if (!std::is_sorted(metrics.begin(), metrics.end(), less)) std::sort(metrics.begin(), metrics.end(), less);
  auto end = std::unique(metrics.begin(), metrics.end(),
                         [&](const MetricRec& a, const MetricRec& b) { return key(a) == key(b); });
  int64_t dropped = metrics.end() - end;
  metrics.erase(end, metrics.end());
  return dropped;
}

Status CheckTargetEmpty(sql::Conn& c) {
  for (const char* t : {"runs", "logged_models", "registered_models"}) {
    KILN_ASSIGN_OR_RETURN(int64_t n, c.QueryInt(std::string("SELECT count(*) FROM ") + t));
    if (n > 0) {
      return FailedPrecondition(std::string("the kiln database already holds ") + t +
                                "; import into a new --data-dir (or an empty database)");
    }
  }
  KILN_ASSIGN_OR_RETURN(int64_t others,
                        c.QueryInt("SELECT count(*) FROM experiments WHERE NOT (experiment_id = 0 AND name = 'Default')"));
  KILN_ASSIGN_OR_RETURN(int64_t tags, c.QueryInt("SELECT count(*) FROM experiment_tags"));
  if (others > 0 || tags > 0) {
    return FailedPrecondition("the kiln database already holds experiments; import into a new --data-dir");
  }
  return Status::Ok();
}

Status DropKilnDefaultExperiment(sql::Conn& c, const std::vector<ExperimentRec>& incoming) {
  bool clash = false;
  for (const auto& e : incoming) clash = clash || e.id == 0 || e.name == "Default";
  if (!clash) return Status::Ok();
  for (const char* q : {"DELETE FROM datasets WHERE experiment_id = 0",
                        "DELETE FROM experiments WHERE experiment_id = 0 AND name = 'Default'"}) {
    KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare(q));
    KILN_RETURN_IF_ERROR(st.Run());
  }
  return Status::Ok();
}

Status WriteExperiments(sql::Conn& c, const std::vector<ExperimentRec>& experiments,
                        const std::vector<DatasetRec>& datasets) {
  KILN_ASSIGN_OR_RETURN(sql::Stmt ins, c.Prepare("INSERT INTO experiments(experiment_id, name, artifact_location, "
                                                 "lifecycle_stage, creation_time, last_update_time) "
                                                 "VALUES (?, ?, ?, ?, ?, ?)"));
  for (const auto& e : experiments) {
    ins.Args(e.id, e.name, e.artifact_location, e.lifecycle_stage, e.creation_time, e.last_update_time);
    KILN_RETURN_IF_ERROR(ins.Run());
    KILN_RETURN_IF_ERROR(
        InsertKv(c, "INSERT INTO experiment_tags(experiment_id, key, value) VALUES (?, ?, ?)", e.id, e.tags));
  }
  KILN_ASSIGN_OR_RETURN(sql::Stmt ds, c.Prepare("INSERT INTO datasets(experiment_id, name, digest, source_type, "
                                                "source, schema, profile) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  for (const auto& d : datasets) {
    ds.Args(d.experiment_id, d.name, d.digest, d.source_type, d.source, d.schema, d.profile);
    KILN_RETURN_IF_ERROR(ds.Run());
  }
  return Status::Ok();
}

Status WriteRuns(sql::Conn& c, const std::vector<RunRec>& runs) {
  std::vector<int64_t> pks;
  pks.reserve(runs.size());
  for (const auto& r : runs) {
    KILN_ASSIGN_OR_RETURN(sql::Stmt ins,
                          c.Prepare("INSERT INTO runs(run_id, experiment_id, name, user_id, status, start_time, "
                                    "end_time, artifact_uri, lifecycle_stage, deleted_time) "
                                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"));
    ins.Args(r.run_uuid, r.experiment_id, r.name, r.user_id, r.status, r.start_time);
    if (r.end_time) {
      ins.Bind(7, *r.end_time);
    } else {
      ins.BindNull(7);
    }
    ins.Bind(8, r.artifact_uri).Bind(9, r.lifecycle_stage);
    if (r.deleted_time) {
      ins.Bind(10, *r.deleted_time);
    } else {
      ins.BindNull(10);
    }
    KILN_ASSIGN_OR_RETURN(bool row, ins.Step());
    if (!row) return Internal("INSERT ... RETURNING gave no run id");
    const int64_t pk = ins.Int(0);
    ins.Reset();
    pks.push_back(pk);
    KILN_RETURN_IF_ERROR(InsertKv(c, "INSERT INTO params(run_pk, key, value) VALUES (?, ?, ?)", pk, r.params));
    KILN_RETURN_IF_ERROR(InsertKv(c, "INSERT INTO tags(run_pk, key, value) VALUES (?, ?, ?)", pk, r.tags));
    for (const auto& in : r.inputs) {
      KILN_ASSIGN_OR_RETURN(int64_t dataset_id, DatasetId(c, r.experiment_id, in));
      KILN_ASSIGN_OR_RETURN(sql::Stmt link,
                            c.Prepare("INSERT INTO dataset_inputs(run_pk, dataset_id) VALUES (?, ?) RETURNING id"));
      link.Args(pk, dataset_id);
      KILN_ASSIGN_OR_RETURN(bool linked, link.Step());
      if (!linked) return Internal("INSERT ... RETURNING gave no input id");
      const int64_t input_id = link.Int(0);
      link.Reset();
      KILN_RETURN_IF_ERROR(
          InsertKv(c, "INSERT INTO input_tags(input_id, key, value) VALUES (?, ?, ?)", input_id, in.tags));
    }
    if (!r.model_inputs.empty()) {
      KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare("INSERT INTO run_model_inputs(run_pk, model_id) VALUES (?, ?) "
                                                    "ON CONFLICT DO NOTHING"));
      for (const auto& m : r.model_inputs) {
        st.Args(pk, m);
        KILN_RETURN_IF_ERROR(st.Run());
      }
    }
    if (!r.model_outputs.empty()) {
      KILN_ASSIGN_OR_RETURN(sql::Stmt st,
                            c.Prepare("INSERT INTO run_model_outputs(run_pk, model_id, step) VALUES (?, ?, ?) "
                                      "ON CONFLICT DO NOTHING"));
      for (const auto& m : r.model_outputs) {
        st.Args(pk, m.model_id, m.step);
        KILN_RETURN_IF_ERROR(st.Run());
      }
    }
  }
  // The points last: a PostgreSQL COPY holds the connection until it ends.
  {
    KILN_ASSIGN_OR_RETURN(auto points, MetricBulkWriter::For(c, MetricTable::kMetrics));
    for (size_t i = 0; i < runs.size(); ++i) KILN_RETURN_IF_ERROR(points->Add(pks[i], runs[i].metrics));
    KILN_RETURN_IF_ERROR(points->Finish());
  }
  std::vector<std::vector<MetricRec>> latest(runs.size());
  for (size_t i = 0; i < runs.size(); ++i) latest[i] = LatestPerKey(runs[i].metrics);
  KILN_ASSIGN_OR_RETURN(auto last, MetricBulkWriter::For(c, MetricTable::kLatestMetrics));
  for (size_t i = 0; i < runs.size(); ++i) KILN_RETURN_IF_ERROR(last->Add(pks[i], latest[i]));
  return last->Finish();
}

Status WriteLoggedModels(sql::Conn& c, const std::vector<LoggedModelRec>& models) {
  KILN_ASSIGN_OR_RETURN(sql::Stmt ins,
                        c.Prepare("INSERT INTO logged_models(model_id, experiment_id, name, artifact_uri, "
                                  "creation_timestamp, last_updated_timestamp, status, status_message, "
                                  "lifecycle_stage, model_type, source_run_id) "
                                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  for (const auto& m : models) {
    ins.Args(m.model_id, m.experiment_id, m.name, m.artifact_location, m.creation_timestamp,
             m.last_updated_timestamp, m.status, m.status_message, m.lifecycle_stage, m.model_type,
             m.source_run_id);
    KILN_RETURN_IF_ERROR(ins.Run());
    KILN_RETURN_IF_ERROR(InsertKv(c, "INSERT INTO logged_model_params(model_id, key, value) VALUES (?, ?, ?)",
                                  m.model_id, m.params));
    KILN_RETURN_IF_ERROR(InsertKv(c, "INSERT INTO logged_model_tags(model_id, key, value) VALUES (?, ?, ?)",
                                  m.model_id, m.tags));
    if (m.metrics.empty()) continue;
    KILN_ASSIGN_OR_RETURN(sql::Stmt mm,
                          c.Prepare("INSERT INTO logged_model_metrics(model_id, key, step, timestamp, value, "
                                    "is_nan, run_id, dataset_name, dataset_digest) "
                                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"));
    for (const auto& x : m.metrics) {
      mm.Args(m.model_id, x.key, x.step, x.timestamp, Stored(x.value), int64_t{std::isnan(x.value)}, x.run_id,
              x.dataset_name, x.dataset_digest);
      KILN_RETURN_IF_ERROR(mm.Run());
    }
  }
  return Status::Ok();
}

Status WriteRegistry(sql::Conn& c, const std::vector<RegisteredModelRec>& models,
                     const std::vector<int64_t>& next_versions) {
  for (size_t i = 0; i < models.size(); ++i) {
    const RegisteredModelRec& m = models[i];
    KILN_ASSIGN_OR_RETURN(sql::Stmt ins,
                          c.Prepare("INSERT INTO registered_models(name, creation_time, last_updated_time, "
                                    "user_id, description, next_version) VALUES (?, ?, ?, '', ?, ?) RETURNING id"));
    ins.Args(m.name, m.creation_time, m.last_updated_time, m.description, next_versions[i]);
    KILN_ASSIGN_OR_RETURN(bool row, ins.Step());
    if (!row) return Internal("INSERT ... RETURNING gave no model id");
    const int64_t pk = ins.Int(0);
    ins.Reset();
    KILN_RETURN_IF_ERROR(
        InsertKv(c, "INSERT INTO registered_model_tags(model_pk, key, value) VALUES (?, ?, ?)", pk, m.tags));
    KILN_ASSIGN_OR_RETURN(
        sql::Stmt v, c.Prepare("INSERT INTO model_versions(model_pk, version, creation_time, last_updated_time, "
                               "user_id, current_stage, description, source, run_id, status, status_message, "
                               "run_link, model_id, storage_path, external_location) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?)"));
    KILN_ASSIGN_OR_RETURN(sql::Stmt vt, c.Prepare("INSERT INTO model_version_tags(model_pk, version, key, value) "
                                                  "VALUES (?, ?, ?, ?)"));
    for (const auto& mv : m.versions) {
      v.Args(pk, mv.version, mv.creation_time, mv.last_updated_time, mv.user_id, mv.current_stage, mv.description,
             mv.source, mv.run_id, mv.status, mv.status_message, mv.run_link, mv.model_id, mv.storage_location);
      KILN_RETURN_IF_ERROR(v.Run());
      for (const auto& t : mv.tags) {
        vt.Args(pk, mv.version, t.key, t.value);
        KILN_RETURN_IF_ERROR(vt.Run());
      }
    }
    KILN_ASSIGN_OR_RETURN(sql::Stmt a, c.Prepare("INSERT INTO registered_model_aliases(model_pk, alias, version) "
                                                 "VALUES (?, ?, ?)"));
    for (const auto& al : m.aliases) {
      a.Args(pk, al.key, static_cast<int64_t>(std::strtoll(al.value.c_str(), nullptr, 10)));
      KILN_RETURN_IF_ERROR(a.Run());
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<std::string>> WriteUsers(sql::Conn& c, const std::vector<UserRec>& users, int64_t now_ms) {
  std::vector<std::string> skipped;
  KILN_ASSIGN_OR_RETURN(sql::Stmt ins,
                        c.Prepare("INSERT INTO users(name, service_account, admin, password_hash, groups_json, "
                                  "created_ms, updated_ms, password_changed_ms) "
                                  "VALUES (?, 0, ?, '', '[]', ?, ?, ?) ON CONFLICT (name) DO NOTHING"));
  KILN_ASSIGN_OR_RETURN(sql::Stmt grant,
                        c.Prepare("INSERT INTO grants(subject_kind, subject, object_kind, object_id, role, "
                                  "created_by, created_ms) VALUES ('user', ?, ?, ?, ?, 'mlflow-import', ?)"));
  for (const auto& u : users) {
    ins.Args(u.name, int64_t{u.admin}, now_ms, now_ms, now_ms);
    KILN_RETURN_IF_ERROR(ins.Run());
    if (c.Changes() == 0) {
      skipped.push_back(u.name);
      continue;
    }
    for (const auto& g : u.grants) {
      grant.Args(u.name, g.object_kind, g.object_id, g.role, now_ms);
      KILN_RETURN_IF_ERROR(grant.Run());
    }
  }
  return skipped;
}

}  // namespace kiln::storage::mlflow_import
