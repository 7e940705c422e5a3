#include "storage/sql/registry_rows.h"

#include "storage/sql/sql_util.h"

#include <algorithm>

namespace kiln::storage::sql {
namespace {

constexpr const char* kVersionColumns =
    "version, creation_time, last_updated_time, user_id, current_stage, description, source, run_id, "
    "status, status_message, run_link, model_id, storage_path, external_location";

ModelVersion VersionFromRow(const Stmt& st, const std::string& name) {
  ModelVersion v;
  v.name = name;
  v.version = st.Int(0);
  v.creation_timestamp = st.Int(1);
  v.last_updated_timestamp = st.Int(2);
  v.user_id = st.Text(3);
  v.current_stage = st.Text(4);
  v.description = st.Text(5);
  v.source = st.Text(6);
  v.run_id = st.Text(7);
  v.status = st.Text(8);
  v.status_message = st.Text(9);
  v.run_link = st.Text(10);
  v.model_id = st.Text(11);
  v.storage_path = st.Text(12);
  v.external_location = st.Text(13);
  return v;
}

Status LoadVersionExtras(sql::Conn& c, int64_t pk, ModelVersion& v) {
  KILN_ASSIGN_OR_RETURN(Stmt tags, c.Prepare("SELECT key, value FROM model_version_tags "
                                             "WHERE model_pk = ? AND version = ? ORDER BY key"));
  tags.Args(pk, v.version);
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, tags.Step());
    if (!row) break;
    v.tags.push_back({tags.Text(0), tags.Text(1)});
  }
  KILN_ASSIGN_OR_RETURN(Stmt aliases, c.Prepare("SELECT alias FROM registered_model_aliases "
                                                "WHERE model_pk = ? AND version = ? ORDER BY alias"));
  aliases.Args(pk, v.version);
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, aliases.Step());
    if (!row) break;
    v.aliases.push_back(aliases.Text(0));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<int64_t> RegisteredModelPk(sql::Conn& c, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("SELECT id FROM registered_models WHERE name = ?"));
  st.Bind(1, name);
  KILN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFound("Registered Model with name=" + name + " not found");
  return st.Int(0);
}

StatusOr<std::optional<ModelVersion>> LoadModelVersion(sql::Conn& c, int64_t pk, const std::string& name,
                                                       int64_t version) {
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(std::string("SELECT ") + kVersionColumns +
                                           " FROM model_versions WHERE model_pk = ? AND version = ?"));
  st.Args(pk, version);
  KILN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<ModelVersion>();
  ModelVersion v = VersionFromRow(st, name);
  st.Reset();
  KILN_RETURN_IF_ERROR(LoadVersionExtras(c, pk, v));
  return std::optional<ModelVersion>(std::move(v));
}

StatusOr<ModelVersion> RequireModelVersion(sql::Conn& c, int64_t pk, const std::string& name, int64_t version) {
  KILN_ASSIGN_OR_RETURN(std::optional<ModelVersion> v, LoadModelVersion(c, pk, name, version));
  if (!v) {
    return NotFound("Model Version (name=" + name + ", version=" + std::to_string(version) + ") not found");
  }
  return std::move(*v);
}

StatusOr<std::vector<ModelVersion>> LatestVersions(sql::Conn& c, int64_t pk, const std::string& name,
                                                   const std::vector<std::string>& stages) {
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("SELECT current_stage, max(version) FROM model_versions "
                                           "WHERE model_pk = ? GROUP BY current_stage"));
  st.Bind(1, pk);
  std::vector<int64_t> versions;
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    if (!stages.empty() && std::find(stages.begin(), stages.end(), st.Text(0)) == stages.end()) continue;
    versions.push_back(st.Int(1));
  }
  st.Reset();
  std::sort(versions.begin(), versions.end());
  std::vector<ModelVersion> out;
  for (int64_t v : versions) {
    KILN_ASSIGN_OR_RETURN(ModelVersion mv, RequireModelVersion(c, pk, name, v));
    out.push_back(std::move(mv));
  }
  return out;
}

StatusOr<RegisteredModel> LoadRegisteredModel(sql::Conn& c, int64_t pk) {
  RegisteredModel m;
  {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("SELECT name, creation_time, last_updated_time, user_id, description "
                                             "FROM registered_models WHERE id = ?"));
    st.Bind(1, pk);
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return NotFound("Registered Model with id=" + std::to_string(pk) + " not found");
    m.name = st.Text(0);
    m.creation_timestamp = st.Int(1);
    m.last_updated_timestamp = st.Int(2);
    m.user_id = st.Text(3);
    m.description = st.Text(4);
  }
  {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("SELECT key, value FROM registered_model_tags "
                                             "WHERE model_pk = ? ORDER BY key"));
    st.Bind(1, pk);
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      m.tags.push_back({st.Text(0), st.Text(1)});
    }
  }
  {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("SELECT alias, version FROM registered_model_aliases "
                                             "WHERE model_pk = ? ORDER BY alias"));
    st.Bind(1, pk);
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      m.aliases.push_back({st.Text(0), st.Int(1)});
    }
  }
  KILN_ASSIGN_OR_RETURN(m.latest_versions, LatestVersions(c, pk, m.name, {}));
  return m;
}

Status TouchRegisteredModel(sql::Conn& c, int64_t pk, int64_t now_ms) {
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("UPDATE registered_models SET last_updated_time = ? WHERE id = ?"));
  st.Args(now_ms, pk);
  return st.Run();
}

// Events are listed by id, so an event's timestamp is never earlier than the
// one recorded before it: with concurrent writers (PostgreSQL, several
// replicas) a transaction that stamped its time first can commit second.
StatusOr<int64_t> InsertEvent(sql::Conn& c, const RegistryEvent& e) {
  KILN_ASSIGN_OR_RETURN(
      Stmt st, c.Prepare("INSERT INTO registry_events(timestamp, actor, action, name, version, before_json, after_json) "
                         "SELECT CASE WHEN ?1 >= p.t THEN ?1 ELSE p.t END, ?2, ?3, ?4, ?5, ?6, ?7 FROM "
                         "(SELECT COALESCE((SELECT timestamp FROM registry_events ORDER BY id DESC LIMIT 1), 0) AS t) p "
                         "RETURNING id"));
  st.Args(e.timestamp, e.actor, e.action, e.name, e.version, e.before_json, e.after_json);
  return sql::RunReturningInt(st);
}

}  // namespace kiln::storage::sql
