#include "cli/backends.h"

#include <filesystem>

#include "storage/artifact_store_uri.h"
#include "storage/postgres/pg_change_feed.h"
#include "storage/postgres/pg_database.h"
#include "storage/sqlite/sqlite_audit_db.h"
#include "storage/sqlite/sqlite_database.h"

namespace kiln::cli {
namespace {

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

bool UsesPostgres(const Config& c) {
  return StartsWith(c.database_uri, "postgresql://") || StartsWith(c.database_uri, "postgres://");
}

std::string SqlitePath(const Config& c) {
  if (UsesPostgres(c)) return "";
  if (StartsWith(c.database_uri, "sqlite://")) {
    // sqlite:///abs/path (three slashes) or sqlite://relative/path, as SQLAlchemy spells them.
    // sqlite:// alone: the embedded default below.
    std::string path = c.database_uri.substr(std::string("sqlite://").size());
    if (!path.empty()) return path;
  }
  return (std::filesystem::path(c.data_dir) / "kiln.db").string();
}

std::string DescribeDatabase(const Config& c) {
  if (!UsesPostgres(c)) return "sqlite " + SqlitePath(c);
  // Drop a password written into the URI (user:password@host).
  std::string uri = c.database_uri;
  const size_t scheme = uri.find("://");
  const size_t at = uri.find('@', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme != std::string::npos && at != std::string::npos) {
    const size_t colon = uri.find(':', scheme + 3);
    if (colon != std::string::npos && colon < at) uri.erase(colon, at - colon);
  }
  const size_t query = uri.find('?');
  if (query != std::string::npos) uri.erase(query);
  return uri;
}

StatusOr<std::unique_ptr<storage::sql::Database>> OpenMetadataDatabase(const Config& c, bool migrate) {
  if (UsesPostgres(c)) {
    storage::postgres::PgOptions options;
    options.pool_size = c.database_pool;
    options.password_file = c.database_password_file;
    options.migrate_on_open = migrate;
    return storage::postgres::OpenDatabase(c.database_uri, options);
  }
  const std::string path = SqlitePath(c);
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  storage::sqlite::DatabaseOptions options;
  options.migrate_on_open = migrate;
  return storage::sqlite::OpenDatabase(path, options);
}

StatusOr<std::unique_ptr<storage::sql::Database>> OpenAuditDatabase(const Config& c) {
  if (UsesPostgres(c)) return std::unique_ptr<storage::sql::Database>();
  const std::string path =
      c.audit_db.empty() ? (std::filesystem::path(c.data_dir) / "audit.db").string() : c.audit_db;
  return storage::sqlite::OpenAuditDatabase(path);
}

StatusOr<std::unique_ptr<ChangeFeed>> OpenChangeFeed(const Config& c, storage::sql::Database& database) {
  if (!UsesPostgres(c)) return std::unique_ptr<ChangeFeed>(std::make_unique<NullChangeFeed>());
  auto* pg = dynamic_cast<storage::postgres::PgDatabase*>(&database);
  if (pg == nullptr) return Internal("the PostgreSQL metadata database is not a PgDatabase");
  KILN_ASSIGN_OR_RETURN(auto feed,
                        storage::postgres::PgChangeFeed::Create(*pg, std::chrono::milliseconds(c.replica_resync_ms)));
  return std::unique_ptr<ChangeFeed>(std::move(feed));
}

StatusOr<std::unique_ptr<storage::ArtifactStore>> OpenArtifacts(const Config& c) {
  return storage::OpenArtifactStore(c.artifacts_uri, (std::filesystem::path(c.data_dir) / "artifacts").string());
}

}  // namespace kiln::cli
