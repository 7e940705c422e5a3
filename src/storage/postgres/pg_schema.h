// The PostgreSQL DDL texts, one per schema version (index 0 = version 1).
// Pure data; thread-safe.
#pragma once

#include <vector>

namespace kiln::storage::postgres {

// kiln's metadata schema, versions 1..N (the numbers of the SQLite schema).
const std::vector<const char*>& SchemaSteps();
// The audit log's tables, versions 1..M (audit_schema_migrations).
const std::vector<const char*>& AuditSchemaSteps();

// For version v (1..N, resp. 1..M): the oldest schema version whose kiln can
// still run on a database at v (expand/contract, docs/operations.md). The
// same numbers as storage/sqlite/migrations.cc.
int SchemaCompatibleSince(int version);
int AuditSchemaCompatibleSince(int version);

}  // namespace kiln::storage::postgres
