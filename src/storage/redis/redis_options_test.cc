#include "storage/redis/redis_options.h"

#include <gtest/gtest.h>

namespace kiln::storage::redis {
namespace {

TEST(RedisOptions, ParsesFeastStyleUris) {
  auto o = ParseRedisUri("redis://localhost:6380/2");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->host, "localhost");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->db, 2);
  EXPECT_FALSE(o->tls);
  EXPECT_TRUE(o->password.empty());

  o = ParseRedisUri("rediss://:p%40ss@10.0.0.1?key_ttl_seconds=60&pool_size=3&timeout_ms=100");
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->tls);
  EXPECT_EQ(o->host, "10.0.0.1");
  EXPECT_EQ(o->port, 6379);
  EXPECT_EQ(o->password, "p@ss");
  EXPECT_TRUE(o->username.empty());
  EXPECT_EQ(o->key_ttl_seconds, 60);
  EXPECT_EQ(o->pool_size, 3u);
  EXPECT_EQ(o->timeout_ms, 100);

  o = ParseRedisUri("redis://kiln:pw@[::1]:7000");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->host, "::1");
  EXPECT_EQ(o->port, 7000);
  EXPECT_EQ(o->username, "kiln");
  EXPECT_EQ(o->password, "pw");
}

TEST(RedisOptions, RefusesBadUrisWithoutEchoingThePassword) {
  for (const char* bad : {"http://x", "redis://", "redis://h:0", "redis://h:99999", "redis://h/x",
                          "redis://h?nope=1", "redis://h?pool_size=0", "redis://:%zz@h"}) {
    EXPECT_FALSE(ParseRedisUri(bad).ok()) << bad;
  }
  auto s = ParseRedisUri("redis://:topsecret@h:1/x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message().find("topsecret"), std::string::npos);
  EXPECT_EQ(RedactRedisUri("rediss://u:topsecret@h:1/0"), "rediss://u:***@h:1/0");
  EXPECT_EQ(RedactRedisUri("redis://h:1/0"), "redis://h:1/0");
}

}  // namespace
}  // namespace kiln::storage::redis
