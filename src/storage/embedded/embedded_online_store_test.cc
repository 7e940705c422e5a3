#include "storage/embedded/embedded_online_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

namespace kiln::storage {
namespace {

namespace fs = std::filesystem;

struct Got {
  int64_t event = 0;
  int64_t created = 0;
  std::vector<std::string> values;
};

using Row = OnlineWriteBatch::Row;

Row R(std::string key, int64_t event, int64_t created, std::vector<std::string> values) {
  Row r;
  r.entity_key = std::move(key);
  r.event_ts_us = event;
  r.created_ts_us = created;
  r.values = std::move(values);
  return r;
}

OnlineWriteBatch Batch(std::vector<std::string> features, std::vector<Row> rows) {
  OnlineWriteBatch b;
  b.features = std::move(features);
  b.rows = std::move(rows);
  return b;
}

class EmbeddedOnlineStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln_online_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/online";
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  void Reopen(EmbeddedOnlineOptions options = {}) {
    store_.reset();
    auto s = EmbeddedOnlineStore::OpenEmbedded(dir_, options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }

  OnlineWriteResult Write(const OnlineTable& t, const OnlineWriteBatch& b) {
    auto r = store_->Write(t, b);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : OnlineWriteResult{};
  }

  std::vector<std::optional<Got>> Read(const OnlineTable& t, const std::vector<std::string>& keys,
                                       const std::vector<std::string>& features) {
    std::vector<std::optional<Got>> out(keys.size());
    std::vector<bool> called(keys.size(), false);
    Status s = store_->Read(t, keys, features, [&](size_t i, const OnlineRowView* row) {
      called[i] = true;
      if (!row) return;
      Got g;
      g.event = row->event_ts_us;
      g.created = row->created_ts_us;
      for (auto v : *row->values) g.values.emplace_back(v);
      out[i] = std::move(g);
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    for (size_t i = 0; i < keys.size(); ++i) EXPECT_TRUE(called[i]) << "no callback for key " << i;
    return out;
  }

  std::optional<Got> ReadOne(const OnlineTable& t, const std::string& key, const std::vector<std::string>& features) {
    return Read(t, {key}, features)[0];
  }

  // The single log file of the store (tests with one table).
  std::string OnlyLog() {
    std::vector<std::string> logs;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().extension() == ".log") logs.push_back(e.path().string());
    }
    EXPECT_EQ(logs.size(), 1u);
    return logs.empty() ? "" : logs[0];
  }

  std::string root_, dir_;
  std::unique_ptr<EmbeddedOnlineStore> store_;
  const OnlineTable t_{"proj", "driver_stats"};
};

TEST_F(EmbeddedOnlineStoreTest, ReadsBackFeatureSubsetsAndAbsentFeatures) {
  auto w = Write(t_, Batch({"conv", "acc", "trips"}, {R("k1", 100, 5, {"c1", "a1", "t1"}),
                                                      R("k2", 200, 6, {"c2", "", "t2"})}));
  EXPECT_EQ(w.written, 2u);
  EXPECT_EQ(w.skipped, 0u);

  auto got = Read(t_, {"k2", "nope", "k1"}, {"trips", "missing", "conv", "acc"});
  ASSERT_TRUE(got[0].has_value());
  EXPECT_EQ(got[0]->event, 200);
  EXPECT_EQ(got[0]->created, 6);
  EXPECT_EQ(got[0]->values, (std::vector<std::string>{"t2", "", "c2", ""}))
      << "an empty value and a feature the row lacks both read as empty";
  EXPECT_FALSE(got[1].has_value()) << "unknown key";
  ASSERT_TRUE(got[2].has_value());
  EXPECT_EQ(got[2]->values, (std::vector<std::string>{"t1", "", "c1", "a1"}));

  auto none = ReadOne(t_, "k1", {});
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->values.empty());

