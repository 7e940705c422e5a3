#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "features/materializer_impl.h"

namespace kiln::features {
namespace {

using storage::Chunk;
using storage::Column;
using storage::ColumnType;

constexpr int64_t kSec = 1000000;

class FixedClock final : public Clock {
 public:
  int64_t NowMillis() const override { return now_ms; }
  int64_t now_ms = 1'700'000'000'000;
};

struct SourceRow {
  int64_t id;
  double value;
  int64_t event_us;
  int64_t created_us;
};

// Yields the latest row per id in [start, end) in chunks, like the engine's
// contract; can block inside a scan until released (for the job tests).
class FakeEngine final : public storage::OfflineEngine {
 public:
  std::vector<SourceRow> rows;
  size_t chunk_rows = 3;
  ColumnType value_type = ColumnType::kDouble;
  std::mutex mu;
  std::condition_variable cv;
  bool hold = false;
  bool in_scan = false;

  std::vector<SourceRow> Latest(const storage::LatestScanRequest& r) const {
    std::map<int64_t, SourceRow> best;
    for (const auto& row : rows) {
      if (row.event_us < r.start_us || row.event_us >= r.end_us) continue;
      auto it = best.find(row.id);
      if (it == best.end() || row.event_us > it->second.event_us ||
          (row.event_us == it->second.event_us && row.created_us > it->second.created_us)) {
        best[row.id] = row;
      }
    }
    std::vector<SourceRow> out;
    for (auto& [k, v] : best) out.push_back(v);
    return out;
  }
  StatusOr<uint64_t> CountLatest(const storage::LatestScanRequest& r) override { return Latest(r).size(); }
  Status ScanLatest(const storage::LatestScanRequest& r, const storage::ChunkFn& fn) override {
    {
      std::unique_lock<std::mutex> lock(mu);
      in_scan = true;
      cv.notify_all();
      cv.wait(lock, [&] { return !hold; });
    }
    auto latest = Latest(r);
    for (size_t off = 0; off < latest.size(); off += chunk_rows) {
      Chunk c;
      size_t n = std::min(chunk_rows, latest.size() - off);
      c.rows = n;
      c.columns.resize(4);
      c.columns[0].name = r.join_keys[0];
      c.columns[0].type = ColumnType::kInt64;
      c.columns[1].name = r.features[0];
      c.columns[1].type = value_type;
      c.columns[2].name = "event_ts";
      c.columns[2].type = ColumnType::kTimestamp;
      c.columns[3].name = "created_ts";
      c.columns[3].type = ColumnType::kTimestamp;
      for (auto& col : c.columns) col.valid.assign(n, 1);
      for (size_t i = 0; i < n; ++i) {
        const auto& row = latest[off + i];
        c.columns[0].i64.push_back(row.id);
        c.columns[1].f64.push_back(row.value);
        c.columns[2].i64.push_back(row.event_us);
        c.columns[3].i64.push_back(row.created_us);
      }
      KILN_RETURN_IF_ERROR(fn(c));
    }
    return Status::Ok();
  }
  StatusOr<storage::PitResult> PointInTimeJoin(const storage::PitRequest&) override {
    return Unimplemented("not in this fake");
  }
  StatusOr<std::vector<std::pair<std::string, ColumnType>>> Describe(const storage::OfflineSource&) override {
    return Unimplemented("not in this fake");
  }
  std::string Version() const override { return "fake"; }
};

// Newer-wins rows per key, as the OnlineStore contract says; can fail a
// write (a crash half-way).
class FakeOnline final : public storage::OnlineStore {
 public:
  struct Stored {
    int64_t event_us, created_us;
    std::vector<std::string> values;
  };
  std::map<std::string, std::map<std::string, Stored>> tables;
  int fail_after_batches = -1;
  int batches = 0;
  uint64_t rows_written = 0;
  std::mutex mu;

  StatusOr<storage::OnlineWriteResult> Write(const storage::OnlineTable& t,
                                             const storage::OnlineWriteBatch& b) override {
    std::lock_guard<std::mutex> lock(mu);
    if (fail_after_batches >= 0 && batches >= fail_after_batches) return Unavailable("disk gone");
    ++batches;
    storage::OnlineWriteResult r;
    auto& table = tables[t.project + "/" + t.view];
    for (const auto& row : b.rows) {
      auto it = table.find(row.entity_key);
      if (it != table.end() && (it->second.event_us > row.event_ts_us ||
                                (it->second.event_us == row.event_ts_us && it->second.created_us > row.created_ts_us))) {
        ++r.skipped;
        continue;
      }
      table[row.entity_key] = Stored{row.event_ts_us, row.created_ts_us, row.values};
      ++r.written;
      ++rows_written;
    }
    return r;
  }
  Status Read(const storage::OnlineTable&, const std::vector<std::string>&, const std::vector<std::string>&,
              const ReadFn&) override {
    return Unimplemented("not in this fake");
  }
  Status DropTable(const storage::OnlineTable&) override { return Status::Ok(); }
  std::vector<TableStats> Stats() override { return {}; }
  Status Ping() override { return Status::Ok(); }
};

class FakeCatalog final : public FeatureCatalog {
 public:
  std::map<std::string, ViewSchema> views;
  std::vector<std::tuple<std::string, int64_t, int64_t>> recorded;

