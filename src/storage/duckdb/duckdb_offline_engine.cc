#include "storage/duckdb/duckdb_offline_engine.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "storage/duckdb/duckdb_handles.h"
#include "storage/duckdb/duckdb_source.h"
#include "storage/duckdb/duckdb_sql.h"
#include "storage/duckdb/duckdb_version.h"

namespace kiln::storage {
namespace {

using duck::Connection;
using duck::Ident;
using duck::Result;

// The query of a latest-row scan: `select_list` names its output columns
// __kiln_c0.. in the Chunk's order; `from` is the windowed source.
struct ScanPlan {
  std::vector<std::pair<std::string, ColumnType>> out;  // Chunk column names and types
  std::vector<ColumnType> elements;                     // parallel to out: a kList column's element type
  std::string select_list;
  std::string partition;  // the join-key expressions
  std::string from;       // FROM ... WHERE ...
};

StatusOr<ScanPlan> PlanScan(Connection& conn, const LatestScanRequest& req) {
  const OfflineSource& src = req.source;
  if (req.join_keys.empty()) return InvalidArgument("a latest-row scan needs at least one join key");
  if (req.end_us <= req.start_us) return InvalidArgument("scan window is empty (end <= start)");
  for (const auto& s : req.join_keys) KILN_RETURN_IF_ERROR(duck::CheckText(s, "join key"));
  for (const auto& s : req.features) KILN_RETURN_IF_ERROR(duck::CheckText(s, "feature"));
  KILN_ASSIGN_OR_RETURN(duck::SourceSchema schema, duck::ProbeSource(conn, src.path, src.format, src.field_mapping));
  KILN_ASSIGN_OR_RETURN(const duck::SourceColumn* ts, schema.Find(src.timestamp_field, "timestamp field"));
  const duck::SourceColumn* created = nullptr;
  if (!src.created_timestamp_column.empty()) {
    KILN_ASSIGN_OR_RETURN(created, schema.Find(src.created_timestamp_column, "created timestamp column"));
  }
  ScanPlan plan;
  std::string sel;
  auto add = [&](const std::string& name, const std::string& what) -> Status {
    KILN_ASSIGN_OR_RETURN(const duck::SourceColumn* c, schema.Find(name, what));
    std::string expr;
    ColumnType element = ColumnType::kInt64;
    std::optional<ColumnType> t;
    if (c->type == DUCKDB_TYPE_LIST && what == "feature") {
      KILN_ASSIGN_OR_RETURN(element, duck::ListElementType(*c));
      t = ColumnType::kList;
      expr = duck::NormalizedListExpr(Ident(c->file_name), c->element_type);
    } else {
      t = duck::EngineType(c->type);
      if (!t) return InvalidArgument(what + " '" + name + "' has type " + c->type_name + ", which the offline engine does not read");
      expr = duck::NormalizedExpr(Ident(c->file_name), c->type);
    }
    sel += (sel.empty() ? "" : ", ") + expr + " AS __kiln_c" + std::to_string(plan.out.size());
    plan.out.emplace_back(name, *t);
    plan.elements.push_back(element);
    return Status::Ok();
  };
  for (const auto& k : req.join_keys) KILN_RETURN_IF_ERROR(add(k, "join key"));
  for (size_t i = 0; i < req.join_keys.size(); ++i) {
    plan.partition += (i ? ", " : "") + std::string("__kiln_c") + std::to_string(i);
  }
  for (const auto& f : req.features) KILN_RETURN_IF_ERROR(add(f, "feature"));
  KILN_ASSIGN_OR_RETURN(std::string ev, duck::TimestampUsExpr(*ts));
  std::string cr = "CAST(NULL AS BIGINT)";
  if (created) {
    KILN_ASSIGN_OR_RETURN(cr, duck::TimestampUsExpr(*created));
  }
  sel += ", " + ev + " AS __kiln_ev, " + cr + " AS __kiln_cr";
  plan.out.emplace_back("event_ts", ColumnType::kTimestamp);
  plan.out.emplace_back("created_ts", ColumnType::kTimestamp);
  plan.elements.resize(plan.out.size(), ColumnType::kInt64);
  plan.select_list = sel;
  KILN_ASSIGN_OR_RETURN(std::string window, duck::WindowPredicate(*ts, req.start_us, req.end_us));
  plan.from = " FROM " + schema.reader + " WHERE " + window;
  return plan;
}

// Appends the elements of rows [from, from + n) of a LIST vector, whose
// child has the normalized physical type of col.element.
void AppendList(duckdb_vector vec, idx_t from, idx_t n, Column& col) {
  auto* entries = static_cast<const duckdb_list_entry*>(duckdb_vector_get_data(vec));
  uint64_t* validity = duckdb_vector_get_validity(vec);
  duckdb_vector child = duckdb_list_vector_get_child(vec);
  void* data = duckdb_vector_get_data(child);
  uint64_t* cvalid = duckdb_vector_get_validity(child);
  for (idx_t i = from; i < from + n; ++i) {
    if (!validity || duckdb_validity_row_is_valid(validity, i)) {
      for (idx_t j = entries[i].offset; j < entries[i].offset + entries[i].length; ++j) {
        const bool ok = !cvalid || duckdb_validity_row_is_valid(cvalid, j);
        col.element_valid.push_back(ok);
        switch (col.element) {
          case ColumnType::kBool:
            col.i64.push_back(ok && static_cast<const bool*>(data)[j] ? 1 : 0);
            break;
          case ColumnType::kInt32:
            col.i64.push_back(ok ? static_cast<const int32_t*>(data)[j] : 0);
            break;
          case ColumnType::kInt64:
          case ColumnType::kTimestamp:
            col.i64.push_back(ok ? static_cast<const int64_t*>(data)[j] : 0);
            break;
          case ColumnType::kFloat:
            col.f64.push_back(ok ? static_cast<const float*>(data)[j] : 0);
            break;
          case ColumnType::kDouble:
            col.f64.push_back(ok ? static_cast<const double*>(data)[j] : 0);
            break;
          case ColumnType::kString:
          case ColumnType::kBytes:
            if (ok) {
              auto* v = static_cast<duckdb_string_t*>(data);
              col.str.emplace_back(duckdb_string_t_data(&v[j]), duckdb_string_t_length(v[j]));
            } else {
              col.str.emplace_back();
            }
            break;
          case ColumnType::kList:
            break;  // ListElementType admits scalars only
        }
      }
    }
    col.offsets.push_back(col.element_valid.size());
  }
}

// Appends rows [from, from + n) of a DuckDB chunk, whose columns have the
// normalized physical types of out's columns, to `out`.
void AppendChunk(duckdb_data_chunk dc, idx_t from, idx_t n, Chunk& out) {
  for (size_t c = 0; c < out.columns.size(); ++c) {
    Column& col = out.columns[c];
    duckdb_vector vec = duckdb_data_chunk_get_vector(dc, c);
    if (col.type == ColumnType::kList) {
      uint64_t* validity = duckdb_vector_get_validity(vec);
      for (idx_t i = from; i < from + n; ++i) col.valid.push_back(!validity || duckdb_validity_row_is_valid(validity, i));
      AppendList(vec, from, n, col);
      continue;
    }
    void* data = duckdb_vector_get_data(vec);
    uint64_t* validity = duckdb_vector_get_validity(vec);
    for (idx_t i = from; i < from + n; ++i) col.valid.push_back(!validity || duckdb_validity_row_is_valid(validity, i));
    switch (col.type) {
      case ColumnType::kBool: {
        auto* v = static_cast<const bool*>(data);
        for (idx_t i = from; i < from + n; ++i) col.i64.push_back(v[i] ? 1 : 0);
        break;
      }
      case ColumnType::kInt32: {
        auto* v = static_cast<const int32_t*>(data) + from;
        col.i64.insert(col.i64.end(), v, v + n);
        break;
      }
      case ColumnType::kInt64:
      case ColumnType::kTimestamp: {
        auto* v = static_cast<const int64_t*>(data) + from;
        col.i64.insert(col.i64.end(), v, v + n);
        break;
      }
      case ColumnType::kFloat: {
        auto* v = static_cast<const float*>(data) + from;
        col.f64.insert(col.f64.end(), v, v + n);
        break;
      }
      case ColumnType::kDouble: {
        auto* v = static_cast<const double*>(data) + from;
        col.f64.insert(col.f64.end(), v, v + n);
        break;
      }
      case ColumnType::kString:
      case ColumnType::kBytes: {
        auto* v = static_cast<duckdb_string_t*>(data);
        for (idx_t i = from; i < from + n; ++i) {
          if (!validity || duckdb_validity_row_is_valid(validity, i)) {
            col.str.emplace_back(duckdb_string_t_data(&v[i]), duckdb_string_t_length(v[i]));
          } else {
            col.str.emplace_back();
          }
        }
        break;
      }
      case ColumnType::kList:
        break;  // handled above
    }
    // NULL slots hold whatever DuckDB left there; make them deterministic.
    if (validity && (col.type != ColumnType::kString && col.type != ColumnType::kBytes)) {
      size_t base = col.valid.size() - n;
      for (idx_t i = 0; i < n; ++i) {
        if (col.valid[base + i]) continue;
        if (col.type == ColumnType::kFloat || col.type == ColumnType::kDouble) {
          col.f64[base + i] = 0;
        } else {
          col.i64[base + i] = 0;
        }
      }
    }
  }
  out.rows += n;
}

Chunk EmptyChunk(const ScanPlan& plan, size_t reserve) {
  Chunk ch;
  for (size_t i = 0; i < plan.out.size(); ++i) {
    const auto& [name, type] = plan.out[i];
    Column c;
    c.name = name;
    c.type = type;
    c.valid.reserve(reserve);
    if (type == ColumnType::kList) {
      c.element = plan.elements[i];
      c.offsets.reserve(reserve + 1);
      c.offsets.push_back(0);
    } else if (type == ColumnType::kString || type == ColumnType::kBytes) {
      c.str.reserve(reserve);
    } else if (type == ColumnType::kFloat || type == ColumnType::kDouble) {
      c.f64.reserve(reserve);
    } else {
      c.i64.reserve(reserve);
    }
    ch.columns.push_back(std::move(c));
  }
  return ch;
}

}  // namespace

DuckDbOfflineEngine::DuckDbOfflineEngine(_duckdb_database* db, DuckDbOptions options)
    : db_(db), options_(std::move(options)) {}

DuckDbOfflineEngine::~DuckDbOfflineEngine() { duckdb_close(&db_); }

StatusOr<std::unique_ptr<OfflineEngine>> DuckDbOfflineEngine::Create(const DuckDbOptions& options) {
  KILN_RETURN_IF_ERROR(CheckDuckDbLibraryVersion());
  if (options.threads < 1) return InvalidArgument("DuckDB threads must be >= 1");
  if (options.scan_chunk_rows < 1) return InvalidArgument("scan_chunk_rows must be >= 1");
  KILN_RETURN_IF_ERROR(duck::CheckText(options.memory_limit, "memory_limit"));
  KILN_RETURN_IF_ERROR(duck::CheckText(options.temp_dir, "temp_dir"));
  if (!options.temp_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.temp_dir, ec);
    if (ec) return Internal("cannot create DuckDB temp dir " + options.temp_dir + ": " + ec.message());
  }
  duckdb_config cfg = nullptr;
  if (duckdb_create_config(&cfg) != DuckDBSuccess) return Internal("DuckDB: cannot create a config");
  std::string threads = std::to_string(options.threads);
  // Explicit: the defaults would take all of the machine's memory and cores,
  // and fetch extensions from the network on first use.
  std::vector<std::pair<const char*, std::string>> settings = {
      {"memory_limit", options.memory_limit},
      {"threads", threads},
      {"autoinstall_known_extensions", "false"},
      {"autoload_known_extensions", "false"},
      {"allow_community_extensions", "false"},
  };
  if (!options.temp_dir.empty()) settings.emplace_back("temp_directory", options.temp_dir);
  for (const auto& [k, v] : settings) {
    if (duckdb_set_config(cfg, k, v.c_str()) != DuckDBSuccess) {
      duckdb_destroy_config(&cfg);
      return InvalidArgument(std::string("DuckDB rejects ") + k + " = '" + v + "'");
    }
  }
  duckdb_database db = nullptr;
  char* err = nullptr;
  duckdb_state st = duckdb_open_ext(nullptr, &db, cfg, &err);  // in-memory
  duckdb_destroy_config(&cfg);
  if (st != DuckDBSuccess) {
    std::string msg = err ? err : "open failed";
    duckdb_free(err);
    return InvalidArgument("DuckDB: " + msg);
  }
  return std::unique_ptr<OfflineEngine>(new DuckDbOfflineEngine(db, options));
}