  auto other = Read({"proj", "other_view"}, {"k1", "k2"}, {"conv"});
  EXPECT_FALSE(other[0].has_value()) << "unknown table";
  EXPECT_FALSE(other[1].has_value());
  EXPECT_FALSE(ReadOne({"other_proj", "driver_stats"}, "k1", {"conv"}).has_value())
      << "tables are per project";
}

TEST_F(EmbeddedOnlineStoreTest, TimestampRulesDecideWhichRowStays) {
  Write(t_, Batch({"f"}, {R("k", 100, 10, {"first"})}));

  auto older = Write(t_, Batch({"f"}, {R("k", 99, 1000, {"older"})}));
  EXPECT_EQ(older.written, 0u);
  EXPECT_EQ(older.skipped, 1u);
  EXPECT_EQ(ReadOne(t_, "k", {"f"})->values[0], "first") << "an older event never replaces";

  auto same = Write(t_, Batch({"f"}, {R("k", 100, 10, {"same"})}));
  EXPECT_EQ(same.skipped, 1u);
  EXPECT_EQ(ReadOne(t_, "k", {"f"})->values[0], "first") << "equal event and created: the stored row stays";

  auto earlier_created = Write(t_, Batch({"f"}, {R("k", 100, 9, {"earlier"})}));
  EXPECT_EQ(earlier_created.skipped, 1u);
  EXPECT_EQ(ReadOne(t_, "k", {"f"})->values[0], "first");

  auto later_created = Write(t_, Batch({"f"}, {R("k", 100, 11, {"later"})}));
  EXPECT_EQ(later_created.written, 1u);
  auto g = ReadOne(t_, "k", {"f"});
  EXPECT_EQ(g->values[0], "later") << "equal event time: the later created time wins";
  EXPECT_EQ(g->created, 11);

  auto newer = Write(t_, Batch({"f"}, {R("k", 101, 0, {"newer"})}));
  EXPECT_EQ(newer.written, 1u);
  g = ReadOne(t_, "k", {"f"});
  EXPECT_EQ(g->values[0], "newer") << "a newer event wins whatever its created time";
  EXPECT_EQ(g->event, 101);
  EXPECT_EQ(g->created, 0);
}

TEST_F(EmbeddedOnlineStoreTest, ANewerRowReplacesTheWholeRow) {
  Write(t_, Batch({"a", "b"}, {R("k", 1, 0, {"a1", "b1"})}));
  Write(t_, Batch({"a"}, {R("k", 2, 0, {"a2"})}));
  auto g = ReadOne(t_, "k", {"a", "b"});
  EXPECT_EQ(g->values, (std::vector<std::string>{"a2", ""})) << "b is not carried over from the older row";
  Write(t_, Batch({"b", "a"}, {R("k", 3, 0, {"b3", "a3"})}));
  EXPECT_EQ(ReadOne(t_, "k", {"a", "b"})->values, (std::vector<std::string>{"a3", "b3"}))
      << "feature order of the write does not matter";
}

TEST_F(EmbeddedOnlineStoreTest, DuplicateKeysWithinABatchKeepTheNewest) {
  auto w = Write(t_, Batch({"f"}, {R("k", 5, 0, {"mid"}), R("k", 9, 0, {"newest"}), R("k", 1, 0, {"oldest"}),
                                   R("j", 3, 1, {"j1"}), R("j", 3, 2, {"j2"}), R("j", 3, 2, {"j2 again"})}));
  EXPECT_EQ(w.written, 2u);
  EXPECT_EQ(w.skipped, 4u);
  EXPECT_EQ(ReadOne(t_, "k", {"f"})->values[0], "newest");
  EXPECT_EQ(ReadOne(t_, "j", {"f"})->values[0], "j2") << "ties keep the first";
  Reopen();
  EXPECT_EQ(ReadOne(t_, "k", {"f"})->values[0], "newest");
  EXPECT_EQ(ReadOne(t_, "j", {"f"})->values[0], "j2");
}

TEST_F(EmbeddedOnlineStoreTest, BinaryKeysAndValuesRoundTrip) {
  std::string key("\x01\x00\x00\x00\x02\x00\x00\x00\x00\xff", 10);
  std::string value("\x20\x00\x80\x01", 4);
  std::string big(300000, 'x');  // one row larger than a log record
  EmbeddedOnlineOptions small;
  small.record_bytes = 64;
  Reopen(small);
  Write(t_, Batch({"v", "big"}, {R(key, 1, 1, {value, big})}));
  Reopen(small);
  auto g = ReadOne(t_, key, {"v", "big"});
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->values[0], value);
  EXPECT_EQ(g->values[1], big);
  EXPECT_FALSE(ReadOne(t_, key.substr(0, 9), {"v"}).has_value()) << "keys match exactly";
}

