#include "storage/mlflow_import/canonical.h"

#include <cmath>
#include <limits>

namespace kiln::storage::mlflow_import {
namespace {

double Decoded(double stored, bool is_nan) { return is_nan ? std::numeric_limits<double>::quiet_NaN() : stored; }

Status Scan(sql::Conn& c, const std::string& q, const std::function<void(const sql::Stmt&)>& fn) {
  KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare(q, /*cache=*/false));
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::Ok();
    fn(st);
  }
}

std::optional<int64_t> OptInt(const sql::Stmt& st, int col) {
  if (st.IsNull(col)) return std::nullopt;
  return st.Int(col);
}

}  // namespace

const std::vector<std::string>& ReportTables() {
  static const std::vector<std::string> t = {
      "experiments",       "experiment_tags",     "datasets",
      "runs",              "params",              "tags",
      "metrics",           "dataset_inputs",      "input_tags",
      "run_model_inputs",  "run_model_outputs",   "logged_models",
      "logged_model_params", "logged_model_tags", "logged_model_metrics",
      "registered_models", "registered_model_tags", "model_versions",
      "model_version_tags", "registered_model_aliases", "users",
      "grants"};
  return t;
}

void DigestExperiment(const ExperimentRec& e, Digests& d) {
  d["experiments"].Add(RowDigest()
                           .Add(e.id)
                           .Add(e.name)
                           .Add(e.artifact_location)
                           .Add(e.lifecycle_stage)
                           .Add(e.creation_time)
                           .Add(e.last_update_time));
  for (const auto& t : e.tags) d["experiment_tags"].Add(RowDigest().Add(e.id).Add(t.key).Add(t.value));
}

void DigestDataset(const DatasetRec& ds, Digests& d) {
  d["datasets"].Add(RowDigest()
                        .Add(ds.experiment_id)
                        .Add(ds.name)
                        .Add(ds.digest)
                        .Add(ds.source_type)
                        .Add(ds.source)
                        .Add(ds.schema)
                        .Add(ds.profile));
}

void DigestRun(const RunRec& r, Digests& d) {
  d["runs"].Add(RowDigest()
                    .Add(r.run_uuid)
                    .Add(r.experiment_id)
                    .Add(r.name)
                    .Add(r.user_id)
                    .Add(r.status)
                    .Add(r.start_time)
                    .Add(r.end_time)
                    .Add(r.artifact_uri)
                    .Add(r.lifecycle_stage)
                    .Add(r.deleted_time));
  for (const auto& p : r.params) d["params"].Add(RowDigest().Add(r.run_uuid).Add(p.key).Add(p.value));
  for (const auto& t : r.tags) d["tags"].Add(RowDigest().Add(r.run_uuid).Add(t.key).Add(t.value));
  TableDigest& m = d["metrics"];
  // The hash is sequential, so the (run, key) prefix is hashed once per key.
  RowDigest prefix;
  const std::string* prefix_key = nullptr;
  for (const auto& x : r.metrics) {
    if (!prefix_key || *prefix_key != x.key) {
      prefix = RowDigest().Add(r.run_uuid).Add(x.key);
      prefix_key = &x.key;
    }
    RowDigest row = prefix;
    m.Add(row.Add(x.step).Add(x.timestamp).AddDouble(x.value));
  }
  for (const auto& in : r.inputs) {
    d["dataset_inputs"].Add(RowDigest().Add(r.run_uuid).Add(in.name).Add(in.digest));
    for (const auto& t : in.tags) {
      d["input_tags"].Add(RowDigest().Add(r.run_uuid).Add(in.name).Add(in.digest).Add(t.key).Add(t.value));
    }
  }
  for (const auto& mi : r.model_inputs) d["run_model_inputs"].Add(RowDigest().Add(r.run_uuid).Add(mi));
  for (const auto& mo : r.model_outputs) {
    d["run_model_outputs"].Add(RowDigest().Add(r.run_uuid).Add(mo.model_id).Add(mo.step));
  }
}

