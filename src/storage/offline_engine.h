// OfflineEngine: reads the offline sources Feast's registry describes (files
// today) for materialization and point-in-time retrieval. The feature
// service depends only on this interface; DuckDB implements it
// (storage/duckdb/). A PostgreSQL or Spark engine can follow for data that
// outgrows one machine.
//
// Timestamps cross this interface as microseconds since the Unix epoch (UTC).
// Thread-safe: concurrent calls are allowed; implementations bound their own
// memory and threads.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace kiln::storage {

enum class FileFormat { kParquet, kCsv, kJson };

// A Feast FileSource as the engine needs it. Column names in the file are
// renamed by field_mapping (file column -> name used by the feature view).
struct OfflineSource {
  std::string path;  // a local file or directory (Parquet datasets are directories)
  FileFormat format = FileFormat::kParquet;
  std::string timestamp_field;
  std::string created_timestamp_column;  // empty: none
  std::map<std::string, std::string> field_mapping;
};

// Column types the engine yields (after field_mapping).
enum class ColumnType { kBool, kInt32, kInt64, kFloat, kDouble, kString, kBytes, kTimestamp, kList };

// A column of one chunk; `valid[i]` is false for SQL NULL. Only the vector
// matching `type` is filled: bool/int32/int64/timestamp(µs) in i64,
// float/double in f64 (a float column keeps its float value exactly),
// string/bytes in str.
//
// A kList column holds lists of `element` (a scalar type): row i's elements
// are [offsets[i], offsets[i+1]) of the vector matching `element`, with
// `element_valid` false for a NULL element (its slot is 0 or ""). A NULL
// list (valid[i] false) and an empty list both span no elements. Scalar
// columns leave offsets and element_valid empty, so their reads cost nothing
// extra.
struct Column {
  std::string name;
  ColumnType type = ColumnType::kInt64;
  std::vector<uint8_t> valid;
  std::vector<int64_t> i64;
  std::vector<double> f64;
  std::vector<std::string> str;
  ColumnType element = ColumnType::kInt64;  // kList only
  std::vector<uint64_t> offsets;            // kList only: rows + 1 entries, offsets[0] == 0
  std::vector<uint8_t> element_valid;       // kList only
};

struct Chunk {
  size_t rows = 0;
  std::vector<Column> columns;  // in the order requested (join keys, features, then timestamps)
};

// Materialization scan: for each distinct join-key tuple, the latest row with
// start <= event_ts < end (ties: the latest created timestamp).
struct LatestScanRequest {
  OfflineSource source;
  std::vector<std::string> join_keys;
  std::vector<std::string> features;
  int64_t start_us = 0;
  int64_t end_us = 0;
};

// The columns of each chunk: join_keys..., features..., then "event_ts"
// (kTimestamp) and "created_ts" (kTimestamp; 0 when the source has no
// created column). fn may return an error to stop the scan.
using ChunkFn = std::function<Status(const Chunk&)>;

// Point-in-time retrieval (training sets).
struct EntityInput {
  std::string path;  // file with the entity rows, or
  FileFormat format = FileFormat::kParquet;
  std::string json_rows;  // a JSON array of objects / object of columns when path is empty
  std::string timestamp_column = "event_timestamp";
};

struct PitView {
  std::string name;  // feature view name
  OfflineSource source;
  std::vector<std::string> join_keys;  // names in the entity input (after the view's join key map)
  std::vector<std::string> source_join_keys;  // the same keys as named in the source (after field_mapping)
  // (source column after field_mapping, output column name)
  std::vector<std::pair<std::string, std::string>> features;
  int64_t ttl_us = 0;  // 0: no bound
};

struct PitRequest {
  EntityInput entities;
  std::vector<PitView> views;
  std::string output_path;
  FileFormat output_format = FileFormat::kParquet;
};

struct PitResult {
  uint64_t rows = 0;
  std::vector<std::string> columns;
};

class OfflineEngine {
 public:
  virtual ~OfflineEngine() = default;

  // Rows the latest scan would return (for progress: total and ETA).
  virtual StatusOr<uint64_t> CountLatest(const LatestScanRequest& request) = 0;
  virtual Status ScanLatest(const LatestScanRequest& request, const ChunkFn& fn) = 0;

  // Each entity row joined with, per view, the latest feature row whose event
  // timestamp is <= the row's and >= row - ttl, ties broken by the latest
  // created timestamp; no match: NULL features. Output: the entity columns in
  // input order followed by each view's output columns; one output row per
  // input row.
  virtual StatusOr<PitResult> PointInTimeJoin(const PitRequest& request) = 0;

  // Column names and types of a source, for validation before a scan.
  virtual StatusOr<std::vector<std::pair<std::string, ColumnType>>> Describe(const OfflineSource& source) = 0;

  virtual std::string Version() const = 0;
};

}  // namespace kiln::storage
