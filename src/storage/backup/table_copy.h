// Engine-independent copying and fingerprinting of kiln's metadata tables,
// for `kiln backup` / `kiln restore` (and moving embedded → PostgreSQL): the
// same rows go from any sql::Conn to any other, and a digest computed the same
// way on both ends proves they arrived whole.
//
// The table set is read from the database's own catalog (sqlite_master or
// information_schema), ordered so a table comes after every table its
// foreign keys name. Schema-version tables are not copied: both ends must
// already be migrated to the same version (the caller checks). Nor is
// metric_blocks, which the target's triggers rebuild from the metrics copied.
//
// Thread-safety: free functions; the Conns passed in are used by the calling
// thread only, inside the caller's transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/sql/sql_conn.h"

namespace kiln::storage::backup {

enum class ColumnKind { kInteger, kDouble, kText };

struct ColumnInfo {
  std::string name;
  ColumnKind kind = ColumnKind::kText;
  bool serial = false;  // PostgreSQL: filled from a sequence (advanced after a restore)
};

struct TableInfo {
  std::string name;
  std::vector<ColumnInfo> columns;
  std::vector<std::string> references;  // tables its foreign keys name
};

// The database's tables (without schema-version bookkeeping), parents first.
StatusOr<std::vector<TableInfo>> ListTables(sql::Conn& conn);

struct TableDigest {
  std::string table;
  int64_t rows = 0;
  std::string sha256;  // over every row in column order, rows sorted by all columns
};

// The digest of one table; equal on two engines exactly when they hold the
// same rows (integers, doubles bit-exact incl. ±inf, text bytewise).
StatusOr<TableDigest> DigestTable(sql::Conn& conn, const TableInfo& table);

// Copies every row of `table` from `from` into the same table of `to`;
// progress(rows_so_far) every few thousand rows. Returns the rows copied.
StatusOr<int64_t> CopyTable(sql::Conn& from, sql::Conn& to, const TableInfo& table,
                            const std::function<void(int64_t)>& progress = {});

// PostgreSQL: moves every serial column's sequence past the copied rows, so
// the next insert does not collide. No-op on SQLite.
Status AdvanceSequences(sql::Conn& to, const std::vector<TableInfo>& tables);

// Rows in a table (an empty target is checked with this).
StatusOr<int64_t> CountRows(sql::Conn& conn, const std::string& table);

}  // namespace kiln::storage::backup
