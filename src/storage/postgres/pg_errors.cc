#include "storage/postgres/pg_errors.h"

#include <string>

namespace kiln::storage::postgres {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

StatusCode CodeForSqlState(std::string_view st) {
  if (st == "23505") return StatusCode::kAlreadyExists;
  if (st == "40001" || st == "40P01") return StatusCode::kAborted;
  if (st.size() == 5 && (st.substr(0, 2) == "08" || st.substr(0, 2) == "53" || st.substr(0, 4) == "57P0")) {
    return StatusCode::kUnavailable;
  }
  return StatusCode::kInternal;
}

Status ResultStatus(const PGresult* res, PGconn* conn) {
  const ExecStatusType rs = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK || rs == PGRES_EMPTY_QUERY) return Status::Ok();
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  if (state == nullptr) {
    // libpq made this error itself: the server is gone or never answered.
    std::string msg = res ? PQresultErrorMessage(res) : "";
    if (msg.empty() && conn) msg = PQerrorMessage(conn);
    if (conn == nullptr || PQstatus(conn) == CONNECTION_BAD) {
      return Unavailable("postgresql: connection lost: " + Trim(msg));
    }
    return Internal("postgresql: " + Trim(msg));
  }
  const StatusCode code = CodeForSqlState(state);
  std::string msg = "postgresql: ";
  const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  msg += primary ? primary : Trim(PQresultErrorMessage(res));
  msg += std::string(" (SQLSTATE ") + state + ")";
  if (const char* constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME)) {
    msg += std::string(" constraint ") + constraint;
  }
  if (const char* detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL)) msg += std::string(": ") + detail;
  return Status(code, msg);
}

Status ConnectStatus(PGconn* conn) {
  if (conn == nullptr) return Unavailable("postgresql: cannot allocate a connection");
  if (PQstatus(conn) == CONNECTION_OK) return Status::Ok();
  return Unavailable("postgresql: cannot connect: " + Trim(PQerrorMessage(conn)));
}

}  // namespace kiln::storage::postgres
