// SqliteTrackingStore: opening/migrating, transaction plumbing, experiments.
// Runs, reads and logged models live in sqlite_store_*.cc.
#include "storage/sqlite/sqlite_tracking_store.h"

#include <chrono>
#include <filesystem>
#include <system_error>
#include <exception>

#include "storage/sqlite/entity_search_sql.h"
#include "storage/sqlite/migrations.h"
#include "storage/sqlite/read_pool.h"
#include "storage/sqlite/sqlite_database.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/store_queries.h"

namespace kiln::storage {

using sqlite::Stmt;

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status OlderSchema(int version) {
  return FailedPrecondition("database schema version " + std::to_string(version) +
                            " is older than " + std::to_string(sqlite::LatestSchemaVersion()) +
                            "; run `kiln migrate`");
}

Status InsertDefaultExperiment(sql::Conn& c, const std::string& root) {
  KILN_ASSIGN_OR_RETURN(int64_t n, c.QueryInt("SELECT count(*) FROM experiments"));
  if (n > 0) return Status::Ok();
  int64_t now = NowMs();
  KILN_ASSIGN_OR_RETURN(
      Stmt st, c.Prepare("INSERT INTO experiments(experiment_id, name, artifact_location, "
                         "lifecycle_stage, creation_time, last_update_time) "
                         "VALUES (0, 'Default', ?, 'active', ?, ?)"));
  st.Args(root + "/0", now, now);
  return st.Run();
}

}  // namespace

int LatestSqliteSchemaVersion() { return sqlite::LatestSchemaVersion(); }

StatusOr<int> SqliteSchemaVersion(const std::string& db_path) {
  try {
    std::error_code ec;
    if (!std::filesystem::exists(db_path, ec) && !ec) return 0;  // never created: version 0
    KILN_ASSIGN_OR_RETURN(auto conn,
                          sqlite::SqliteConn::Open(db_path, /*query_only=*/false, /*create=*/false));
    return sqlite::ReadSchemaVersion(*conn);
  } catch (const std::exception& e) {
    return Internal(std::string("sqlite: ") + e.what());
  }
}

Status MigrateSqlite(const std::string& db_path) {
  try {
    KILN_ASSIGN_OR_RETURN(auto conn, sqlite::SqliteConn::Open(db_path, /*query_only=*/false));
    return sqlite::MigrateTo(*conn, sqlite::LatestSchemaVersion());
  } catch (const std::exception& e) {
    return Internal(std::string("sqlite: ") + e.what());
  }
}

StatusOr<std::unique_ptr<SqliteTrackingStore>> SqliteTrackingStore::Create(
    const std::string& db_path, const SqliteOptions& opts) {
  try {
    KILN_ASSIGN_OR_RETURN(auto writer, sqlite::SqliteConn::Open(db_path, /*query_only=*/false));
    KILN_ASSIGN_OR_RETURN(int version, sqlite::ReadSchemaVersion(*writer));
    int latest = sqlite::LatestSchemaVersion();
    if (version > latest) {
      return FailedPrecondition("database schema version " + std::to_string(version) +
                                " is newer than this kiln supports (" + std::to_string(latest) +
                                ")");
    }
    if (version < latest) {
      if (!opts.migrate_on_open) return OlderSchema(version);
      KILN_RETURN_IF_ERROR(sqlite::MigrateTo(*writer, latest));
    }
    KILN_ASSIGN_OR_RETURN(auto readers, sqlite::ReadPool::Open(db_path, opts.read_connections));
    std::unique_ptr<SqliteTrackingStore> store(new SqliteTrackingStore(
        std::make_unique<sqlite::Database>(std::move(writer), std::move(readers))));
    KILN_RETURN_IF_ERROR(store->Write([&](sql::Conn& c) {
      return InsertDefaultExperiment(c, opts.default_artifact_root);
    }));
    return store;
  } catch (const std::exception& e) {
    return Internal(std::string("sqlite: ") + e.what());
  }
}

SqliteTrackingStore::SqliteTrackingStore(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}

SqliteTrackingStore::~SqliteTrackingStore() = default;

Status SqliteTrackingStore::Write(const TxnFn& fn) { return db_->Write(fn); }
Status SqliteTrackingStore::Read(const TxnFn& fn) { return db_->Read(fn); }

Status SqliteTrackingStore::Ping() {
  return Read([](sql::Conn& c) { return c.QueryInt("SELECT 1").status(); });
}

// --- experiments ---

StatusOr<std::string> SqliteTrackingStore::CreateExperiment(
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
                            "VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value"));
    for (const auto& t : tags) {
      tag.Args(next, t.key, t.value);
      KILN_RETURN_IF_ERROR(tag.Run());
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return id;
}

StatusOr<Experiment> SqliteTrackingStore::GetExperiment(const std::string& experiment_id) {
  std::vector<Experiment> found;
  Status s = Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(sqlite::ExperimentRef e, sqlite::FindExperiment(c, experiment_id));
    KILN_ASSIGN_OR_RETURN(found, sqlite::LoadExperiments(c, {e.id}));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (found.empty()) return NotFound("Experiment with id '" + experiment_id + "' does not exist.");
  return std::move(found.front());
}

StatusOr<Experiment> SqliteTrackingStore::GetExperimentByName(const std::string& name) {
  std::vector<Experiment> found;
  Status s = Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt st,
                          c.Prepare("SELECT experiment_id FROM experiments WHERE name = ?"));
    st.Bind(1, name);
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return NotFound("Could not find experiment with name '" + name + "'");
    int64_t id = st.Int(0);
    KILN_ASSIGN_OR_RETURN(found, sqlite::LoadExperiments(c, {id}));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (found.empty()) return NotFound("Could not find experiment with name '" + name + "'");
  return std::move(found.front());
}

StatusOr<Page<Experiment>> SqliteTrackingStore::SearchExperiments(const ExperimentQuery& query) {
  if (query.max_results < 0 || query.offset < 0) {
    return InvalidArgument("max_results and offset must be non-negative");
  }
  KILN_ASSIGN_OR_RETURN(sqlite::SqlQuery q, sqlite::BuildExperimentSearchSql(query));
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
    KILN_ASSIGN_OR_RETURN(page.items, sqlite::LoadExperiments(c, ids));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return page;
}

Status SqliteTrackingStore::RenameExperiment(const std::string& experiment_id,
                                             const std::string& new_name, int64_t now_ms) {
  return Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(sqlite::ExperimentRef e, sqlite::FindExperiment(c, experiment_id));
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

Status SqliteTrackingStore::SetExperimentLifecycle(const std::string& experiment_id,
                                                   const std::string& stage, int64_t now_ms) {
  if (stage != kLifecycleActive && stage != kLifecycleDeleted) {
    return InvalidArgument("Invalid lifecycle stage '" + stage + "'");
  }
  return Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(sqlite::ExperimentRef e, sqlite::FindExperiment(c, experiment_id));
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

Status SqliteTrackingStore::SetExperimentTag(const std::string& experiment_id, const Tag& tag) {
  return Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(sqlite::ExperimentRef e, sqlite::FindActiveExperiment(c, experiment_id));
    KILN_ASSIGN_OR_RETURN(
        Stmt st, c.Prepare("INSERT INTO experiment_tags(experiment_id, key, value) "
                           "VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value"));
    st.Args(e.id, tag.key, tag.value);
    return st.Run();
  });
}

Status SqliteTrackingStore::DeleteExperimentTag(const std::string& experiment_id,
                                                const std::string& key) {
  return Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(sqlite::ExperimentRef e, sqlite::FindActiveExperiment(c, experiment_id));
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
