// Test fixture for the SQLite tracking store: a fresh database in a private
// temporary directory per test. Test-only; not synchronised.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "storage/sqlite/sqlite_tracking_store.h"

namespace kiln::storage::testing {

inline std::string MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kiln_sqlite_XXXXXX").string();
  char* dir = mkdtemp(tmpl.data());
  return dir ? std::string(dir) : std::string();
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    ASSERT_FALSE(dir_.empty());
    path_ = dir_ + "/kiln.db";
    SqliteOptions opts;
    opts.default_artifact_root = "file:///art";
    auto s = SqliteTrackingStore::Create(path_, opts);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string NewExperiment(const std::string& name, int64_t now = 1000) {
    auto id = store_->CreateExperiment(name, "", "file:///art", {}, now);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : std::string();
  }

  storage::Run NewRun(const std::string& exp, const std::string& run_id, int64_t start = 1000,
             const std::string& name = "") {
    RunInfo info;
    info.run_id = run_id;
    info.experiment_id = exp;
    info.run_name = name;
    info.user_id = "alice";
    info.start_time = start;
    auto r = store_->CreateRun(info, {});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : storage::Run{};
  }

  static Metric M(const std::string& key, double v, int64_t ts, int64_t step) {
    Metric m;
    m.key = key;
    m.value = v;
    m.timestamp = ts;
    m.step = step;
    return m;
  }

  std::string dir_;
  std::string path_;
  std::unique_ptr<SqliteTrackingStore> store_;
};

}  // namespace kiln::storage::testing
