#include "storage/duckdb/duckdb_version.h"

#include <gtest/gtest.h>

namespace kiln::storage {
namespace {

TEST(DuckDbVersion, LoadedLibraryIsTheOneBuiltAgainst) {
  EXPECT_EQ(LoadedDuckDbVersion(), "v1.5.6");
  EXPECT_TRUE(CheckDuckDbLibraryVersion().ok());
}

}  // namespace
}  // namespace kiln::storage
