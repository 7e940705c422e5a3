// The SQL seam between kiln's metadata stores and the database engine that
// holds them. The stores (tracking, registry, traces, features, endpoints,
// identities, audit) are written once against Conn/Stmt/Database; SQLite
// (storage/sqlite) and PostgreSQL (storage/postgres) implement them.
//
// The portable SQL the stores write (both engines accept it; the PostgreSQL
// connection rewrites only placeholders):
// - Placeholders are `?` (numbered left to right) or `?N` (1-based), never
//   mixed in one statement. PostgreSQL's connection turns them into `$N`.
// - Upserts are `INSERT ... ON CONFLICT (cols) DO UPDATE/DO NOTHING`; no
//   `INSERT OR IGNORE/REPLACE`. New keys come back through `RETURNING`.
// - No `LIMIT -1` (bind kNoLimit), no json_each (use JsonArrayValues), no
//   SQLite-only functions (IFNULL, instr, two-argument MAX/MIN, GLOB); NULL
//   ordering is written out (`NULLS FIRST/LAST`) where it matters; every
//   selected column is aggregated or grouped.
// - Integers are 64-bit on both (PostgreSQL DDL uses BIGINT), floats are
//   double precision (`CAST(x AS DOUBLE PRECISION)`, never `AS REAL`).
//   Comparison results read through Int() are 0/1 on both engines.
// - Text is compared and ordered bytewise on both (PostgreSQL DDL declares
//   COLLATE "C"; LIKE is case-sensitive on both).
//
// Ownership: a Conn is owned by its Database (or a pool inside it); a Stmt
// borrows a statement cached in its Conn (reset on destruction) or owns a
// one-off statement (freed on destruction). Neither outlives the TxnFn call
// that received the Conn.
// Thread-safety: a Conn and its Stmts are used by one thread at a time (the
// one running the TxnFn). Database methods are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"

namespace kiln::storage::sql {

enum class Dialect { kSqlite, kPostgres };

// A value bound to a placeholder.
using Arg = std::variant<std::nullptr_t, int64_t, double, std::string>;

// Bind as a LIMIT to mean "no limit" (neither engine's -1/NULL spelling is
// portable).
inline constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();

// One prepared statement of an engine; Stmt is the handle stores use.
class StmtImpl {
 public:
  virtual ~StmtImpl() = default;
  // 1-based placeholder index. Errors are remembered and returned by the
  // next Step()/Run().
  virtual void Bind(int idx, Arg value) = 0;
  // true: a row is available; false: done. The first Step executes.
  virtual StatusOr<bool> Step() = 0;
  // Executes to completion (no rows expected), then resets for rebinding;
  // Changes() of the owning Conn reports the rows it touched.
  virtual Status Run() = 0;
  // Rewinds so the statement can run again; bindings are kept.
  virtual void Reset() = 0;
  // Clears bindings and rewinds: the state of a freshly prepared statement.
  virtual void Clear() = 0;
  virtual bool IsNull(int col) const = 0;  // 0-based column
  virtual int64_t Int(int col) const = 0;
  virtual double Double(int col) const = 0;
  virtual std::string Text(int col) const = 0;
};

class Stmt {
 public:
  // owned: the handle frees impl; otherwise it Clear()s a cached one.
  Stmt(StmtImpl* impl, bool owned) : impl_(impl), owned_(owned) {}
  Stmt(Stmt&& o) noexcept : impl_(o.impl_), owned_(o.owned_) { o.impl_ = nullptr; }
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;
  ~Stmt() {
    if (!impl_) return;
    if (owned_) {
      delete impl_;
    } else {
      impl_->Clear();
    }
  }

  Stmt& Bind(int idx, int64_t v) { return Put(idx, v); }
  Stmt& Bind(int idx, int v) { return Put(idx, static_cast<int64_t>(v)); }
  Stmt& Bind(int idx, double v) { return Put(idx, v); }
  Stmt& Bind(int idx, std::string_view v) { return Put(idx, std::string(v)); }
  Stmt& Bind(int idx, const std::string& v) { return Put(idx, v); }
  Stmt& Bind(int idx, const char* v) { return Put(idx, std::string(v)); }
  Stmt& BindNull(int idx) { return Put(idx, nullptr); }
  Stmt& Bind(int idx, const Arg& v) { return Put(idx, v); }
  Stmt& BindAll(const std::vector<Arg>& args) {
    for (size_t i = 0; i < args.size(); ++i) Put(static_cast<int>(i + 1), args[i]);
    return *this;
  }
  template <typename... A>
  Stmt& Args(const A&... a) {
    int i = 0;
    (Bind(++i, a), ...);
    return *this;
  }