void DigestLoggedModel(const LoggedModelRec& m, Digests& d) {
  d["logged_models"].Add(RowDigest()
                             .Add(m.model_id)
                             .Add(m.experiment_id)
                             .Add(m.name)
                             .Add(m.artifact_location)
                             .Add(m.creation_timestamp)
                             .Add(m.last_updated_timestamp)
                             .Add(m.status)
                             .Add(m.status_message)
                             .Add(m.lifecycle_stage)
                             .Add(m.model_type)
                             .Add(m.source_run_id));
  for (const auto& p : m.params) d["logged_model_params"].Add(RowDigest().Add(m.model_id).Add(p.key).Add(p.value));
  for (const auto& t : m.tags) d["logged_model_tags"].Add(RowDigest().Add(m.model_id).Add(t.key).Add(t.value));
  for (const auto& x : m.metrics) {
    d["logged_model_metrics"].Add(RowDigest()
                                      .Add(m.model_id)
                                      .Add(x.key)
                                      .Add(x.step)
                                      .Add(x.timestamp)
                                      .AddDouble(x.value)
                                      .Add(x.run_id)
                                      .Add(x.dataset_name)
                                      .Add(x.dataset_digest));
  }
}

void DigestRegisteredModel(const RegisteredModelRec& m, Digests& d) {
  d["registered_models"].Add(
      RowDigest().Add(m.name).Add(m.creation_time).Add(m.last_updated_time).Add(m.description));
  for (const auto& t : m.tags) d["registered_model_tags"].Add(RowDigest().Add(m.name).Add(t.key).Add(t.value));
  for (const auto& a : m.aliases) d["registered_model_aliases"].Add(RowDigest().Add(m.name).Add(a.key).Add(a.value));
  for (const auto& v : m.versions) {
    d["model_versions"].Add(RowDigest()
                                .Add(m.name)
                                .Add(v.version)
                                .Add(v.creation_time)
                                .Add(v.last_updated_time)
                                .Add(v.description)
                                .Add(v.user_id)
                                .Add(v.current_stage)
                                .Add(v.source)
                                .Add(v.run_id)
                                .Add(v.status)
                                .Add(v.status_message)
                                .Add(v.run_link)
                                .Add(v.storage_location)
                                .Add(v.model_id));
    for (const auto& t : v.tags) {
      d["model_version_tags"].Add(RowDigest().Add(m.name).Add(v.version).Add(t.key).Add(t.value));
    }
  }
}

void DigestUser(const UserRec& u, Digests& d) {
  d["users"].Add(RowDigest().Add(u.name).Add(int64_t{u.admin}));
  for (const auto& g : u.grants) {
    d["grants"].Add(RowDigest().Add(u.name).Add(g.object_kind).Add(g.object_id).Add(g.role));
  }
}

