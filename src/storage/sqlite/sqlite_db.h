// Thin RAII wrapper over one SQLite connection: opening with kiln's pragmas,
// a per-connection prepared-statement cache, typed binding/stepping and
// transactions. SQLite result codes become kiln Status values.
//
// Ownership: SqliteConn owns its sqlite3* handle and every cached statement.
// A Stmt borrows a cached statement (resetting it on destruction) or owns an
// uncached one (finalizing it).
// Thread-safety: none. A SqliteConn (and its Stmts) must be used by one thread
// at a time; the store serialises access with a mutex or a connection pool.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace kiln::storage::sqlite {

// A value bound to a '?' placeholder.
using SqlArg = std::variant<std::nullptr_t, int64_t, double, std::string>;

class Stmt {
 public:
  Stmt(sqlite3_stmt* stmt, bool owned) : s_(stmt), owned_(owned) {}
  Stmt(Stmt&& o) noexcept : s_(o.s_), owned_(o.owned_), bind_error_(o.bind_error_) { o.s_ = nullptr; }
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;
  ~Stmt();

  // 1-based placeholder index, like sqlite3_bind_*.
  Stmt& Bind(int idx, int64_t v);
  Stmt& Bind(int idx, int v) { return Bind(idx, static_cast<int64_t>(v)); }
  Stmt& Bind(int idx, double v);
  Stmt& Bind(int idx, std::string_view v);
  Stmt& Bind(int idx, const std::string& v) { return Bind(idx, std::string_view(v)); }
  Stmt& Bind(int idx, const char* v) { return Bind(idx, std::string_view(v)); }
  Stmt& BindNull(int idx);
  Stmt& Bind(int idx, const SqlArg& v);
  Stmt& BindAll(const std::vector<SqlArg>& args);  // binds 1..n

  template <typename... A>
  Stmt& Args(const A&... a) {
    int i = 0;
    (Bind(++i, a), ...);
    return *this;
  }

  // true: a row is available; false: done.
  StatusOr<bool> Step();
  // Steps to completion, for statements returning no rows, then resets the
  // statement so it can be re-bound and run again.
  Status Run();
  // Rewinds a query so it can be re-bound (bindings are kept).
  void Reset();

  bool IsNull(int col) const;
  int64_t Int(int col) const;
  double Double(int col) const;
  std::string Text(int col) const;

 private:
  sqlite3_stmt* s_;
  bool owned_;
  int bind_error_ = 0;
};

class SqliteConn {
 public:
  // Opens `path` (creating it when `create`) with WAL, synchronous=NORMAL,
  // busy_timeout, foreign keys and case-sensitive LIKE.
  static StatusOr<std::unique_ptr<SqliteConn>> Open(const std::string& path, bool query_only,
                                                    bool create = true);
  ~SqliteConn();
  SqliteConn(const SqliteConn&) = delete;
  SqliteConn& operator=(const SqliteConn&) = delete;

  // Runs one or more statements without results.
  Status Exec(const std::string& sql);
  // Returns a statement from this connection's cache (prepared on first use).
  // cache=false prepares a one-off statement (for dynamically shaped SQL once
  // the cache is full).
  StatusOr<Stmt> Prepare(const std::string& sql, bool cache = true);
  int64_t Changes() const;
  int64_t LastInsertRowId() const;
  sqlite3* raw() { return db_; }

  // Convenience for single-value queries; NotFound when no row.
  StatusOr<int64_t> QueryInt(const std::string& sql, const std::vector<SqlArg>& args = {});

 private:
  explicit SqliteConn(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// Maps a SQLite result code (plus the connection's message) to a Status.
Status SqliteError(int rc, sqlite3* db, std::string_view what);

}  // namespace kiln::storage::sqlite
