// SqlTrackingStore: MLflow 3 logged models.
#include "storage/sql/entity_search_sql.h"
#include "storage/sql/sql_conn.h"
#include "storage/sql/sql_tracking_store.h"
#include "storage/sql/store_queries.h"

namespace kiln::storage {

using sql::Stmt;

namespace {

Status NoModel(const std::string& id) {
  return NotFound("Logged model with ID '" + id + "' not found.");
}

// NotFound for unknown or deleted models.
Status CheckModel(sql::Conn& c, const std::string& model_id) {
  KILN_ASSIGN_OR_RETURN(Stmt st,
                        c.Prepare("SELECT lifecycle_stage FROM logged_models WHERE model_id = ?"));
  st.Bind(1, model_id);
  KILN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row || st.Text(0) != kLifecycleActive) return NoModel(model_id);
  return Status::Ok();
}

Status UpsertModelTags(sql::Conn& c, const std::string& model_id, const std::vector<Tag>& tags) {
  KILN_ASSIGN_OR_RETURN(
      Stmt st, c.Prepare("INSERT INTO logged_model_tags(model_id, key, value) VALUES (?, ?, ?) "
                         "ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value"));
  for (const auto& t : tags) {
    st.Args(model_id, t.key, t.value);
    KILN_RETURN_IF_ERROR(st.Run());
  }
  return Status::Ok();
}

Status InsertModelParams(sql::Conn& c, const std::string& model_id,
                         const std::vector<Param>& params) {
  KILN_ASSIGN_OR_RETURN(
      Stmt st, c.Prepare("INSERT INTO logged_model_params(model_id, key, value) VALUES (?, ?, ?) "
                         "ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value"));
  for (const auto& p : params) {
    st.Args(model_id, p.key, p.value);
    KILN_RETURN_IF_ERROR(st.Run());
  }
  return Status::Ok();
}

StatusOr<LoggedModel> LoadOne(sql::Conn& c, const std::string& model_id) {
  KILN_ASSIGN_OR_RETURN(auto models, sql::LoadLoggedModels(c, {model_id}));
  if (models.empty()) return NoModel(model_id);
  return std::move(models.front());
}

}  // namespace

