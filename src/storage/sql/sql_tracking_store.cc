// SqlTrackingStore: the default experiment, transaction plumbing, experiments.
// Runs, reads and logged models live in sql_store_*.cc.
#include "storage/sql/sql_tracking_store.h"

#include <chrono>

#include "storage/sql/entity_search_sql.h"
#include "storage/sql/sql_conn.h"
#include "storage/sql/store_queries.h"

namespace kiln::storage {

using sql::Stmt;

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status InsertDefaultExperiment(sql::Conn& c, const std::string& root) {
  KILN_ASSIGN_OR_RETURN(int64_t n, c.QueryInt("SELECT count(*) FROM experiments"));
  if (n > 0) return Status::Ok();
  int64_t now = NowMs();
  KILN_ASSIGN_OR_RETURN(
      Stmt st, c.Prepare("INSERT INTO experiments(experiment_id, name, artifact_location, "
                         "lifecycle_stage, creation_time, last_update_time) "
                         "VALUES (0, 'Default', ?, 'active', ?, ?) ON CONFLICT DO NOTHING"));
  st.Args(root + "/0", now, now);
  return st.Run();
}

}  // namespace

StatusOr<std::unique_ptr<SqlTrackingStore>> SqlTrackingStore::Create(sql::Database& db,
                                                                     const std::string& default_artifact_root) {
  std::unique_ptr<SqlTrackingStore> store(new SqlTrackingStore(db));
  KILN_RETURN_IF_ERROR(store->Write([&](sql::Conn& c) { return InsertDefaultExperiment(c, default_artifact_root); }));
  return store;
}

SqlTrackingStore::~SqlTrackingStore() = default;

Status SqlTrackingStore::Write(const TxnFn& fn) { return db_.Write(fn); }
Status SqlTrackingStore::WriteCommitted(const TxnFn& fn) { return db_.WriteCommitted(fn); }
Status SqlTrackingStore::Read(const TxnFn& fn) { return db_.Read(fn); }

Status SqlTrackingStore::Ping() { return db_.Ping(); }

// --- experiments ---

StatusOr<std::string> SqlTrackingStore::CreateExperiment(
    const std::string& name, const std::string& artifact_location,
    const std::string& default_artifact_root, const std::vector<Tag>& tags, int64_t now_ms) {
  std::string id;
  Status s = Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt dup, c.Prepare("SELECT 1 FROM experiments WHERE name = ?"));
    dup.Bind(1, name);
    KILN_ASSIGN_OR_RETURN(bool exists, dup.Step());
    if (exists) return AlreadyExists("Experiment '" + name + "' already exists.");
    KILN_ASSIGN_OR_RETURN(int64_t next,
                          c.QueryInt("SELECT coalesce(max(experiment_id), 0) + 1 FROM experiments"));
    id = std::to_string(next);
    std::string location =
        artifact_location.empty() ? default_artifact_root + "/" + id : artifact_location;
    KILN_ASSIGN_OR_RETURN(
        Stmt ins, c.Prepare("INSERT INTO experiments(experiment_id, name, artifact_location, "
                            "lifecycle_stage, creation_time, last_update_time) "
                            "VALUES (?, ?, ?, 'active', ?, ?)"));
    ins.Args(next, name, location, now_ms, now_ms);
    KILN_RETURN_IF_ERROR(ins.Run());
    KILN_ASSIGN_OR_RETURN(
        Stmt tag, c.Prepare("INSERT INTO experiment_tags(experiment_id, key, value) "
                            "VALUES (?, ?, ?) ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value"));
    for (const auto& t : tags) {
      tag.Args(next, t.key, t.value);
      KILN_RETURN_IF_ERROR(tag.Run());
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return id;
}

StatusOr<Experiment> SqlTrackingStore::GetExperiment(const std::string& experiment_id) {
  std::vector<Experiment> found;
  Status s = Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(sql::ExperimentRef e, sql::FindExperiment(c, experiment_id));
    KILN_ASSIGN_OR_RETURN(found, sql::LoadExperiments(c, {e.id}));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (found.empty()) return NotFound("Experiment with id '" + experiment_id + "' does not exist.");
  return std::move(found.front());
}

StatusOr<Experiment> SqlTrackingStore::GetExperimentByName(const std::string& name) {
  std::vector<Experiment> found;
  Status s = Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt st,
                          c.Prepare("SELECT experiment_id FROM experiments WHERE name = ?"));
    st.Bind(1, name);
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return NotFound("Could not find experiment with name '" + name + "'");
    int64_t id = st.Int(0);
    KILN_ASSIGN_OR_RETURN(found, sql::LoadExperiments(c, {id}));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (found.empty()) return NotFound("Could not find experiment with name '" + name + "'");
  return std::move(found.front());
}

