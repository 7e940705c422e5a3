#include "storage/duckdb/duckdb_source.h"

#include <set>

namespace kiln::storage::duck {

StatusOr<const SourceColumn*> SourceSchema::Find(const std::string& name, const std::string& what) const {
  for (const auto& c : columns) {
    if (c.name == name) return &c;
  }
  for (const auto& c : columns) {
    if (c.file_name == name) return &c;
  }
  std::string have;
  for (const auto& c : columns) have += (have.empty() ? "" : ", ") + c.name;
  return InvalidArgument(what + " '" + name + "' is not a column of the source (columns: " + have + ")");
}

StatusOr<SourceSchema> ProbeSource(Connection& conn, const std::string& path, FileFormat format,
                                   const std::map<std::string, std::string>& field_mapping) {
  for (const auto& [from, to] : field_mapping) {
    KILN_RETURN_IF_ERROR(CheckText(from, "field_mapping"));
    KILN_RETURN_IF_ERROR(CheckText(to, "field_mapping"));
  }
  KILN_ASSIGN_OR_RETURN(std::string reader, ReaderSql(path, format));
  return ProbeRelation(conn, std::move(reader), field_mapping);
}

StatusOr<SourceSchema> ProbeRelation(Connection& conn, std::string relation,
                                     const std::map<std::string, std::string>& field_mapping) {
  SourceSchema schema;
  schema.reader = std::move(relation);
  // Types as enums from an empty result, their SQL spelling from DESCRIBE
  // (for messages): both read only the file's metadata or sniff sample.
  KILN_ASSIGN_OR_RETURN(Result probe, conn.Query("SELECT * FROM " + schema.reader + " LIMIT 0"));
  KILN_ASSIGN_OR_RETURN(Result desc, conn.Query("DESCRIBE SELECT * FROM " + schema.reader));
  idx_t n = duckdb_column_count(probe.get());
  std::set<std::string> names;
  for (idx_t i = 0; i < n; ++i) {
    SourceColumn c;
    c.file_name = duckdb_column_name(probe.get(), i);
    c.type = duckdb_column_type(probe.get(), i);
    if (c.type == DUCKDB_TYPE_LIST) {
      duckdb_logical_type lt = duckdb_column_logical_type(probe.get(), i);
      duckdb_logical_type child = duckdb_list_type_child_type(lt);
      c.element_type = duckdb_get_type_id(child);
      duckdb_destroy_logical_type(&child);
      duckdb_destroy_logical_type(&lt);
    }
    if (i < duckdb_row_count(desc.get())) {
      char* t = duckdb_value_varchar(desc.get(), 1, i);
      c.type_name = t ? t : TypeName(c.type);
      duckdb_free(t);
    } else {
      c.type_name = TypeName(c.type);
    }
    auto m = field_mapping.find(c.file_name);
    c.name = m == field_mapping.end() ? c.file_name : m->second;
    if (!names.insert(c.name).second) {
      return InvalidArgument("source column name '" + c.name + "' occurs twice after field_mapping");
    }
    schema.columns.push_back(std::move(c));
  }
  return schema;
}

}  // namespace kiln::storage::duck
