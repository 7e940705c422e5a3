#include "storage/redis/redis_online_store.h"

#include <algorithm>
#include <cstring>

#include <hiredis/hiredis.h>

#include "storage/redis/redis_layout.h"
#include "storage/redis/redis_scripts.h"

namespace kiln::storage {

namespace {

constexpr size_t kRowsPerScript = 1000;
// Script calls per round trip (bounds the request buffer of a huge Write).
constexpr size_t kScriptsPerPipeline = 32;

Status ErrorReply(std::string_view what, std::string_view e) {
  if (e.rfind("READONLY", 0) == 0) {
    return Unavailable(std::string(what) + ": the Redis server is a read-only replica: " + std::string(e));
  }
  if (e.rfind("NOAUTH", 0) == 0 || e.rfind("WRONGPASS", 0) == 0 || e.rfind("NOPERM", 0) == 0) {
    return Unavailable(std::string(what) + ": Redis refused the credentials: " + std::string(e));
  }
  return Internal(std::string(what) + ": Redis answered " + std::string(e));
}

uint32_t U32(std::string_view s, size_t pos) {
  uint32_t v;
  std::memcpy(&v, s.data() + pos, 4);
  return v;
}

// Length of the serialized entity key (v3) at the start of `key`, or 0 when
// the bytes are not one: count, then count (type, len, name) join keys, then
// count (type, len, payload) values.
size_t EntityKeyLength(std::string_view key) {
  if (key.size() < 4) return 0;
  const uint64_t count = U32(key, 0);
  size_t pos = 4;
  for (uint64_t part = 0; part < 2 * count; ++part) {
    if (key.size() - pos < 8) return 0;
    const uint64_t len = U32(key, pos + 4);
    pos += 8;
    if (len > key.size() - pos) return 0;
    pos += len;
  }
  return pos;
}

std::string GlobEscape(std::string_view s) {
  std::string o;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') o.push_back('\\');
    o.push_back(c);
  }
  return o;
}

}  // namespace

RedisOnlineStore::RedisOnlineStore(std::unique_ptr<redis::RedisClient> client) : client_(std::move(client)) {}

StatusOr<std::unique_ptr<RedisOnlineStore>> RedisOnlineStore::Open(redis::RedisOptions options) {
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<redis::RedisClient> client, redis::RedisClient::Create(std::move(options)));
  std::unique_ptr<RedisOnlineStore> store(new RedisOnlineStore(std::move(client)));
  redis::CommandBatch load;
  for (const char* script : {redis::kWriteScript, redis::kDropScript}) {
    load.Begin();
    load.Arg("SCRIPT");
    load.Arg("LOAD");
    load.Arg(script);
  }
  KILN_ASSIGN_OR_RETURN(std::vector<redis::ReplyPtr> shas, store->client_->Pipeline(load));
  for (const auto& r : shas) {
    if (r->type != REDIS_REPLY_STRING) return ErrorReply("loading kiln's scripts", redis::ReplyError(r.get()));
  }
  store->write_sha_.assign(shas[0]->str, shas[0]->len);
  store->drop_sha_.assign(shas[1]->str, shas[1]->len);
  return store;
}

StatusOr<std::vector<redis::ReplyPtr>> RedisOnlineStore::RunScripts(const redis::CommandBatch& batch,
                                                                     const std::string& script) {
  KILN_ASSIGN_OR_RETURN(std::vector<redis::ReplyPtr> replies, client_->Pipeline(batch));
  std::vector<size_t> missing;
  for (size_t i = 0; i < replies.size(); ++i) {
    if (redis::ReplyError(replies[i].get()).rfind("NOSCRIPT", 0) == 0) missing.push_back(i);
  }
  if (missing.empty()) return replies;
  redis::CommandBatch again;
  again.Begin();
  again.Arg("SCRIPT");
  again.Arg("LOAD");
  again.Arg(script);
  for (size_t i : missing) {
    again.Begin();
    for (std::string_view a : batch.Command(i)) again.Arg(a);
  }
  KILN_ASSIGN_OR_RETURN(std::vector<redis::ReplyPtr> retried, client_->Pipeline(again));
  if (retried[0]->type != REDIS_REPLY_STRING) {
    return ErrorReply("loading kiln's scripts", redis::ReplyError(retried[0].get()));
  }
  for (size_t j = 0; j < missing.size(); ++j) replies[missing[j]] = std::move(retried[j + 1]);
  return replies;
}

