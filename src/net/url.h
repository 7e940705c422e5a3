// URL pieces: percent-decoding and query-string parsing. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kiln::net {

// Decodes %XX escapes; '+' becomes ' ' only when plus_is_space. Returns
// nullopt on a malformed escape.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space);

// Splits "a=1&b=2&a=3" into decoded pairs, keeping order and repeats.
// Returns nullopt on a malformed escape.
std::optional<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query);

}  // namespace kiln::net
