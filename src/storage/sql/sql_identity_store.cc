#include "storage/sql/sql_identity_store.h"

#include <nlohmann/json.hpp>

#include "storage/sql/sql_conn.h"
#include "storage/sql/sql_util.h"
#include "storage/sql/sql_conn.h"

namespace kiln::storage {

using sql::Stmt;

namespace {

constexpr const char* kUserColumns =
    "id, name, service_account, admin, password_hash, groups_json, created_ms, updated_ms, password_changed_ms";
constexpr const char* kTokenColumns =
    "t.id, t.user_id, u.name, t.name, t.hash, t.created_ms, t.expires_ms, t.revoked_ms, t.last_used_ms";
constexpr const char* kGrantColumns =
    "id, subject_kind, subject, object_kind, object_id, role, created_by, created_ms";

Status UserNotFound(const std::string& name) { return NotFound("user '" + name + "' does not exist"); }
Status TokenNotFound(const std::string& id) { return NotFound("token '" + id + "' does not exist"); }
Status GrantNotFound(int64_t id) { return NotFound("grant " + std::to_string(id) + " does not exist"); }

std::string GroupsToJson(const std::vector<std::string>& groups) { return nlohmann::json(groups).dump(); }

StatusOr<std::vector<std::string>> GroupsFromJson(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return Internal("users.groups_json is not a JSON array: " + text);
  std::vector<std::string> out;
  for (const auto& g : j) {
    if (!g.is_string()) return Internal("users.groups_json holds a non-string: " + text);
    out.push_back(g.get<std::string>());
  }
  return out;
}

StatusOr<UserRecord> ReadUser(const Stmt& st) {
  UserRecord u;
  u.id = st.Int(0);
  u.name = st.Text(1);
  u.service_account = st.Int(2) != 0;
  u.admin = st.Int(3) != 0;
  u.password_hash = st.Text(4);
  KILN_ASSIGN_OR_RETURN(u.groups, GroupsFromJson(st.Text(5)));
  u.created_ms = st.Int(6);
  u.updated_ms = st.Int(7);
  u.password_changed_ms = st.Int(8);
  return u;
}

TokenRecord ReadToken(const Stmt& st) {
  TokenRecord t;
  t.id = st.Text(0);
  t.user_id = st.Int(1);
  t.user_name = st.Text(2);
  t.name = st.Text(3);
  t.hash = st.Text(4);
  t.created_ms = st.Int(5);
  t.expires_ms = st.Int(6);
  t.revoked_ms = st.Int(7);
  t.last_used_ms = st.Int(8);
  return t;
}

GrantRecord ReadGrant(const Stmt& st) {
  GrantRecord g;
  g.id = st.Int(0);
  g.subject_kind = st.Text(1);
  g.subject = st.Text(2);
  g.object_kind = st.Text(3);
  g.object_id = st.Text(4);
  g.role = st.Text(5);
  g.created_by = st.Text(6);
  g.created_ms = st.Int(7);
  return g;
}

StatusOr<UserRecord> GetUserIn(sql::Conn& c, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(std::string("SELECT ") + kUserColumns + " FROM users WHERE name = ?"));
  st.Args(name);
  KILN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return UserNotFound(name);
  return ReadUser(st);
}

StatusOr<GrantRecord> GetGrantIn(sql::Conn& c, int64_t id) {
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(std::string("SELECT ") + kGrantColumns + " FROM grants WHERE id = ?"));
  st.Args(id);
  KILN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return GrantNotFound(id);
  return ReadGrant(st);
}

// One token query shape with a WHERE clause of the caller's.
StatusOr<std::vector<TokenRecord>> QueryTokens(sql::Conn& c, const std::string& where,
                                               const std::vector<sql::Arg>& args) {
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(std::string("SELECT ") + kTokenColumns +
                                           " FROM api_tokens t JOIN users u ON u.id = t.user_id " + where +
                                           " ORDER BY t.created_ms, t.id"));
  st.BindAll(args);
  std::vector<TokenRecord> out;
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadToken(st));
  }
  return out;
}

StatusOr<std::vector<GrantRecord>> QueryGrants(sql::Conn& c, const std::string& where,
                                               const std::vector<sql::Arg>& args) {
  // Dynamically shaped: keep one-off statements out of the connection's cache.
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(std::string("SELECT ") + kGrantColumns + " FROM grants " + where, false));
  st.BindAll(args);
  std::vector<GrantRecord> out;
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadGrant(st));
  }
  return out;
}