StatusOr<OnlineWriteResult> RedisOnlineStore::Write(const OnlineTable& table, const OnlineWriteBatch& batch) {
  OnlineWriteResult result;
  const size_t m = batch.features.size();
  for (const auto& row : batch.rows) {
    if (row.values.size() != m) return InvalidArgument("a row's values do not match the batch's features");
  }
  const std::string ts_field = redis::TimestampField(table.view);
  const std::string ttl = std::to_string(client_->options().key_ttl_seconds);
  const std::string m_text = std::to_string(m);
  std::vector<std::string> fields;
  fields.reserve(m);
  for (const auto& f : batch.features) fields.push_back(redis::FeatureField(table.view, f));

  // The text every argument views, per row of one pipeline.
  struct RowText {
    std::string key, sec, nanos, ts;
  };
  for (size_t next = 0; next < batch.rows.size();) {
    const size_t pipeline_end = std::min(batch.rows.size(), next + kRowsPerScript * kScriptsPerPipeline);
    std::vector<RowText> text(pipeline_end - next);
    for (size_t r = next; r < pipeline_end; ++r) {
      RowText& t = text[r - next];
      const int64_t us = batch.rows[r].event_ts_us;
      int64_t sec = us / 1000000, micros = us % 1000000;
      if (micros < 0) {
        micros += 1000000;
        sec -= 1;
      }
      t.key = redis::HashKey(batch.rows[r].entity_key, table.project);
      t.sec = std::to_string(sec);
      t.nanos = std::to_string(micros * 1000);
      t.ts = redis::EncodeTimestamp(us);
    }
    std::vector<std::string> numkeys;
    for (size_t start = next; start < pipeline_end; start += kRowsPerScript) {
      numkeys.push_back(std::to_string(std::min(pipeline_end, start + kRowsPerScript) - start));
    }
    redis::CommandBatch cmds;
    size_t call = 0;
    for (size_t start = next; start < pipeline_end; start += kRowsPerScript, ++call) {
      const size_t end = std::min(pipeline_end, start + kRowsPerScript);
      cmds.Begin();
      cmds.Arg("EVALSHA");
      cmds.Arg(write_sha_);
      cmds.Arg(numkeys[call]);
      for (size_t r = start; r < end; ++r) cmds.Arg(text[r - next].key);
      cmds.Arg(ts_field);
      cmds.Arg(ttl);
      cmds.Arg(m_text);
      for (const auto& f : fields) cmds.Arg(f);
      for (size_t r = start; r < end; ++r) {
        const RowText& t = text[r - next];
        cmds.Arg(t.sec);
        cmds.Arg(t.nanos);
        cmds.Arg(t.ts);
        for (const auto& v : batch.rows[r].values) cmds.Arg(v);
      }
    }
    KILN_ASSIGN_OR_RETURN(std::vector<redis::ReplyPtr> replies, RunScripts(cmds, redis::kWriteScript));
    call = 0;
    for (size_t start = next; start < pipeline_end; start += kRowsPerScript, ++call) {
      const redisReply* r = replies[call].get();
      if (r->type != REDIS_REPLY_INTEGER) {
        // Earlier script calls of this Write are applied (each decided row
        // by row); the caller sees the failure.
        return ErrorReply("writing " + table.project + "/" + table.view, redis::ReplyError(r));
      }
      const uint64_t rows = std::min(pipeline_end, start + kRowsPerScript) - start;
      result.written += static_cast<uint64_t>(r->integer);
      result.skipped += rows - static_cast<uint64_t>(r->integer);
    }
    next = pipeline_end;
  }
  return result;
}

