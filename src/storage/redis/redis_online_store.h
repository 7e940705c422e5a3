// RedisOnlineStore: the OnlineStore on a Redis server, in the layout Feast's
// own Redis online store (feast 0.67) reads and writes (redis_layout.h), so
// Feast's SDK reads rows kiln wrote and kiln reads rows Feast wrote.
//
// Reads: one HMGET per entity key (the requested features' fields plus
// "_ts:<view>"), all of a Read pipelined in one round trip, as Feast does. A
// key whose hash has no "_ts:<view>" is unknown (nullptr to the callback).
// Feast keeps no created timestamp, so rows read back with created_ts_us 0.
//
// Writes: the "newer row" decision and the HSET happen in one Lua script on
// the server (EVALSHA, script loaded again after NOSCRIPT), so concurrent
// writers (several kiln replicas, or Feast and kiln) can never replace a
// newer row with an older one. Feast itself reads the stored timestamps in
// one pipeline and writes in a second (redis.py online_write_batch: not
// atomic, its own TODO says so), so two Feast writers can race; a kiln write
// cannot lose to a concurrent kiln write. The rule is Feast's: a row is
// written when the key holds no "_ts:<view>" or the new event time is later;
// an equal event time keeps the stored row (Feast compares event times only;
// the contract's created-timestamp tie-break cannot be honoured without
// leaving Feast's layout). A write sets "_ts:<view>" and the written
// features' fields; other fields of the hash (other views, features not in
// the write) stay, as with Feast. With key_ttl_seconds, every written hash
// gets EXPIRE, as Feast does. Rows go 1000 per script call, every call of a
// Write in one pipeline; duplicate keys in a batch are decided in order.
//
// Durability: a Write returns when Redis has applied it; surviving a Redis
// crash is Redis's persistence (appendonly/appendfsync) and replication.
//
// DropTable: SCANs the project's hashes (keys ending in the project after a
// well-formed entity key), deleting a hash that holds only this view and
// removing "_ts:<view>" from one shared with other views (the view's feature
// fields are hashed names the store cannot list; without "_ts" they read as
// unknown). Stats: empty (counting rows means scanning a shared keyspace).
// One Redis node (or a primary with replicas) only: scripts take many keys,
// which Redis Cluster refuses across slots.
//
// Ownership: owns its RedisClient. Thread-safety: thread-safe; every call
// blocks on the network (ReadsBlock() is true).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "storage/online_store.h"
#include "storage/redis/redis_client.h"
#include "storage/redis/redis_options.h"

namespace kiln::storage {

class RedisOnlineStore final : public OnlineStore {
 public:
  static StatusOr<std::unique_ptr<RedisOnlineStore>> Open(redis::RedisOptions options);

  StatusOr<OnlineWriteResult> Write(const OnlineTable& table, const OnlineWriteBatch& batch) override;
  Status Read(const OnlineTable& table, const std::vector<std::string>& entity_keys,
              const std::vector<std::string>& features, const ReadFn& fn) override;
  Status DropTable(const OnlineTable& table) override;
  std::vector<TableStats> Stats() override;
  Status Ping() override;
  bool ReadsBlock() const override { return true; }

  std::string Address() const { return client_->Address(); }

 private:
  explicit RedisOnlineStore(std::unique_ptr<redis::RedisClient> client);
  // Runs the batch's EVALSHA calls of `script`; a NOSCRIPT reply (a
  // restarted or flushed server) loads the script again (same SHA1) and
  // re-sends the calls that got it.
  StatusOr<std::vector<redis::ReplyPtr>> RunScripts(const redis::CommandBatch& batch, const std::string& script);

  std::unique_ptr<redis::RedisClient> client_;
  std::string write_sha_;  // set by Open, then constant
  std::string drop_sha_;
};

}  // namespace kiln::storage
