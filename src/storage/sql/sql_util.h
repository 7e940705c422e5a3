// Small helpers the SQL stores share on top of the seam (sql_conn.h).
// Free functions over a caller's statement or connection; not synchronised.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

// PostgreSQL array literals, bound as one text parameter and cast in the
// statement (`CAST(? AS BIGINT[])`, `unnest(CAST(? AS TEXT[]))`): a batch of
// any size is one parameter and one prepared statement, where VALUES lists
// take a parameter per cell and a plan per row count. PostgreSQL only.
inline std::string PgIntArray(const std::vector<int64_t>& v) {
  std::string out = "{";
  char buf[24];
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    auto r = std::to_chars(buf, buf + sizeof(buf), v[i]);
    out.append(buf, r.ptr);
  }
  out += '}';
  return out;
}

// Doubles in the shortest form that reads back exactly; NaN and the
// infinities spelled as float8's input accepts them.
inline std::string PgDoubleArray(const std::vector<double>& v) {
  std::string out = "{";
  char buf[40];
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    const double d = v[i];
    if (std::isnan(d)) {
      out += "NaN";
    } else if (std::isinf(d)) {
      out += d > 0 ? "Infinity" : "-Infinity";
    } else {
      auto r = std::to_chars(buf, buf + sizeof(buf), d);
      out.append(buf, r.ptr);
    }
  }
  out += '}';
  return out;
}

// Every element quoted, `"` and `\` escaped: any text (empty, "NULL",
// braces, commas, spaces) reads back as itself.
inline void AppendPgArrayElement(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  out += '"';
}

inline std::string PgTextArray(const std::vector<std::string_view>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    AppendPgArrayElement(out, v[i]);
  }
  out += '}';
  return out;
}

}  // namespace kiln::storage::sql
