// PgConn: one libpq connection implementing sql::Conn. Statements are written
// in the portable SQL of sql_conn.h; placeholders become $N. Cached statements
// are prepared on the server once per (SQL text, bound types) with a name;
// parameter types come from the bound C++ values (int64 -> int8, double ->
// float8, text -> text, NULL -> unknown), values travel as text (doubles in
// shortest round-trip form, Infinity/-Infinity/NaN spelled out).
//
// A NULL is sent untyped; where the server cannot infer a type for it
// (`? IS NULL OR step >= ?` with NULL bound), the statement is prepared again
// with the parameter the server names typed int8, text or float8, whichever
// it accepts (a NULL of any type compares alike).
//
// A text value bound where the statement assigns to a BYTEA column (the
// feature registry's serialized protos) cannot travel as text: an INSERT or
// UPDATE whose preparation the server refuses with 42804 (datatype mismatch)
// is prepared again with its text parameters untyped, and those the server
// resolves to bytea are sent as raw binary. Inside a transaction these first
// attempts run under a savepoint, so they do not abort the caller's work.
//
// Ownership: owns the PGconn and its cached statements; Stmts handed out
// borrow them (see sql_conn.h).
// Thread-safety: one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "storage/sql/sql_conn.h"

namespace kiln::storage::postgres {

struct PgConnParams {
  std::string uri;       // a libpq connection URI or keyword string
  std::string password;  // empty: from the URI, PGPASSWORD or ~/.pgpass
  std::string application_name = "kiln";
  int connect_timeout_s = 10;
};

class PgStmt;

class PgConn final : public sql::Conn {
 public:
  static StatusOr<std::unique_ptr<PgConn>> Connect(const PgConnParams& params);
  ~PgConn() override;
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  sql::Dialect dialect() const override { return sql::Dialect::kPostgres; }
  Status Exec(const std::string& sql) override;
  StatusOr<sql::Stmt> Prepare(const std::string& sql, bool cache = true) override;
  int64_t Changes() const override { return changes_; }

  // Opens a transaction with `begin` (BEGIN ...) sent together with the
  // first statement that follows, saving a round trip; COMMIT or ROLLBACK
  // before any statement sends nothing.
  void BeginLazily(std::string begin) { pending_begin_ = std::move(begin); }

  // Ends a read-only transaction without waiting for the server's answer:
  // COMMIT is sent and its result collected by the next CollectPending().
  // Everything the transaction read has arrived; whether its COMMIT succeeds
  // changes nothing, so the reader need not wait a round trip for it.
  // Nothing is sent when BEGIN is still pending (no statement ran).
  Status SendCommitNoWait();
  // Reads and discards the results of a SendCommitNoWait(); the pool calls
  // it before lending the connection out again. Not an error when the
  // answer is one: the connection may be found broken() afterwards.
  void CollectPending();
  // The connection is gone (server restart, terminated backend, network).
  bool broken() const;
  // Inside BEGIN ... (including a failed transaction awaiting ROLLBACK).
  bool in_transaction() const;
  // What the statements since ResetOutcome() ran into: a serialization
  // failure or deadlock (the transaction must be retried whatever fn made of
  // the error), or a lost connection.
  bool saw_conflict() const { return saw_conflict_; }
  bool saw_lost() const { return saw_lost_; }
  void ResetOutcome() { saw_conflict_ = saw_lost_ = false; }
  int backend_pid() const { return PQbackendPID(conn_); }
  PGconn* raw() { return conn_; }

 private:
  friend class PgStmt;
  struct Prepared {
    std::string name;          // server-side statement name ("" = unnamed)
    std::vector<int> formats;  // per parameter: 0 text, 1 binary (bytea)
    std::vector<Oid> types;    // as prepared (0: inferred by the server)
  };

  explicit PgConn(PGconn* conn);
  // Runs a statement with `args`; on success `*out` holds its result.
  // `prepared` remembers the server-side statement of the caller's last
  // type signature (stable: map nodes do not move).
  Status Execute(const std::string& text, const std::vector<sql::Arg>& args, bool cache, const Prepared** prepared,
                 std::string* signature, PGresult** out);
  Status PrepareOnServer(const std::string& name, const std::string& text, const std::vector<sql::Arg>& args,
                         Prepared& p);
  Status PrepareTyped(const std::string& name, const std::string& text, const std::vector<sql::Arg>& args,
                      bool untyped_text, const std::vector<Oid>& null_types, Prepared& p);
  Status TypeNulls(const std::string& name, const std::string& text, const std::vector<sql::Arg>& args,
                   const Status& first, const std::function<Status()>& undo, Prepared& p);
  PGresult* Run(const char* sql);
  // Sends a pending BEGIN on its own.
  Status FlushBegin();
  // BEGIN and one prepared statement in one round trip (pipeline mode).
  PGresult* BeginAndExecPrepared(const std::string& name, int n, const char* const* values, const int* lengths,
                                 const int* formats, Status* status);
  Status Track(Status s);

  PGconn* conn_;
  int64_t changes_ = 0;
  std::string pending_begin_;
  bool saw_conflict_ = false;
  bool saw_lost_ = false;
  bool pending_commit_ = false;  // a COMMIT sent by SendCommitNoWait, its result not read yet
  int64_t next_name_ = 0;
  std::unordered_map<std::string, Prepared> prepared_;            // by SQL text + type signature
  std::unordered_map<std::string, std::unique_ptr<PgStmt>> stmts_;  // by portable SQL text
};

// Formats a double so that PostgreSQL's float8 input reads back the same bits.
std::string FormatDouble(double v);

}  // namespace kiln::storage::postgres
