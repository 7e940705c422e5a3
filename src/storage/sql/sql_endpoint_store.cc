#include "storage/sql/sql_endpoint_store.h"

#include "storage/sql/endpoint_rows.h"
#include "storage/sql/sql_conn.h"
#include "storage/sql/sql_conn.h"

namespace kiln::storage {

using sql::Stmt;

namespace {

constexpr const char* kEndpointColumns =
    "name, created_ms, updated_ms, created_by, config_version, settings_json, state_json";
constexpr const char* kRevisionColumns = "revision, created_ms, created_by, reason, spec_json";

Status EndpointNotFound(const std::string& name) { return NotFound("endpoint '" + name + "' does not exist"); }

StatusOr<EndpointRecord> ReadEndpoint(const Stmt& st) {
  EndpointRecord r;
  r.name = st.Text(0);
  r.created_ms = st.Int(1);
  r.updated_ms = st.Int(2);
  r.created_by = st.Text(3);
  KILN_ASSIGN_OR_RETURN(r.settings, sql::SettingsFromJson(st.Text(5)));
  KILN_ASSIGN_OR_RETURN(r.state, sql::StateFromJson(st.Text(6)));
  r.state.config_version = st.Int(4);
  return r;
}

StatusOr<EndpointRevision> ReadRevision(const Stmt& st) {
  EndpointRevision r;
  r.number = st.Int(0);
  r.created_ms = st.Int(1);
  r.created_by = st.Text(2);
  r.reason = st.Text(3);
  KILN_ASSIGN_OR_RETURN(r.spec, sql::SpecFromJson(st.Text(4)));
  return r;
}

StatusOr<EndpointRecord> GetIn(sql::Conn& c, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(Stmt st,
                        c.Prepare(std::string("SELECT ") + kEndpointColumns + " FROM endpoints WHERE name = ?"));
  st.Args(name);
  KILN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return EndpointNotFound(name);
  return ReadEndpoint(st);
}

StatusOr<bool> ExistsIn(sql::Conn& c, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(int64_t n, c.QueryInt("SELECT count(*) FROM endpoints WHERE name = ?", {name}));
  return n > 0;
}

Status InsertRevision(sql::Conn& c, const std::string& endpoint, const EndpointRevision& r, int64_t number) {
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("INSERT INTO endpoint_revisions(endpoint, revision, created_ms, "
                                           "created_by, reason, spec_json) VALUES (?, ?, ?, ?, ?, ?)"));
  return st.Args(endpoint, number, r.created_ms, r.created_by, r.reason, sql::SpecToJson(r.spec)).Run();
}

Status InsertEvent(sql::Conn& c, const EndpointEvent& given, const std::string& endpoint, int64_t default_ts) {
  EndpointEvent e = given;
  if (e.endpoint.empty()) e.endpoint = endpoint;
  if (e.timestamp_ms == 0) e.timestamp_ms = default_ts;
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("INSERT INTO endpoint_events(endpoint, timestamp_ms, actor, action, "
                                           "reason, revision, detail_json) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  return st.Args(e.endpoint, e.timestamp_ms, e.actor, e.action, e.reason, e.revision, e.detail_json).Run();
}

}  // namespace

StatusOr<EndpointRecord> SqlEndpointStore::CreateEndpoint(const EndpointRecord& endpoint,
                                                             const EndpointRevision& first,
                                                             const EndpointEvent& event) {
  if (endpoint.name.empty()) return InvalidArgument("an endpoint needs a name");
  if (first.number != 0 && first.number != 1) {
    return InvalidArgument("the first revision of endpoint '" + endpoint.name + "' must be number 1, not " +
                           std::to_string(first.number));
  }
  EndpointRecord out;
  Status s = db_.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(bool exists, ExistsIn(c, endpoint.name));
    if (exists) return AlreadyExists("endpoint '" + endpoint.name + "' already exists");
    {
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("INSERT INTO endpoints(name, created_ms, updated_ms, created_by, "
                                               "config_version, settings_json, state_json) "
                                               "VALUES (?, ?, ?, ?, 1, ?, ?)"));
      KILN_RETURN_IF_ERROR(st.Args(endpoint.name, endpoint.created_ms, endpoint.updated_ms, endpoint.created_by,
                                   sql::SettingsToJson(endpoint.settings),
                                   sql::StateToJson(endpoint.state))
                               .Run());
    }
    KILN_RETURN_IF_ERROR(InsertRevision(c, endpoint.name, first, 1));
    KILN_RETURN_IF_ERROR(InsertEvent(c, event, endpoint.name, endpoint.created_ms));
    KILN_ASSIGN_OR_RETURN(out, GetIn(c, endpoint.name));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<EndpointRecord> SqlEndpointStore::GetEndpoint(const std::string& name) {
  EndpointRecord out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(out, GetIn(c, name));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<EndpointRecord>> SqlEndpointStore::ListEndpoints() {
  std::vector<EndpointRecord> out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt st,
                          c.Prepare(std::string("SELECT ") + kEndpointColumns + " FROM endpoints ORDER BY name"));
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      KILN_ASSIGN_OR_RETURN(EndpointRecord r, ReadEndpoint(st));
      out.push_back(std::move(r));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<EndpointRecord> SqlEndpointStore::UpdateEndpoint(const EndpointRecord& endpoint,
                                                             int64_t expected_config_version,
                                                             const std::optional<EndpointRevision>& new_revision,
                                                             const EndpointEvent& event) {
  EndpointRecord out;
  Status s = db_.Write([&](sql::Conn& c) -> Status {
    {
      // The check and the write are one statement, inside the write transaction.
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("UPDATE endpoints SET updated_ms = ?, settings_json = ?, "
                                               "state_json = ?, config_version = config_version + 1 "
                                               "WHERE name = ? AND config_version = ?"));
      KILN_RETURN_IF_ERROR(st.Args(endpoint.updated_ms, sql::SettingsToJson(endpoint.settings),
                                   sql::StateToJson(endpoint.state), endpoint.name, expected_config_version)
                               .Run());
    }
    if (c.Changes() == 0) {
      KILN_ASSIGN_OR_RETURN(bool exists, ExistsIn(c, endpoint.name));
      if (!exists) return EndpointNotFound(endpoint.name);
      KILN_ASSIGN_OR_RETURN(int64_t stored, c.QueryInt("SELECT config_version FROM endpoints WHERE name = ?",
                                                        {endpoint.name}));
      return Status(StatusCode::kAborted, "endpoint '" + endpoint.name + "' changed concurrently (config_version " +
                                              std::to_string(stored) + ", expected " +
                                              std::to_string(expected_config_version) + ")");
    }
    if (new_revision) {
      KILN_ASSIGN_OR_RETURN(int64_t latest,
                            c.QueryInt("SELECT coalesce(max(revision), 0) FROM endpoint_revisions WHERE endpoint = ?",
                                       {endpoint.name}));
      if (new_revision->number != latest + 1) {
        return InvalidArgument("new revision of endpoint '" + endpoint.name + "' must be number " +
                               std::to_string(latest + 1) + ", not " + std::to_string(new_revision->number));
      }
      KILN_RETURN_IF_ERROR(InsertRevision(c, endpoint.name, *new_revision, new_revision->number));
    }
    KILN_RETURN_IF_ERROR(InsertEvent(c, event, endpoint.name, endpoint.updated_ms));
    KILN_ASSIGN_OR_RETURN(out, GetIn(c, endpoint.name));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Status SqlEndpointStore::DeleteEndpoint(const std::string& name, const EndpointEvent& event) {
  return db_.Write([&](sql::Conn& c) -> Status {
    {
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("DELETE FROM endpoint_revisions WHERE endpoint = ?"));
      KILN_RETURN_IF_ERROR(st.Args(name).Run());
    }
    {
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("DELETE FROM endpoints WHERE name = ?"));
      KILN_RETURN_IF_ERROR(st.Args(name).Run());
    }
    if (c.Changes() == 0) return EndpointNotFound(name);
    return InsertEvent(c, event, name, 0);
  });
}

StatusOr<std::vector<EndpointRevision>> SqlEndpointStore::ListRevisions(const std::string& name) {
  std::vector<EndpointRevision> out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(bool exists, ExistsIn(c, name));
    if (!exists) return EndpointNotFound(name);
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(std::string("SELECT ") + kRevisionColumns +
                                             " FROM endpoint_revisions WHERE endpoint = ? ORDER BY revision"));
    st.Args(name);
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      KILN_ASSIGN_OR_RETURN(EndpointRevision r, ReadRevision(st));
      out.push_back(std::move(r));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<EndpointRevision> SqlEndpointStore::GetRevision(const std::string& name, int64_t number) {
  EndpointRevision out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(std::string("SELECT ") + kRevisionColumns +
                                             " FROM endpoint_revisions WHERE endpoint = ? AND revision = ?"));
    st.Args(name, number);
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) {
      KILN_ASSIGN_OR_RETURN(bool exists, ExistsIn(c, name));
      if (!exists) return EndpointNotFound(name);
      return NotFound("revision " + std::to_string(number) + " of endpoint '" + name + "' does not exist");
    }
    KILN_ASSIGN_OR_RETURN(out, ReadRevision(st));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<EndpointEvent>> SqlEndpointStore::ListEvents(const std::string& name, int64_t after_id,
                                                                     int64_t max_results) {
  std::vector<EndpointEvent> out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("SELECT id, endpoint, timestamp_ms, actor, action, reason, revision, "
                                             "detail_json FROM endpoint_events WHERE endpoint = ? AND id > ? "
                                             "ORDER BY id LIMIT ?"));
    st.Args(name, after_id, max_results > 0 ? max_results : sql::kNoLimit);
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      EndpointEvent e;
      e.id = st.Int(0);
      e.endpoint = st.Text(1);
      e.timestamp_ms = st.Int(2);
      e.actor = st.Text(3);
      e.action = st.Text(4);
      e.reason = st.Text(5);
      e.revision = st.Int(6);
      e.detail_json = st.Text(7);
      out.push_back(std::move(e));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace kiln::storage
