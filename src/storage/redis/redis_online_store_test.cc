// RedisOnlineStore against a real redis-server (started by the test on a
// free loopback port, with a password).
#include "storage/redis/redis_online_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <map>
#include <random>
#include <thread>

#include <hiredis/hiredis.h>

#include "storage/online_store_factory.h"
#include "storage/redis/redis_layout.h"
#include "storage/redis/redis_test_server.h"

namespace kiln::storage {
namespace {

using redis::TestRedisServer;

constexpr const char* kPassword = "s3cret pw";

// Feast's entity key serialization v3 of one int64 join key.
std::string IntKey(const std::string& join_key, int64_t v) {
  std::string k;
  auto u32 = [&](uint32_t x) { k.append(reinterpret_cast<const char*>(&x), 4); };
  u32(1);
  u32(2);
  u32(static_cast<uint32_t>(join_key.size()));
  k += join_key;
  u32(4);
  u32(8);
  k.append(reinterpret_cast<const char*>(&v), 8);
  return k;
}

// A serialized feast.types.Value{int64_val: v} (field 4, varint).
std::string IntValue(int64_t v) {
  std::string s(1, '\x20');
  uint64_t u = static_cast<uint64_t>(v);
  while (u >= 0x80) {
    s.push_back(static_cast<char>((u & 0x7f) | 0x80));
    u >>= 7;
  }
  s.push_back(static_cast<char>(u));
  return s;
}

redis::RedisOptions Options(int port, std::string password = kPassword) {
  redis::RedisOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  o.password = std::move(password);
  o.pool_size = 4;
  o.timeout_ms = 3000;
  return o;
}

OnlineWriteBatch::Row R(std::string key, int64_t event, std::vector<std::string> values) {
  OnlineWriteBatch::Row r;
  r.entity_key = std::move(key);
  r.event_ts_us = event;
  r.values = std::move(values);
  return r;
}

struct Got {
  bool found = false;
  int64_t event = 0;
  std::vector<std::string> values;
};

std::vector<Got> ReadAll(OnlineStore& s, const OnlineTable& t, const std::vector<std::string>& keys,
                         const std::vector<std::string>& features) {
  std::vector<Got> out(keys.size());
  Status st = s.Read(t, keys, features, [&](size_t i, const OnlineRowView* row) {
    if (!row) return;
    out[i].found = true;
    out[i].event = row->event_ts_us;
    for (auto v : *row->values) out[i].values.emplace_back(v);
  });
  EXPECT_TRUE(st.ok()) << st.message();
  return out;
}

// A raw client for checking bytes in Redis.
struct Raw {
  redisContext* c;
  explicit Raw(int port) {
    c = redisConnect("127.0.0.1", port);
    redisReply* r = static_cast<redisReply*>(redisCommand(c, "AUTH %s", kPassword));
    freeReplyObject(r);
  }
  ~Raw() { redisFree(c); }
  std::map<std::string, std::string> HGetAll(const std::string& key) {
    std::map<std::string, std::string> m;
    redisReply* r = static_cast<redisReply*>(redisCommand(c, "HGETALL %b", key.data(), key.size()));
    for (size_t i = 0; r && i + 1 < r->elements; i += 2) {
      m[std::string(r->element[i]->str, r->element[i]->len)] = std::string(r->element[i + 1]->str, r->element[i + 1]->len);
    }
    freeReplyObject(r);
    return m;
  }
  long long Integer(const char* fmt, const std::string& key) {
    redisReply* r = static_cast<redisReply*>(redisCommand(c, fmt, key.data(), key.size()));
    long long v = r ? r->integer : -99;
    freeReplyObject(r);
    return v;
  }
  void Command(const char* cmd) { freeReplyObject(redisCommand(c, cmd)); }
};

TEST(RedisOnlineStore, WritesFeastsLayoutAndReadsItBack) {
  TestRedisServer server(kPassword);
  auto store = RedisOnlineStore::Open(Options(server.port()));
  ASSERT_TRUE(store.ok()) << store.status().message();
  const OnlineTable t{"proj", "driver_stats"};
  OnlineWriteBatch b;
  b.features = {"conv_rate", "trips"};
  b.rows.push_back(R(IntKey("driver_id", 1001), 1704164645678901, {IntValue(7), ""}));
  auto w = (*store)->Write(t, b);
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ(w->written, 1u);

  Raw raw(server.port());
  auto h = raw.HGetAll(IntKey("driver_id", 1001) + "proj");
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[redis::FeatureField("driver_stats", "conv_rate")], IntValue(7));
  EXPECT_EQ(h[redis::FeatureField("driver_stats", "trips")], "");
  EXPECT_EQ(h["_ts:driver_stats"], redis::EncodeTimestamp(1704164645678901));