StatusOr<LoggedModel> SqlTrackingStore::CreateLoggedModel(const LoggedModel& model) {
  LoggedModel out;
  // The primary key catches a duplicate id (as for runs: no SERIALIZABLE
  // look-up first, whose predicate locks made concurrent creations fail).
  Status s = WriteCommitted([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(sql::ExperimentRef e,
                          sql::FindActiveExperiment(c, model.experiment_id));
    KILN_ASSIGN_OR_RETURN(
        Stmt ins,
        c.Prepare("INSERT INTO logged_models(model_id, experiment_id, name, artifact_uri, "
                  "creation_timestamp, last_updated_timestamp, status, status_message, "
                  "lifecycle_stage, model_type, source_run_id) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?) "
                  "ON CONFLICT (model_id) DO NOTHING RETURNING model_id"));
    int64_t updated = model.last_updated_timestamp ? model.last_updated_timestamp
                                                   : model.creation_timestamp;
    ins.Args(model.model_id, e.id, model.name,
             e.artifact_location + "/models/" + model.model_id + "/artifacts",
             model.creation_timestamp, updated,
             model.status.empty() ? std::string("LOGGED_MODEL_PENDING") : model.status,
             model.status_message, model.model_type, model.source_run_id);
    KILN_ASSIGN_OR_RETURN(bool inserted, ins.Step());
    ins.Reset();
    if (!inserted) return AlreadyExists("Logged model with ID '" + model.model_id + "' already exists.");
    KILN_RETURN_IF_ERROR(UpsertModelTags(c, model.model_id, model.tags));
    KILN_RETURN_IF_ERROR(InsertModelParams(c, model.model_id, model.params));
    KILN_ASSIGN_OR_RETURN(out, LoadOne(c, model.model_id));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<LoggedModel> SqlTrackingStore::GetLoggedModel(const std::string& model_id) {
  LoggedModel out;
  Status s = Read([&](sql::Conn& c) -> Status {
    KILN_RETURN_IF_ERROR(CheckModel(c, model_id));
    KILN_ASSIGN_OR_RETURN(out, LoadOne(c, model_id));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<LoggedModel> SqlTrackingStore::FinalizeLoggedModel(const std::string& model_id,
                                                               const std::string& status,
                                                               int64_t now_ms) {
  LoggedModel out;
  Status s = WriteCommitted([&](sql::Conn& c) -> Status {
    KILN_RETURN_IF_ERROR(CheckModel(c, model_id));
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("UPDATE logged_models SET status = ?, "
                                             "last_updated_timestamp = ? WHERE model_id = ?"));
    st.Args(status, now_ms, model_id);
    KILN_RETURN_IF_ERROR(st.Run());
    KILN_ASSIGN_OR_RETURN(out, LoadOne(c, model_id));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Status SqlTrackingStore::DeleteLoggedModel(const std::string& model_id, int64_t now_ms) {
  return WriteCommitted([&](sql::Conn& c) -> Status {
    KILN_RETURN_IF_ERROR(CheckModel(c, model_id));
    KILN_ASSIGN_OR_RETURN(
        Stmt st, c.Prepare("UPDATE logged_models SET lifecycle_stage = 'deleted', "
                           "last_updated_timestamp = ? WHERE model_id = ?"));
    st.Args(now_ms, model_id);
    return st.Run();
  });
}

Status SqlTrackingStore::SetLoggedModelTags(const std::string& model_id,
                                               const std::vector<Tag>& tags) {
  return WriteCommitted([&](sql::Conn& c) -> Status {
    KILN_RETURN_IF_ERROR(CheckModel(c, model_id));
    return UpsertModelTags(c, model_id, tags);
  });
}

Status SqlTrackingStore::DeleteLoggedModelTag(const std::string& model_id,
                                                 const std::string& key) {
  return WriteCommitted([&](sql::Conn& c) -> Status {
    KILN_RETURN_IF_ERROR(CheckModel(c, model_id));
    KILN_ASSIGN_OR_RETURN(
        Stmt st, c.Prepare("DELETE FROM logged_model_tags WHERE model_id = ? AND key = ?"));
    st.Args(model_id, key);
    KILN_RETURN_IF_ERROR(st.Run());
    if (c.Changes() == 0) {
      return NotFound("No tag with key: " + key + " in logged model with ID " + model_id);
    }
    return Status::Ok();
  });
}

Status SqlTrackingStore::LogLoggedModelParams(const std::string& model_id,
                                                 const std::vector<Param>& params) {
  return WriteCommitted([&](sql::Conn& c) -> Status {
    KILN_RETURN_IF_ERROR(CheckModel(c, model_id));
    return InsertModelParams(c, model_id, params);
  });
}

StatusOr<Page<LoggedModel>> SqlTrackingStore::SearchLoggedModels(
    const LoggedModelQuery& query) {
  if (query.max_results < 0 || query.offset < 0) {
    return InvalidArgument("max_results and offset must be non-negative");
  }
  KILN_ASSIGN_OR_RETURN(sql::SqlQuery q, sql::BuildLoggedModelSearchSql(query, db_.dialect()));
  Page<LoggedModel> page;
  Status s = Read([&](sql::Conn& c) -> Status {
    std::vector<std::string> ids;
    {
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(q.sql));
      st.BindAll(q.args);
      while (true) {
        KILN_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        ids.push_back(st.Text(0));
      }
    }
    if (static_cast<int64_t>(ids.size()) > query.max_results) {
      page.has_more = true;
      ids.resize(static_cast<size_t>(query.max_results));
    }
    KILN_ASSIGN_OR_RETURN(page.items, sql::LoadLoggedModels(c, ids));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return page;
}

}  // namespace kiln::storage
