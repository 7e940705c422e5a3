#include "storage/sqlite/sqlite_db.h"

#include <sqlite3.h>

namespace kiln::storage::sqlite {
namespace {
constexpr size_t kMaxCachedStatements = 256;
constexpr int kBusyTimeoutMs = 5000;
}  // namespace

Status SqliteError(int rc, sqlite3* db, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
      return Unavailable(std::move(msg));
    default:
      return Internal(std::move(msg));
  }
}

// --- Stmt ---

Stmt::~Stmt() {
  if (!s_) return;
  if (owned_) {
    sqlite3_finalize(s_);
  } else {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
}

Stmt& Stmt::Bind(int idx, int64_t v) {
  int rc = sqlite3_bind_int64(s_, idx, v);
  if (rc != SQLITE_OK && !bind_error_) bind_error_ = rc;
  return *this;
}

Stmt& Stmt::Bind(int idx, double v) {
  int rc = sqlite3_bind_double(s_, idx, v);
  if (rc != SQLITE_OK && !bind_error_) bind_error_ = rc;
  return *this;
}

Stmt& Stmt::Bind(int idx, std::string_view v) {
  int rc = sqlite3_bind_text64(s_, idx, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && !bind_error_) bind_error_ = rc;
  return *this;
}

Stmt& Stmt::BindNull(int idx) {
  int rc = sqlite3_bind_null(s_, idx);
  if (rc != SQLITE_OK && !bind_error_) bind_error_ = rc;
  return *this;
}

Stmt& Stmt::Bind(int idx, const SqlArg& v) {
  if (std::holds_alternative<std::nullptr_t>(v)) return BindNull(idx);
  if (auto* i = std::get_if<int64_t>(&v)) return Bind(idx, *i);
  if (auto* d = std::get_if<double>(&v)) return Bind(idx, *d);
  return Bind(idx, std::string_view(std::get<std::string>(v)));
}

Stmt& Stmt::BindAll(const std::vector<SqlArg>& args) {
  for (size_t i = 0; i < args.size(); ++i) Bind(static_cast<int>(i + 1), args[i]);
  return *this;
}

StatusOr<bool> Stmt::Step() {
  sqlite3* db = sqlite3_db_handle(s_);
  if (bind_error_) return SqliteError(bind_error_, db, "bind");
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(rc, db, "step");
}

Status Stmt::Run() {
  while (true) {
    StatusOr<bool> row = Step();
    if (!row.ok() || !*row) {
      sqlite3_reset(s_);  // ready for the next Bind/Run; keeps bindings
      return row.status();
    }
  }
}

void Stmt::Reset() { sqlite3_reset(s_); }

bool Stmt::IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
int64_t Stmt::Int(int col) const { return sqlite3_column_int64(s_, col); }
double Stmt::Double(int col) const { return sqlite3_column_double(s_, col); }
std::string Stmt::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(s_, col);
  if (!p) return {};
  return std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s_, col));
}

// --- SqliteConn ---

StatusOr<std::unique_ptr<SqliteConn>> SqliteConn::Open(const std::string& path, bool query_only,
                                                       bool create) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(rc, db, "open " + path);
    sqlite3_close_v2(db);
    return s;
  }
  std::unique_ptr<SqliteConn> conn(new SqliteConn(db));
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  sqlite3_extended_result_codes(db, 1);
  std::string pragmas =
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
      "PRAGMA case_sensitive_like=ON; PRAGMA temp_store=MEMORY;";
  if (query_only) pragmas += "PRAGMA query_only=ON;";
  KILN_RETURN_IF_ERROR(conn->Exec(pragmas));
  return conn;
}

SqliteConn::~SqliteConn() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Status SqliteConn::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string what = "exec";
  if (err) sqlite3_free(err);
  return SqliteError(rc, db_, what);
}

StatusOr<Stmt> SqliteConn::Prepare(const std::string& sql, bool cache) {
  if (auto it = cache_.find(sql); it != cache_.end()) return Stmt(it->second, false);
  sqlite3_stmt* stmt = nullptr;
  bool keep = cache && cache_.size() < kMaxCachedStatements;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                              keep ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(rc, db_, "prepare");
  }
  if (!keep) return Stmt(stmt, true);
  cache_.emplace(sql, stmt);
  return Stmt(stmt, false);
}

int64_t SqliteConn::Changes() const { return sqlite3_changes64(db_); }
int64_t SqliteConn::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }

StatusOr<int64_t> SqliteConn::QueryInt(const std::string& sql, const std::vector<SqlArg>& args) {
  KILN_ASSIGN_OR_RETURN(Stmt st, Prepare(sql));
  st.BindAll(args);
  KILN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFound("no row");
  return st.Int(0);
}

}  // namespace kiln::storage::sqlite
