// The DuckDB library kiln was built against must be the one the dynamic
// loader found: libduckdb.so ships beside the binary and a stale or foreign
// copy would change SQL semantics silently, so `kiln serve` checks at start.
#pragma once

#include <string>

#include "core/status.h"

namespace kiln::storage {

// The version duckdb.h came with ("v1.5.6"), pinned in cmake/duckdb.cmake.
const char* ExpectedDuckDbVersion();

// duckdb_library_version() of the loaded library.
std::string LoadedDuckDbVersion();

// FailedPrecondition naming both versions when they differ.
Status CheckDuckDbLibraryVersion();

}  // namespace kiln::storage