  auto got = ReadAll(**store, t, {IntKey("driver_id", 1001), IntKey("driver_id", 5)}, {"trips", "conv_rate", "nope"});
  ASSERT_TRUE(got[0].found);
  EXPECT_EQ(got[0].event, 1704164645678901);
  EXPECT_EQ(got[0].values, (std::vector<std::string>{"", IntValue(7), ""}));
  EXPECT_FALSE(got[1].found);
  // Another project's key is another hash.
  EXPECT_FALSE(ReadAll(**store, {"other", "driver_stats"}, {IntKey("driver_id", 1001)}, {"trips"})[0].found);
  EXPECT_TRUE((*store)->ReadsBlock());
  EXPECT_TRUE((*store)->Ping().ok());
}

TEST(RedisOnlineStore, NeverReplacesANewerRowAndEqualTimeKeepsTheStoredOne) {
  TestRedisServer server(kPassword);
  auto store = RedisOnlineStore::Open(Options(server.port()));
  ASSERT_TRUE(store.ok()) << store.status().message();
  const OnlineTable t{"p", "v"};
  const std::string k = IntKey("id", 1);
  auto write = [&](int64_t ts, int64_t v) {
    OnlineWriteBatch b;
    b.features = {"f"};
    b.rows.push_back(R(k, ts, {IntValue(v)}));
    auto w = (*store)->Write(t, b);
    EXPECT_TRUE(w.ok());
    return w.ok() ? w->written : 99;
  };
  EXPECT_EQ(write(2000000, 2), 1u);
  EXPECT_EQ(write(1000000, 1), 0u);  // older
  EXPECT_EQ(write(2000000, 3), 0u);  // equal: Feast keeps the stored row
  EXPECT_EQ(ReadAll(**store, t, {k}, {"f"})[0].values[0], IntValue(2));
  EXPECT_EQ(write(2000001, 4), 1u);
  EXPECT_EQ(write(-5, 5), 0u);
  EXPECT_EQ(ReadAll(**store, t, {k}, {"f"})[0].values[0], IntValue(4));

  // Duplicate keys inside one batch are decided in order.
  OnlineWriteBatch b;
  b.features = {"f"};
  b.rows = {R(IntKey("id", 2), 30, {IntValue(30)}), R(IntKey("id", 2), 10, {IntValue(10)}),
            R(IntKey("id", 2), 40, {IntValue(40)})};
  auto w = (*store)->Write(t, b);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->written, 2u);
  EXPECT_EQ(w->skipped, 1u);
  auto got = ReadAll(**store, t, {IntKey("id", 2)}, {"f"});
  EXPECT_EQ(got[0].values[0], IntValue(40));
  EXPECT_EQ(got[0].event, 40);

  // Pre-1970 event times compare correctly (negative Timestamp seconds).
  const OnlineTable old{"p", "old"};
  for (int64_t ts : {int64_t{-3000000}, int64_t{-2500000}, int64_t{-2600000}}) {
    OnlineWriteBatch ob;
    ob.features = {"f"};
    ob.rows = {R(IntKey("id", 3), ts, {IntValue(ts)})};
    ASSERT_TRUE((*store)->Write(old, ob).ok());
  }
  EXPECT_EQ(ReadAll(**store, old, {IntKey("id", 3)}, {"f"})[0].event, -2500000);
}

