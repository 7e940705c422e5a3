// Turns the portable SQL's placeholders (`?` numbered left to right, or `?N`)
// into PostgreSQL's `$N`, leaving quoted literals ('..', E'..', $tag$..$tag$),
// quoted identifiers ("..") and comments untouched.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace kiln::storage::postgres {

struct RewrittenSql {
  std::string text;  // with $1..$N
  int params = 0;    // N: the highest placeholder number
};

// InvalidArgument for `?` and `?N` mixed in one statement, `?0`, or an
// unterminated literal/identifier/comment.
StatusOr<RewrittenSql> RewritePlaceholders(std::string_view sql);

}  // namespace kiln::storage::postgres
