#include "storage/mlflow_import/sqlite_import_db.h"

#include <sqlite3.h>

#include <filesystem>
#include <unordered_map>

#include "storage/sqlite/sqlite_database.h"
#include "storage/sqlite/sqlite_db.h"

namespace kiln::storage::mlflow_import {
namespace {

using sqlite::SqliteError;

class SqliteStmt final : public sql::StmtImpl {
 public:
  explicit SqliteStmt(sqlite3_stmt* s) : s_(s) {}
  ~SqliteStmt() override { sqlite3_finalize(s_); }

  void Bind(int idx, sql::Arg v) override {
    int rc = SQLITE_OK;
    if (std::holds_alternative<std::nullptr_t>(v)) {
      rc = sqlite3_bind_null(s_, idx);
    } else if (auto* i = std::get_if<int64_t>(&v)) {
      rc = sqlite3_bind_int64(s_, idx, *i);
    } else if (auto* d = std::get_if<double>(&v)) {
      rc = sqlite3_bind_double(s_, idx, *d);
    } else {
      const std::string& t = std::get<std::string>(v);
      rc = sqlite3_bind_text64(s_, idx, t.data(), t.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    }
    if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  }
  StatusOr<bool> Step() override {
    if (bind_error_ != SQLITE_OK) return SqliteError(bind_error_, sqlite3_db_handle(s_), "bind");
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
      return AlreadyExists(std::string("constraint: ") + sqlite3_errmsg(sqlite3_db_handle(s_)));
    }
    return SqliteError(rc, sqlite3_db_handle(s_), "step");
  }
  Status Run() override {
    StatusOr<bool> r = Step();
    sqlite3_reset(s_);
    if (!r.ok()) return r.status();
    return Status::Ok();
  }
  void Reset() override { sqlite3_reset(s_); }
  void Clear() override {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
    bind_error_ = SQLITE_OK;
  }
  bool IsNull(int col) const override { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  int64_t Int(int col) const override { return sqlite3_column_int64(s_, col); }
  double Double(int col) const override { return sqlite3_column_double(s_, col); }
  std::string Text(int col) const override {
    const unsigned char* p = sqlite3_column_text(s_, col);
    if (!p) return {};
    return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s_, col)));
  }

 private:
  sqlite3_stmt* s_;
  int bind_error_ = SQLITE_OK;
};

class ImportConn final : public sql::Conn {
 public:
  ImportConn(sqlite3* db, bool durable_close) : db_(db), durable_close_(durable_close) {}
  ~ImportConn() override {
    cache_.clear();
    if (durable_close_) {
      // Everything the import committed without fsync reaches the disk now.
      (void)Exec("PRAGMA synchronous = FULL; PRAGMA wal_checkpoint(TRUNCATE)");
    }
    sqlite3_close_v2(db_);
  }
  sqlite3* raw() { return db_; }
  sql::Dialect dialect() const override { return sql::Dialect::kSqlite; }
  Status Exec(const std::string& text) override {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (err) sqlite3_free(err);
    if (rc != SQLITE_OK) return SqliteError(rc, db_, "exec");
    return Status::Ok();
  }
  StatusOr<sql::Stmt> Prepare(const std::string& text, bool cache) override {
    if (cache) {
      auto it = cache_.find(text);
      if (it != cache_.end()) return sql::Stmt(it->second.get(), false);
    }
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(db_, text.c_str(), static_cast<int>(text.size()),
                                cache ? SQLITE_PREPARE_PERSISTENT : 0, &s, nullptr);
    if (rc != SQLITE_OK) return SqliteError(rc, db_, "prepare: " + text.substr(0, 200));
    if (!cache) return sql::Stmt(new SqliteStmt(s), true);
    auto [it, _] = cache_.emplace(text, std::make_unique<SqliteStmt>(s));
    return sql::Stmt(it->second.get(), false);
  }
  int64_t Changes() const override { return sqlite3_changes64(db_); }

 private:
  sqlite3* db_;
  bool durable_close_;
  std::unordered_map<std::string, std::unique_ptr<SqliteStmt>> cache_;
};

class ImportDatabase final : public sql::Database {
 public:
  explicit ImportDatabase(std::unique_ptr<ImportConn> conn) : conn_(std::move(conn)) {}
  sql::Dialect dialect() const override { return sql::Dialect::kSqlite; }
  Status Write(const TxnFn& fn) override { return Txn("BEGIN IMMEDIATE", fn); }
  Status Read(const TxnFn& fn) override { return Txn("BEGIN", fn); }
  Status Ping() override { return conn_->QueryInt("SELECT 1").status(); }

 private:
  Status Txn(const char* begin, const TxnFn& fn) {
    KILN_RETURN_IF_ERROR(conn_->Exec(begin));
    Status s;
    try {
      s = fn(*conn_);
    } catch (const std::exception& e) {
      s = Internal(std::string("import transaction: ") + e.what());
    }
    // SQLite ends the transaction itself on some errors (SQLITE_FULL,
    // SQLITE_IOERR, ...); a chunk must then fail, not commit what ran after.
    if (s.ok() && sqlite3_get_autocommit(conn_->raw())) {
      s = Internal("import transaction: SQLite rolled the transaction back before its end (a statement failed "
                   "with a disk, I/O or memory error); the chunk is not recorded as done");
    }
    if (s.ok()) s = conn_->Exec("COMMIT");
    if (!s.ok() && !sqlite3_get_autocommit(conn_->raw())) (void)conn_->Exec("ROLLBACK");
    return s;
  }
  std::unique_ptr<ImportConn> conn_;
};

}  // namespace

StatusOr<std::unique_ptr<sql::Database>> OpenSqliteReadOnly(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return NotFound("no SQLite database at '" + path + "'");
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(rc, db, "open " + path);
    sqlite3_close_v2(db);
    return s;
  }
  sqlite3_busy_timeout(db, 5000);
  auto conn = std::make_unique<ImportConn>(db, /*durable_close=*/false);
  KILN_RETURN_IF_ERROR(conn->Exec("PRAGMA query_only = 1"));
  // A run's metric points are spread over the whole table when many runs
  // logged at once; reading them by run through the run_uuid index touches
  // pages in no order. Mapping the file (read-only) spares a pread per page.
  KILN_RETURN_IF_ERROR(conn->Exec("PRAGMA mmap_size = 68719476736; PRAGMA cache_size = -262144"));
  return std::unique_ptr<sql::Database>(new ImportDatabase(std::move(conn)));
}

StatusOr<std::unique_ptr<sql::Database>> OpenKilnSqlite(const std::string& path) {
  {
    // Created and migrated exactly as `kiln serve` would, then closed.
    sqlite::DatabaseOptions options;
    options.read_connections = 1;
    KILN_ASSIGN_OR_RETURN(auto kiln_db, sqlite::OpenDatabase(path, options));
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(rc, db, "open " + path);
    sqlite3_close_v2(db);
    return s;
  }
  sqlite3_busy_timeout(db, 5000);
  auto conn = std::make_unique<ImportConn>(db, /*durable_close=*/true);
  KILN_RETURN_IF_ERROR(conn->Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA foreign_keys = OFF; "
                                  "PRAGMA case_sensitive_like = ON; PRAGMA cache_size = -262144; "
                                  "PRAGMA temp_store = MEMORY"));
  return std::unique_ptr<sql::Database>(new ImportDatabase(std::move(conn)));
}

sqlite3* ImportSqliteHandle(sql::Conn& c) {
  auto* ic = dynamic_cast<ImportConn*>(&c);
  return ic ? ic->raw() : nullptr;
}

}  // namespace kiln::storage::mlflow_import
