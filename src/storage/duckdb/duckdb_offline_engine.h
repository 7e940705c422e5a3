// DuckDbOfflineEngine: the OfflineEngine over an in-memory DuckDB database
// (C API only), reading Feast file sources (Parquet file/directory/glob, CSV)
// where they lie; nothing is imported.
//
// - ScanLatest streams its result (duckdb_fetch_chunk) into Chunks of up to
//   `scan_chunk_rows` rows; the latest row per join-key tuple is chosen by
//   row_number() over (event ts desc, created ts desc nulls last).
// - PointInTimeJoin is exact: one ASOF LEFT JOIN per view on the pair
//   (event_us, created_us) (probe: (entity_us, INT64_MAX)), so equal event
//   timestamps are decided by the created timestamp as Feast does; ttl is applied to the matched row (the newest row <= T is also the
//   only candidate within [T - ttl, T]). The entity timestamp column is written
//   as TIMESTAMP WITH TIME ZONE (UTC); feature columns keep their source types.
//   Rows equal in key, event and created timestamp are indistinguishable;
//   either may be chosen.
// - Timestamps: any TIMESTAMP flavour, DATE, or ISO-8601 strings (offsets
//   honoured, naive = UTC); integer timestamp columns are refused (unit unknown).
// - Describe lists the columns of the types the engine reads and omits the
//   others (lists, structs, ...); asking to scan one of those is an error.
//
// Ownership: owns the database; Create's caller owns the engine.
// Thread-safety: all methods may be called concurrently (one DuckDB
// connection per call); DuckDB bounds memory (memory_limit, spilling to
// temp_dir) and threads across all calls together.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include "storage/offline_engine.h"

// duckdb.h stays out of this header (only src/storage sees DuckDB's include
// directory); this is DuckDB's handle type, `duckdb_database`.
struct _duckdb_database;

namespace kiln::storage {

struct DuckDbOptions {
  std::string memory_limit = "4GB";  // DuckDB syntax: "4GB", "512MB", "80%"
  int threads = 2;                   // >= 1
  std::string temp_dir;              // spill files and JSON entity rows; created if missing; empty: none
  size_t scan_chunk_rows = 16384;    // rows per Chunk handed to ScanLatest's callback
};

class DuckDbOfflineEngine final : public OfflineEngine {
 public:
  static StatusOr<std::unique_ptr<OfflineEngine>> Create(const DuckDbOptions& options);
  ~DuckDbOfflineEngine() override;
  DuckDbOfflineEngine(const DuckDbOfflineEngine&) = delete;
  DuckDbOfflineEngine& operator=(const DuckDbOfflineEngine&) = delete;

  StatusOr<uint64_t> CountLatest(const LatestScanRequest& request) override;
  Status ScanLatest(const LatestScanRequest& request, const ChunkFn& fn) override;
  StatusOr<PitResult> PointInTimeJoin(const PitRequest& request) override;
  StatusOr<std::vector<std::pair<std::string, ColumnType>>> Describe(const OfflineSource& source) override;
  std::string Version() const override;

 private:
  DuckDbOfflineEngine(_duckdb_database* db, DuckDbOptions options);

  _duckdb_database* db_;
  DuckDbOptions options_;
  std::atomic<uint64_t> temp_seq_{0};
};

}  // namespace kiln::storage
