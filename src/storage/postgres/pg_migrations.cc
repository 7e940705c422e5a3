#include "storage/postgres/pg_migrations.h"

#include <string>

#include "storage/postgres/pg_schema.h"

namespace kiln::storage::postgres {
namespace {

// pg_advisory_lock key: "kiln" + "mig" in ASCII, unlikely to collide with an
// application sharing the database.
constexpr const char* kLockKey = "7021781299513";

struct Track {
  const char* table;  // version table
  const char* what;   // for messages
  const std::vector<const char*>* steps;
  int (*compatible_since)(int version);
};

Track MainTrack() { return {"schema_migrations", "database schema", &SchemaSteps(), &SchemaCompatibleSince}; }
Track AuditTrack() {
  return {"audit_schema_migrations", "audit schema", &AuditSchemaSteps(), &AuditSchemaCompatibleSince};
}

StatusOr<int> ReadVersion(sql::Conn& c, const Track& t) {
  KILN_ASSIGN_OR_RETURN(int64_t has, c.QueryInt(std::string("SELECT to_regclass('") + t.table + "') IS NOT NULL"));
  if (has == 0) return 0;
  KILN_ASSIGN_OR_RETURN(int64_t v, c.QueryInt(std::string("SELECT coalesce(max(version), 0) FROM ") + t.table));
  return static_cast<int>(v);
}

StatusOr<bool> HasCompatColumn(sql::Conn& c, const Track& t) {
  KILN_ASSIGN_OR_RETURN(int64_t n, c.QueryInt(std::string("SELECT count(*) FROM information_schema.columns WHERE "
                                                          "table_schema = current_schema() AND table_name = '") +
                                              t.table + "' AND column_name = 'compatible_since'"));
  return n > 0;
}

// A database newer than this build is usable while the migrations above it
// were expand-only: its newest row says which binaries it still serves. A row
// without the value (written before kiln recorded it) serves only its own.
Status CheckUsable(sql::Conn& c, int current, const Track& t) {
  const int latest = static_cast<int>(t.steps->size());
  if (current <= latest) return Status::Ok();
  int since = current;
  KILN_ASSIGN_OR_RETURN(bool has_column, HasCompatColumn(c, t));
  if (has_column) {
    KILN_ASSIGN_OR_RETURN(int64_t v, c.QueryInt(std::string("SELECT coalesce(compatible_since, version) FROM ") +
                                                t.table + " WHERE version = " + std::to_string(current)));
    since = static_cast<int>(v);
  }
  if (since <= latest) return Status::Ok();
  return FailedPrecondition(std::string(t.what) + " version " + std::to_string(current) +
                            " is newer than this kiln's (" + std::to_string(latest) +
                            ") and no longer compatible with it: it serves kiln builds of " + t.what +
                            " version " + std::to_string(since) +
                            " or later (a contract migration removed or changed what this build uses); "
                            "upgrade kiln before using this database");
}

Status ApplyTrack(sql::Conn& c, const Track& t) {
  KILN_RETURN_IF_ERROR(c.Exec(std::string("CREATE TABLE IF NOT EXISTS ") + t.table +
                              " (version BIGINT PRIMARY KEY, applied_ms BIGINT, compatible_since BIGINT)"));
  KILN_ASSIGN_OR_RETURN(bool has_column, HasCompatColumn(c, t));
  if (!has_column) {
    KILN_RETURN_IF_ERROR(c.Exec(std::string("ALTER TABLE ") + t.table + " ADD COLUMN IF NOT EXISTS compatible_since BIGINT"));
  }
  KILN_ASSIGN_OR_RETURN(int current, ReadVersion(c, t));
  KILN_RETURN_IF_ERROR(CheckUsable(c, current, t));
  const int latest = static_cast<int>(t.steps->size());
  for (int v = current + 1; v <= latest; ++v) {
    Status s = c.Exec("BEGIN");
    if (s.ok()) s = c.Exec((*t.steps)[v - 1]);
    if (s.ok()) {
      s = c.Exec(std::string("INSERT INTO ") + t.table + "(version, applied_ms, compatible_since) VALUES (" +
                 std::to_string(v) + ", CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT), " +
                 std::to_string(t.compatible_since(v)) + ")");
    }
    if (s.ok()) s = c.Exec("COMMIT");
    if (!s.ok()) {
      (void)c.Exec("ROLLBACK");
      return Status(s.code(), std::string("migration to ") + t.what + " version " + std::to_string(v) +
                                  " failed: " + s.message());
    }
  }
  // Rows applied before kiln recorded compatibility get this build's values.
  std::string backfill = std::string("UPDATE ") + t.table + " SET compatible_since = CASE version";
  for (int v = 1; v <= latest; ++v) {
    backfill += " WHEN " + std::to_string(v) + " THEN " + std::to_string(t.compatible_since(v));
  }
  backfill += " END WHERE compatible_since IS NULL AND version BETWEEN 1 AND " + std::to_string(latest);
  return latest == 0 ? Status::Ok() : c.Exec(backfill);
}

}  // namespace

int LatestSchemaVersion() { return static_cast<int>(SchemaSteps().size()); }
int LatestAuditSchemaVersion() { return static_cast<int>(AuditSchemaSteps().size()); }

StatusOr<int> ReadSchemaVersion(sql::Conn& conn) { return ReadVersion(conn, MainTrack()); }

Status Migrate(PgDatabase& db) {
  return db.WithConnection([](sql::Conn& c) -> Status {
    KILN_RETURN_IF_ERROR(c.Exec(std::string("SELECT pg_advisory_lock(") + kLockKey + ")"));
    Status s = ApplyTrack(c, MainTrack());
    if (s.ok()) s = ApplyTrack(c, AuditTrack());
    Status unlock = c.Exec(std::string("SELECT pg_advisory_unlock(") + kLockKey + ")");
    return s.ok() ? unlock : s;
  });
}

Status PrepareSchema(PgDatabase& db, bool migrate) {
  if (migrate) return Migrate(db);
  return db.Read([](sql::Conn& c) -> Status {
    for (const Track& t : {MainTrack(), AuditTrack()}) {
      KILN_ASSIGN_OR_RETURN(int current, ReadVersion(c, t));
      KILN_RETURN_IF_ERROR(CheckUsable(c, current, t));
      const int latest = static_cast<int>(t.steps->size());
      if (current < latest) {
        return FailedPrecondition(std::string(t.what) + " version " + std::to_string(current) +
                                  " is older than " + std::to_string(latest) + "; run `kiln migrate`");
      }
    }
    return Status::Ok();
  });
}

}  // namespace kiln::storage::postgres
