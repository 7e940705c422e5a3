// SQLite's implementation of the SQL seam's connection (storage/sql/sql_conn.h):
// opening with kiln's pragmas, a per-connection prepared-statement cache,
// typed binding/stepping. SQLite result codes become kiln Status values with
// the error classes the seam defines.
//
// Ownership: SqliteConn owns its sqlite3* handle and every cached statement.
// A Stmt borrows a cached SqliteStmt (cleared on destruction) or owns an
// uncached one (finalized with it).
// Thread-safety: none. A SqliteConn (and its Stmts) must be used by one thread
// at a time; the Database serialises access (group commit, read pool).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "storage/sql/sql_conn.h"

struct sqlite3;
struct sqlite3_stmt;

namespace kiln::storage::sqlite {

using SqlArg = sql::Arg;
using Stmt = sql::Stmt;

class SqliteStmt final : public sql::StmtImpl {
 public:
  explicit SqliteStmt(sqlite3_stmt* stmt) : s_(stmt) {}
  ~SqliteStmt() override;
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;

  void Bind(int idx, sql::Arg value) override;
  StatusOr<bool> Step() override;
  Status Run() override;
  void Reset() override;
  void Clear() override;
  bool IsNull(int col) const override;
  int64_t Int(int col) const override;
  double Double(int col) const override;
  std::string Text(int col) const override;

 private:
  sqlite3_stmt* s_;
  int bind_error_ = 0;
};

class SqliteConn final : public sql::Conn {
 public:
  // Opens `path` (creating it when `create`) with WAL, synchronous=NORMAL,
  // busy_timeout (ms), foreign keys and case-sensitive LIKE.
  static StatusOr<std::unique_ptr<SqliteConn>> Open(const std::string& path, bool query_only,
                                                    bool create = true, int busy_timeout_ms = 5000);
  ~SqliteConn() override;
  SqliteConn(const SqliteConn&) = delete;
  SqliteConn& operator=(const SqliteConn&) = delete;

  sql::Dialect dialect() const override { return sql::Dialect::kSqlite; }
  Status Exec(const std::string& sql) override;
  // cache=false prepares a one-off statement (for dynamically shaped SQL);
  // cached ones are capped, beyond the cap statements are one-off too.
  StatusOr<Stmt> Prepare(const std::string& sql, bool cache = true) override;
  int64_t Changes() const override;
  sqlite3* raw() { return db_; }

 private:
  explicit SqliteConn(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<SqliteStmt>> cache_;
};

// Maps a SQLite result code (plus the connection's message) to a Status:
// UNIQUE/PRIMARY KEY violations AlreadyExists, BUSY/LOCKED/IO/FULL
// Unavailable, the rest Internal.
Status SqliteError(int rc, sqlite3* db, std::string_view what);

}  // namespace kiln::storage::sqlite