// Feast entity key serialization v3 of one join key.
std::string V3Key(const std::string& join_key, uint32_t type, const std::string& payload) {
  std::string k;
  auto u32 = [&](uint32_t v) { k.append(reinterpret_cast<const char*>(&v), 4); };
  u32(1);
  u32(2);
  u32(static_cast<uint32_t>(join_key.size()));
  k += join_key;
  u32(type);
  u32(static_cast<uint32_t>(payload.size()));
  k += payload;
  return k;
}

std::string Int64Key(int64_t id) { return V3Key("driver_id", 4, std::string(reinterpret_cast<const char*>(&id), 8)); }

// The table stores the bytes its keys share once (row_format.h); which keys
// share them must not change what reads see.
TEST_F(EmbeddedOnlineStoreTest, KeyPrefixSharingIsInvisible) {
  // A single-row write first: no prefix yet, the row is stored whole.
  Write(t_, Batch({"f"}, {R(Int64Key(1), 1, 0, {"one"})}));
  // The first multi-row write adopts the prefix; keys 256 apart share their
  // first payload byte too, which must not become part of it.
  std::vector<Row> rows;
  for (int64_t id = 256; id <= 256 * 8; id += 256) rows.push_back(R(Int64Key(id), 1, 0, {std::to_string(id)}));
  Write(t_, Batch({"f"}, std::move(rows)));
  // Keys that do not share it, one shorter than it, and an empty-payload key
  // (exactly the shared bytes for a string key).
  std::string other_join = V3Key("rider_id", 4, std::string(8, '\x01'));
  std::string string_key = V3Key("driver_id", 2, "abc");
  std::string short_key = "xy";
  Write(t_, Batch({"f"}, {R(other_join, 1, 0, {"other"}), R(string_key, 1, 0, {"str"}), R(short_key, 1, 0, {"s"}),
                          R(Int64Key(3), 1, 0, {"three"})}));
  // The unprefixed row of key 1 is found and replaced by a prefixed one.
  auto w = Write(t_, Batch({"f"}, {R(Int64Key(1), 2, 0, {"one'"}), R(Int64Key(2), 2, 0, {"two"})}));
  EXPECT_EQ(w.written, 2u);
  auto stale = Write(t_, Batch({"f"}, {R(Int64Key(1), 1, 5, {"stale"}), R(Int64Key(512), 0, 0, {"stale"})}));
  EXPECT_EQ(stale.skipped, 2u);

  auto check = [&](const std::string& when) {
    std::vector<std::string> keys = {Int64Key(1), Int64Key(2), Int64Key(3), Int64Key(512), Int64Key(2048),
                                     other_join, string_key, short_key, Int64Key(4), V3Key("driver_id", 2, "")};
    auto got = Read(t_, keys, {"f"});
    std::vector<std::string> expect = {"one'", "two", "three", "512", "2048", "other", "str", "s", "", ""};
    for (size_t i = 0; i < keys.size(); ++i) {
      if (expect[i].empty()) {
        EXPECT_FALSE(got[i].has_value()) << when << ": key " << i;
      } else {
        ASSERT_TRUE(got[i].has_value()) << when << ": key " << i;
        EXPECT_EQ(got[i]->values[0], expect[i]) << when << ": key " << i;
      }
    }
    EXPECT_EQ(store_->Stats()[0].rows, 14u) << when;
  };
  check("live");
  Reopen();
  check("after restart");
  ASSERT_TRUE(store_->Compact(t_).ok());
  Reopen();
  check("after compaction and restart");
}

TEST_F(EmbeddedOnlineStoreTest, InvalidBatchesAreRefusedWithoutWriting) {
  auto mismatched = store_->Write(t_, Batch({"a", "b"}, {R("k", 1, 0, {"only one"})}));
  EXPECT_EQ(mismatched.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(mismatched.status().message(), "online store write to driver_stats: row 0 has 1 values for 2 features");
  auto dup = store_->Write(t_, Batch({"a", "a"}, {R("k", 1, 0, {"x", "y"})}));
  EXPECT_EQ(dup.status().code(), StatusCode::kInvalidArgument);
  auto empty_key = store_->Write(t_, Batch({"a"}, {R("", 1, 0, {"x"})}));
  EXPECT_EQ(empty_key.status().code(), StatusCode::kInvalidArgument);
  auto no_view = store_->Write({"proj", ""}, Batch({"a"}, {R("k", 1, 0, {"x"})}));
  EXPECT_EQ(no_view.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->Stats().empty()) << "nothing was created";
  auto empty = store_->Write(t_, Batch({"a"}, {}));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->written, 0u);
}

