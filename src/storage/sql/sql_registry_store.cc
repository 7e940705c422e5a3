// SqlRegistryStore: registered models, aliases, search and events.
// Model versions live in sqlite_registry_versions.cc.
#include "storage/sql/sql_registry_store.h"

#include "storage/sql/registry_rows.h"
#include "storage/sql/registry_search_sql.h"
#include "storage/sql/registry_store_internal.h"
#include "storage/sql/sql_conn.h"
#include "storage/sql/sql_util.h"
#include "storage/sql/sql_conn.h"

namespace kiln::storage {

using sql::Stmt;

namespace sql {

namespace {

// Stores one event with its rendered snapshots and hands it back to the caller.
Status Record(sql::Conn& c, EventContext& ev, const std::string& name, std::string version,
              std::string before_json, std::string after_json) {
  RegistryEvent e;
  e.timestamp = ev.timestamp;
  e.actor = ev.actor;
  e.action = ev.action;
  e.name = name;
  e.version = std::move(version);
  e.before_json = std::move(before_json);
  e.after_json = std::move(after_json);
  KILN_ASSIGN_OR_RETURN(e.id, InsertEvent(c, e));
  ev.recorded.push_back(std::move(e));
  return Status::Ok();
}

template <typename Entity, typename Render>
std::string Snapshot(const std::optional<Entity>& entity, const Render& render) {
  return entity && render ? render(*entity) : std::string();
}

}  // namespace

Status RecordModelEvent(sql::Conn& c, EventContext& ev, const std::string& name,
                        const std::optional<RegisteredModel>& before, const std::optional<RegisteredModel>& after) {
  if (ev.action.empty()) return Status::Ok();
  return Record(c, ev, name, "", Snapshot(before, ev.model_json), Snapshot(after, ev.model_json));
}

Status RecordVersionEvent(sql::Conn& c, EventContext& ev, const std::string& name, int64_t version,
                          const std::optional<ModelVersion>& before, const std::optional<ModelVersion>& after) {
  if (ev.action.empty()) return Status::Ok();
  return Record(c, ev, name, std::to_string(version), Snapshot(before, ev.version_json),
                Snapshot(after, ev.version_json));
}

}  // namespace sql

using sql::RecordModelEvent;

namespace {

// Applies `change(conn, pk)` to an existing registered model in one write
// transaction and records the event with the model as it was before and
// after. `change` answers whether it changed anything; no change, no event.
template <typename Change>
Status MutateModel(sql::Database& db, EventContext& ev, const std::string& name, RegisteredModel* out,
                   Change change) {
  return db.Write([&](sql::Conn& c) -> Status {
    ev.recorded.clear();
    KILN_ASSIGN_OR_RETURN(int64_t pk, sql::RegisteredModelPk(c, name));
    KILN_ASSIGN_OR_RETURN(RegisteredModel before, sql::LoadRegisteredModel(c, pk));
    KILN_ASSIGN_OR_RETURN(bool changed, change(c, pk));
    KILN_ASSIGN_OR_RETURN(RegisteredModel after, sql::LoadRegisteredModel(c, pk));
    if (changed) KILN_RETURN_IF_ERROR(RecordModelEvent(c, ev, after.name, before, after));
    if (out) *out = std::move(after);
    return Status::Ok();
  });
}

// Runs one statement with the given arguments; true when it touched a row.
template <typename... A>
StatusOr<bool> Exec(sql::Conn& c, const char* sql, const A&... args) {
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(sql));
  st.Args(args...);
  KILN_RETURN_IF_ERROR(st.Run());
  return c.Changes() > 0;
}

}  // namespace

