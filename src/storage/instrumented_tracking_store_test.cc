#include "storage/instrumented_tracking_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "storage/sql/sql_test_util.h"

namespace kiln::storage {
namespace {

bool Contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

TEST(InstrumentedTrackingStore, EveryOperationsErrorCounterStartsAtZero) {
  const std::string dir = testing::MakeTempDir();
  auto t = testing::OpenTestStore(dir + "/kiln.db");
  ASSERT_TRUE(t.ok()) << t.status().message();
  MetricsRegistry registry;
  InstrumentedTrackingStore store(*t->store, registry, "sqlite");
  std::string text = registry.Render();
  for (const char* op : InstrumentedTrackingStore::kOperations) {
    EXPECT_TRUE(Contains(text, std::string("kiln_store_operation_errors_total{store=\"sqlite\",operation=\"") + op +
                                   "\"} 0"))
        << op;
  }
  // Not-found answers are normal traffic: still 0 after one.
  EXPECT_FALSE(store.GetExperiment("424242").ok());
  text = registry.Render();
  EXPECT_TRUE(Contains(text, "kiln_store_operation_errors_total{store=\"sqlite\",operation=\"get_experiment\"} 0"));
  EXPECT_TRUE(Contains(text, "kiln_store_operation_duration_seconds_count{store=\"sqlite\",operation=\"get_experiment\"} 1"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kiln::storage