std::string DuckDbOfflineEngine::Version() const { return std::string("DuckDB ") + LoadedDuckDbVersion(); }

StatusOr<std::vector<std::pair<std::string, ColumnType>>> DuckDbOfflineEngine::Describe(const OfflineSource& source) {
  KILN_ASSIGN_OR_RETURN(Connection conn, Connection::Open(db_));
  KILN_ASSIGN_OR_RETURN(duck::SourceSchema schema,
                        duck::ProbeSource(conn, source.path, source.format, source.field_mapping));
  std::vector<std::pair<std::string, ColumnType>> out;
  for (const auto& c : schema.columns) {
    if (auto t = duck::EngineType(c.type)) out.emplace_back(c.name, *t);
  }
  return out;
}

StatusOr<uint64_t> DuckDbOfflineEngine::CountLatest(const LatestScanRequest& request) {
  KILN_ASSIGN_OR_RETURN(Connection conn, Connection::Open(db_));
  KILN_ASSIGN_OR_RETURN(ScanPlan plan, PlanScan(conn, request));
  KILN_ASSIGN_OR_RETURN(Result r, conn.Query("SELECT count(*) FROM (SELECT DISTINCT " + plan.partition + " FROM (SELECT " +
                                             plan.select_list + plan.from + "))"));
  duckdb_data_chunk raw = duckdb_fetch_chunk(*r.get());
  duck::DataChunk dc(raw);
  if (!dc || duckdb_data_chunk_get_size(dc.get()) != 1) return Internal("DuckDB: count returned no row");
  return static_cast<uint64_t>(static_cast<const int64_t*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(dc.get(), 0)))[0]);
}

