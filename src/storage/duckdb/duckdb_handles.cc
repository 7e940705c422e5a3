#include "storage/duckdb/duckdb_handles.h"

namespace kiln::storage::duck {
namespace {

// DuckDB's binder and parser errors name the user's mistake (a missing
// column, a bad type); I/O errors a missing file. Either way the message is
// the useful part, prefixed so the caller sees where it came from.
Status FromResult(duckdb_result* r) {
  const char* msg = duckdb_result_error(r);
  std::string text = std::string("DuckDB: ") + (msg ? msg : "query failed");
  switch (duckdb_result_error_type(r)) {
    case DUCKDB_ERROR_IO:
      return NotFound(text);
    case DUCKDB_ERROR_OUT_OF_MEMORY:
      return ResourceExhausted(text);
    case DUCKDB_ERROR_INTERRUPT:
      return Status(StatusCode::kAborted, text);
    case DUCKDB_ERROR_INTERNAL:
    case DUCKDB_ERROR_FATAL:
      return Internal(text);
    default:
      return InvalidArgument(text);
  }
}

}  // namespace

StatusOr<Connection> Connection::Open(duckdb_database db) {
  Connection c;
  if (duckdb_connect(db, &c.c_) != DuckDBSuccess) return Internal("DuckDB: cannot open a connection");
  KILN_RETURN_IF_ERROR(c.Exec("SET TimeZone = 'UTC'"));
  return c;
}

StatusOr<Result> Connection::Query(const std::string& sql) {
  Result res;
  duckdb_state st = duckdb_query(c_, sql.c_str(), res.get());
  res.MarkLive();  // destroyed even on failure, as the C API requires
  if (st != DuckDBSuccess) return FromResult(res.get());
  return res;
}

Status Connection::Exec(const std::string& sql) {
  KILN_ASSIGN_OR_RETURN(Result r, Query(sql));
  return Status::Ok();
}

Status Connection::FinishStream(Result& r) {
  const char* err = duckdb_result_error(r.get());
  if (err && *err) return FromResult(r.get());
  return Status::Ok();
}

StatusOr<Result> Connection::Stream(const std::string& sql) {
  duckdb_prepared_statement stmt = nullptr;
  if (duckdb_prepare(c_, sql.c_str(), &stmt) != DuckDBSuccess) {
    const char* msg = duckdb_prepare_error(stmt);
    Status s = InvalidArgument(std::string("DuckDB: ") + (msg ? msg : "prepare failed"));
    duckdb_destroy_prepare(&stmt);
    return s;
  }
  Result res;
  duckdb_state st = duckdb_execute_prepared_streaming(stmt, res.get());
  res.MarkLive();
  res.AdoptStatement(stmt);
  if (st != DuckDBSuccess) return FromResult(res.get());
  return res;
}

}  // namespace kiln::storage::duck