  StatusOr<std::string> ResolveProject(const std::string& p, const std::string&) override {
    return p.empty() ? std::string("proj") : p;
  }
  StatusOr<ViewSchema> GetViewSchema(const std::string& project, const std::string& view) override {
    auto it = views.find(view);
    if (it == views.end()) return NotFound("Feature view " + view + " does not exist in project " + project);
    return it->second;
  }
  StatusOr<std::vector<ViewSchema>> ListViewSchemas(const std::string&) override {
    std::vector<ViewSchema> out;
    for (auto& [k, v] : views) out.push_back(v);
    return out;
  }
  StatusOr<std::vector<ViewProjection>> GetFeatureServiceProjections(const std::string&, const std::string&) override {
    return Unimplemented("not in this fake");
  }
  Status RecordMaterialization(const std::string&, const std::string& view, int64_t s, int64_t e,
                               const std::string&) override {
    recorded.emplace_back(view, s, e);
    views[view].materialization_intervals.emplace_back(s, e);
    return Status::Ok();
  }
};

ViewSchema View(const std::string& name, int64_t ttl_us = 0) {
  ViewSchema v;
  v.project = "proj";
  v.name = name;
  v.entities = {{"driver", "driver_id", ValueType::kInt64}};
  v.features = {{"rate", ValueType::kFloat}};
  v.ttl_us = ttl_us;
  storage::OfflineSource src;
  src.path = "/data/x.parquet";
  src.timestamp_field = "ts";
  v.batch_source = src;
  return v;
}

struct Fixture {
  FakeEngine engine;
  FakeOnline online;
  FixedClock clock;
  FakeCatalog* catalog = nullptr;
  std::unique_ptr<Materializer> m;

  explicit Fixture(size_t batch_rows = 2) {
    auto c = std::make_unique<FakeCatalog>();
    catalog = c.get();
    catalog->views["drivers"] = View("drivers", 3600 * kSec);
    catalog->views["offline_only"] = View("offline_only");
    catalog->views["offline_only"].online = false;
    catalog->views["odfv"] = View("odfv");
    catalog->views["odfv"].kind = ViewKind::kOnDemand;
    MaterializerOptions o;
    o.batch_rows = batch_rows;
    o.max_running_jobs = 1;
    m = NewMaterializer(std::move(c), engine, online, clock, o);
    for (int64_t id = 1; id <= 7; ++id) {
      engine.rows.push_back({id, 1.0 * id, 100 * kSec, 0});
      engine.rows.push_back({id, 10.0 * id, 200 * kSec, 0});  // latest
    }
    engine.rows.push_back({3, 99.0, 200 * kSec, 5});  // tie broken by created
    engine.rows.push_back({4, 77.0, 300 * kSec, 0});  // exactly at end: Feast includes it
    engine.rows.push_back({5, 55.0, 301 * kSec, 0});  // after end
  }
};

MaterializeRequest Full(std::vector<std::string> views = {"drivers"}) {
  MaterializeRequest r;
  r.views = std::move(views);
  r.start_us = 0;
  r.end_us = 300 * kSec;
  return r;
}

TEST(Materializer, CopiesTheLatestRowPerKeyAndRecordsTheWindow) {
  Fixture f;
  std::vector<MaterializeProgress> seen;
  auto done = f.m->Run(Full(), [&](const MaterializeProgress& p) { seen.push_back(p); });
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_EQ(done->state, "succeeded");
  EXPECT_EQ(done->rows_total, 7u);
  EXPECT_EQ(done->rows_done, 7u);
  // the job says which window it copied
  EXPECT_EQ(done->windows, (std::vector<std::pair<int64_t, int64_t>>{{0, 300 * kSec}}));
  auto& table = f.online.tables["proj/drivers"];
  ASSERT_EQ(table.size(), 7u);
  // batches of 2 rows: 7 rows -> 4 writes
  EXPECT_EQ(f.online.batches, 4);
  ASSERT_EQ(f.catalog->recorded.size(), 1u);
  EXPECT_EQ(std::get<2>(f.catalog->recorded[0]), 300 * kSec);
  // progress is monotone and ends complete
  ASSERT_GE(seen.size(), 2u);
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_GE(seen[i].rows_done, seen[i - 1].rows_done);
  EXPECT_EQ(seen.back().rows_done, 7u);
  // the value of id 3 is the created-timestamp winner, id 4 the row at end
  bool found99 = false, found77 = false;
  for (auto& [key, row] : table) {
    if (row.values[0].size() == 5) {
      float v;
      std::memcpy(&v, row.values[0].data() + 1, 4);
      found99 |= v == 99.0f;
      found77 |= v == 77.0f;
    }
  }
  EXPECT_TRUE(found99);
  EXPECT_TRUE(found77);
}

TEST(Materializer, RerunIsIdempotentAndACrashedRunCompletes) {
  Fixture f;
  f.online.fail_after_batches = 2;  // dies half-way
  auto first = f.m->Run(Full(), nullptr);
  ASSERT_FALSE(first.ok());
  EXPECT_TRUE(f.catalog->recorded.empty());  // the window is not recorded
  EXPECT_EQ(f.online.tables["proj/drivers"].size(), 4u);
  f.online.fail_after_batches = -1;
  auto second = f.m->Run(Full(), nullptr);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(f.online.tables["proj/drivers"].size(), 7u);
  auto before = f.online.tables;
  auto third = f.m->Run(Full(), nullptr);
  ASSERT_TRUE(third.ok());
  ASSERT_EQ(f.online.tables["proj/drivers"].size(), 7u);
  for (auto& [k, row] : before["proj/drivers"]) EXPECT_EQ(f.online.tables["proj/drivers"][k].values, row.values);
}

TEST(Materializer, IncrementalStartsAtTheLastEndOrNowMinusTtl) {
  ViewSchema v = View("v", 3600 * kSec);
  EXPECT_EQ(IncrementalStartUs(v, 10000 * kSec), (10000 - 3600) * kSec);
  v.ttl_us = 0;
  EXPECT_EQ(IncrementalStartUs(v, 100 * kSec), 100 * kSec - 52LL * 7 * 24 * 3600 * kSec);
  v.materialization_intervals = {{0, 50 * kSec}, {50 * kSec, 80 * kSec}, {0, 10 * kSec}};
  EXPECT_EQ(IncrementalStartUs(v, 100 * kSec), 80 * kSec);

  Fixture f;
  f.clock.now_ms = 250'000;  // 250 s; ttl 3600 s -> starts before 0
  MaterializeRequest r;
  r.views = {"drivers"};
  r.incremental = true;
  r.end_us = 250 * kSec;
  auto first = f.m->Run(r, nullptr);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->rows_done, 7u);
  // the next run starts where this one ended: only row (4, 300 s) is new
  r.end_us = 400 * kSec;
  auto second = f.m->Run(r, nullptr);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->rows_done, 2u);  // ids 4 and 5
  EXPECT_EQ(second->windows, (std::vector<std::pair<int64_t, int64_t>>{{250 * kSec, 400 * kSec}}));
  EXPECT_EQ(std::get<1>(f.catalog->recorded[1]), 250 * kSec);
}

