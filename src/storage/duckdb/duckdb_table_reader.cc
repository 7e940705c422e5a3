#include "storage/duckdb/duckdb_table_reader.h"

#include <duckdb.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <limits>
#include <set>
#include <system_error>
#include <utility>

#include "storage/duckdb/duckdb_handles.h"
#include "storage/duckdb/duckdb_source.h"
#include "storage/duckdb/duckdb_sql.h"

namespace kiln::storage {
namespace {

using duck::Connection;
using duck::Result;

bool IsNumeric(duckdb_type t) {
  switch (t) {
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_UHUGEINT:
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_DECIMAL:
      return true;
    default:
      return false;
  }
}

bool EndsWithNoCase(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(suffix.begin(), suffix.end(), s.end() - static_cast<std::ptrdiff_t>(suffix.size()),
                    [](char want, char c) { return std::tolower(static_cast<unsigned char>(c)) == want; });
}

// Owns a private in-memory database for one read.
class PrivateDb {
 public:
  static StatusOr<std::unique_ptr<PrivateDb>> Open() {
    duckdb_config cfg = nullptr;
    if (duckdb_create_config(&cfg) != DuckDBSuccess) return Internal("DuckDB: cannot create a config");
    // Explicit, like the offline engine's: the defaults would take every core
    // and most of the memory, and fetch extensions from the network.
    const std::pair<const char*, const char*> settings[] = {
        {"threads", "1"},
        {"memory_limit", "512MB"},
        {"autoinstall_known_extensions", "false"},
        {"autoload_known_extensions", "false"},
        {"allow_community_extensions", "false"},
    };
    for (const auto& [k, v] : settings) {
      if (duckdb_set_config(cfg, k, v) != DuckDBSuccess) {
        duckdb_destroy_config(&cfg);
        return Internal(std::string("DuckDB rejects ") + k + " = '" + v + "'");
      }
    }
    duckdb_database db = nullptr;
    char* err = nullptr;
    duckdb_state st = duckdb_open_ext(nullptr, &db, cfg, &err);
    duckdb_destroy_config(&cfg);
    if (st != DuckDBSuccess) {
      std::string msg = err ? err : "open failed";
      duckdb_free(err);
      return Internal("DuckDB: " + msg);
    }
    return std::unique_ptr<PrivateDb>(new PrivateDb(db));
  }
  ~PrivateDb() { duckdb_close(&db_); }
  PrivateDb(const PrivateDb&) = delete;
  PrivateDb& operator=(const PrivateDb&) = delete;
  duckdb_database get() const { return db_; }

 private:
  explicit PrivateDb(duckdb_database db) : db_(db) {}
  duckdb_database db_;
};

Status Unreadable(const std::string& path, const Status& s) {
  return InvalidArgument("cannot read '" + path + "': " + s.message());
}

StatusOr<std::map<std::string, std::vector<double>>> Read(const std::string& path, FileFormat format,
                                                          const std::vector<std::string>& wanted_in,
                                                          int64_t max_rows) {
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<PrivateDb> db, PrivateDb::Open());
  std::map<std::string, std::vector<double>> out;
  std::vector<std::string> names;  // in select order
  {
    // The connection must close before the database does.
    KILN_ASSIGN_OR_RETURN(Connection conn, Connection::Open(db->get()));
    StatusOr<duck::SourceSchema> schema = duck::ProbeSource(conn, path, format, {});
    if (!schema.ok()) return Unreadable(path, schema.status());

    std::vector<const duck::SourceColumn*> cols;
    if (wanted_in.empty()) {
      for (const auto& c : schema->columns) {
        if (IsNumeric(c.type)) cols.push_back(&c);
      }
      if (cols.empty()) return InvalidArgument("'" + path + "' has no numeric column");
    } else {
      std::set<std::string> seen;
      for (const std::string& name : wanted_in) {
        if (!seen.insert(name).second) continue;
        auto it = std::find_if(schema->columns.begin(), schema->columns.end(),
                               [&](const duck::SourceColumn& c) { return c.name == name; });
        if (it == schema->columns.end()) {
          std::string have;
          for (const auto& c : schema->columns) have += (have.empty() ? "" : ", ") + c.name;
          return InvalidArgument("'" + path + "' has no column '" + name + "' (it has: " + have + ")");
        }
        if (!IsNumeric(it->type)) {
          return InvalidArgument("column '" + name + "' of '" + path + "' is " + it->type_name + ", not numeric");
        }
        cols.push_back(&*it);
      }
    }

    std::string select;
    for (const auto* c : cols) {
      KILN_RETURN_IF_ERROR(duck::CheckText(c->name, "column name"));
      select += (select.empty() ? "" : ", ") + std::string("CAST(") + duck::Ident(c->file_name) + " AS DOUBLE)";
      names.push_back(c->name);
    }
    std::vector<std::vector<double>*> dest;
    for (const std::string& n : names) dest.push_back(&out[n]);

    const std::string sql =
        "SELECT " + select + " FROM " + schema->reader + " LIMIT " + std::to_string(max_rows + 1);
    StatusOr<Result> r = conn.Stream(sql);
    if (!r.ok()) return Unreadable(path, r.status());
    int64_t rows = 0;
    while (true) {
      duck::DataChunk dc(duckdb_fetch_chunk(*r->get()));
      if (!dc) break;
      const idx_t n = duckdb_data_chunk_get_size(dc.get());
      rows += static_cast<int64_t>(n);
      if (rows > max_rows) {
        return InvalidArgument("'" + path + "' has more than " + std::to_string(max_rows) +
                               " rows, the most kiln reads as a reference table");
      }
      for (size_t c = 0; c < dest.size(); ++c) {
        duckdb_vector vec = duckdb_data_chunk_get_vector(dc.get(), static_cast<idx_t>(c));
        const double* data = static_cast<const double*>(duckdb_vector_get_data(vec));
        uint64_t* validity = duckdb_vector_get_validity(vec);
        std::vector<double>& d = *dest[c];
        d.reserve(d.size() + n);
        for (idx_t i = 0; i < n; ++i) {
          const bool valid = !validity || duckdb_validity_row_is_valid(validity, i);
          d.push_back(valid ? data[i] : std::numeric_limits<double>::quiet_NaN());
        }
      }
    }
    Status fin = Connection::FinishStream(*r);
    if (!fin.ok()) return Unreadable(path, fin);
  }
  return out;
}

}  // namespace

StatusOr<std::map<std::string, std::vector<double>>> ReadNumericColumns(const std::string& raw_path,
                                                                        const std::vector<std::string>& columns,
                                                                        int64_t max_rows) {
  KILN_RETURN_IF_ERROR(duck::CheckText(raw_path, "path"));
  for (const std::string& c : columns) KILN_RETURN_IF_ERROR(duck::CheckText(c, "column name"));
  if (max_rows <= 0 || max_rows == std::numeric_limits<int64_t>::max()) {
    return InvalidArgument("max_rows must be positive and finite");
  }
  const std::string path = raw_path.rfind("file://", 0) == 0 ? raw_path.substr(7) : raw_path;
  if (path.empty()) return InvalidArgument("empty file path");
  FileFormat format;
  if (EndsWithNoCase(path, ".csv")) {
    format = FileFormat::kCsv;
  } else if (EndsWithNoCase(path, ".parquet")) {
    format = FileFormat::kParquet;
  } else {
    return InvalidArgument("'" + path + "' is neither a .csv nor a .parquet file");
  }
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return InvalidArgument("'" + path + "' does not exist");
  return Read(path, format, columns, max_rows);
}

}  // namespace kiln::storage