StatusOr<RegisteredModel> SqlRegistryStore::CreateRegisteredModel(const RegisteredModel& model, EventContext& ev) {
  RegisteredModel out;
  Status s = db_.Write([&](sql::Conn& c) -> Status {
    ev.recorded.clear();
    KILN_ASSIGN_OR_RETURN(Stmt dup, c.Prepare("SELECT 1 FROM registered_models WHERE name = ?"));
    dup.Bind(1, model.name);
    KILN_ASSIGN_OR_RETURN(bool exists, dup.Step());
    if (exists) return AlreadyExists("Registered Model (name=" + model.name + ") already exists.");
    dup.Reset();
    KILN_ASSIGN_OR_RETURN(Stmt ins, c.Prepare("INSERT INTO registered_models(name, creation_time, last_updated_time, "
                                              "user_id, description) VALUES (?, ?, ?, ?, ?) RETURNING id"));
    ins.Args(model.name, model.creation_timestamp, model.last_updated_timestamp, model.user_id, model.description);
    KILN_ASSIGN_OR_RETURN(int64_t pk, sql::RunReturningInt(ins));
    KILN_ASSIGN_OR_RETURN(Stmt tag, c.Prepare("INSERT INTO registered_model_tags(model_pk, key, value) "
                                              "VALUES (?, ?, ?) ON CONFLICT (model_pk, key) DO UPDATE "
                                              "SET value = excluded.value"));
    for (const Tag& t : model.tags) {
      tag.Args(pk, t.key, t.value);
      KILN_RETURN_IF_ERROR(tag.Run());
    }
    KILN_ASSIGN_OR_RETURN(out, sql::LoadRegisteredModel(c, pk));
    return RecordModelEvent(c, ev, model.name, std::nullopt, out);
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<RegisteredModel> SqlRegistryStore::GetRegisteredModel(const std::string& name) {
  RegisteredModel out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(int64_t pk, sql::RegisteredModelPk(c, name));
    KILN_ASSIGN_OR_RETURN(out, sql::LoadRegisteredModel(c, pk));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<RegisteredModel> SqlRegistryStore::RenameRegisteredModel(const std::string& name,
                                                                     const std::string& new_name, int64_t now_ms,
                                                                     EventContext& ev) {
  RegisteredModel out;
  KILN_RETURN_IF_ERROR(MutateModel(db_, ev, name, &out, [&](sql::Conn& c, int64_t pk) -> StatusOr<bool> {
    if (new_name != name) {
      KILN_ASSIGN_OR_RETURN(Stmt dup, c.Prepare("SELECT 1 FROM registered_models WHERE name = ?"));
      dup.Bind(1, new_name);
      KILN_ASSIGN_OR_RETURN(bool exists, dup.Step());
      if (exists) return AlreadyExists("Registered Model (name=" + new_name + ") already exists.");
    }
    return Exec(c, "UPDATE registered_models SET name = ?, last_updated_time = ? WHERE id = ?", new_name, now_ms, pk);
  }));
  return out;
}

StatusOr<RegisteredModel> SqlRegistryStore::UpdateRegisteredModel(const std::string& name,
                                                                     const std::string& description, int64_t now_ms,
                                                                     EventContext& ev) {
  RegisteredModel out;
  KILN_RETURN_IF_ERROR(MutateModel(db_, ev, name, &out, [&](sql::Conn& c, int64_t pk) -> StatusOr<bool> {
    return Exec(c, "UPDATE registered_models SET description = ?, last_updated_time = ? WHERE id = ?", description,
                now_ms, pk);
  }));
  return out;
}

StatusOr<std::vector<std::string>> SqlRegistryStore::DeleteRegisteredModel(const std::string& name,
                                                                            EventContext& ev) {
  std::vector<std::string> paths;
  Status s = db_.Write([&](sql::Conn& c) -> Status {
    ev.recorded.clear();
    paths.clear();
    KILN_ASSIGN_OR_RETURN(int64_t pk, sql::RegisteredModelPk(c, name));
    KILN_ASSIGN_OR_RETURN(RegisteredModel before, sql::LoadRegisteredModel(c, pk));
    KILN_ASSIGN_OR_RETURN(Stmt sel, c.Prepare("SELECT storage_path FROM model_versions WHERE model_pk = ?"));
    sel.Bind(1, pk);
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, sel.Step());
      if (!row) break;
      if (!sel.IsNull(0) && !sel.Text(0).empty()) paths.push_back(sel.Text(0));
    }
    sel.Reset();
    for (const char* sql : {"DELETE FROM registered_model_aliases WHERE model_pk = ?",
                            "DELETE FROM model_version_tags WHERE model_pk = ?",
                            "DELETE FROM model_versions WHERE model_pk = ?",
                            "DELETE FROM registered_model_tags WHERE model_pk = ?",
                            "DELETE FROM registered_models WHERE id = ?"}) {
      KILN_ASSIGN_OR_RETURN(Stmt del, c.Prepare(sql));
      del.Bind(1, pk);
      KILN_RETURN_IF_ERROR(del.Run());
    }
    return RecordModelEvent(c, ev, name, before, std::nullopt);
  });
  if (!s.ok()) return s;
  return paths;
}

StatusOr<Page<RegisteredModel>> SqlRegistryStore::SearchRegisteredModels(const RegisteredModelQuery& query) {
  KILN_ASSIGN_OR_RETURN(sql::SqlQuery sql, sql::BuildRegisteredModelSearchSql(query, db_.dialect()));
  Page<RegisteredModel> page;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    page.items.clear();
    std::vector<int64_t> pks;
    {
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(sql.sql));
      st.BindAll(sql.args);
      while (true) {
        KILN_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        pks.push_back(st.Int(0));
      }
    }
    page.has_more = static_cast<int64_t>(pks.size()) > query.max_results;
    if (page.has_more) pks.resize(static_cast<size_t>(query.max_results));
    for (int64_t pk : pks) {
      KILN_ASSIGN_OR_RETURN(RegisteredModel m, sql::LoadRegisteredModel(c, pk));
      page.items.push_back(std::move(m));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return page;
}

Status SqlRegistryStore::SetRegisteredModelTag(const std::string& name, const Tag& tag, EventContext& ev) {
  return MutateModel(db_, ev, name, nullptr, [&](sql::Conn& c, int64_t pk) {
    return Exec(c, "INSERT INTO registered_model_tags(model_pk, key, value) VALUES (?, ?, ?) "
                   "ON CONFLICT (model_pk, key) DO UPDATE SET value = excluded.value", pk, tag.key,
                tag.value);
  });
}

Status SqlRegistryStore::DeleteRegisteredModelTag(const std::string& name, const std::string& key,
                                                     EventContext& ev) {
  // As MLflow: deleting a missing tag is fine (and records nothing).
  return MutateModel(db_, ev, name, nullptr, [&](sql::Conn& c, int64_t pk) {
    return Exec(c, "DELETE FROM registered_model_tags WHERE model_pk = ? AND key = ?", pk, key);
  });
}

Status SqlRegistryStore::SetAlias(const std::string& name, const std::string& alias, int64_t version,
                                     EventContext& ev) {
  return MutateModel(db_, ev, name, nullptr, [&](sql::Conn& c, int64_t pk) -> StatusOr<bool> {
    KILN_RETURN_IF_ERROR(sql::RequireModelVersion(c, pk, name, version).status());
    return Exec(c, "INSERT INTO registered_model_aliases(model_pk, alias, version) VALUES (?, ?, ?) "
                   "ON CONFLICT (model_pk, alias) DO UPDATE SET version = excluded.version", pk,
                alias, version);
  });
}

Status SqlRegistryStore::DeleteAlias(const std::string& name, const std::string& alias, EventContext& ev) {
  return MutateModel(db_, ev, name, nullptr, [&](sql::Conn& c, int64_t pk) {
    return Exec(c, "DELETE FROM registered_model_aliases WHERE model_pk = ? AND alias = ?", pk, alias);
  });
}

StatusOr<std::vector<RegistryEvent>> SqlRegistryStore::ListEvents(const RegistryEventQuery& query) {
  std::vector<RegistryEvent> out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    out.clear();
    const char* sql = query.name.empty()
                          ? "SELECT id, timestamp, actor, action, name, version, before_json, after_json "
                            "FROM registry_events WHERE id > ? AND ? = '' ORDER BY id LIMIT ?"
                          : "SELECT id, timestamp, actor, action, name, version, before_json, after_json "
                            "FROM registry_events WHERE id > ? AND name = ? ORDER BY id LIMIT ?";
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(sql));
    st.Args(query.after_id, query.name, query.max_results);
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      RegistryEvent e;
      e.id = st.Int(0);
      e.timestamp = st.Int(1);
      e.actor = st.Text(2);
      e.action = st.Text(3);
      e.name = st.Text(4);
      e.version = st.Text(5);
      e.before_json = st.Text(6);
      e.after_json = st.Text(7);
      out.push_back(std::move(e));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace kiln::storage
