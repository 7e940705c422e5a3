// Opening the SQLite metadata database: schema version checks, migrations on
// open, and the Database over one writer and a read pool.
#include <exception>
#include <filesystem>
#include <string>
#include <system_error>

#include "storage/sqlite/migrations.h"
#include "storage/sqlite/read_pool.h"
#include "storage/sqlite/sqlite_database.h"
#include "storage/sqlite/sqlite_db.h"

namespace kiln::storage::sqlite {

StatusOr<std::unique_ptr<sql::Database>> OpenDatabase(const std::string& path, const DatabaseOptions& opts) {
  try {
    KILN_ASSIGN_OR_RETURN(auto writer, SqliteConn::Open(path, /*query_only=*/false));
    KILN_ASSIGN_OR_RETURN(int version, ReadSchemaVersion(*writer));
    const int latest = LatestSchemaVersion();
    KILN_RETURN_IF_ERROR(CheckUsable(*writer, latest));
    if (version < latest) {
      if (!opts.migrate_on_open) {
        return FailedPrecondition("database schema version " + std::to_string(version) + " is older than " +
                                  std::to_string(latest) + "; run `kiln migrate`");
      }
      KILN_RETURN_IF_ERROR(MigrateTo(*writer, latest));
    }
    KILN_ASSIGN_OR_RETURN(auto readers, ReadPool::Open(path, opts.read_connections));
    return std::unique_ptr<sql::Database>(std::make_unique<Database>(std::move(writer), std::move(readers)));
  } catch (const std::exception& e) {
    return Internal(std::string("sqlite: ") + e.what());
  }
}

}  // namespace kiln::storage::sqlite

namespace kiln::storage {

int LatestSqliteSchemaVersion() { return sqlite::LatestSchemaVersion(); }

StatusOr<int> SqliteSchemaVersion(const std::string& db_path) {
  try {
    std::error_code ec;
    if (!std::filesystem::exists(db_path, ec) && !ec) return 0;  // never created: version 0
    KILN_ASSIGN_OR_RETURN(auto conn, sqlite::SqliteConn::Open(db_path, /*query_only=*/false, /*create=*/false));
    return sqlite::ReadSchemaVersion(*conn);
  } catch (const std::exception& e) {
    return Internal(std::string("sqlite: ") + e.what());
  }
}

Status MigrateSqlite(const std::string& db_path) {
  try {
    KILN_ASSIGN_OR_RETURN(auto conn, sqlite::SqliteConn::Open(db_path, /*query_only=*/false));
    return sqlite::MigrateTo(*conn, sqlite::LatestSchemaVersion());
  } catch (const std::exception& e) {
    return Internal(std::string("sqlite: ") + e.what());
  }
}

}  // namespace kiln::storage