StatusOr<Page<Experiment>> SqlTrackingStore::SearchExperiments(const ExperimentQuery& query) {
  if (query.max_results < 0 || query.offset < 0) {
    return InvalidArgument("max_results and offset must be non-negative");
  }
  KILN_ASSIGN_OR_RETURN(sql::SqlQuery q, sql::BuildExperimentSearchSql(query, db_.dialect()));
  Page<Experiment> page;
  Status s = Read([&](sql::Conn& c) -> Status {
    std::vector<int64_t> ids;
    {
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(q.sql));
      st.BindAll(q.args);
      while (true) {
        KILN_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        ids.push_back(st.Int(0));
      }
    }
    if (static_cast<int64_t>(ids.size()) > query.max_results) {
      page.has_more = true;
      ids.resize(static_cast<size_t>(query.max_results));
    }
    KILN_ASSIGN_OR_RETURN(page.items, sql::LoadExperiments(c, ids));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return page;
}

Status SqlTrackingStore::RenameExperiment(const std::string& experiment_id,
                                             const std::string& new_name, int64_t now_ms) {
  return Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(sql::ExperimentRef e, sql::FindExperiment(c, experiment_id));
    if (e.lifecycle_stage != kLifecycleActive) {
      return FailedPrecondition("Cannot rename a non-active experiment.");
    }
    KILN_ASSIGN_OR_RETURN(
        Stmt dup, c.Prepare("SELECT 1 FROM experiments WHERE name = ? AND experiment_id != ?"));
    dup.Args(new_name, e.id);
    KILN_ASSIGN_OR_RETURN(bool exists, dup.Step());
    if (exists) return AlreadyExists("Experiment '" + new_name + "' already exists.");
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("UPDATE experiments SET name = ?, "
                                             "last_update_time = ? WHERE experiment_id = ?"));
    st.Args(new_name, now_ms, e.id);
    return st.Run();
  });
}

Status SqlTrackingStore::SetExperimentLifecycle(const std::string& experiment_id,
                                                   const std::string& stage, int64_t now_ms) {
  if (stage != kLifecycleActive && stage != kLifecycleDeleted) {
    return InvalidArgument("Invalid lifecycle stage '" + stage + "'");
  }
  return Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(sql::ExperimentRef e, sql::FindExperiment(c, experiment_id));
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("UPDATE experiments SET lifecycle_stage = ?, "
                                             "last_update_time = ? WHERE experiment_id = ?"));
    st.Args(stage, now_ms, e.id);
    KILN_RETURN_IF_ERROR(st.Run());
    // Runs follow their experiment (MLflow: delete/restore cascades to runs).
    const bool deleting = stage == kLifecycleDeleted;
    KILN_ASSIGN_OR_RETURN(
        Stmt runs, c.Prepare("UPDATE runs SET lifecycle_stage = ?, deleted_time = ? "
                             "WHERE experiment_id = ? AND lifecycle_stage != ?"));
    runs.Bind(1, stage);
    if (deleting) {
      runs.Bind(2, now_ms);
    } else {
      runs.BindNull(2);
    }
    runs.Bind(3, e.id).Bind(4, stage);
    return runs.Run();
  });
}

Status SqlTrackingStore::SetExperimentTag(const std::string& experiment_id, const Tag& tag) {
  return Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(sql::ExperimentRef e, sql::FindActiveExperiment(c, experiment_id));
    KILN_ASSIGN_OR_RETURN(
        Stmt st, c.Prepare("INSERT INTO experiment_tags(experiment_id, key, value) "
                           "VALUES (?, ?, ?) ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value"));
    st.Args(e.id, tag.key, tag.value);
    return st.Run();
  });
}

Status SqlTrackingStore::DeleteExperimentTag(const std::string& experiment_id,
                                                const std::string& key) {
  return Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(sql::ExperimentRef e, sql::FindActiveExperiment(c, experiment_id));
    KILN_ASSIGN_OR_RETURN(
        Stmt st, c.Prepare("DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?"));
    st.Args(e.id, key);
    KILN_RETURN_IF_ERROR(st.Run());
    if (c.Changes() == 0) {
      return NotFound("No tag with name: " + key + " in experiment with id " + experiment_id);
    }
    return Status::Ok();
  });
}

}  // namespace kiln::storage
