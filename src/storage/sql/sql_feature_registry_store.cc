#include "storage/sql/sql_feature_registry_store.h"

#include "storage/sql/sql_conn.h"
#include "storage/sql/sql_util.h"
#include "storage/sql/sql_conn.h"

namespace kiln::storage {

using sql::Stmt;

namespace {

constexpr const char* kObjectColumns = "project, kind, name, proto, created_us, updated_us";

FeatureObject ReadObject(const Stmt& st) {
  FeatureObject o;
  o.project = st.Text(0);
  o.kind = st.Text(1);
  o.name = st.Text(2);
  o.proto = st.Text(3);  // column_text hands back a BLOB's bytes unchanged
  o.created_us = st.Int(4);
  o.updated_us = st.Int(5);
  return o;
}

Status ObjectNotFound(const std::string& project, const std::string& kind, const std::string& name) {
  return NotFound(kind + " '" + name + "' does not exist in project '" + project + "'");
}

Status InsertEvent(sql::Conn& c, FeatureEvent& e, const std::string& project, const std::string& kind,
                   const std::string& name, int64_t default_ts) {
  if (e.project.empty()) e.project = project;
  if (e.kind.empty()) e.kind = kind;
  if (e.name.empty()) e.name = name;
  if (e.timestamp_us == 0) e.timestamp_us = default_ts;
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("INSERT INTO feature_events(timestamp_us, actor, action, project, "
                                           "kind, name, detail_json) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id"));
  st.Args(e.timestamp_us, e.actor, e.action, e.project, e.kind, e.name, e.detail_json);
  KILN_ASSIGN_OR_RETURN(e.id, sql::RunReturningInt(st));
  return Status::Ok();
}

Status BumpGeneration(sql::Conn& c) {
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("UPDATE feature_registry_generation SET generation = generation + 1 "
                                           "WHERE id = 1"));
  return st.Run();
}

// The engines' spellings for the proto bytes and for a bytewise name prefix
// (the one place this store's SQL differs). SQLite: the proto is bound as
// text and cast to BLOB, which keeps its bytes exactly (the database encoding
// is UTF-8), and substr over BLOB casts compares bytes. PostgreSQL: the
// connection sends text bound to a BYTEA column as binary, and names are
// COLLATE "C" text, compared bytewise.
struct Spelling {
  const char* proto_param;
  const char* name_prefix;  // binds the prefix twice
};
const Spelling& SpellingFor(sql::Dialect d) {
  static const Spelling kSqlite{"CAST(? AS BLOB)",
                                "substr(CAST(name AS BLOB), 1, length(CAST(? AS BLOB))) = CAST(? AS BLOB)"};
  static const Spelling kPostgres{"?", "substr(name, 1, length(?)) = ?"};
  return d == sql::Dialect::kPostgres ? kPostgres : kSqlite;
}

// Upserts and returns the stored object.
StatusOr<FeatureObject> PutIn(sql::Conn& c, const FeatureObject& o) {
  {
    KILN_ASSIGN_OR_RETURN(
        Stmt st, c.Prepare(std::string("INSERT INTO feature_objects(project, kind, name, proto, created_us, "
                                       "updated_us) VALUES (?, ?, ?, ") +
                           SpellingFor(c.dialect()).proto_param +
                           ", ?, ?) ON CONFLICT(project, kind, name) DO UPDATE SET "
                           "proto = excluded.proto, updated_us = excluded.updated_us"));
    KILN_RETURN_IF_ERROR(st.Args(o.project, o.kind, o.name, o.proto, o.created_us, o.updated_us).Run());
  }
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("SELECT created_us FROM feature_objects WHERE project = ? AND kind = ? "
                                           "AND name = ?"));
  st.Args(o.project, o.kind, o.name);
  KILN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Internal("feature object vanished after its upsert");
  FeatureObject stored = o;
  stored.created_us = st.Int(0);
  return stored;
}

Status DeleteIn(sql::Conn& c, const std::string& project, const std::string& kind, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(Stmt st,
                        c.Prepare("DELETE FROM feature_objects WHERE project = ? AND kind = ? AND name = ?"));
  KILN_RETURN_IF_ERROR(st.Args(project, kind, name).Run());
  if (c.Changes() == 0) return ObjectNotFound(project, kind, name);
  return Status::Ok();
}

}  // namespace

StatusOr<FeatureObject> SqlFeatureRegistryStore::Put(const FeatureObject& object, FeatureEvent* event) {
  FeatureObject out;
  FeatureEvent ev_copy;
  Status s = db_.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(out, PutIn(c, object));
    if (event) {
      // Work on a copy: the caller's event changes only once the write committed.
      ev_copy = *event;
      KILN_RETURN_IF_ERROR(InsertEvent(c, ev_copy, object.project, object.kind, object.name, object.updated_us));
    }
    return BumpGeneration(c);
  });
  if (!s.ok()) return s;
  if (event) *event = std::move(ev_copy);
  return out;
}

