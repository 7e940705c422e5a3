#include "storage/mlflow_import/sql_source.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <unordered_map>

namespace kiln::storage::mlflow_import {
namespace {

using RowFn = std::function<Status(const sql::Stmt&)>;

Status Query(sql::Conn& c, const std::string& text, const std::vector<sql::Arg>& args, const RowFn& fn) {
  KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare(text));
  st.BindAll(args);
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::Ok();
    KILN_RETURN_IF_ERROR(fn(st));
  }
}

std::string Str(const sql::Stmt& st, int col) { return st.IsNull(col) ? std::string() : st.Text(col); }

std::optional<int64_t> OptInt(const sql::Stmt& st, int col) {
  if (st.IsNull(col)) return std::nullopt;
  return st.Int(col);
}

// MLflow's SQL stores keep +-inf as +-DBL_MAX (sanitize_metric_value).
double DecodeValue(double stored, bool is_nan) {
  if (is_nan) return std::numeric_limits<double>::quiet_NaN();
  if (stored == DBL_MAX) return std::numeric_limits<double>::infinity();
  if (stored == -DBL_MAX) return -std::numeric_limits<double>::infinity();
  return stored;
}

std::string LoggedModelStatus(int64_t s) {
  switch (s) {
    case 1: return "LOGGED_MODEL_PENDING";
    case 2: return "LOGGED_MODEL_READY";
    case 3: return "LOGGED_MODEL_UPLOAD_FAILED";
    default: return "LOGGED_MODEL_STATUS_UNSPECIFIED";
  }
}

// A contiguous id slice as a BETWEEN range: both engines use the index.
std::vector<sql::Arg> Range(const std::vector<std::string>& ids) { return {ids.front(), ids.back()}; }

}  // namespace

StatusOr<bool> HasTable(sql::Conn& c, const std::string& table, const std::string& column) {
  std::string q;
  std::vector<sql::Arg> args = {table};
  if (c.dialect() == sql::Dialect::kSqlite) {
    q = column.empty() ? "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1"
                       : "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2";
  } else {
    q = column.empty() ? "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() "
                         "AND table_name = ?1"
                       : "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() "
                         "AND table_name = ?1 AND column_name = ?2";
  }
  if (!column.empty()) args.push_back(column);
  KILN_ASSIGN_OR_RETURN(int64_t n, c.QueryInt(q, args));
  return n > 0;
}

