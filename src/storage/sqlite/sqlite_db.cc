#include "storage/sqlite/sqlite_db.h"

#include <sqlite3.h>

namespace kiln::storage::sqlite {
namespace {
constexpr size_t kMaxCachedStatements = 256;
}  // namespace

Status SqliteError(int rc, sqlite3* db, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return AlreadyExists(std::move(msg));
  }
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

// --- SqliteStmt ---

SqliteStmt::~SqliteStmt() { sqlite3_finalize(s_); }

void SqliteStmt::Bind(int idx, sql::Arg v) {
  int rc = SQLITE_OK;
  if (auto* i = std::get_if<int64_t>(&v)) {
    rc = sqlite3_bind_int64(s_, idx, *i);
  } else if (auto* d = std::get_if<double>(&v)) {
    rc = sqlite3_bind_double(s_, idx, *d);
  } else if (auto* s = std::get_if<std::string>(&v)) {
    rc = sqlite3_bind_text64(s_, idx, s->data(), s->size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  } else {
    rc = sqlite3_bind_null(s_, idx);
  }
  if (rc != SQLITE_OK && !bind_error_) bind_error_ = rc;
}

StatusOr<bool> SqliteStmt::Step() {
  sqlite3* db = sqlite3_db_handle(s_);
  if (bind_error_) return SqliteError(bind_error_, db, "bind");
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(rc, db, "step");
}

Status SqliteStmt::Run() {
  while (true) {
    StatusOr<bool> row = Step();
    if (!row.ok() || !*row) {
      sqlite3_reset(s_);  // ready for the next Bind/Run; keeps bindings
      return row.status();
    }
  }
}

void SqliteStmt::Reset() { sqlite3_reset(s_); }

void SqliteStmt::Clear() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
  bind_error_ = 0;
}

bool SqliteStmt::IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
int64_t SqliteStmt::Int(int col) const { return sqlite3_column_int64(s_, col); }
double SqliteStmt::Double(int col) const { return sqlite3_column_double(s_, col); }
std::string SqliteStmt::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(s_, col);
  if (!p) return {};
  return std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s_, col));
}

// --- SqliteConn ---

StatusOr<std::unique_ptr<SqliteConn>> SqliteConn::Open(const std::string& path, bool query_only,
                                                       bool create, int busy_timeout_ms) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(rc, db, "open " + path);
    sqlite3_close_v2(db);
    return s;
  }
  std::unique_ptr<SqliteConn> conn(new SqliteConn(db));
  sqlite3_busy_timeout(db, busy_timeout_ms);
  sqlite3_extended_result_codes(db, 1);
  std::string pragmas =
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
      "PRAGMA case_sensitive_like=ON; PRAGMA temp_store=MEMORY;";
  if (query_only) pragmas += "PRAGMA query_only=ON;";
  KILN_RETURN_IF_ERROR(conn->Exec(pragmas));
  return conn;
}

SqliteConn::~SqliteConn() {
  cache_.clear();  // finalizes every cached statement before the handle closes
  sqlite3_close_v2(db_);
}

Status SqliteConn::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  if (err) sqlite3_free(err);
  return SqliteError(rc, db_, "exec");
}

StatusOr<Stmt> SqliteConn::Prepare(const std::string& sql, bool cache) {
  if (auto it = cache_.find(sql); it != cache_.end()) return Stmt(it->second.get(), false);
  sqlite3_stmt* stmt = nullptr;
  bool keep = cache && cache_.size() < kMaxCachedStatements;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                              keep ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(rc, db_, "prepare");
  }
  auto impl = std::make_unique<SqliteStmt>(stmt);
  if (!keep) return Stmt(impl.release(), true);
  SqliteStmt* raw = impl.get();
  cache_.emplace(sql, std::move(impl));
  return Stmt(raw, false);
}

int64_t SqliteConn::Changes() const { return sqlite3_changes64(db_); }

}  // namespace kiln::storage::sqlite
