// The import's target connection: a chunk whose transaction SQLite ended by
// itself (the state a SQLITE_FULL or SQLITE_IOERR can leave) is an error,
// never a commit of whatever ran after it.
#include "storage/mlflow_import/sqlite_import_db.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace kiln::storage::mlflow_import {
namespace {

TEST(SqliteImportDbTest, AChunkWhoseTransactionSqliteEndedFails) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kiln_import_db_XXXXXX").string();
  const std::string dir = mkdtemp(tmpl.data());
  {
    auto db = OpenKilnSqlite(dir + "/kiln.db");
    ASSERT_TRUE(db.ok()) << db.status().message();
    ASSERT_TRUE((*db)->Write([](sql::Conn& c) { return c.Exec("CREATE TABLE scratch(id INTEGER)"); }).ok());
    Status s = (*db)->Write([](sql::Conn& c) -> Status {
      KILN_RETURN_IF_ERROR(c.Exec("INSERT INTO scratch VALUES (1)"));
      return c.Exec("ROLLBACK");  // as SQLite does on SQLITE_FULL
    });
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("rolled the transaction back"), std::string::npos) << s.message();
    // The connection is usable afterwards, and the lost row is not there.
    int64_t rows = -1;
    ASSERT_TRUE((*db)->Read([&](sql::Conn& c) -> Status {
                   KILN_ASSIGN_OR_RETURN(rows, c.QueryInt("SELECT count(*) FROM scratch"));
                   return Status::Ok();
                 }).ok());
    EXPECT_EQ(rows, 0);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kiln::storage::mlflow_import