Status SqlFeatureRegistryStore::Apply(std::vector<Mutation>& mutations) {
  if (mutations.empty()) return Status::Ok();
  std::vector<Mutation> staged;
  Status s = db_.Write([&](sql::Conn& c) -> Status {
    staged = mutations;  // a retried or failed fn leaves the caller's mutations untouched
    for (Mutation& m : staged) {
      FeatureObject& o = m.object;
      if (m.op == Mutation::Op::kPut) {
        KILN_ASSIGN_OR_RETURN(o, PutIn(c, o));
      } else {
        KILN_RETURN_IF_ERROR(DeleteIn(c, o.project, o.kind, o.name));
      }
      if (!m.event.action.empty()) {
        KILN_RETURN_IF_ERROR(InsertEvent(c, m.event, o.project, o.kind, o.name, o.updated_us));
      }
    }
    return BumpGeneration(c);
  });
  if (!s.ok()) return s;
  mutations = std::move(staged);
  return Status::Ok();
}

StatusOr<FeatureObject> SqlFeatureRegistryStore::Get(const std::string& project, const std::string& kind,
                                                        const std::string& name) {
  FeatureObject out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(std::string("SELECT ") + kObjectColumns +
                                             " FROM feature_objects WHERE project = ? AND kind = ? AND name = ?"));
    st.Args(project, kind, name);
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return ObjectNotFound(project, kind, name);
    out = ReadObject(st);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<FeatureObject>> SqlFeatureRegistryStore::List(const FeatureListQuery& query) {
  // At most eight statement shapes, so every one stays in the cache.
  std::string sql = std::string("SELECT ") + kObjectColumns + " FROM feature_objects WHERE 1 = 1";
  std::vector<sql::Arg> args;
  if (!query.project.empty()) {
    sql += " AND project = ?";
    args.emplace_back(query.project);
  }
  if (!query.kind.empty()) {
    sql += " AND kind = ?";
    args.emplace_back(query.kind);
  }
  if (query.name_prefix && !query.name_prefix->empty()) {
    // A bytewise prefix comparison: the prefix needs no LIKE escaping.
    sql += std::string(" AND ") + SpellingFor(db_.dialect()).name_prefix;
    args.emplace_back(*query.name_prefix);
    args.emplace_back(*query.name_prefix);
  }
  sql += " ORDER BY name, project, kind";
  std::vector<FeatureObject> out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(sql));
    st.BindAll(args);
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      out.push_back(ReadObject(st));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Status SqlFeatureRegistryStore::Delete(const std::string& project, const std::string& kind,
                                          const std::string& name, FeatureEvent* event) {
  FeatureEvent ev_copy;
  Status s = db_.Write([&](sql::Conn& c) -> Status {
    KILN_RETURN_IF_ERROR(DeleteIn(c, project, kind, name));
    if (event) {
      ev_copy = *event;
      KILN_RETURN_IF_ERROR(InsertEvent(c, ev_copy, project, kind, name, 0));
    }
    return BumpGeneration(c);
  });
  if (s.ok() && event) *event = std::move(ev_copy);
  return s;
}

Status SqlFeatureRegistryStore::DeleteProject(const std::string& project, FeatureEvent* event) {
  FeatureEvent ev_copy;
  Status s = db_.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("DELETE FROM feature_objects WHERE project = ?"));
    KILN_RETURN_IF_ERROR(st.Args(project).Run());
    if (c.Changes() == 0) return NotFound("project '" + project + "' does not exist");
    if (event) {
      ev_copy = *event;
      KILN_RETURN_IF_ERROR(InsertEvent(c, ev_copy, project, feature_kind::kProject, project, 0));
    }
    return BumpGeneration(c);
  });
  if (s.ok() && event) *event = std::move(ev_copy);
  return s;
}

StatusOr<std::vector<FeatureEvent>> SqlFeatureRegistryStore::ListEvents(const std::string& project,
                                                                           int64_t after_id, int limit) {
  std::string sql =
      "SELECT id, timestamp_us, actor, action, project, kind, name, detail_json FROM feature_events WHERE id > ?";
  if (!project.empty()) sql += " AND project = ?";
  sql += " ORDER BY id LIMIT ?";
  std::vector<FeatureEvent> out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(sql));
    int i = 0;
    st.Bind(++i, after_id);
    if (!project.empty()) st.Bind(++i, project);
    st.Bind(++i, limit > 0 ? static_cast<int64_t>(limit) : sql::kNoLimit);
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      FeatureEvent e;
      e.id = st.Int(0);
      e.timestamp_us = st.Int(1);
      e.actor = st.Text(2);
      e.action = st.Text(3);
      e.project = st.Text(4);
      e.kind = st.Text(5);
      e.name = st.Text(6);
      e.detail_json = st.Text(7);
      out.push_back(std::move(e));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<int64_t> SqlFeatureRegistryStore::Generation() {
  int64_t gen = 0;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(gen, c.QueryInt("SELECT generation FROM feature_registry_generation WHERE id = 1"));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return gen;
}

}  // namespace kiln::storage