Status RedisOnlineStore::Read(const OnlineTable& table, const std::vector<std::string>& entity_keys,
                              const std::vector<std::string>& features, const ReadFn& fn) {
  if (entity_keys.empty()) return Status::Ok();
  const size_t m = features.size();
  std::vector<std::string> fields;
  fields.reserve(m + 1);
  for (const auto& f : features) fields.push_back(redis::FeatureField(table.view, f));
  fields.push_back(redis::TimestampField(table.view));
  std::vector<std::string> keys;
  keys.reserve(entity_keys.size());
  redis::CommandBatch cmds;
  for (const auto& k : entity_keys) keys.push_back(redis::HashKey(k, table.project));
  for (const auto& k : keys) {
    cmds.Begin();
    cmds.Arg("HMGET");
    cmds.Arg(k);
    for (const auto& f : fields) cmds.Arg(f);
  }
  KILN_ASSIGN_OR_RETURN(std::vector<redis::ReplyPtr> replies, client_->Pipeline(cmds));
  std::vector<std::string_view> values(m);
  for (size_t i = 0; i < replies.size(); ++i) {
    const redisReply* r = replies[i].get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements != m + 1) {
      return ErrorReply("reading " + table.project + "/" + table.view,
                        r->type == REDIS_REPLY_ERROR ? redis::ReplyError(r) : "a reply that is not HMGET's");
    }
    const redisReply* ts = r->element[m];
    if (ts->type != REDIS_REPLY_STRING) {
      fn(i, nullptr);
      continue;
    }
    auto decoded = redis::DecodeTimestamp(std::string_view(ts->str, ts->len));
    if (!decoded.ok()) {
      return Internal("reading " + table.project + "/" + table.view + ": " + decoded.status().message());
    }
    for (size_t f = 0; f < m; ++f) {
      const redisReply* v = r->element[f];
      values[f] = v->type == REDIS_REPLY_STRING ? std::string_view(v->str, v->len) : std::string_view();
    }
    OnlineRowView row;
    row.event_ts_us = redis::TimestampMicros(*decoded);
    row.created_ts_us = 0;
    row.values = &values;
    fn(i, &row);
  }
  return Status::Ok();
}

Status RedisOnlineStore::DropTable(const OnlineTable& table) {
  const std::string pattern = "*" + GlobEscape(table.project);
  const std::string ts_field = redis::TimestampField(table.view);
  std::string cursor = "0";
  do {
    redis::CommandBatch scan;
    scan.Begin();
    for (std::string_view a : {std::string_view("SCAN"), std::string_view(cursor), std::string_view("MATCH"),
                               std::string_view(pattern), std::string_view("COUNT"), std::string_view("1000")}) {
      scan.Arg(a);
    }
    KILN_ASSIGN_OR_RETURN(std::vector<redis::ReplyPtr> replies, client_->Pipeline(scan));
    const redisReply* r = replies[0].get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_ARRAY) {
      return ErrorReply("dropping " + table.project + "/" + table.view, redis::ReplyError(r));
    }
    cursor.assign(r->element[0]->str, r->element[0]->len);
    // Only hashes whose bytes are an entity key followed by exactly this
    // project (the pattern also matches "otherproject").
    std::vector<std::string> keys;
    const redisReply* found = r->element[1];
    for (size_t i = 0; i < found->elements; ++i) {
      std::string_view k(found->element[i]->str, found->element[i]->len);
      const size_t n = EntityKeyLength(k);
      if (n > 0 && k.substr(n) == table.project) keys.emplace_back(k);
    }
    if (keys.empty()) continue;
    const std::string numkeys = std::to_string(keys.size());
    redis::CommandBatch drop;
    drop.Begin();
    drop.Arg("EVALSHA");
    drop.Arg(drop_sha_);
    drop.Arg(numkeys);
    for (const auto& k : keys) drop.Arg(k);
    drop.Arg(ts_field);
    KILN_ASSIGN_OR_RETURN(std::vector<redis::ReplyPtr> dropped, RunScripts(drop, redis::kDropScript));
    if (dropped[0]->type != REDIS_REPLY_INTEGER) {
      return ErrorReply("dropping " + table.project + "/" + table.view, redis::ReplyError(dropped[0].get()));
    }
  } while (cursor != "0");
  return Status::Ok();
}

std::vector<OnlineStore::TableStats> RedisOnlineStore::Stats() { return {}; }

Status RedisOnlineStore::Ping() {
  redis::CommandBatch ping;
  ping.Begin();
  ping.Arg("PING");
  KILN_ASSIGN_OR_RETURN(std::vector<redis::ReplyPtr> replies, client_->Pipeline(ping));
  if (replies[0]->type == REDIS_REPLY_ERROR) return ErrorReply("PING", redis::ReplyError(replies[0].get()));
  return Status::Ok();
}

}  // namespace kiln::storage
