// Test helper: a private DuckDB database that writes the test's data files
// (COPY ... TO) and reads rows back for the brute-force references. One
// thread; owns its database and connection.
#pragma once

#include <duckdb.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kiln::storage::testing {

class TestDb {
 public:
  TestDb() {
    duckdb_open(nullptr, &db_);
    duckdb_connect(db_, &con_);
    Exec("SET TimeZone = 'UTC'");
    Exec("SET threads = 1");  // random() with setseed() repeats only single-threaded
  }
  ~TestDb() {
    duckdb_disconnect(&con_);
    duckdb_close(&db_);
  }

  void Exec(const std::string& sql) {
    duckdb_result r;
    bool ok = duckdb_query(con_, sql.c_str(), &r) == DuckDBSuccess;
    EXPECT_TRUE(ok) << sql << "\n" << (duckdb_result_error(&r) ? duckdb_result_error(&r) : "");
    duckdb_destroy_result(&r);
  }

  // Every cell as an optional int64 (doubles as their bit-exact int64 are not
  // needed: callers cast in SQL).
  std::vector<std::vector<std::optional<int64_t>>> Ints(const std::string& sql) {
    std::vector<std::vector<std::optional<int64_t>>> out;
    duckdb_result r;
    if (duckdb_query(con_, sql.c_str(), &r) != DuckDBSuccess) {
      ADD_FAILURE() << sql << "\n" << duckdb_result_error(&r);
      duckdb_destroy_result(&r);
      return out;
    }
    idx_t rows = duckdb_row_count(&r), cols = duckdb_column_count(&r);
    for (idx_t i = 0; i < rows; ++i) {
      std::vector<std::optional<int64_t>> row;
      for (idx_t c = 0; c < cols; ++c) {
        if (duckdb_value_is_null(&r, c, i)) {
          row.push_back(std::nullopt);
        } else {
          row.push_back(duckdb_value_int64(&r, c, i));
        }
      }
      out.push_back(std::move(row));
    }
    duckdb_destroy_result(&r);
    return out;
  }

  std::vector<std::vector<std::optional<std::string>>> Strings(const std::string& sql) {
    std::vector<std::vector<std::optional<std::string>>> out;
    duckdb_result r;
    if (duckdb_query(con_, sql.c_str(), &r) != DuckDBSuccess) {
      ADD_FAILURE() << sql << "\n" << duckdb_result_error(&r);
      duckdb_destroy_result(&r);
      return out;
    }
    idx_t rows = duckdb_row_count(&r), cols = duckdb_column_count(&r);
    for (idx_t i = 0; i < rows; ++i) {
      std::vector<std::optional<std::string>> row;
      for (idx_t c = 0; c < cols; ++c) {
        if (duckdb_value_is_null(&r, c, i)) {
          row.push_back(std::nullopt);
        } else {
          char* v = duckdb_value_varchar(&r, c, i);
          row.emplace_back(v);
          duckdb_free(v);
        }
      }
      out.push_back(std::move(row));
    }
    duckdb_destroy_result(&r);
    return out;
  }

 private:
  duckdb_database db_ = nullptr;
  duckdb_connection con_ = nullptr;
};

// A fresh directory removed with its contents at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kiln_duck_XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace kiln::storage::testing