template <typename T, typename Fn>
StatusOr<T> ReadValue(sql::Database& db, Fn&& fn) {
  T out{};
  Status s = db.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(out, fn(c));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace

StatusOr<UserRecord> SqlIdentityStore::CreateUser(const UserRecord& user) {
  if (user.name.empty()) return InvalidArgument("a user needs a name");
  UserRecord out;
  Status s = db_.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(int64_t n, c.QueryInt("SELECT count(*) FROM users WHERE name = ?", {user.name}));
    if (n > 0) return AlreadyExists("user '" + user.name + "' already exists");
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("INSERT INTO users(name, service_account, admin, password_hash, "
                                             "groups_json, created_ms, updated_ms, password_changed_ms) "
                                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    KILN_RETURN_IF_ERROR(st.Args(user.name, user.service_account ? 1 : 0, user.admin ? 1 : 0, user.password_hash,
                                 GroupsToJson(user.groups), user.created_ms, user.updated_ms,
                                 user.password_changed_ms)
                             .Run());
    KILN_ASSIGN_OR_RETURN(out, GetUserIn(c, user.name));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<UserRecord> SqlIdentityStore::GetUser(const std::string& name) {
  return ReadValue<UserRecord>(db_, [&](sql::Conn& c) { return GetUserIn(c, name); });
}

StatusOr<std::vector<UserRecord>> SqlIdentityStore::ListUsers() {
  return ReadValue<std::vector<UserRecord>>(db_, [&](sql::Conn& c) -> StatusOr<std::vector<UserRecord>> {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(std::string("SELECT ") + kUserColumns + " FROM users ORDER BY name"));
    std::vector<UserRecord> out;
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      KILN_ASSIGN_OR_RETURN(UserRecord u, ReadUser(st));
      out.push_back(std::move(u));
    }
    return out;
  });
}

Status SqlIdentityStore::UpdateUser(const UserRecord& user) {
  return db_.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("UPDATE users SET password_hash = ?, admin = ?, groups_json = ?, "
                                             "updated_ms = ?, password_changed_ms = ? WHERE name = ?"));
    KILN_RETURN_IF_ERROR(st.Args(user.password_hash, user.admin ? 1 : 0, GroupsToJson(user.groups), user.updated_ms,
                                 user.password_changed_ms, user.name)
                             .Run());
    if (c.Changes() == 0) return UserNotFound(user.name);
    return Status::Ok();
  });
}

Status SqlIdentityStore::DeleteUser(const std::string& name) {
  return db_.Write([&](sql::Conn& c) -> Status {
    {
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("DELETE FROM users WHERE name = ?"));
      KILN_RETURN_IF_ERROR(st.Args(name).Run());
    }
    if (c.Changes() == 0) return UserNotFound(name);
    // Tokens go by ON DELETE CASCADE; grants name their subject by text.
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("DELETE FROM grants WHERE subject_kind = 'user' AND subject = ?"));
    return st.Args(name).Run();
  });
}

StatusOr<int64_t> SqlIdentityStore::CountUsers() {
  return ReadValue<int64_t>(db_, [](sql::Conn& c) { return c.QueryInt("SELECT count(*) FROM users"); });
}

Status SqlIdentityStore::CreateToken(const TokenRecord& token) {
  if (token.id.empty() || token.hash.empty()) return InvalidArgument("a token needs an id and a hash");
  return db_.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(int64_t users, c.QueryInt("SELECT count(*) FROM users WHERE id = ?", {token.user_id}));
    if (users == 0) return NotFound("user id " + std::to_string(token.user_id) + " does not exist");
    KILN_ASSIGN_OR_RETURN(int64_t dup, c.QueryInt("SELECT count(*) FROM api_tokens WHERE id = ? OR hash = ?",
                                                  {token.id, token.hash}));
    if (dup > 0) return AlreadyExists("token '" + token.id + "' already exists");
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("INSERT INTO api_tokens(id, user_id, name, hash, created_ms, expires_ms, "
                                             "revoked_ms, last_used_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    return st
        .Args(token.id, token.user_id, token.name, token.hash, token.created_ms, token.expires_ms, token.revoked_ms,
              token.last_used_ms)
        .Run();
  });
}

StatusOr<TokenRecord> SqlIdentityStore::FindTokenByHash(const std::string& hash) {
  return ReadValue<TokenRecord>(db_, [&](sql::Conn& c) -> StatusOr<TokenRecord> {
    KILN_ASSIGN_OR_RETURN(auto rows, QueryTokens(c, "WHERE t.hash = ?", {hash}));
    if (rows.empty()) return NotFound("no token has this hash");
    return rows.front();
  });
}

StatusOr<std::vector<TokenRecord>> SqlIdentityStore::ListTokens(const std::string& user_name) {
  return ReadValue<std::vector<TokenRecord>>(db_, [&](sql::Conn& c) {
    if (user_name.empty()) return QueryTokens(c, "", {});
    return QueryTokens(c, "WHERE u.name = ?", {user_name});
  });
}

StatusOr<TokenRecord> SqlIdentityStore::GetToken(const std::string& id) {
  return ReadValue<TokenRecord>(db_, [&](sql::Conn& c) -> StatusOr<TokenRecord> {
    KILN_ASSIGN_OR_RETURN(auto rows, QueryTokens(c, "WHERE t.id = ?", {id}));
    if (rows.empty()) return TokenNotFound(id);
    return rows.front();
  });
}