Status DuckDbOfflineEngine::ScanLatest(const LatestScanRequest& request, const ChunkFn& fn) {
  KILN_ASSIGN_OR_RETURN(Connection conn, Connection::Open(db_));
  KILN_ASSIGN_OR_RETURN(ScanPlan plan, PlanScan(conn, request));
  std::string cols;
  for (size_t i = 0; i + 2 < plan.out.size(); ++i) cols += "__kiln_c" + std::to_string(i) + ", ";
  std::string sql = "SELECT " + cols + "__kiln_ev, coalesce(__kiln_cr, 0) FROM (SELECT " + plan.select_list + plan.from +
                    ") QUALIFY row_number() OVER (PARTITION BY " + plan.partition +
                    " ORDER BY __kiln_ev DESC, __kiln_cr DESC NULLS LAST) = 1";
  KILN_ASSIGN_OR_RETURN(Result r, conn.Stream(sql));
  const size_t target = options_.scan_chunk_rows;
  Chunk chunk = EmptyChunk(plan, target);
  while (true) {
    duck::DataChunk dc(duckdb_fetch_chunk(*r.get()));
    if (!dc) break;
    idx_t n = duckdb_data_chunk_get_size(dc.get());
    for (idx_t from = 0; from < n;) {
      idx_t take = std::min<idx_t>(n - from, target - chunk.rows);
      AppendChunk(dc.get(), from, take, chunk);
      from += take;
      if (chunk.rows == target) {
        KILN_RETURN_IF_ERROR(fn(chunk));
        chunk = EmptyChunk(plan, target);
      }
    }
  }
  KILN_RETURN_IF_ERROR(Connection::FinishStream(r));
  if (chunk.rows > 0) KILN_RETURN_IF_ERROR(fn(chunk));
  return Status::Ok();
}

}  // namespace kiln::storage