  StatusOr<bool> Step() { return impl_->Step(); }
  Status Run() { return impl_->Run(); }
  void Reset() { impl_->Reset(); }

  bool IsNull(int col) const { return impl_->IsNull(col); }
  int64_t Int(int col) const { return impl_->Int(col); }
  double Double(int col) const { return impl_->Double(col); }
  std::string Text(int col) const { return impl_->Text(col); }

 private:
  Stmt& Put(int idx, Arg v) {
    impl_->Bind(idx, std::move(v));
    return *this;
  }
  StmtImpl* impl_;
  bool owned_;
};

class Conn {
 public:
  virtual ~Conn() = default;
  virtual Dialect dialect() const = 0;
  // Runs one or more statements without parameters or results.
  virtual Status Exec(const std::string& sql) = 0;
  // A statement from this connection's cache (prepared on first use), or a
  // one-off statement when cache is false (dynamically shaped SQL).
  virtual StatusOr<Stmt> Prepare(const std::string& sql, bool cache = true) = 0;
  // Rows inserted, updated or deleted by the last Run() on this connection.
  virtual int64_t Changes() const = 0;

  // Single-value query; NotFound when it returns no row.
  StatusOr<int64_t> QueryInt(const std::string& sql, const std::vector<Arg>& args = {}) {
    KILN_ASSIGN_OR_RETURN(Stmt st, Prepare(sql));
    st.BindAll(args);
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return NotFound("no row");
    return st.Int(0);
  }
};

// A subquery yielding the elements of a JSON array bound at `placeholder`
// (e.g. "?1"), for `x IN <this>`: integers when `integers`, else text.
std::string JsonArrayValues(Dialect d, std::string_view placeholder, bool integers);

// Error classes every engine maps its codes onto, so stores can react:
// - AlreadyExists: a UNIQUE or PRIMARY KEY violation (message names the
//   constraint when the engine says which).
// - Aborted: a serialization failure or deadlock; Database::Write retries.
// - Unavailable: the database cannot be reached, is locked or full.
// - Internal: anything else (syntax, types): a bug in kiln.

// A metadata database: the stores' transactions.
class Database {
 public:
  using TxnFn = std::function<Status(Conn&)>;
  virtual ~Database() = default;
  virtual Dialect dialect() const = 0;

  // Applies fn atomically: everything it wrote commits, or (fn returned an
  // error, or the commit failed) nothing does. fn may run more than once
  // (PostgreSQL retries serialization failures with backoff), so it must
  // leave no effect outside the transaction except through outputs it
  // assigns (not appends) on each run.
  virtual Status Write(const TxnFn& fn) = 0;
  // Write for a transaction whose correctness rests only on the schema's
  // constraints and on row-level statements (INSERT ... ON CONFLICT, UPDATE
  // ... WHERE), never on the absence of a row it read: PostgreSQL runs it at
  // READ COMMITTED (each statement sees what committed before it started; no
  // predicate locks, so unrelated writers never fail each other with
  // serialization errors); SQLite's writes are serialized anyway. A
  // duplicate is caught by the constraint (ON CONFLICT DO NOTHING RETURNING,
  // or AlreadyExists), not by a SELECT before the INSERT.
  virtual Status WriteCommitted(const TxnFn& fn) { return Write(fn); }
  // Write for fn whose first statement is its only one that writes (any
  // later ones read): PostgreSQL runs each statement as a transaction of its
  // own, without BEGIN and COMMIT (one round trip for the whole write, READ
  // COMMITTED). fn must be harmless to run again: when the connection is
  // lost mid-statement, whether it committed is unknown and fn is retried
  // on a fresh connection. SQLite: Write.
  virtual Status WriteOneStatement(const TxnFn& fn) { return Write(fn); }
  // Runs fn inside a read-only transaction that sees one consistent snapshot.
  virtual Status Read(const TxnFn& fn) = 0;
  // Checks the database answers.
  virtual Status Ping() = 0;
};

}  // namespace kiln::storage::sql