TEST(Materializer, ListingSkipsOfflineAndOnDemandViewsAndNamingThemRefuses) {
  Fixture f;
  auto all = f.m->Run(Full({}), nullptr);
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ(all->views, std::vector<std::string>{"drivers"});
  EXPECT_EQ(all->skipped.size(), 2u);
  auto offline = f.m->Run(Full({"offline_only"}), nullptr);
  EXPECT_EQ(offline.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(offline.status().message().find("not configured to be served online"), std::string::npos);
  auto odfv = f.m->Run(Full({"odfv"}), nullptr);
  EXPECT_EQ(odfv.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.m->Run(Full({"nope"}), nullptr).status().code(), StatusCode::kNotFound);
  MaterializeRequest bad = Full();
  bad.start_us = bad.end_us + 1;
  EXPECT_EQ(f.m->Run(bad, nullptr).status().code(), StatusCode::kInvalidArgument);
}

TEST(Materializer, RefusesAColumnFeastCannotStore) {
  Fixture f;
  f.catalog->views["drivers"].features[0].type = ValueType::kBytes;
  auto r = f.m->Run(Full(), nullptr);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("rate"), std::string::npos);
  EXPECT_TRUE(f.catalog->recorded.empty());
}

TEST(Materializer, BackgroundJobsExcludeBusyViews) {
  Fixture f;
  {
    std::lock_guard<std::mutex> lock(f.engine.mu);
    f.engine.hold = true;
  }
  auto job = f.m->Start(Full());
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(job->state, "running");
  EXPECT_FALSE(job->job_id.empty());
  {
    std::unique_lock<std::mutex> lock(f.engine.mu);
    f.engine.cv.wait(lock, [&] { return f.engine.in_scan; });
  }
  EXPECT_EQ(f.m->Start(Full()).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(f.m->Run(Full(), nullptr).status().code(), StatusCode::kAlreadyExists);
  ASSERT_EQ(f.m->ListJobs().size(), 1u);
  {
    std::lock_guard<std::mutex> lock(f.engine.mu);
    f.engine.hold = false;
  }
  f.engine.cv.notify_all();
  MaterializeProgress p;
  for (int i = 0; i < 2000; ++i) {
    p = *f.m->GetJob(job->job_id);
    if (p.state != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(p.state, "succeeded") << p.error;
  EXPECT_EQ(p.rows_done, 7u);
  EXPECT_GT(p.finished_us, 0);
  // free again
  auto again = f.m->Start(Full());
  EXPECT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(f.m->GetJob("nope").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace kiln::features