Status SqlIdentityStore::RevokeToken(const std::string& id, int64_t revoked_ms) {
  return db_.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(int64_t n, c.QueryInt("SELECT count(*) FROM api_tokens WHERE id = ?", {id}));
    if (n == 0) return TokenNotFound(id);
    // The first revocation time stands: revoking twice is not a new event.
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("UPDATE api_tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms = 0"));
    return st.Args(revoked_ms, id).Run();
  });
}

Status SqlIdentityStore::TouchToken(const std::string& id, int64_t used_ms) {
  return db_.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt st,
                          c.Prepare("UPDATE api_tokens SET last_used_ms = ? WHERE id = ? AND last_used_ms < ?"));
    KILN_RETURN_IF_ERROR(st.Args(used_ms, id, used_ms).Run());
    if (c.Changes() == 0) {
      KILN_ASSIGN_OR_RETURN(int64_t n, c.QueryInt("SELECT count(*) FROM api_tokens WHERE id = ?", {id}));
      if (n == 0) return TokenNotFound(id);
    }
    return Status::Ok();
  });
}

StatusOr<GrantRecord> SqlIdentityStore::CreateGrant(const GrantRecord& grant) {
  GrantRecord out;
  Status s = db_.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(int64_t n, c.QueryInt("SELECT count(*) FROM grants WHERE subject_kind = ? AND subject = ? "
                                                "AND object_kind = ? AND object_id = ?",
                                                {grant.subject_kind, grant.subject, grant.object_kind,
                                                 grant.object_id}));
    if (n > 0) {
      return AlreadyExists("a grant to " + grant.subject_kind + " '" + grant.subject + "' on " + grant.object_kind +
                           (grant.object_id.empty() ? "" : ":" + grant.object_id) + " already exists");
    }
    int64_t id = 0;
    {
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("INSERT INTO grants(subject_kind, subject, object_kind, object_id, "
                                               "role, created_by, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id"));
      st.Args(grant.subject_kind, grant.subject, grant.object_kind, grant.object_id, grant.role, grant.created_by,
              grant.created_ms);
      KILN_ASSIGN_OR_RETURN(id, sql::RunReturningInt(st));
    }
    KILN_ASSIGN_OR_RETURN(out, GetGrantIn(c, id));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Status SqlIdentityStore::UpdateGrantRole(int64_t id, const std::string& role) {
  return db_.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("UPDATE grants SET role = ? WHERE id = ?"));
    KILN_RETURN_IF_ERROR(st.Args(role, id).Run());
    if (c.Changes() == 0) return GrantNotFound(id);
    return Status::Ok();
  });
}

StatusOr<GrantRecord> SqlIdentityStore::GetGrant(int64_t id) {
  return ReadValue<GrantRecord>(db_, [&](sql::Conn& c) { return GetGrantIn(c, id); });
}

StatusOr<std::vector<GrantRecord>> SqlIdentityStore::ListGrants(const GrantQuery& query) {
  std::string where;
  std::vector<sql::Arg> args;
  auto add = [&](const char* column, const std::string& value) {
    if (value.empty()) return;
    where += where.empty() ? "WHERE " : " AND ";
    where += std::string(column) + " = ?";
    args.emplace_back(value);
  };
  add("subject_kind", query.subject_kind);
  add("subject", query.subject);
  add("object_kind", query.object_kind);
  add("object_id", query.object_id);
  where += " ORDER BY id";
  if (query.max_results > 0) {
    where += " LIMIT ? OFFSET ?";
    args.emplace_back(query.max_results);
    args.emplace_back(query.offset < 0 ? int64_t{0} : query.offset);
  } else if (query.offset > 0) {
    where += " LIMIT ? OFFSET ?";
    args.emplace_back(sql::kNoLimit);
    args.emplace_back(query.offset);
  }
  return ReadValue<std::vector<GrantRecord>>(db_, [&](sql::Conn& c) { return QueryGrants(c, where, args); });
}

Status SqlIdentityStore::DeleteGrant(int64_t id) {
  return db_.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("DELETE FROM grants WHERE id = ?"));
    KILN_RETURN_IF_ERROR(st.Args(id).Run());
    if (c.Changes() == 0) return GrantNotFound(id);
    return Status::Ok();
  });
}

Status SqlIdentityStore::DeleteGrantsOn(const std::string& object_kind, const std::string& object_id) {
  return db_.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("DELETE FROM grants WHERE object_kind = ? AND object_id = ?"));
    return st.Args(object_kind, object_id).Run();
  });
}

StatusOr<std::vector<GrantRecord>> SqlIdentityStore::AllGrants() {
  return ReadValue<std::vector<GrantRecord>>(db_,
                                             [](sql::Conn& c) { return QueryGrants(c, "ORDER BY id", {}); });
}

}  // namespace kiln::storage
