// Small helpers the SQL stores share on top of the seam (sql_conn.h).
// Free functions over a caller's statement or connection; not synchronised.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "storage/sql/sql_conn.h"

namespace kiln::storage::sql {

// Runs a statement that yields one integer row (`INSERT ... RETURNING id`,
// `UPDATE ... RETURNING counter`) to completion and returns that integer;
// NotFound when it yields no row (e.g. the UPDATE matched nothing).
inline StatusOr<int64_t> RunReturningInt(Stmt& st) {
  KILN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) {
    st.Reset();
    return NotFound("no row");
  }
  const int64_t v = st.Int(0);
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool more, st.Step());
    if (!more) break;
  }
  st.Reset();
  return v;
}

}  // namespace kiln::storage::sql