Status DigestTarget(sql::Conn& c, const std::set<std::string>& user_names, Digests& d) {
  auto kv3 = [&](const char* table, const std::string& q) {
    return Scan(c, q, [&](const sql::Stmt& r) { d[table].Add(RowDigest().Add(r.Text(0)).Add(r.Text(1)).Add(r.Text(2))); });
  };
  KILN_RETURN_IF_ERROR(Scan(c,
                            "SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time, "
                            "last_update_time FROM experiments",
                            [&](const sql::Stmt& r) {
                              d["experiments"].Add(RowDigest()
                                                       .Add(r.Int(0))
                                                       .Add(r.Text(1))
                                                       .Add(r.Text(2))
                                                       .Add(r.Text(3))
                                                       .Add(r.Int(4))
                                                       .Add(r.Int(5)));
                            }));
  KILN_RETURN_IF_ERROR(Scan(c, "SELECT experiment_id, key, value FROM experiment_tags", [&](const sql::Stmt& r) {
    d["experiment_tags"].Add(RowDigest().Add(r.Int(0)).Add(r.Text(1)).Add(r.Text(2)));
  }));
  KILN_RETURN_IF_ERROR(Scan(
      c, "SELECT experiment_id, name, digest, source_type, source, schema, profile FROM datasets",
      [&](const sql::Stmt& r) {
        d["datasets"].Add(RowDigest().Add(r.Int(0)).Add(r.Text(1)).Add(r.Text(2)).Add(r.Text(3)).Add(r.Text(4)).Add(r.Text(5)).Add(r.Text(6)));
      }));
  KILN_RETURN_IF_ERROR(Scan(c,
                            "SELECT run_id, experiment_id, name, user_id, status, start_time, end_time, "
                            "artifact_uri, lifecycle_stage, deleted_time FROM runs",
                            [&](const sql::Stmt& r) {
                              d["runs"].Add(RowDigest()
                                                .Add(r.Text(0))
                                                .Add(r.Int(1))
                                                .Add(r.Text(2))
                                                .Add(r.Text(3))
                                                .Add(r.Text(4))
                                                .Add(r.Int(5))
                                                .Add(OptInt(r, 6))
                                                .Add(r.Text(7))
                                                .Add(r.Text(8))
                                                .Add(OptInt(r, 9)));
                            }));
  KILN_RETURN_IF_ERROR(kv3("params", "SELECT r.run_id, p.key, p.value FROM params p JOIN runs r ON r.id = p.run_pk"));
  KILN_RETURN_IF_ERROR(kv3("tags", "SELECT r.run_id, t.key, t.value FROM tags t JOIN runs r ON r.id = t.run_pk"));
  KILN_RETURN_IF_ERROR(Scan(c,
                            "SELECT r.run_id, m.key, m.step, m.timestamp, m.value, m.is_nan FROM metrics m "
                            "JOIN runs r ON r.id = m.run_pk",
                            [&, &m = d["metrics"]](const sql::Stmt& r) {
                              m.Add(RowDigest()
                                        .Add(r.Text(0))
                                        .Add(r.Text(1))
                                        .Add(r.Int(2))
                                        .Add(r.Int(3))
                                        .AddDouble(Decoded(r.Double(4), r.Int(5) != 0)));
                            }));
  KILN_RETURN_IF_ERROR(kv3("dataset_inputs",
                           "SELECT r.run_id, ds.name, ds.digest FROM dataset_inputs i JOIN runs r ON r.id = i.run_pk "
                           "JOIN datasets ds ON ds.id = i.dataset_id"));
  KILN_RETURN_IF_ERROR(Scan(c,
                            "SELECT r.run_id, ds.name, ds.digest, t.key, t.value FROM input_tags t "
                            "JOIN dataset_inputs i ON i.id = t.input_id JOIN runs r ON r.id = i.run_pk "
                            "JOIN datasets ds ON ds.id = i.dataset_id",
                            [&](const sql::Stmt& r) {
                              d["input_tags"].Add(
                                  RowDigest().Add(r.Text(0)).Add(r.Text(1)).Add(r.Text(2)).Add(r.Text(3)).Add(r.Text(4)));
                            }));
  KILN_RETURN_IF_ERROR(Scan(c, "SELECT r.run_id, i.model_id FROM run_model_inputs i JOIN runs r ON r.id = i.run_pk",
                            [&](const sql::Stmt& r) { d["run_model_inputs"].Add(RowDigest().Add(r.Text(0)).Add(r.Text(1))); }));
  KILN_RETURN_IF_ERROR(Scan(c,
                            "SELECT r.run_id, o.model_id, o.step FROM run_model_outputs o JOIN runs r ON r.id = o.run_pk",
                            [&](const sql::Stmt& r) {
                              d["run_model_outputs"].Add(RowDigest().Add(r.Text(0)).Add(r.Text(1)).Add(r.Int(2)));
                            }));
  KILN_RETURN_IF_ERROR(Scan(c,
                            "SELECT model_id, experiment_id, name, artifact_uri, creation_timestamp, "
                            "last_updated_timestamp, status, status_message, lifecycle_stage, model_type, "
                            "source_run_id FROM logged_models",
                            [&](const sql::Stmt& r) {
                              d["logged_models"].Add(RowDigest()
                                                         .Add(r.Text(0))
                                                         .Add(r.Int(1))
                                                         .Add(r.Text(2))
                                                         .Add(r.Text(3))
                                                         .Add(r.Int(4))
                                                         .Add(r.Int(5))
                                                         .Add(r.Text(6))
                                                         .Add(r.Text(7))
                                                         .Add(r.Text(8))
                                                         .Add(r.Text(9))
                                                         .Add(r.Text(10)));
                            }));
  KILN_RETURN_IF_ERROR(kv3("logged_model_params", "SELECT model_id, key, value FROM logged_model_params"));
  KILN_RETURN_IF_ERROR(kv3("logged_model_tags", "SELECT model_id, key, value FROM logged_model_tags"));
  KILN_RETURN_IF_ERROR(Scan(c,
                            "SELECT model_id, key, step, timestamp, value, is_nan, run_id, dataset_name, "
                            "dataset_digest FROM logged_model_metrics",
                            [&](const sql::Stmt& r) {
                              d["logged_model_metrics"].Add(RowDigest()
                                                                .Add(r.Text(0))
                                                                .Add(r.Text(1))
                                                                .Add(r.Int(2))
                                                                .Add(r.Int(3))
                                                                .AddDouble(Decoded(r.Double(4), r.Int(5) != 0))
                                                                .Add(r.Text(6))
                                                                .Add(r.Text(7))
                                                                .Add(r.Text(8)));
                            }));
  KILN_RETURN_IF_ERROR(Scan(c, "SELECT name, creation_time, last_updated_time, description FROM registered_models",
                            [&](const sql::Stmt& r) {
                              d["registered_models"].Add(
                                  RowDigest().Add(r.Text(0)).Add(r.Int(1)).Add(r.Int(2)).Add(r.Text(3)));
                            }));
  KILN_RETURN_IF_ERROR(kv3("registered_model_tags",
                           "SELECT m.name, t.key, t.value FROM registered_model_tags t "
                           "JOIN registered_models m ON m.id = t.model_pk"));
  KILN_RETURN_IF_ERROR(Scan(c,
                            "SELECT m.name, a.alias, a.version FROM registered_model_aliases a "
                            "JOIN registered_models m ON m.id = a.model_pk",
                            [&](const sql::Stmt& r) {
                              d["registered_model_aliases"].Add(
                                  RowDigest().Add(r.Text(0)).Add(r.Text(1)).Add(std::to_string(r.Int(2))));
                            }));
  KILN_RETURN_IF_ERROR(Scan(c,
                            "SELECT m.name, v.version, v.creation_time, v.last_updated_time, v.description, "
                            "v.user_id, v.current_stage, v.source, v.run_id, v.status, v.status_message, "
                            "v.run_link, v.external_location, v.model_id FROM model_versions v "
                            "JOIN registered_models m ON m.id = v.model_pk",
                            [&](const sql::Stmt& r) {
                              RowDigest row;
                              row.Add(r.Text(0)).Add(r.Int(1)).Add(r.Int(2)).Add(r.Int(3));
                              for (int i = 4; i <= 13; ++i) row.Add(r.Text(i));
                              d["model_versions"].Add(row);
                            }));
  KILN_RETURN_IF_ERROR(Scan(c,
                            "SELECT m.name, t.version, t.key, t.value FROM model_version_tags t "
                            "JOIN registered_models m ON m.id = t.model_pk",
                            [&](const sql::Stmt& r) {
                              d["model_version_tags"].Add(
                                  RowDigest().Add(r.Text(0)).Add(r.Int(1)).Add(r.Text(2)).Add(r.Text(3)));
                            }));
  KILN_RETURN_IF_ERROR(Scan(c, "SELECT name, admin FROM users", [&](const sql::Stmt& r) {
    if (user_names.count(r.Text(0))) d["users"].Add(RowDigest().Add(r.Text(0)).Add(r.Int(1)));
  }));
  return Scan(c,
              "SELECT subject, object_kind, object_id, role FROM grants WHERE subject_kind = 'user' "
              "AND created_by = 'mlflow-import'",
              [&](const sql::Stmt& r) {
                if (user_names.count(r.Text(0))) {
                  d["grants"].Add(RowDigest().Add(r.Text(0)).Add(r.Text(1)).Add(r.Text(2)).Add(r.Text(3)));
                }
              });
}

}  // namespace kiln::storage::mlflow_import