TEST_F(EmbeddedOnlineStoreTest, EverythingSurvivesARestart) {
  const OnlineTable other{"proj2", "v"};
  Write(t_, Batch({"a", "b"}, {R("k1", 1, 0, {"a1", "b1"}), R("k2", 1, 0, {"a2", "b2"})}));
  Write(t_, Batch({"b"}, {R("k1", 2, 0, {"b1'"})}));          // second layout, replaces k1
  Write(t_, Batch({"a", "b"}, {R("k2", 0, 0, {"stale", "x"})}));  // skipped
  Write(other, Batch({"z"}, {R("k1", 7, 8, {"z1"})}));
  Reopen();
  auto g = Read(t_, {"k1", "k2"}, {"a", "b"});
  ASSERT_TRUE(g[0] && g[1]);
  EXPECT_EQ(g[0]->values, (std::vector<std::string>{"", "b1'"}));
  EXPECT_EQ(g[0]->event, 2);
  EXPECT_EQ(g[1]->values, (std::vector<std::string>{"a2", "b2"}));
  auto o = ReadOne(other, "k1", {"z"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->values[0], "z1");
  EXPECT_EQ(o->created, 8);
  auto stats = store_->Stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].table.project, "proj");
  EXPECT_EQ(stats[0].rows, 2u);
  EXPECT_EQ(stats[1].table.project, "proj2");
  EXPECT_EQ(stats[1].rows, 1u);
  // Writes after the restart append to the same logs.
  Write(t_, Batch({"a"}, {R("k3", 1, 0, {"a3"})}));
  Reopen();
  EXPECT_EQ(ReadOne(t_, "k3", {"a"})->values[0], "a3");
  EXPECT_EQ(store_->Stats()[0].rows, 3u);
}

