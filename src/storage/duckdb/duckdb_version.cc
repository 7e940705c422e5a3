#include "storage/duckdb/duckdb_version.h"

#include <duckdb.h>

namespace kiln::storage {

const char* ExpectedDuckDbVersion() { return KILN_DUCKDB_VERSION; }

std::string LoadedDuckDbVersion() {
  const char* v = duckdb_library_version();
  return v ? v : "";
}

Status CheckDuckDbLibraryVersion() {
  std::string loaded = LoadedDuckDbVersion();
  if (loaded != ExpectedDuckDbVersion()) {
    return FailedPrecondition("libduckdb.so is DuckDB " + loaded + ", kiln was built against " +
                              ExpectedDuckDbVersion() +
                              " (ship the libduckdb.so from third_party/duckdb beside the kiln binary; "
                              "run scripts/setup.sh)");
  }
  return Status::Ok();
}

}  // namespace kiln::storage