StatusOr<std::unique_ptr<SqlSource>> SqlSource::Create(sql::Database& db) {
  Schema s;
  Status st = db.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(bool exps, HasTable(c, "experiments"));
    KILN_ASSIGN_OR_RETURN(bool runs, HasTable(c, "runs"));
    KILN_ASSIGN_OR_RETURN(bool metrics, HasTable(c, "metrics"));
    if (!exps || !runs || !metrics) {
      return FailedPrecondition("not an MLflow tracking database (no experiments/runs/metrics tables)");
    }
    KILN_ASSIGN_OR_RETURN(bool alembic, HasTable(c, "alembic_version"));
    if (alembic) {
      KILN_RETURN_IF_ERROR(Query(c, "SELECT version_num FROM alembic_version", {}, [&](const sql::Stmt& r) {
        s.revision = Str(r, 0);
        return Status::Ok();
      }));
    }
    KILN_ASSIGN_OR_RETURN(s.datasets, HasTable(c, "datasets"));
    KILN_ASSIGN_OR_RETURN(s.inputs_step, HasTable(c, "inputs", "step"));
    KILN_ASSIGN_OR_RETURN(s.logged_models, HasTable(c, "logged_models"));
    KILN_ASSIGN_OR_RETURN(s.aliases, HasTable(c, "registered_model_aliases"));
    KILN_ASSIGN_OR_RETURN(s.registry, HasTable(c, "model_versions"));
    KILN_ASSIGN_OR_RETURN(s.experiment_times, HasTable(c, "experiments", "creation_time"));
    KILN_ASSIGN_OR_RETURN(s.run_deleted_time, HasTable(c, "runs", "deleted_time"));
    KILN_ASSIGN_OR_RETURN(bool workspaces, HasTable(c, "experiments", "workspace"));
    if (workspaces) {
      for (const char* t : {"experiments", "registered_models"}) {
        KILN_ASSIGN_OR_RETURN(int64_t other,
                              c.QueryInt(std::string("SELECT count(*) FROM ") + t + " WHERE workspace <> 'default'"));
        if (other > 0) {
          return FailedPrecondition(std::string("the MLflow database has ") + t +
                                    " outside the 'default' workspace; kiln has a single namespace, so "
                                    "importing several workspaces could merge or collide names");
        }
      }
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return std::unique_ptr<SqlSource>(new SqlSource(db, std::move(s)));
}

std::string SqlSource::Describe() const {
  return "MLflow SQL schema" + (schema_.revision.empty() ? std::string() : " (alembic " + schema_.revision + ")") +
         (schema_.logged_models ? ", MLflow 3 tables" : ", MLflow 2 tables");
}

StatusOr<std::vector<ExperimentRec>> SqlSource::Experiments() {
  std::vector<ExperimentRec> out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    out.clear();
    std::unordered_map<int64_t, size_t> index;
    const std::string times = schema_.experiment_times ? "creation_time, last_update_time" : "NULL, NULL";
    KILN_RETURN_IF_ERROR(Query(c,
                               "SELECT experiment_id, name, artifact_location, lifecycle_stage, " + times +
                                   " FROM experiments ORDER BY experiment_id",
                               {}, [&](const sql::Stmt& r) {
                                 ExperimentRec e;
                                 e.id = r.Int(0);
                                 e.name = Str(r, 1);
                                 e.artifact_location = Str(r, 2);
                                 e.lifecycle_stage = r.IsNull(3) ? "active" : r.Text(3);
                                 e.creation_time = OptInt(r, 4).value_or(0);
                                 e.last_update_time = OptInt(r, 5).value_or(e.creation_time);
                                 index[e.id] = out.size();
                                 out.push_back(std::move(e));
                                 return Status::Ok();
                               }));
    return Query(c, "SELECT experiment_id, \"key\", value FROM experiment_tags ORDER BY experiment_id, \"key\"", {},
                 [&](const sql::Stmt& r) {
                   auto it = index.find(r.Int(0));
                   if (it != index.end()) out[it->second].tags.push_back({Str(r, 1), Str(r, 2)});
                   return Status::Ok();
                 });
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<DatasetRec>> SqlSource::Datasets() {
  std::vector<DatasetRec> out;
  if (!schema_.datasets) return out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    out.clear();
    return Query(c,
                 "SELECT experiment_id, name, digest, dataset_source_type, dataset_source, dataset_schema, "
                 "dataset_profile FROM datasets ORDER BY experiment_id, name, digest",
                 {}, [&](const sql::Stmt& r) {
                   out.push_back({r.Int(0), Str(r, 1), Str(r, 2), Str(r, 3), Str(r, 4), Str(r, 5), Str(r, 6)});
                   return Status::Ok();
                 });
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<std::string>> SqlSource::RunIds() {
  std::vector<std::string> out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    out.clear();
    return Query(c, "SELECT run_uuid FROM runs ORDER BY run_uuid", {}, [&](const sql::Stmt& r) {
      out.push_back(r.Text(0));
      return Status::Ok();
    });
  });
  if (!s.ok()) return s;
  run_ids_ = out;
  std::sort(run_ids_.begin(), run_ids_.end());  // bytewise, whatever the engine's collation
  scan_.reset();
  return out;
}

StatusOr<std::vector<RunRec>> SqlSource::Runs(const std::vector<std::string>& ids) {
  std::vector<RunRec> out;
  if (ids.empty()) return out;
  const std::vector<sql::Arg> range = Range(ids);
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    out.clear();
    std::unordered_map<std::string, size_t> index;
    auto run_of = [&](const std::string& id) -> RunRec* {
      auto it = index.find(id);
      return it == index.end() ? nullptr : &out[it->second];
    };
    const std::string deleted = schema_.run_deleted_time ? "deleted_time" : "NULL";
    KILN_RETURN_IF_ERROR(Query(c,
                               "SELECT run_uuid, experiment_id, name, user_id, status, start_time, end_time, " +
                                   deleted +
                                   ", artifact_uri, lifecycle_stage FROM runs WHERE run_uuid BETWEEN ?1 AND ?2 "
                                   "ORDER BY run_uuid",
                               range, [&](const sql::Stmt& r) {
                                 RunRec run;
                                 run.run_uuid = r.Text(0);
                                 run.experiment_id = r.Int(1);
                                 run.name = Str(r, 2);
                                 run.user_id = Str(r, 3);
                                 run.status = r.IsNull(4) ? "SCHEDULED" : r.Text(4);
                                 run.start_time = OptInt(r, 5).value_or(0);
                                 run.end_time = OptInt(r, 6);
                                 run.deleted_time = OptInt(r, 7);
                                 run.artifact_uri = Str(r, 8);
                                 run.lifecycle_stage = r.IsNull(9) ? "active" : r.Text(9);
                                 index[run.run_uuid] = out.size();
                                 out.push_back(std::move(run));
                                 return Status::Ok();
                               }));
    auto kv = [&](const char* table, std::vector<Kv> RunRec::*field) {
      return Query(c,
                   std::string("SELECT run_uuid, \"key\", value FROM ") + table +
                       " WHERE run_uuid BETWEEN ?1 AND ?2 ORDER BY run_uuid, \"key\"",
                   range, [&](const sql::Stmt& r) {
                     if (RunRec* run = run_of(r.Text(0))) (run->*field).push_back({Str(r, 1), Str(r, 2)});
                     return Status::Ok();
                   });
    };
    KILN_RETURN_IF_ERROR(kv("params", &RunRec::params));
    KILN_RETURN_IF_ERROR(kv("tags", &RunRec::tags));
    if (!scan_) scan_ = std::make_unique<MetricScan>(run_ids_, scan_budget_);
    for (RunRec& run : out) {
      KILN_ASSIGN_OR_RETURN(run.metrics, scan_->Take(c, run.run_uuid));
    }
    if (schema_.datasets) {
      std::unordered_map<std::string, std::pair<RunRec*, size_t>> inputs;  // input_uuid -> run, index
      KILN_RETURN_IF_ERROR(Query(c,
                                 "SELECT i.destination_id, i.input_uuid, d.name, d.digest FROM inputs i "
                                 "JOIN datasets d ON d.dataset_uuid = i.source_id "
                                 "WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' "
                                 "AND i.destination_id BETWEEN ?1 AND ?2 ORDER BY i.destination_id, d.name, d.digest",
                                 range, [&](const sql::Stmt& r) {
                                   RunRec* run = run_of(r.Text(0));
                                   if (!run) return Status::Ok();
                                   inputs[r.Text(1)] = {run, run->inputs.size()};
                                   run->inputs.push_back({Str(r, 2), Str(r, 3), {}});
                                   return Status::Ok();
                                 }));
      KILN_RETURN_IF_ERROR(Query(c,
                                 "SELECT t.input_uuid, t.name, t.value FROM input_tags t "
                                 "JOIN inputs i ON i.input_uuid = t.input_uuid "
                                 "WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' "
                                 "AND i.destination_id BETWEEN ?1 AND ?2 ORDER BY t.input_uuid, t.name",
                                 range, [&](const sql::Stmt& r) {
                                   auto it = inputs.find(r.Text(0));
                                   if (it != inputs.end()) {
                                     it->second.first->inputs[it->second.second].tags.push_back({Str(r, 1), Str(r, 2)});
                                   }
                                   return Status::Ok();
                                 }));
      KILN_RETURN_IF_ERROR(Query(c,
                                 "SELECT source_id, destination_id FROM inputs WHERE source_type = 'RUN_INPUT' "
                                 "AND destination_type = 'MODEL_INPUT' AND source_id BETWEEN ?1 AND ?2 "
                                 "ORDER BY source_id, destination_id",
                                 range, [&](const sql::Stmt& r) {
                                   if (RunRec* run = run_of(r.Text(0))) run->model_inputs.push_back(r.Text(1));
                                   return Status::Ok();
                                 }));
      const std::string step = schema_.inputs_step ? "step" : "0";
      KILN_RETURN_IF_ERROR(Query(c,
                                 "SELECT source_id, destination_id, " + step +
                                     " FROM inputs WHERE source_type = 'RUN_OUTPUT' "
                                     "AND destination_type = 'MODEL_OUTPUT' AND source_id BETWEEN ?1 AND ?2 "
                                     "ORDER BY source_id, destination_id",
                                 range, [&](const sql::Stmt& r) {
                                   if (RunRec* run = run_of(r.Text(0))) {
                                     run->model_outputs.push_back({r.Text(1), r.Int(2)});
                                   }
                                   return Status::Ok();
                                 }));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<std::string>> SqlSource::LoggedModelIds() {
  std::vector<std::string> out;
  if (!schema_.logged_models) return out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    out.clear();
    return Query(c, "SELECT model_id FROM logged_models ORDER BY model_id", {}, [&](const sql::Stmt& r) {
      out.push_back(r.Text(0));
      return Status::Ok();
    });
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<LoggedModelRec>> SqlSource::LoggedModels(const std::vector<std::string>& ids) {
  std::vector<LoggedModelRec> out;
  if (ids.empty() || !schema_.logged_models) return out;
  const std::vector<sql::Arg> range = Range(ids);
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    out.clear();
    std::unordered_map<std::string, size_t> index;
    auto model_of = [&](const std::string& id) -> LoggedModelRec* {
      auto it = index.find(id);
      return it == index.end() ? nullptr : &out[it->second];
    };
    KILN_RETURN_IF_ERROR(Query(
        c,
        "SELECT model_id, experiment_id, name, artifact_location, creation_timestamp_ms, "
        "last_updated_timestamp_ms, status, status_message, lifecycle_stage, model_type, source_run_id "
        "FROM logged_models WHERE model_id BETWEEN ?1 AND ?2 ORDER BY model_id",
        range, [&](const sql::Stmt& r) {
          LoggedModelRec m;
          m.model_id = r.Text(0);
          m.experiment_id = r.Int(1);
          m.name = Str(r, 2);
          m.artifact_location = Str(r, 3);
          m.creation_timestamp = r.Int(4);
          m.last_updated_timestamp = r.Int(5);
          m.status = LoggedModelStatus(r.Int(6));
          m.status_message = Str(r, 7);
          m.lifecycle_stage = r.IsNull(8) ? "active" : r.Text(8);
          m.model_type = Str(r, 9);
          m.source_run_id = Str(r, 10);
          index[m.model_id] = out.size();
          out.push_back(std::move(m));
          return Status::Ok();
        }));
    KILN_RETURN_IF_ERROR(Query(c,
                               "SELECT model_id, param_key, param_value FROM logged_model_params "
                               "WHERE model_id BETWEEN ?1 AND ?2 ORDER BY model_id, param_key",
                               range, [&](const sql::Stmt& r) {
                                 if (auto* m = model_of(r.Text(0))) m->params.push_back({Str(r, 1), Str(r, 2)});
                                 return Status::Ok();
                               }));
    KILN_RETURN_IF_ERROR(Query(c,
                               "SELECT model_id, tag_key, tag_value FROM logged_model_tags "
                               "WHERE model_id BETWEEN ?1 AND ?2 ORDER BY model_id, tag_key",
                               range, [&](const sql::Stmt& r) {
                                 if (auto* m = model_of(r.Text(0))) m->tags.push_back({Str(r, 1), Str(r, 2)});
                                 return Status::Ok();
                               }));
    return Query(c,
                 "SELECT model_id, metric_name, metric_value, metric_timestamp_ms, metric_step, run_id, "
                 "dataset_name, dataset_digest FROM logged_model_metrics WHERE model_id BETWEEN ?1 AND ?2",
                 range, [&](const sql::Stmt& r) {
                   auto* m = model_of(r.Text(0));
                   if (!m) return Status::Ok();
                   m->metrics.push_back({Str(r, 1), DecodeValue(r.IsNull(2) ? 0.0 : r.Double(2), r.IsNull(2)),
                                         r.Int(3), r.Int(4), Str(r, 5), Str(r, 6), Str(r, 7)});
                   return Status::Ok();
                 });
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<RegisteredModelRec>> SqlSource::RegisteredModels() {
  std::vector<RegisteredModelRec> out;
  if (!schema_.registry) return out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    out.clear();
    std::map<std::string, size_t> index;
    auto model_of = [&](const std::string& name) -> RegisteredModelRec* {
      auto it = index.find(name);
      return it == index.end() ? nullptr : &out[it->second];
    };
    KILN_RETURN_IF_ERROR(Query(c,
                               "SELECT name, creation_time, last_updated_time, description FROM registered_models "
                               "ORDER BY name",
                               {}, [&](const sql::Stmt& r) {
                                 RegisteredModelRec m;
                                 m.name = r.Text(0);
                                 m.creation_time = OptInt(r, 1).value_or(0);
                                 m.last_updated_time = OptInt(r, 2).value_or(m.creation_time);
                                 m.description = Str(r, 3);
                                 index[m.name] = out.size();
                                 out.push_back(std::move(m));
                                 return Status::Ok();
                               }));
    KILN_RETURN_IF_ERROR(Query(c, "SELECT name, \"key\", value FROM registered_model_tags ORDER BY name, \"key\"", {},
                               [&](const sql::Stmt& r) {
                                 if (auto* m = model_of(r.Text(0))) m->tags.push_back({Str(r, 1), Str(r, 2)});
                                 return Status::Ok();
                               }));
    if (schema_.aliases) {
      KILN_RETURN_IF_ERROR(Query(c, "SELECT name, alias, version FROM registered_model_aliases ORDER BY name, alias",
                                 {}, [&](const sql::Stmt& r) {
                                   if (auto* m = model_of(r.Text(0))) {
                                     m->aliases.push_back({r.Text(1), std::to_string(r.Int(2))});
                                   }
                                   return Status::Ok();
                                 }));
    }
    std::map<std::pair<std::string, int64_t>, ModelVersionRec*> versions;
    KILN_RETURN_IF_ERROR(Query(
        c,
        "SELECT name, version, creation_time, last_updated_time, description, user_id, current_stage, source, "
        "run_id, status, status_message, run_link, storage_location FROM model_versions ORDER BY name, version",
        {}, [&](const sql::Stmt& r) {
          auto* m = model_of(r.Text(0));
          if (!m) return Status::Ok();
          ModelVersionRec v;
          v.version = r.Int(1);
          v.creation_time = OptInt(r, 2).value_or(0);
          v.last_updated_time = OptInt(r, 3).value_or(v.creation_time);
          v.description = Str(r, 4);
          v.user_id = Str(r, 5);
          v.current_stage = r.IsNull(6) ? "None" : r.Text(6);
          v.source = Str(r, 7);
          v.run_id = Str(r, 8);
          v.status = r.IsNull(9) ? "READY" : r.Text(9);
          v.status_message = Str(r, 10);
          v.run_link = Str(r, 11);
          v.storage_location = Str(r, 12);
          m->versions.push_back(std::move(v));
          return Status::Ok();
        }));
    for (auto& m : out) {
      for (auto& v : m.versions) versions[{m.name, v.version}] = &v;
    }
    return Query(c, "SELECT name, version, \"key\", value FROM model_version_tags ORDER BY name, version, \"key\"", {},
                 [&](const sql::Stmt& r) {
                   auto it = versions.find({r.Text(0), r.Int(1)});
                   if (it != versions.end()) it->second->tags.push_back({Str(r, 2), Str(r, 3)});
                   return Status::Ok();
                 });
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<UserRec>> ReadMlflowAuthUsers(sql::Database& db, std::vector<std::string>* notes) {
  std::vector<UserRec> out;
  std::vector<std::string> skipped;
  Status s = db.Read([&](sql::Conn& c) -> Status {
    out.clear();
    skipped.clear();
    KILN_ASSIGN_OR_RETURN(bool users, HasTable(c, "users", "username"));
    if (!users) return FailedPrecondition("not an MLflow basic-auth database (no users table)");
    std::map<int64_t, size_t> index;
    KILN_RETURN_IF_ERROR(Query(c, "SELECT id, username, CASE WHEN is_admin THEN 1 ELSE 0 END FROM users ORDER BY id",
                               {}, [&](const sql::Stmt& r) {
                                 index[r.Int(0)] = out.size();
                                 out.push_back({r.Text(1), r.Int(2) != 0, {}});
                                 return Status::Ok();
                               }));
    auto role = [](const std::string& p) -> StatusOr<std::string> {
      if (p == "READ") return std::string("viewer");
      if (p == "EDIT") return std::string("editor");
      if (p == "MANAGE") return std::string("manager");
      if (p == "NO_PERMISSIONS") return std::string("none");
      return InvalidArgument("unknown MLflow permission '" + p + "'");
    };
    auto grants = [&](const char* table, const char* id_col, const char* kind) -> Status {
      KILN_ASSIGN_OR_RETURN(bool has, HasTable(c, table));
      if (!has) return Status::Ok();
      return Query(c,
                   std::string("SELECT user_id, ") + id_col + ", permission FROM " + table + " ORDER BY user_id, " +
                       id_col,
                   {}, [&](const sql::Stmt& r) -> Status {
                     auto it = index.find(r.Int(0));
                     if (it == index.end()) return Status::Ok();
                     KILN_ASSIGN_OR_RETURN(std::string ro, role(Str(r, 2)));
                     out[it->second].grants.push_back({kind, r.Text(1), ro});
                     return Status::Ok();
                   });
    };
    KILN_RETURN_IF_ERROR(grants("experiment_permissions", "experiment_id", "experiment"));
    KILN_RETURN_IF_ERROR(grants("registered_model_permissions", "name", "registered_model"));
    // MLflow 3's role-based permissions: per-user grants live in a synthetic
    // role "__user_<id>__", named roles are shared. kiln grants name a user
    // and one object, so each role's concrete grants are copied to its users;
    // wildcard patterns and other resource types have no kiln equivalent.
    KILN_ASSIGN_OR_RETURN(bool roles, HasTable(c, "role_permissions"));
    KILN_ASSIGN_OR_RETURN(bool assignments, HasTable(c, "user_role_assignments"));
    if (roles && assignments) {
      KILN_RETURN_IF_ERROR(Query(c,
                                 "SELECT a.user_id, p.resource_type, p.resource_pattern, p.permission "
                                 "FROM user_role_assignments a JOIN role_permissions p ON p.role_id = a.role_id "
                                 "ORDER BY a.user_id, p.resource_type, p.resource_pattern",
                                 {}, [&](const sql::Stmt& r) -> Status {
                                   auto it = index.find(r.Int(0));
                                   if (it == index.end()) return Status::Ok();
                                   const std::string type = Str(r, 1), pattern = Str(r, 2);
                                   const bool concrete = pattern.find_first_of("*?%") == std::string::npos;
                                   if ((type != "experiment" && type != "registered_model") || !concrete) {
                                     skipped.push_back(out[it->second].name + ": " + type + " '" + pattern + "' " +
                                                       Str(r, 3));
                                     return Status::Ok();
                                   }
                                   KILN_ASSIGN_OR_RETURN(std::string ro, role(Str(r, 3)));
                                   out[it->second].grants.push_back({type, pattern, ro});
                                   return Status::Ok();
                                 }));
    }
    // One grant per object: the strongest one a user holds through any path.
    static const std::map<std::string, int> rank = {{"none", 0}, {"viewer", 1}, {"editor", 2}, {"manager", 3}};
    for (auto& u : out) {
      std::map<std::pair<std::string, std::string>, std::string> best;
      for (const auto& g : u.grants) {
        auto& cur = best[{g.object_kind, g.object_id}];
        if (cur.empty() || rank.at(g.role) > rank.at(cur)) cur = g.role;
      }
      u.grants.clear();
      for (const auto& [key, ro] : best) u.grants.push_back({key.first, key.second, ro});
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (notes && !skipped.empty()) {
    std::string list;
    for (const auto& x : skipped) list += (list.empty() ? "" : "; ") + x;
    notes->push_back("MLflow permissions with no kiln equivalent (wildcards, scorers, gateway, workspaces) were "
                     "not imported: " + list);
  }
  return out;
}

}  // namespace kiln::storage::mlflow_import