TEST_F(EmbeddedOnlineStoreTest, ASecondProcessCannotOpenTheSameDirectory) {
  auto second = EmbeddedOnlineStore::Open(dir_);
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(EmbeddedOnlineStoreTest, ATornTailIsDroppedAndTheLogStaysWritable) {
  Write(t_, Batch({"f"}, {R("acked", 1, 0, {"kept"})}));
  std::string log = OnlyLog();
  uint64_t good = fs::file_size(log);
  Write(t_, Batch({"f"}, {R("torn", 1, 0, {"lost"}), R("torn2", 1, 0, {"lost"})}));
  uint64_t full = fs::file_size(log);
  store_.reset();
  // A crash in the middle of the second append: part of its record made it.
  fs::resize_file(log, good + (full - good) / 2);
  Reopen();
  EXPECT_EQ(ReadOne(t_, "acked", {"f"})->values[0], "kept");
  EXPECT_FALSE(ReadOne(t_, "torn", {"f"}).has_value());
  EXPECT_EQ(fs::file_size(log), good) << "the torn bytes are cut off";
  Write(t_, Batch({"f"}, {R("after", 2, 0, {"new"})}));
  Reopen();
  EXPECT_EQ(ReadOne(t_, "after", {"f"})->values[0], "new");
  EXPECT_EQ(ReadOne(t_, "acked", {"f"})->values[0], "kept");

  // A crash can also leave zeros past the data (the size grew, the data did not land).
  store_.reset();
  good = fs::file_size(log);
  {
    std::ofstream out(log, std::ios::binary | std::ios::app);
    out << std::string(4096, '\0');
  }
  Reopen();
  EXPECT_EQ(fs::file_size(log), good);
  EXPECT_EQ(store_->Stats()[0].rows, 2u);

  // ... or a header whose checksum does not match its garbage payload.
  store_.reset();
  {
    std::ofstream out(log, std::ios::binary | std::ios::app);
    out << "RKOL" << std::string("\x10\x00\x00\x00\x01\x02\x03\x04", 8) << "short";
  }
  Reopen();
  EXPECT_EQ(fs::file_size(log), good);
}

TEST_F(EmbeddedOnlineStoreTest, DamageBeforeValidRecordsRefusesToOpen) {
  EmbeddedOnlineOptions opts;
  Write(t_, Batch({"f"}, {R("k1", 1, 0, {"value-one"})}));
  std::string log = OnlyLog();
  uint64_t first_end = fs::file_size(log);
  Write(t_, Batch({"f"}, {R("k2", 1, 0, {"value-two"})}));
  store_.reset();
  // Flip a byte inside the first rows record (just before its end).
  {
    std::fstream f(log, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(first_end - 3));
    f.put('#');
  }
  uint64_t damaged_size = fs::file_size(log);
  auto s = EmbeddedOnlineStore::Open(dir_, opts);
  ASSERT_FALSE(s.ok()) << "acknowledged rows after the damage must not vanish silently";
  EXPECT_EQ(s.status().code(), StatusCode::kInternal);
  EXPECT_NE(s.status().message().find("is corrupt at offset"), std::string::npos) << s.status().message();
  EXPECT_EQ(fs::file_size(log), damaged_size) << "and the file is left alone";
}

TEST_F(EmbeddedOnlineStoreTest, CompactionKeepsOnlyLiveRows) {
  EmbeddedOnlineOptions opts;
  opts.compact_min_dead_bytes = 1 << 20;  // automatic compaction once 1 MB is dead
  opts.record_bytes = 4096;
  Reopen(opts);
  constexpr int kKeys = 500;
  std::string pad(200, 'p');
  for (int round = 1; round <= 40; ++round) {
    std::vector<Row> rows;
    for (int k = 0; k < kKeys; ++k) {
      rows.push_back(R("key" + std::to_string(k), round, 0, {std::to_string(round), pad}));
    }
    Write(t_, Batch({"round", "pad"}, std::move(rows)));
  }
  auto m = store_->Memory();
  EXPECT_EQ(m.rows, static_cast<uint64_t>(kKeys));
  // 40 rounds x 500 rows x ~230 bytes = 4.6 MB written; compaction kept it near
  // live size plus at most the threshold.
  EXPECT_LT(m.log_bytes, m.row_bytes + (2u << 20)) << "log " << m.log_bytes << " live " << m.row_bytes;
  ASSERT_TRUE(store_->Compact(t_).ok());
  m = store_->Memory();
  EXPECT_LT(m.log_bytes, m.row_bytes + 4096) << "an explicit compaction leaves live rows only";
  EXPECT_EQ(fs::file_size(OnlyLog()), m.log_bytes);
  Reopen(opts);
  for (int k = 0; k < kKeys; k += 37) {
    auto g = ReadOne(t_, "key" + std::to_string(k), {"round", "pad"});
    ASSERT_TRUE(g.has_value());
    EXPECT_EQ(g->values[0], "40");
    EXPECT_EQ(g->event, 40);
  }
  EXPECT_EQ(store_->Stats()[0].rows, static_cast<uint64_t>(kKeys));
  // The compacted log still takes appends and keeps its layouts.
  Write(t_, Batch({"round"}, {R("key1", 41, 0, {"41"})}));
  Reopen(opts);
  EXPECT_EQ(ReadOne(t_, "key1", {"round", "pad"})->values, (std::vector<std::string>{"41", ""}));
  EXPECT_EQ(ReadOne(t_, "key2", {"round", "pad"})->values[0], "40");
}

TEST_F(EmbeddedOnlineStoreTest, DropTableRemovesRowsAndFile) {
  const OnlineTable keep{"proj", "keep"};
  Write(t_, Batch({"f"}, {R("k", 1, 0, {"v"})}));
  Write(keep, Batch({"f"}, {R("k", 1, 0, {"kept"})}));
  ASSERT_TRUE(store_->DropTable(t_).ok());
  EXPECT_FALSE(ReadOne(t_, "k", {"f"}).has_value());
  EXPECT_TRUE(store_->DropTable(t_).ok()) << "dropping an unknown table is OK";
  ASSERT_EQ(store_->Stats().size(), 1u);
  EXPECT_EQ(store_->Stats()[0].table.view, "keep");
  Reopen();
  EXPECT_FALSE(ReadOne(t_, "k", {"f"}).has_value()) << "the drop is durable";
  EXPECT_EQ(ReadOne(keep, "k", {"f"})->values[0], "kept");
  // A later write creates the table afresh: the old row's timestamp is gone too.
  auto w = Write(t_, Batch({"f"}, {R("k", 0, 0, {"fresh"})}));
  EXPECT_EQ(w.written, 1u);
  Reopen();
  EXPECT_EQ(ReadOne(t_, "k", {"f"})->values[0], "fresh");
}

TEST_F(EmbeddedOnlineStoreTest, PingAndStats) {
  EXPECT_TRUE(store_->Ping().ok());
  EXPECT_TRUE(store_->Stats().empty());
  Write({"b", "v2"}, Batch({"f"}, {R("x", 1, 0, {"1"}), R("y", 1, 0, {"1"})}));
  Write({"a", "v1"}, Batch({"f"}, {R("x", 1, 0, {"1"})}));
  Write({"a", "v1"}, Batch({"f"}, {R("x", 2, 0, {"2"})}));  // a replacement is not a new row
  auto stats = store_->Stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].table.project, "a");
  EXPECT_EQ(stats[0].rows, 1u);
  EXPECT_EQ(stats[1].table.view, "v2");
  EXPECT_EQ(stats[1].rows, 2u);
}

