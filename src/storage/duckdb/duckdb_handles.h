// RAII owners of DuckDB C API handles, so every early `return status` frees
// its connection, result or chunk. Each object owns its handle exclusively
// (move-only) and is used by one thread at a time: a DuckDB connection is not
// safe for concurrent queries, the database it comes from is.
#pragma once

#include <duckdb.h>

#include <string>
#include <utility>

#include "core/status.h"

namespace kiln::storage::duck {

class Result {
 public:
  Result() = default;
  ~Result() { Reset(); }
  Result(Result&& o) noexcept
      : r_(o.r_), live_(std::exchange(o.live_, false)), stmt_(std::exchange(o.stmt_, nullptr)) {}
  Result& operator=(Result&& o) noexcept {
    if (this != &o) {
      Reset();
      r_ = o.r_;
      live_ = std::exchange(o.live_, false);
      stmt_ = std::exchange(o.stmt_, nullptr);
    }
    return *this;
  }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  duckdb_result* get() { return &r_; }
  void MarkLive() { live_ = true; }
  // A streaming result is read while its statement lives; freed after it.
  void AdoptStatement(duckdb_prepared_statement s) { stmt_ = s; }

 private:
  void Reset() {
    if (live_) duckdb_destroy_result(&r_);
    live_ = false;
    if (stmt_) duckdb_destroy_prepare(&stmt_);
  }
  duckdb_result r_{};
  bool live_ = false;
  duckdb_prepared_statement stmt_ = nullptr;
};

class DataChunk {
 public:
  explicit DataChunk(duckdb_data_chunk c) : c_(c) {}
  ~DataChunk() {
    if (c_) duckdb_destroy_data_chunk(&c_);
  }
  DataChunk(const DataChunk&) = delete;
  DataChunk& operator=(const DataChunk&) = delete;
  duckdb_data_chunk get() const { return c_; }
  explicit operator bool() const { return c_ != nullptr; }

 private:
  duckdb_data_chunk c_;
};

class Connection {
 public:
  // Every connection runs in UTC: naive timestamps (and strings without an
  // offset) are UTC in Feast, and DuckDB would otherwise use the machine's zone.
  static StatusOr<Connection> Open(duckdb_database db);
  ~Connection() {
    if (c_) duckdb_disconnect(&c_);
  }
  Connection(Connection&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  Connection& operator=(Connection&&) = delete;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // A fully materialized result.
  StatusOr<Result> Query(const std::string& sql);
  Status Exec(const std::string& sql);
  // A streaming result: chunks are produced as duckdb_fetch_chunk asks.
  // duckdb_fetch_chunk answers NULL both at the end and on a failure midway
  // (a cast error, memory exhausted), so a reader must call FinishStream
  // after the last chunk.
  StatusOr<Result> Stream(const std::string& sql);
  static Status FinishStream(Result& r);

 private:
  Connection() = default;
  duckdb_connection c_ = nullptr;
};

}  // namespace kiln::storage::duck
