#include "storage/sqlite/sqlite_audit_db.h"

#include <string_view>

#include "storage/sqlite/read_pool.h"
#include "storage/sqlite/sqlite_database.h"
#include "storage/sqlite/sqlite_db.h"

namespace kiln::storage::sqlite {
namespace {

// The audit database's own migrations; each runs in one IMMEDIATE
// transaction with its row in audit_schema_migrations.
constexpr std::string_view kMigrations[] = {
    // v1. The record text lives in a table of its own, so the rows queries
    // filter (actor, action, object, ...) stay dense -- dozens per page --
    // and a filtered scan in seq order is fast without an index per column,
    // each of which would cost a page write on every append.
    "CREATE TABLE records ("
    "  seq INTEGER PRIMARY KEY,"
    "  time_ms INTEGER NOT NULL,"
    "  audit_id TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  object TEXT NOT NULL,"
    "  decision TEXT NOT NULL,"
    "  stage TEXT NOT NULL,"
    "  hash TEXT NOT NULL);"
    "CREATE INDEX records_audit_id ON records(audit_id);"
    "CREATE TABLE record_json (seq INTEGER PRIMARY KEY, json TEXT NOT NULL);"
    "CREATE TABLE checkpoints ("
    "  id INTEGER PRIMARY KEY,"
    "  seq INTEGER NOT NULL,"
    "  hash TEXT NOT NULL,"
    "  time_ms INTEGER NOT NULL,"
    "  prev_signature TEXT NOT NULL,"
    "  signature TEXT NOT NULL,"
    "  key_id TEXT NOT NULL);",
};

Status Migrate(SqliteConn& conn) {
  KILN_RETURN_IF_ERROR(
      conn.Exec("CREATE TABLE IF NOT EXISTS audit_schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER)"));
  KILN_ASSIGN_OR_RETURN(int64_t current, conn.QueryInt("SELECT COALESCE(MAX(version), 0) FROM audit_schema_migrations"));
  const int64_t latest = static_cast<int64_t>(std::size(kMigrations));
  if (current > latest) {
    return FailedPrecondition("audit database schema v" + std::to_string(current) + " is newer than this kiln (v" +
                              std::to_string(latest) + ")");
  }
  for (int64_t v = current + 1; v <= latest; ++v) {
    KILN_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE"));
    Status s = conn.Exec(std::string(kMigrations[v - 1]));
    if (s.ok()) {
      s = conn.Exec("INSERT INTO audit_schema_migrations(version, applied_ms) VALUES (" + std::to_string(v) +
                    ", CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))");
    }
    if (s.ok()) s = conn.Exec("COMMIT");
    if (!s.ok()) {
      (void)conn.Exec("ROLLBACK");
      return s;
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<sql::Database>> OpenAuditDatabase(const std::string& path) {
  auto writer = SqliteConn::Open(path, /*query_only=*/false, /*create=*/true, kAuditBusyTimeoutMs);
  if (!writer.ok()) return Unavailable("audit store " + path + ": " + writer.status().message());
  if (Status s = Migrate(**writer); !s.ok()) {
    if (s.code() == StatusCode::kFailedPrecondition) return s;
    return Unavailable("audit store " + path + ": " + s.message());
  }
  auto readers = ReadPool::Open(path, 2, kAuditBusyTimeoutMs);
  if (!readers.ok()) return Unavailable("audit store " + path + ": " + readers.status().message());
  return std::unique_ptr<sql::Database>(std::make_unique<Database>(std::move(*writer), std::move(*readers)));
}

StatusOr<std::unique_ptr<sql::Database>> OpenAuditDatabaseReadOnly(const std::string& path) {
  auto readers = ReadPool::Open(path, 1, kAuditBusyTimeoutMs);
  if (!readers.ok()) return Unavailable("audit store " + path + ": " + readers.status().message());
  auto db = std::make_unique<Database>(nullptr, std::move(*readers));
  int64_t has = 0;
  Status s = db->Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(has, c.QueryInt("SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='records'"));
    return Status::Ok();
  });
  if (!s.ok()) return Unavailable("audit store " + path + ": " + s.message());
  if (has == 0) return NotFound(path + " is not a kiln audit database (no records table)");
  return std::unique_ptr<sql::Database>(std::move(db));
}

}  // namespace kiln::storage::sqlite