// Freshness is measured from the newest event time a table holds: it only
// moves forward with winning rows, survives a restart (replay rebuilds it)
// and a compaction, and is gone with the table.
TEST_F(EmbeddedOnlineStoreTest, NewestEventTimeFollowsWinningRows) {
  auto newest = [&](const OnlineTable& t) {
    auto n = store_->NewestEventTs(t);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *n : std::optional<int64_t>(-1);
  };
  EXPECT_EQ(newest(t_), std::nullopt);  // unknown table
  Write(t_, Batch({"f"}, {R("a", 50, 0, {"1"}), R("b", 20, 0, {"1"})}));
  EXPECT_EQ(newest(t_), 50);
  Write(t_, Batch({"f"}, {R("b", 40, 0, {"2"})}));  // newer for b, older than a's
  EXPECT_EQ(newest(t_), 50);
  Write(t_, Batch({"f"}, {R("a", 10, 0, {"old"})}));  // skipped: not newer than the stored row
  EXPECT_EQ(newest(t_), 50);
  Write(t_, Batch({"f"}, {R("c", 70, 0, {"3"})}));
  EXPECT_EQ(newest(t_), 70);
  const OnlineTable other{"proj", "other"};
  Write(other, Batch({"f"}, {R("a", 5, 0, {"1"})}));
  EXPECT_EQ(newest(other), 5);
  Reopen();
  EXPECT_EQ(newest(t_), 70);
  EXPECT_EQ(newest(other), 5);
  ASSERT_TRUE(store_->Compact(t_).ok());
  EXPECT_EQ(newest(t_), 70);
  ASSERT_TRUE(store_->DropTable(t_).ok());
  EXPECT_EQ(newest(t_), std::nullopt);
  EXPECT_EQ(newest(other), 5);
}

