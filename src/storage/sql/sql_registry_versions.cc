// SqlRegistryStore: model versions (create, read, update, stages, delete,
// search, tags).
#include "storage/sql/registry_rows.h"
#include "storage/sql/registry_search_sql.h"
#include "storage/sql/registry_store_internal.h"
#include "storage/sql/sql_conn.h"
#include "storage/sql/sql_util.h"
#include "storage/sql/sql_conn.h"
#include "storage/sql/sql_util.h"
#include "storage/sql/sql_registry_store.h"

namespace kiln::storage {

using sql::RecordVersionEvent;
using sql::Stmt;

StatusOr<ModelVersion> SqlRegistryStore::CreateModelVersion(const ModelVersion& version, EventContext& ev) {
  ModelVersion out;
  Status s = db_.Write([&](sql::Conn& c) -> Status {
    ev.recorded.clear();
    KILN_ASSIGN_OR_RETURN(int64_t pk, sql::RegisteredModelPk(c, version.name));
    // Taking the number updates (and so locks) the model's row: concurrent
    // writers on PostgreSQL queue there instead of reading the same number.
    int64_t next = 0;
    {
      KILN_ASSIGN_OR_RETURN(Stmt take, c.Prepare("UPDATE registered_models SET next_version = next_version + 1, "
                                                 "last_updated_time = ? WHERE id = ? RETURNING next_version - 1"));
      take.Args(version.creation_timestamp, pk);
      KILN_ASSIGN_OR_RETURN(next, sql::RunReturningInt(take));
    }
    KILN_ASSIGN_OR_RETURN(
        Stmt ins, c.Prepare("INSERT INTO model_versions(model_pk, version, creation_time, last_updated_time, "
                            "user_id, current_stage, description, source, run_id, status, status_message, "
                            "run_link, model_id, storage_path, external_location) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    ins.Args(pk, next, version.creation_timestamp, version.last_updated_timestamp, version.user_id,
             version.current_stage, version.description, version.source, version.run_id, version.status,
             version.status_message, version.run_link, version.model_id, version.storage_path,
             version.external_location);
    KILN_RETURN_IF_ERROR(ins.Run());
    KILN_ASSIGN_OR_RETURN(Stmt tag, c.Prepare("INSERT INTO model_version_tags(model_pk, version, key, value) "
                                              "VALUES (?, ?, ?, ?) ON CONFLICT (model_pk, version, key) DO UPDATE "
                                              "SET value = excluded.value"));
    for (const Tag& t : version.tags) {
      tag.Args(pk, next, t.key, t.value);
      KILN_RETURN_IF_ERROR(tag.Run());
    }
    KILN_ASSIGN_OR_RETURN(out, sql::RequireModelVersion(c, pk, version.name, next));
    return RecordVersionEvent(c, ev, version.name, next, std::nullopt, out);
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<ModelVersion> SqlRegistryStore::GetModelVersion(const std::string& name, int64_t version) {
  ModelVersion out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(int64_t pk, sql::RegisteredModelPk(c, name));
    KILN_ASSIGN_OR_RETURN(out, sql::RequireModelVersion(c, pk, name, version));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<ModelVersion> SqlRegistryStore::GetModelVersionByAlias(const std::string& name,
                                                                   const std::string& alias) {
  ModelVersion out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(int64_t pk, sql::RegisteredModelPk(c, name));
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("SELECT version FROM registered_model_aliases "
                                             "WHERE model_pk = ? AND alias = ?"));
    st.Args(pk, alias);
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return InvalidArgument("Registered model alias " + alias + " not found.");
    int64_t version = st.Int(0);
    st.Reset();
    KILN_ASSIGN_OR_RETURN(out, sql::RequireModelVersion(c, pk, name, version));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

namespace {

// Runs `change` on an existing version inside the caller's transaction,
// touching the version and its model and recording the event.
template <typename Change>
Status MutateVersion(sql::Conn& c, EventContext& ev, const std::string& name, int64_t version, int64_t now_ms,
                     bool touch, ModelVersion* out, Change change) {
  ev.recorded.clear();
  KILN_ASSIGN_OR_RETURN(int64_t pk, sql::RegisteredModelPk(c, name));
  KILN_ASSIGN_OR_RETURN(ModelVersion before, sql::RequireModelVersion(c, pk, name, version));
  KILN_RETURN_IF_ERROR(change(pk));
  if (touch) {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("UPDATE model_versions SET last_updated_time = ? "
                                             "WHERE model_pk = ? AND version = ?"));
    st.Args(now_ms, pk, version);
    KILN_RETURN_IF_ERROR(st.Run());
    KILN_RETURN_IF_ERROR(sql::TouchRegisteredModel(c, pk, now_ms));
  }
  KILN_ASSIGN_OR_RETURN(ModelVersion after, sql::RequireModelVersion(c, pk, name, version));
  KILN_RETURN_IF_ERROR(RecordVersionEvent(c, ev, name, version, before, after));
  if (out) *out = std::move(after);
  return Status::Ok();
}

}  // namespace

StatusOr<ModelVersion> SqlRegistryStore::UpdateModelVersion(const std::string& name, int64_t version,
                                                               const std::string& description, int64_t now_ms,
                                                               EventContext& ev) {
  ModelVersion out;
  Status s = db_.Write([&](sql::Conn& c) -> Status {
    return MutateVersion(c, ev, name, version, now_ms, true, &out, [&](int64_t pk) -> Status {
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("UPDATE model_versions SET description = ? "
                                               "WHERE model_pk = ? AND version = ?"));
      st.Args(description, pk, version);
      return st.Run();
    });
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<ModelVersion> SqlRegistryStore::TransitionStage(const std::string& name, int64_t version,
                                                            const std::string& stage, bool archive_existing,
                                                            int64_t now_ms, EventContext& ev) {
  ModelVersion out;
  Status s = db_.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(int64_t pk, sql::RegisteredModelPk(c, name));
    std::vector<int64_t> to_archive;
    if (archive_existing) {
      KILN_ASSIGN_OR_RETURN(Stmt sel, c.Prepare("SELECT version FROM model_versions WHERE model_pk = ? "
                                                "AND current_stage = ? AND version != ? ORDER BY version"));
      sel.Args(pk, stage, version);
      while (true) {
        KILN_ASSIGN_OR_RETURN(bool row, sel.Step());
        if (!row) break;
        to_archive.push_back(sel.Int(0));
      }
    }
    KILN_ASSIGN_OR_RETURN(Stmt set, c.Prepare("UPDATE model_versions SET current_stage = ? "
                                              "WHERE model_pk = ? AND version = ?"));
    // The requested version first (it must exist before anything is archived).
    KILN_RETURN_IF_ERROR(MutateVersion(c, ev, name, version, now_ms, true, &out, [&](int64_t) -> Status {
      set.Args(stage, pk, version);
      return set.Run();
    }));
    std::vector<RegistryEvent> recorded = std::move(ev.recorded);
    for (int64_t v : to_archive) {
      KILN_RETURN_IF_ERROR(MutateVersion(c, ev, name, v, now_ms, true, nullptr, [&](int64_t) -> Status {
        set.Args(kStageArchived, pk, v);
        return set.Run();
      }));
      for (auto& e : ev.recorded) recorded.push_back(std::move(e));
    }
    ev.recorded = std::move(recorded);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::string> SqlRegistryStore::DeleteModelVersion(const std::string& name, int64_t version,
                                                              EventContext& ev) {
  std::string path;
  Status s = db_.Write([&](sql::Conn& c) -> Status {
    ev.recorded.clear();
    KILN_ASSIGN_OR_RETURN(int64_t pk, sql::RegisteredModelPk(c, name));
    KILN_ASSIGN_OR_RETURN(ModelVersion before, sql::RequireModelVersion(c, pk, name, version));
    path = before.storage_path;
    for (const char* sql : {"DELETE FROM registered_model_aliases WHERE model_pk = ? AND version = ?",
                            "DELETE FROM model_version_tags WHERE model_pk = ? AND version = ?",
                            "DELETE FROM model_versions WHERE model_pk = ? AND version = ?"}) {
      KILN_ASSIGN_OR_RETURN(Stmt del, c.Prepare(sql));
      del.Args(pk, version);
      KILN_RETURN_IF_ERROR(del.Run());
    }
    KILN_RETURN_IF_ERROR(sql::TouchRegisteredModel(c, pk, ev.timestamp));
    return RecordVersionEvent(c, ev, name, version, before, std::nullopt);
  });
  if (!s.ok()) return s;
  return path;
}

StatusOr<Page<ModelVersion>> SqlRegistryStore::SearchModelVersions(const ModelVersionQuery& query) {
  KILN_ASSIGN_OR_RETURN(sql::SqlQuery sql, sql::BuildModelVersionSearchSql(query, db_.dialect()));
  Page<ModelVersion> page;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    page.items.clear();
    struct Key {
      int64_t pk;
      int64_t version;
      std::string name;
    };
    std::vector<Key> keys;
    {
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(sql.sql));
      st.BindAll(sql.args);
      while (true) {
        KILN_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        keys.push_back({st.Int(0), st.Int(1), st.Text(2)});
      }
    }
    page.has_more = static_cast<int64_t>(keys.size()) > query.max_results;
    if (page.has_more) keys.resize(static_cast<size_t>(query.max_results));
    for (const Key& k : keys) {
      KILN_ASSIGN_OR_RETURN(ModelVersion v, sql::RequireModelVersion(c, k.pk, k.name, k.version));
      page.items.push_back(std::move(v));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return page;
}

StatusOr<std::vector<ModelVersion>> SqlRegistryStore::GetLatestVersions(const std::string& name,
                                                                          const std::vector<std::string>& stages) {
  std::vector<ModelVersion> out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(int64_t pk, sql::RegisteredModelPk(c, name));
    KILN_ASSIGN_OR_RETURN(out, sql::LatestVersions(c, pk, name, stages));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Status SqlRegistryStore::SetModelVersionTag(const std::string& name, int64_t version, const Tag& tag,
                                               EventContext& ev) {
  return db_.Write([&](sql::Conn& c) -> Status {
    return MutateVersion(c, ev, name, version, 0, false, nullptr, [&](int64_t pk) -> Status {
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("INSERT INTO model_version_tags(model_pk, version, key, value) "
                                               "VALUES (?, ?, ?, ?) ON CONFLICT (model_pk, version, key) DO UPDATE "
                                               "SET value = excluded.value"));
      st.Args(pk, version, tag.key, tag.value);
      return st.Run();
    });
  });
}

Status SqlRegistryStore::DeleteModelVersionTag(const std::string& name, int64_t version, const std::string& key,
                                                  EventContext& ev) {
  return db_.Write([&](sql::Conn& c) -> Status {
    return MutateVersion(c, ev, name, version, 0, false, nullptr, [&](int64_t pk) -> Status {
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("DELETE FROM model_version_tags WHERE model_pk = ? AND version = ? "
                                               "AND key = ?"));
      st.Args(pk, version, key);
      return st.Run();
    });
  });
}

}  // namespace kiln::storage
