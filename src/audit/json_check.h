// A JSON syntax check (RFC 8259, UTF-8 validated) without building a value:
// the audit log embeds request bodies as received once they pass it, and
// nlohmann's accept() costs several times more (it converts every number).
// Nesting deeper than 256 levels is refused, so a hostile body cannot
// exhaust the stack.
//
// Free function; thread-safe.
#pragma once

#include <string_view>

namespace kiln::audit {

bool IsValidJson(std::string_view text);

}  // namespace kiln::audit