// Readers run against writers of the same table and of other tables: a row
// read is always a whole row that was written (its values agree with its
// timestamp) and never goes back in time. Run under -fsanitize=thread too.
TEST_F(EmbeddedOnlineStoreTest, ConcurrentReadersAndWriters) {
  constexpr int kKeys = 2000;
  constexpr int kRounds = 30;
  std::atomic<bool> done{false};
  std::atomic<int> errors{0};
  auto writer = [&](OnlineTable table, int offset) {
    for (int round = 1; round <= kRounds; ++round) {
      std::vector<Row> rows;
      for (int k = 0; k < kKeys; ++k) {
        int64_t ts = round * 10 + offset;
        std::string v = std::to_string(ts);
        rows.push_back(R("key" + std::to_string(k), ts, 0, {v, v + "-b"}));
      }
      auto r = store_->Write(table, Batch({"a", "b"}, std::move(rows)));
      if (!r.ok()) ++errors;
    }
  };
  auto reader = [&](int seed) {
    std::vector<int64_t> last(kKeys, 0);
    std::vector<std::string> keys, features = {"b", "a"};
    unsigned x = seed;
    while (!done.load()) {
      keys.clear();
      std::vector<int> idx;
      for (int i = 0; i < 50; ++i) {
        x = x * 1103515245 + 12345;
        idx.push_back(static_cast<int>((x >> 8) % kKeys));
        keys.push_back("key" + std::to_string(idx.back()));
      }
      Status s = store_->Read(t_, keys, features, [&](size_t i, const OnlineRowView* row) {
        if (!row) return;
        std::string a((*row->values)[1]), b((*row->values)[0]);
        if (a != std::to_string(row->event_ts_us) || b != a + "-b") ++errors;
        if (row->event_ts_us < last[idx[i]]) ++errors;
        last[idx[i]] = row->event_ts_us;
      });
      if (!s.ok()) ++errors;
    }
  };
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) readers.emplace_back(reader, i + 1);
  std::vector<std::thread> writers;
  writers.emplace_back(writer, t_, 0);
  writers.emplace_back(writer, t_, 5);  // interleaves with the first: half its rows lose
  writers.emplace_back(writer, OnlineTable{"proj", "other"}, 0);
  for (auto& w : writers) w.join();
  done = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(errors.load(), 0);
  auto g = ReadOne(t_, "key7", {"a"});
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->event, kRounds * 10 + 5);
  Reopen();
  EXPECT_EQ(ReadOne(t_, "key7", {"a"})->event, kRounds * 10 + 5);
  EXPECT_EQ(store_->Stats()[0].rows, static_cast<uint64_t>(kKeys));
}