TEST(RedisOnlineStore, ConcurrentWritersKeepTheNewestRow) {
  TestRedisServer server(kPassword);
  auto store = RedisOnlineStore::Open(Options(server.port()));
  ASSERT_TRUE(store.ok()) << store.status().message();
  const OnlineTable t{"p", "v"};
  constexpr int kThreads = 6, kWrites = 300, kKeys = 5;
  std::atomic<int64_t> max_ts[kKeys];
  for (auto& m : max_ts) m = 0;
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      std::mt19937_64 rng(th);
      for (int i = 0; i < kWrites; ++i) {
        OnlineWriteBatch b;
        b.features = {"f"};
        const int key = static_cast<int>(rng() % kKeys);
        const int64_t ts = static_cast<int64_t>(rng() % 1000000) * 1000 + th;  // distinct per thread
        b.rows.push_back(R(IntKey("id", key), ts, {IntValue(ts)}));
        ASSERT_TRUE((*store)->Write(t, b).ok());
        int64_t cur = max_ts[key];
        while (ts > cur && !max_ts[key].compare_exchange_weak(cur, ts)) {
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int key = 0; key < kKeys; ++key) {
    auto got = ReadAll(**store, t, {IntKey("id", key)}, {"f"});
    if (max_ts[key] == 0) continue;
    EXPECT_EQ(got[0].event, max_ts[key]);
    EXPECT_EQ(got[0].values[0], IntValue(max_ts[key]));
  }
}

TEST(RedisOnlineStore, ReconnectsAfterARestartAndReloadsItsScript) {
  TestRedisServer server(kPassword);
  auto store = RedisOnlineStore::Open(Options(server.port()));
  ASSERT_TRUE(store.ok()) << store.status().message();
  const OnlineTable t{"p", "v"};
  OnlineWriteBatch b;
  b.features = {"f"};
  b.rows.push_back(R(IntKey("id", 1), 10, {IntValue(1)}));
  ASSERT_TRUE((*store)->Write(t, b).ok());
  server.Stop();
  EXPECT_FALSE((*store)->Ping().ok());
  server.Start();  // empty (no persistence), no scripts loaded
  b.rows[0].event_ts_us = 20;
  auto w = (*store)->Write(t, b);
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ(w->written, 1u);
  EXPECT_EQ(ReadAll(**store, t, {IntKey("id", 1)}, {"f"})[0].event, 20);
}

TEST(RedisOnlineStore, RefusesAWrongOrMissingPassword) {
  TestRedisServer server(kPassword);
  auto wrong = RedisOnlineStore::Open(Options(server.port(), "nope"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(wrong.status().message().find("nope"), std::string::npos);
  auto none = RedisOnlineStore::Open(Options(server.port(), ""));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(none.status().message().find("needs a password"), std::string::npos);
}

TEST(RedisOnlineStore, DropTableRemovesOneViewOfASharedHash) {
  TestRedisServer server(kPassword);
  auto store = RedisOnlineStore::Open(Options(server.port()));
  ASSERT_TRUE(store.ok()) << store.status().message();
  OnlineWriteBatch b;
  b.features = {"f"};
  b.rows.push_back(R(IntKey("id", 1), 10, {IntValue(1)}));
  ASSERT_TRUE((*store)->Write({"p", "a"}, b).ok());
  ASSERT_TRUE((*store)->Write({"p", "b"}, b).ok());
  b.rows.push_back(R(IntKey("id", 2), 10, {IntValue(2)}));
  ASSERT_TRUE((*store)->Write({"p", "a"}, b).ok());
  ASSERT_TRUE((*store)->Write({"xp", "a"}, b).ok());  // a project ending in "p"
  ASSERT_TRUE((*store)->DropTable({"p", "a"}).ok());
  auto a = ReadAll(**store, {"p", "a"}, {IntKey("id", 1), IntKey("id", 2)}, {"f"});
  EXPECT_FALSE(a[0].found);
  EXPECT_FALSE(a[1].found);
  EXPECT_TRUE(ReadAll(**store, {"p", "b"}, {IntKey("id", 1)}, {"f"})[0].found);
  EXPECT_TRUE(ReadAll(**store, {"xp", "a"}, {IntKey("id", 2)}, {"f"})[0].found);
  Raw raw(server.port());
  EXPECT_EQ(raw.Integer("EXISTS %b", IntKey("id", 2) + "p"), 0);  // only view a: deleted
}

TEST(RedisOnlineStore, KeyTtlSecondsExpiresWrittenHashes) {
  TestRedisServer server(kPassword);
  auto o = Options(server.port());
  o.key_ttl_seconds = 3600;
  auto store = RedisOnlineStore::Open(o);
  ASSERT_TRUE(store.ok()) << store.status().message();
  OnlineWriteBatch b;
  b.features = {"f"};
  b.rows.push_back(R(IntKey("id", 1), 10, {IntValue(1)}));
  ASSERT_TRUE((*store)->Write({"p", "v"}, b).ok());
  Raw raw(server.port());
  const long long ttl = raw.Integer("TTL %b", IntKey("id", 1) + "p");
  EXPECT_GT(ttl, 3500);
  EXPECT_LE(ttl, 3600);
}

TEST(RedisOnlineStore, LargeBatchesSpanSeveralScriptCallsAndReads) {
  TestRedisServer server(kPassword);
  auto store = RedisOnlineStore::Open(Options(server.port()));
  ASSERT_TRUE(store.ok()) << store.status().message();
  OnlineWriteBatch b;
  b.features = {"f", "g"};
  std::vector<std::string> keys;
  for (int i = 0; i < 2500; ++i) {
    keys.push_back(IntKey("id", i));
    b.rows.push_back(R(keys.back(), 100 + i, {IntValue(i), IntValue(-i)}));
  }
  auto w = (*store)->Write({"p", "v"}, b);
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ(w->written, 2500u);
  auto got = ReadAll(**store, {"p", "v"}, keys, {"g", "f"});
  for (int i = 0; i < 2500; ++i) {
    ASSERT_TRUE(got[i].found);
    EXPECT_EQ(got[i].event, 100 + i);
    EXPECT_EQ(got[i].values[0], IntValue(-i));
    EXPECT_EQ(got[i].values[1], IntValue(i));
  }
}

TEST(OnlineStoreFactory, PasswordFromAFileAndUriErrors) {
  TestRedisServer server(kPassword);
  char tmpl[] = "/tmp/kiln_redis_pw_XXXXXX";
  int fd = mkstemp(tmpl);
  std::string pw = std::string(kPassword) + "\n";
  ASSERT_EQ(write(fd, pw.data(), pw.size()), static_cast<ssize_t>(pw.size()));
  close(fd);
  OnlineStoreConfig c;
  c.uri = "redis://127.0.0.1:" + std::to_string(server.port()) + "/0";
  c.redis_password_file = tmpl;
  auto store = OpenOnlineStore(c);
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_TRUE((*store)->ReadsBlock());
  unlink(tmpl);

  c.redis_password_file.clear();
  c.uri = "redis://:s3cret%20pw@127.0.0.1:" + std::to_string(server.port()) + "/2";
  EXPECT_TRUE(OpenOnlineStore(c).ok());
  EXPECT_EQ(DescribeOnlineStore(c), "Redis redis://:***@127.0.0.1:" + std::to_string(server.port()) + "/2");
  c.redis_ca_file = "/x";
  EXPECT_FALSE(OpenOnlineStore(c).ok());  // a CA file needs rediss://
}

}  // namespace
}  // namespace kiln::storage
