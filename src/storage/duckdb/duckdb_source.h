// What the engine learns about a source before building its query: the
// columns DuckDB reads from it, renamed by field_mapping. Stateless helpers;
// thread-safe given one Connection per thread.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/duckdb/duckdb_handles.h"
#include "storage/duckdb/duckdb_sql.h"

namespace kiln::storage::duck {

struct SourceSchema {
  std::string reader;  // read_parquet(...) etc.
  std::vector<SourceColumn> columns;

  // By its name after field_mapping, else by its name in the file (Feast
  // applies field_mapping to timestamp fields in some stores and not in others).
  StatusOr<const SourceColumn*> Find(const std::string& name, const std::string& what) const;
};

// Over any relation (a reader call or a parenthesized subquery).
StatusOr<SourceSchema> ProbeRelation(Connection& conn, std::string relation,
                                     const std::map<std::string, std::string>& field_mapping);
StatusOr<SourceSchema> ProbeSource(Connection& conn, const std::string& path, FileFormat format,
                                   const std::map<std::string, std::string>& field_mapping);

}  // namespace kiln::storage::duck