// Many small concurrent writes to one table commit in groups; the outcome is
// the one some serial order of the same writes gives: per key the greatest
// (event, created) wins, and each write's written/skipped counts add up.
TEST_F(EmbeddedOnlineStoreTest, ConcurrentSmallWritesToOneTableGroupCommit) {
  constexpr int kThreads = 8;
  constexpr int kWrites = 60;
  constexpr int kKeys = 20;
  std::atomic<uint64_t> written{0}, skipped{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int w = 0; w < kWrites; ++w) {
        std::vector<Row> rows;
        for (int r = 0; r < 3; ++r) {
          int key = (t * 7 + w * 3 + r) % kKeys;
          int64_t event = (w * 13 + t * 5 + r) % 50;
          int64_t created = t;
          rows.push_back(R("k" + std::to_string(key), event, created,
                           {std::to_string(event) + "/" + std::to_string(created)}));
        }
        // Two feature lists race, so new layouts are created inside groups too.
        std::vector<std::string> features = {w % 2 ? "f" : "g"};
        auto res = store_->Write(t_, Batch(features, std::move(rows)));
        if (!res.ok()) {
          ++errors;
          continue;
        }
        written += res->written;
        skipped += res->skipped;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(written.load() + skipped.load(), static_cast<uint64_t>(kThreads * kWrites * 3));
  // Expected winners, computed serially.
  std::map<int, std::pair<int64_t, int64_t>> best;
  for (int t = 0; t < kThreads; ++t) {
    for (int w = 0; w < kWrites; ++w) {
      for (int r = 0; r < 3; ++r) {
        int key = (t * 7 + w * 3 + r) % kKeys;
        std::pair<int64_t, int64_t> ts{(w * 13 + t * 5 + r) % 50, t};
        if (!best.count(key) || ts > best[key]) best[key] = ts;
      }
    }
  }
  auto check = [&] {
    for (const auto& [key, ts] : best) {
      auto g = ReadOne(t_, "k" + std::to_string(key), {"f", "g"});
      ASSERT_TRUE(g.has_value()) << key;
      EXPECT_EQ(g->event, ts.first) << key;
      EXPECT_EQ(g->created, ts.second) << key;
      std::string v = std::to_string(ts.first) + "/" + std::to_string(ts.second);
      EXPECT_TRUE(g->values[0] == v || g->values[1] == v) << key;
    }
  };
  check();
  Reopen();
  check();
}

// A Write bigger than one commit slice: rows of one key in different slices
// still obey the timestamp rules, and the counts cover every row.
TEST_F(EmbeddedOnlineStoreTest, HugeBatchesCommitInSlices) {
  constexpr int kRows = 300000;
  std::vector<Row> rows;
  rows.reserve(kRows);
  for (int i = 0; i < kRows; ++i) {
    int key = i % 100000;  // each key three times, 100k rows apart
    int64_t event = i / 100000 == 1 ? 5 : (i / 100000 == 2 ? 3 : 1);  // the middle one is newest
    rows.push_back(R("k" + std::to_string(key), event, 0, {std::to_string(i)}));
  }
  auto w = Write(t_, Batch({"f"}, std::move(rows)));
  EXPECT_EQ(w.written + w.skipped, static_cast<uint64_t>(kRows));
  EXPECT_GE(w.written, 100000u);
  EXPECT_EQ(store_->Stats()[0].rows, 100000u);
  for (int key : {0, 31071, 99999}) {
    auto g = ReadOne(t_, "k" + std::to_string(key), {"f"});
    ASSERT_TRUE(g.has_value());
    EXPECT_EQ(g->event, 5);
    EXPECT_EQ(g->values[0], std::to_string(100000 + key));
  }
  Reopen();
  EXPECT_EQ(ReadOne(t_, "k31071", {"f"})->values[0], std::to_string(131071));
}

// Concurrent drops, writes and reads of the same table never crash or hang;
// after the dust settles the store agrees with itself across a restart.
TEST_F(EmbeddedOnlineStoreTest, DropsRacingWritesAndReads) {
  std::atomic<bool> done{false};
  std::thread dropper([&] {
    for (int i = 0; i < 50; ++i) EXPECT_TRUE(store_->DropTable(t_).ok());
    done = true;
  });
  std::thread reader([&] {
    while (!done.load()) (void)store_->Read(t_, {"k"}, {"f"}, [](size_t, const OnlineRowView*) {});
  });
  int64_t ts = 0;
  while (!done.load()) Write(t_, Batch({"f"}, {R("k", ++ts, 0, {std::to_string(ts)})}));
  dropper.join();
  reader.join();
  auto before = ReadOne(t_, "k", {"f"});
  Reopen();
  auto after = ReadOne(t_, "k", {"f"});
  ASSERT_EQ(before.has_value(), after.has_value());
  if (before) {
    EXPECT_EQ(before->values, after->values);
  }
}

// kill -9 in the middle of a stream of writes: every write that returned
// before the kill reads back after a restart.
TEST_F(EmbeddedOnlineStoreTest, KillNineLosesNothingAcknowledged) {
  store_.reset();
  int ack[2];
  ASSERT_EQ(pipe(ack), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(ack[0]);
    auto s = EmbeddedOnlineStore::Open(dir_);
    if (!s.ok()) _exit(2);
    for (int32_t batch = 0;; ++batch) {
      std::vector<Row> rows;
      for (int k = 0; k < 2000; ++k) {
        rows.push_back(R("b" + std::to_string(batch) + "k" + std::to_string(k), batch, 0, {std::string(100, 'v')}));
      }
      if (!(*s)->Write(t_, Batch({"f"}, std::move(rows))).ok()) _exit(3);
      if (write(ack[1], &batch, sizeof(batch)) != sizeof(batch)) _exit(4);
    }
  }
  close(ack[1]);
  int32_t last = -1, b;
  while (last < 25 && read(ack[0], &b, sizeof(b)) == sizeof(b)) last = b;
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  // Drain acknowledgements the child sent before it died.
  while (read(ack[0], &b, sizeof(b)) == sizeof(b)) last = b;
  close(ack[0]);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_GE(last, 25);

  Reopen();
  for (int32_t batch = 0; batch <= last; ++batch) {
    std::vector<std::string> keys;
    for (int k = 0; k < 2000; k += 111) keys.push_back("b" + std::to_string(batch) + "k" + std::to_string(k));
    keys.push_back("b" + std::to_string(batch) + "k1999");
    auto got = Read(t_, keys, {"f"});
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_TRUE(got[i].has_value()) << "acknowledged batch " << batch << " key " << keys[i] << " lost";
      EXPECT_EQ(got[i]->event, batch);
    }
  }
  EXPECT_GE(store_->Stats()[0].rows, static_cast<uint64_t>(last + 1) * 2000);
}

}  // namespace
}  // namespace kiln::storage
