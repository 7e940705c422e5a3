// Maps libpq outcomes onto the error classes of sql_conn.h: SQLSTATE 23505 ->
// AlreadyExists, 40001/40P01 -> Aborted, a lost or unreachable server (class
// 08, 57P0x, 53xxx, or no SQLSTATE with the connection gone) -> Unavailable,
// anything else -> Internal with the server's message.
//
// Pure functions; thread-safe.
#pragma once

#include <libpq-fe.h>

#include <string_view>

#include "core/status.h"

namespace kiln::storage::postgres {

StatusCode CodeForSqlState(std::string_view sqlstate);

// The Status of a finished command result (OK for COMMAND_OK/TUPLES_OK);
// `res` may be null (libpq out of memory or the connection lost).
Status ResultStatus(const PGresult* res, PGconn* conn);

// A connection that failed to open, with libpq's message (never the password).
Status ConnectStatus(PGconn* conn);

}  // namespace kiln::storage::postgres
