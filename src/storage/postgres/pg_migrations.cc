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
};

Track MainTrack() { return {"schema_migrations", "database schema", &SchemaSteps()}; }
Track AuditTrack() { return {"audit_schema_migrations", "audit schema", &AuditSchemaSteps()}; }

StatusOr<int> ReadVersion(sql::Conn& c, const Track& t) {
  KILN_ASSIGN_OR_RETURN(int64_t has, c.QueryInt(std::string("SELECT to_regclass('") + t.table + "') IS NOT NULL"));
  if (has == 0) return 0;
  KILN_ASSIGN_OR_RETURN(int64_t v, c.QueryInt(std::string("SELECT coalesce(max(version), 0) FROM ") + t.table));
  return static_cast<int>(v);
}

Status CheckNotNewer(int current, const Track& t) {
  const int latest = static_cast<int>(t.steps->size());
  if (current > latest) {
    return FailedPrecondition(std::string(t.what) + " version " + std::to_string(current) +
                              " is newer than this kiln's (" + std::to_string(latest) +
                              "); upgrade kiln before using this database");
  }
  return Status::Ok();
}

Status ApplyTrack(sql::Conn& c, const Track& t) {
  KILN_RETURN_IF_ERROR(c.Exec(std::string("CREATE TABLE IF NOT EXISTS ") + t.table +
                              " (version BIGINT PRIMARY KEY, applied_ms BIGINT)"));
  KILN_ASSIGN_OR_RETURN(int current, ReadVersion(c, t));
  KILN_RETURN_IF_ERROR(CheckNotNewer(current, t));
  const int latest = static_cast<int>(t.steps->size());
  for (int v = current + 1; v <= latest; ++v) {
    Status s = c.Exec("BEGIN");
    if (s.ok()) s = c.Exec((*t.steps)[v - 1]);
    if (s.ok()) {
      s = c.Exec(std::string("INSERT INTO ") + t.table + "(version, applied_ms) VALUES (" + std::to_string(v) +
                 ", CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT))");
    }
    if (s.ok()) s = c.Exec("COMMIT");
    if (!s.ok()) {
      (void)c.Exec("ROLLBACK");
      return Status(s.code(), std::string("migration to ") + t.what + " version " + std::to_string(v) +
                                  " failed: " + s.message());
    }
  }
  return Status::Ok();
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
      KILN_RETURN_IF_ERROR(CheckNotNewer(current, t));
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
