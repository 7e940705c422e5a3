#include "storage/embedded/embedded_online_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <unordered_map>
#include <shared_mutex>
#include <unordered_set>

#include "core/log.h"
#include "storage/embedded/row_format.h"
#include "storage/embedded/row_table.h"
#include "storage/embedded/table_log.h"

namespace kiln::storage {

using embedded::DecodeBlock;
using embedded::HashKey;
using embedded::RecordBuilder;
using embedded::RecordType;
using embedded::RowRef;
using embedded::RowTable;
using embedded::Supersedes;
using embedded::TableLog;

namespace embedded {

// One Write's rows [begin, end) waiting in a table's commit queue.
struct WriteRequest {
  const OnlineWriteBatch* batch;
  size_t begin, end;
  Status status;
  OnlineWriteResult result;
  bool retry = false;  // the table was dropped meanwhile: start over
  bool done = false;
};

struct Table {
  OnlineTable id;
  std::mutex writer_mu;
  bool dropped = false;           // guarded by writer_mu
  std::unique_ptr<TableLog> log;  // guarded by writer_mu
  RowTable rows;
  // The newest event time of any row applied (INT64_MIN: none). Rows are only
  // ever replaced by newer ones, so this is the newest among the stored rows.
  std::atomic<int64_t> newest_event_us{INT64_MIN};
  void NoteEvent(int64_t us) {
    int64_t cur = newest_event_us.load(std::memory_order_relaxed);
    while (us > cur && !newest_event_us.compare_exchange_weak(cur, us, std::memory_order_release)) {
    }
  }
  // Group commit: concurrent Writes queue up; whichever finds no commit in
  // progress commits everything queued with one append and one fdatasync.
  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::vector<WriteRequest*> queue;  // guarded by queue_mu
  bool committing = false;           // guarded by queue_mu
};

}  // namespace embedded

using embedded::Table;
using embedded::WriteRequest;

namespace {

std::string TableKey(const OnlineTable& t) {
  std::string k;
  embedded::PutVarint(k, t.project.size());
  k += t.project;
  k += t.view;
  return k;
}

std::string LogName(uint64_t seq) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "t%06llu.log", static_cast<unsigned long long>(seq));
  return buf;
}

// Sequence number of a log file name "t<digits>.log", 0 when not one.
uint64_t LogSeq(const std::string& name) {
  if (name.size() < 6 || name[0] != 't' || name.compare(name.size() - 4, 4, ".log") != 0) return 0;
  uint64_t seq = 0;
  for (size_t i = 1; i < name.size() - 4; ++i) {
    if (name[i] < '0' || name[i] > '9') return 0;
    seq = seq * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return seq;
}

std::string Describe(const OnlineTable& t) { return "online table " + t.project + "/" + t.view; }

Status Validate(const OnlineTable& table, const OnlineWriteBatch& batch) {
  if (table.view.empty()) return InvalidArgument("online store write: the feature view name is empty");
  std::unordered_set<std::string_view> seen;
  for (const auto& f : batch.features) {
    if (!seen.insert(f).second) {
      return InvalidArgument("online store write to " + table.view + ": feature '" + f + "' appears twice");
    }
  }
  for (size_t i = 0; i < batch.rows.size(); ++i) {
    const auto& r = batch.rows[i];
    if (r.values.size() != batch.features.size()) {
      return InvalidArgument("online store write to " + table.view + ": row " + std::to_string(i) + " has " +
                             std::to_string(r.values.size()) + " values for " +
                             std::to_string(batch.features.size()) + " features");
    }
    if (r.entity_key.empty()) {
      return InvalidArgument("online store write to " + table.view + ": row " + std::to_string(i) +
                             " has an empty entity key");
    }
  }
  return Status::Ok();
}

// Bytes of a row's key as stored: without the prefix when it has it.
size_t StoredKeySize(const std::string& key, const std::string* prefix) {
  if (prefix && key.size() >= prefix->size() && key.compare(0, prefix->size(), *prefix) == 0) {
    return key.size() - prefix->size();
  }
  return key.size();
}

size_t BlockBodySize(const OnlineWriteBatch::Row& r, uint32_t layout, size_t stored_key) {
  size_t n = embedded::VarintSize(stored_key << 1) + stored_key + 16 + embedded::VarintSize(layout);
  for (const auto& v : r.values) n += embedded::VarintSize(v.size()) + v.size();
  return n;
}

void EncodeBlock(std::string& buf, const OnlineWriteBatch::Row& r, uint32_t layout, const std::string* prefix) {
  size_t stored = StoredKeySize(r.entity_key, prefix);
  bool prefixed = prefix && stored + prefix->size() == r.entity_key.size();
  embedded::PutVarint(buf, BlockBodySize(r, layout, stored));
  embedded::PutVarint(buf, (uint64_t{stored} << 1) | (prefixed ? 1 : 0));
  buf.append(r.entity_key, r.entity_key.size() - stored, stored);
  embedded::PutFixed64(buf, r.event_ts_us);
  embedded::PutFixed64(buf, r.created_ts_us);
  embedded::PutVarint(buf, layout);
  for (const auto& v : r.values) {
    embedded::PutVarint(buf, v.size());
    buf += v;
  }
}

// Where the bytes shared by every key of a view end in Feast's entity key
// serialization v3 (u32 count; names as u32 type, u32 len, bytes; values as
// u32 type, u32 len, payload): before the last value's payload when its size
// is fixed by its type, else before its length. The whole key when it does
// not parse as v3.
size_t StructuralPrefixLen(const std::string& key) {
  auto u32 = [&](size_t at, uint32_t* v) {
    if (at + 4 > key.size()) return false;
    std::memcpy(v, key.data() + at, 4);
    return true;
  };
  uint32_t count;
  if (!u32(0, &count) || count == 0 || count > 64) return key.size();
  size_t at = 4;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t type, len;
    if (!u32(at, &type) || !u32(at + 4, &len) || at + 8 + len > key.size()) return key.size();
    at += 8 + len;
  }
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t type, len;
    if (!u32(at, &type) || !u32(at + 4, &len) || at + 8 + len > key.size()) return key.size();
    if (i + 1 == count) {
      bool fixed = type == 3 || type == 4 || type == 8;  // int32, int64, unix_timestamp
      return fixed ? at + 8 : at + 4;
    }
    at += 8 + len;
  }
  return key.size();
}

// The key prefix a table adopts from its first multi-row write: the longest
// prefix shared by a sample of the batch's keys, capped at the v3 structure
// so that keys sharing leading payload bytes by chance do not make it too
// long for the rest. Empty when too short to be worth a flag.
std::string ChooseKeyPrefix(const OnlineWriteBatch& batch, size_t begin, size_t end) {
  const std::string& first = batch.rows[begin].entity_key;
  size_t lcp = StructuralPrefixLen(first);
  size_t sample_end = std::min(end, begin + 64);
  for (size_t i = begin + 1; i < sample_end && lcp > 0; ++i) {
    const std::string& k = batch.rows[i].entity_key;
    size_t j = 0;
    while (j < lcp && j < k.size() && k[j] == first[j]) ++j;
    lcp = j;
  }
  return lcp >= 8 ? first.substr(0, lcp) : std::string();
}

// Winners of rows [begin, end) of a batch against each other: per entity key
// the row that supersedes every other row of the same key there (ties: the
// first). keep[i - begin] is 1 for them.
std::vector<char> WinnersWithinRange(const OnlineWriteBatch& batch, size_t begin, size_t end,
                                     const std::vector<uint64_t>& hashes) {
  size_t n = end - begin;
  std::vector<char> keep(n, 1);
  size_t cap = 16;
  while (cap < 2 * n) cap *= 2;
  std::vector<int64_t> index(cap, -1);
  size_t mask = cap - 1;
  for (size_t i = 0; i < n; ++i) {
    const auto& r = batch.rows[begin + i];
    for (size_t s = hashes[i] & mask;; s = (s + 1) & mask) {
      if (index[s] < 0) {
        index[s] = static_cast<int64_t>(i);
        break;
      }
      size_t j = static_cast<size_t>(index[s]);
      const auto& o = batch.rows[begin + j];
      if (hashes[j] != hashes[i] || o.entity_key != r.entity_key) continue;
      if (Supersedes(r.event_ts_us, r.created_ts_us, o.event_ts_us, o.created_ts_us)) {
        keep[j] = 0;
        index[s] = static_cast<int64_t>(i);
      } else {
        keep[i] = 0;
      }
      break;
    }
  }
  return keep;
}

}  // namespace

EmbeddedOnlineStore::EmbeddedOnlineStore(std::string dir, EmbeddedOnlineOptions options, int lock_fd)
    : dir_(std::move(dir)), options_(options), lock_fd_(lock_fd) {}

EmbeddedOnlineStore::~EmbeddedOnlineStore() {
  tables_.clear();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

StatusOr<std::unique_ptr<OnlineStore>> EmbeddedOnlineStore::Open(const std::string& dir,
                                                                 EmbeddedOnlineOptions options) {
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<EmbeddedOnlineStore> s, OpenEmbedded(dir, options));
  return std::unique_ptr<OnlineStore>(std::move(s));
}

StatusOr<std::unique_ptr<EmbeddedOnlineStore>> EmbeddedOnlineStore::OpenEmbedded(const std::string& dir,
                                                                                 EmbeddedOnlineOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create online store directory " + dir + ": " + ec.message());
  std::string lock_path = dir + "/LOCK";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Unavailable("cannot open " + lock_path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) return FailedPrecondition("online store " + dir + " is in use by another process");
    return Unavailable("cannot lock " + lock_path + ": " + std::strerror(e));
  }
  if (options.record_bytes == 0) options.record_bytes = 1;
  std::unique_ptr<EmbeddedOnlineStore> store(new EmbeddedOnlineStore(dir, options, fd));
  KILN_RETURN_IF_ERROR(store->Load());
  return store;
}

Status EmbeddedOnlineStore::Load() {
  std::vector<std::pair<uint64_t, std::string>> logs;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
      // An unfinished create or compaction: the log it was to replace holds the data.
      std::filesystem::remove(entry.path(), ec);
      continue;
    }
    if (uint64_t seq = LogSeq(name)) logs.emplace_back(seq, name);
  }
  if (ec) return Unavailable("cannot list online store directory " + dir_ + ": " + ec.message());
  std::sort(logs.begin(), logs.end());
  for (const auto& [seq, name] : logs) {
    auto t = std::make_shared<Table>();
    RowTable& rows = t->rows;
    TableLog::ReplayHandler h;
    h.header = [&](std::string_view project, std::string_view view) {
      t->id.project = std::string(project);
      t->id.view = std::string(view);
      return Status::Ok();
    };
    h.key_prefix = [&](std::string_view prefix) {
      if (!rows.SetPrefix(std::string(prefix))) return Internal("a second key prefix");
      return Status::Ok();
    };
    h.layout = [&](uint64_t id, std::vector<std::string> names) {
      if (id != rows.layouts().size()) return Internal("layout " + std::to_string(id) + " out of order");
      if (!rows.layouts().Append(std::move(names))) return Internal("too many layouts");
      return Status::Ok();
    };
    auto slots = [&](uint32_t l) -> int64_t {
      const embedded::Layout* layout = rows.layouts().Get(l);
      return layout ? static_cast<int64_t>(layout->names.size()) : -1;
    };
    std::string scratch;
    h.rows = [&](const char* p, const char* end) {
      while (p < end) {
        const char* next = embedded::ValidateBlock(p, end, rows.prefix() != nullptr, slots);
        if (!next) return Internal("malformed row");
        RowRef r = DecodeBlock(p);
        std::string_view key = embedded::FullKey(p, rows.prefix(), scratch);
        uint64_t hash = HashKey(key);
        const char* stored = rows.FindForWriter(key, hash);
        bool wins = true;
        if (stored) {
          RowRef s = DecodeBlock(stored);
          wins = Supersedes(r.event_ts_us, r.created_ts_us, s.event_ts_us, s.created_ts_us);
        }
        if (wins) {
          RowTable::NewBlock b{hash, rows.MakeBlock(p, r.block_size)};
          rows.ApplyShard(RowTable::ShardOf(hash), &b, 1);
          t->NoteEvent(r.event_ts_us);
        }
        p = next;
      }
      return Status::Ok();
    };
    TableLog::ReplayInfo info;
    KILN_ASSIGN_OR_RETURN(t->log, TableLog::Open(dir_, name, h, &info));
    if (info.torn_bytes > 0) {
      log::Warn("online store: dropped a torn tail of " + std::to_string(info.torn_bytes) + " bytes from " +
                t->log->path() + " (an unacknowledged write interrupted by a crash)");
    }
    std::string key = TableKey(t->id);
    if (tables_.count(key)) {
      return Internal("online store " + dir_ + " holds two logs for " + Describe(t->id) + " (" + name + ")");
    }
    tables_.emplace(std::move(key), t);
    next_seq_ = std::max(next_seq_, seq + 1);
  }
  for (auto& [key, t] : tables_) {
    std::lock_guard lock(t->writer_mu);
    KILN_RETURN_IF_ERROR(MaybeCompactLocked(*t));
  }
  return Status::Ok();
}

std::shared_ptr<Table> EmbeddedOnlineStore::Find(const OnlineTable& table) {
  std::shared_lock lock(tables_mu_);
  auto it = tables_.find(TableKey(table));
  return it == tables_.end() ? nullptr : it->second;
}

StatusOr<std::shared_ptr<Table>> EmbeddedOnlineStore::GetOrCreate(const OnlineTable& table) {
  if (auto t = Find(table)) return t;
  // Creating a log costs two syncs; do it without blocking readers.
  std::lock_guard create(create_mu_);
  if (auto t = Find(table)) return t;
  auto t = std::make_shared<Table>();
  t->id = table;
  uint64_t seq = next_seq_++;
  KILN_ASSIGN_OR_RETURN(t->log, TableLog::Create(dir_, LogName(seq), table.project, table.view));
  std::unique_lock lock(tables_mu_);
  tables_.emplace(TableKey(table), t);
  return t;
}

StatusOr<OnlineWriteResult> EmbeddedOnlineStore::Write(const OnlineTable& table, const OnlineWriteBatch& batch) {
  KILN_RETURN_IF_ERROR(Validate(table, batch));
  OnlineWriteResult total;
  // Huge batches commit in slices, bounding the log buffer; each slice is
  // durable before the next is decided (so rows of one key in two slices
  // still obey the timestamp rules).
  for (size_t begin = 0; begin < batch.rows.size(); begin += kMaxRowsPerCommit) {
    WriteRequest req{&batch, begin, std::min(batch.rows.size(), begin + kMaxRowsPerCommit), Status::Ok(), {}};
    while (true) {
      KILN_ASSIGN_OR_RETURN(std::shared_ptr<Table> t, GetOrCreate(table));
      Table& tbl = *t;
      std::unique_lock q(tbl.queue_mu);
      tbl.queue.push_back(&req);
      while (!req.done) {
        if (tbl.committing) {
          tbl.queue_cv.wait(q);
          continue;
        }
        tbl.committing = true;
        std::vector<WriteRequest*> group;
        group.swap(tbl.queue);
        q.unlock();
        CommitGroup(tbl, group);
        q.lock();
        for (WriteRequest* r : group) r->done = true;
        tbl.committing = false;
        tbl.queue_cv.notify_all();
      }
      if (!req.retry) break;
      req.retry = req.done = false;
    }
    KILN_RETURN_IF_ERROR(req.status);
    total.written += req.result.written;
    total.skipped += req.result.skipped;
  }
  return total;
}

void EmbeddedOnlineStore::CommitGroup(Table& t, std::vector<WriteRequest*>& group) {
  std::lock_guard writer(t.writer_mu);
  if (t.dropped) {
    for (WriteRequest* r : group) r->retry = true;
    return;
  }
  Status s = CommitLocked(t, group);
  if (!s.ok()) {
    for (WriteRequest* r : group) {
      r->status = s;
      r->result = {};
    }
  }
}

// Decides, logs (one append, one fdatasync) and applies a group of requests
// exactly as if they ran one after another.
Status EmbeddedOnlineStore::CommitLocked(Table& t, std::vector<WriteRequest*>& group) {
  RowTable& rows = t.rows;

  // Key prefix: adopted from the group's first multi-row request when the
  // table has none; published, like new layouts, once the log is durable.
  std::string new_prefix;
  if (!rows.prefix()) {
    for (const WriteRequest* r : group) {
      if (r->end - r->begin >= 2) {
        new_prefix = ChooseKeyPrefix(*r->batch, r->begin, r->end);
        break;
      }
    }
  }
  const std::string* prefix = rows.prefix() ? rows.prefix() : new_prefix.empty() ? nullptr : &new_prefix;

  std::string buf;
  if (!new_prefix.empty()) TableLog::AddKeyPrefix(buf, new_prefix);
  std::vector<const std::vector<std::string>*> new_layouts;  // ids follow the published ones
  // Rows logged by earlier requests of this group, by key: later requests
  // compare against them instead of the (not yet updated) stored rows.
  std::unordered_map<std::string_view, std::pair<int64_t, int64_t>> overlay;
  const bool use_overlay = group.size() > 1;

  struct Pending {
    uint64_t hash;
    size_t offset;
    size_t size;
  };
  std::vector<Pending> pending;
  int64_t newest = INT64_MIN;  // of the rows logged
  RecordBuilder record(buf);
  for (WriteRequest* req : group) {
    const OnlineWriteBatch& batch = *req->batch;
    int64_t found = rows.layouts().Find(batch.features);
    if (found < 0) {
      for (size_t i = 0; i < new_layouts.size(); ++i) {
        if (*new_layouts[i] == batch.features) found = static_cast<int64_t>(rows.layouts().size() + i);
      }
    }
    if (found < 0) {
      found = static_cast<int64_t>(rows.layouts().size() + new_layouts.size());
      if (found >= embedded::Layouts::kMaxLayouts) {
        return ResourceExhausted(Describe(t.id) + " has too many distinct feature lists");
      }
      if (record.is_open()) record.End();
      TableLog::AddLayout(buf, static_cast<uint64_t>(found), batch.features);
      new_layouts.push_back(&batch.features);
    }
    const uint32_t layout = static_cast<uint32_t>(found);

    const size_t n = req->end - req->begin;
    std::vector<uint64_t> hashes(n);
    for (size_t i = 0; i < n; ++i) hashes[i] = HashKey(batch.rows[req->begin + i].entity_key);
    std::vector<char> keep = WinnersWithinRange(batch, req->begin, req->end, hashes);
    size_t bytes = 0;
    for (size_t i = 0; i < n; ++i) {
      if (i + 8 < n) rows.PrefetchForWriter(hashes[i + 8]);
      if (!keep[i]) continue;
      const auto& r = batch.rows[req->begin + i];
      bool wins = true;
      auto o = use_overlay ? overlay.find(r.entity_key) : overlay.end();
      if (o != overlay.end()) {
        wins = Supersedes(r.event_ts_us, r.created_ts_us, o->second.first, o->second.second);
      } else if (const char* stored = rows.FindForWriter(r.entity_key, hashes[i])) {
        RowRef sr = DecodeBlock(stored);
        wins = Supersedes(r.event_ts_us, r.created_ts_us, sr.event_ts_us, sr.created_ts_us);
      }
      if (!wins) {
        keep[i] = 0;
        continue;
      }
      bytes += BlockBodySize(r, layout, r.entity_key.size()) + 10;
    }
    buf.reserve(buf.size() + bytes + bytes / options_.record_bytes * RecordBuilder::kFrame + 64);
    size_t logged = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!keep[i]) continue;
      const auto& r = batch.rows[req->begin + i];
      if (!record.is_open()) record.Begin(RecordType::kRows);
      size_t offset = buf.size();
      EncodeBlock(buf, r, layout, prefix);
      pending.push_back({hashes[i], offset, buf.size() - offset});
      newest = std::max(newest, r.event_ts_us);
      if (use_overlay) overlay[r.entity_key] = {r.event_ts_us, r.created_ts_us};
      ++logged;
      if (record.open_bytes() >= options_.record_bytes) record.End();
    }
    req->result.written = logged;
    req->result.skipped = n - logged;
  }
  if (record.is_open()) record.End();
  if (buf.empty()) return Status::Ok();

  KILN_RETURN_IF_ERROR(t.log->Append(buf));
  for (const auto* names : new_layouts) rows.layouts().Append(*names);
  if (!new_prefix.empty()) rows.SetPrefix(std::move(new_prefix));

  // Durable: make the rows visible, one shard (one short exclusive lock) at a
  // time, keeping their order within a shard (a later row of a key replaces
  // an earlier one of the group).
  std::vector<uint32_t> start(RowTable::kShards + 1, 0);
  for (const Pending& p : pending) ++start[RowTable::ShardOf(p.hash) + 1];
  for (size_t sh = 0; sh < RowTable::kShards; ++sh) start[sh + 1] += start[sh];
  std::vector<uint32_t> order(pending.size());
  {
    std::vector<uint32_t> fill(start.begin(), start.end() - 1);
    for (uint32_t i = 0; i < pending.size(); ++i) order[fill[RowTable::ShardOf(pending[i].hash)]++] = i;
  }
  std::vector<RowTable::NewBlock> blocks;
  for (size_t sh = 0; sh < RowTable::kShards; ++sh) {
    if (start[sh] == start[sh + 1]) continue;
    blocks.clear();
    for (uint32_t k = start[sh]; k < start[sh + 1]; ++k) {
      const Pending& p = pending[order[k]];
      blocks.push_back({p.hash, rows.MakeBlock(buf.data() + p.offset, p.size)});
    }
    rows.ApplyShard(sh, blocks.data(), blocks.size());
  }
  t.NoteEvent(newest);
  Status compacted = MaybeCompactLocked(t);
  if (!compacted.ok()) {
    // The writes themselves are durable; the old log keeps serving until a later try.
    log::Warn("online store: compaction of " + Describe(t.id) + " failed: " + compacted.message());
  }
  return Status::Ok();
}

Status EmbeddedOnlineStore::Read(const OnlineTable& table, const std::vector<std::string>& entity_keys,
                                 const std::vector<std::string>& features, const ReadFn& fn) {
  std::shared_lock lock(tables_mu_);  // a drop waits for in-flight reads
  auto it = tables_.find(TableKey(table));
  if (it == tables_.end()) {
    for (size_t i = 0; i < entity_keys.size(); ++i) fn(i, nullptr);
    return Status::Ok();
  }
  const RowTable& rows = it->second->rows;

  // Per layout met: the slot of each requested feature (-1 absent) and the
  // last slot worth decoding. Nearly always one layout per table.
  struct SlotMap {
    uint32_t layout;
    std::vector<int> slots;
    int last;
  };
  std::vector<SlotMap> maps;
  auto slot_map = [&](uint32_t layout_id) -> const SlotMap& {
    for (const SlotMap& m : maps) {
      if (m.layout == layout_id) return m;
    }
    SlotMap m{layout_id, std::vector<int>(features.size(), -1), -1};
    if (const embedded::Layout* layout = rows.layouts().Get(layout_id)) {
      for (size_t j = 0; j < features.size(); ++j) {
        m.slots[j] = layout->SlotOf(features[j]);
        m.last = std::max(m.last, m.slots[j]);
      }
    }
    maps.push_back(std::move(m));
    return maps.back();
  };

  std::vector<std::string_view> values(features.size());
  std::vector<std::string_view> decoded;
  OnlineRowView view;
  view.values = &values;
  for (size_t i = 0; i < entity_keys.size(); ++i) {
    const std::string& key = entity_keys[i];
    rows.WithRow(key, HashKey(key), [&](const char* block) {
      if (!block) {
        fn(i, nullptr);
        return;
      }
      RowRef r = DecodeBlock(block);
      const SlotMap& m = slot_map(r.layout);
      decoded.resize(static_cast<size_t>(m.last + 1));
      const char* p = r.values;
      for (int s = 0; s <= m.last; ++s) {
        uint64_t len;
        p = embedded::GetVarintUnchecked(p, &len);
        decoded[s] = {p, static_cast<size_t>(len)};
        p += len;
      }
      for (size_t j = 0; j < features.size(); ++j) {
        values[j] = m.slots[j] >= 0 ? decoded[m.slots[j]] : std::string_view();
      }
      view.event_ts_us = r.event_ts_us;
      view.created_ts_us = r.created_ts_us;
      fn(i, &view);
    });
  }
  return Status::Ok();
}

Status EmbeddedOnlineStore::DropTable(const OnlineTable& table) {
  std::shared_ptr<Table> t = Find(table);
  if (!t) return Status::Ok();
  std::lock_guard writer(t->writer_mu);
  if (t->dropped) return Status::Ok();
  // File first: if removing it fails the table stays whole.
  KILN_RETURN_IF_ERROR(t->log->Remove());
  t->dropped = true;
  std::unique_lock lock(tables_mu_);
  tables_.erase(TableKey(table));
  return Status::Ok();
}

std::vector<OnlineStore::TableStats> EmbeddedOnlineStore::Stats() {
  std::shared_lock lock(tables_mu_);
  std::vector<TableStats> out;
  out.reserve(tables_.size());
  for (const auto& [key, t] : tables_) out.push_back({t->id, t->rows.rows()});
  std::sort(out.begin(), out.end(), [](const TableStats& a, const TableStats& b) {
    return std::tie(a.table.project, a.table.view) < std::tie(b.table.project, b.table.view);
  });
  return out;
}

StatusOr<std::optional<int64_t>> EmbeddedOnlineStore::NewestEventTs(const OnlineTable& table) {
  std::shared_ptr<Table> t = Find(table);
  if (!t || t->rows.rows() == 0) return std::optional<int64_t>();
  const int64_t us = t->newest_event_us.load(std::memory_order_acquire);
  if (us == INT64_MIN) return std::optional<int64_t>();
  return std::optional<int64_t>(us);
}

Status EmbeddedOnlineStore::Ping() {
  if (::access(dir_.c_str(), W_OK) != 0) {
    return Unavailable("online store directory " + dir_ + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Status EmbeddedOnlineStore::Compact(const OnlineTable& table) {
  std::shared_ptr<Table> t = Find(table);
  if (!t) return Status::Ok();
  std::lock_guard writer(t->writer_mu);
  if (t->dropped) return Status::Ok();
  return CompactLocked(*t);
}

Status EmbeddedOnlineStore::MaybeCompactLocked(Table& t) {
  uint64_t live = t.rows.block_bytes();
  uint64_t size = t.log->size();
  uint64_t dead = size > live ? size - live : 0;
  if (dead < options_.compact_min_dead_bytes || static_cast<double>(dead) <= options_.compact_dead_ratio * live) {
    return Status::Ok();
  }
  return CompactLocked(t);
}

Status EmbeddedOnlineStore::CompactLocked(Table& t) {
  const size_t record_bytes = options_.record_bytes;
  const RowTable& rows = t.rows;
  return t.log->Rewrite([&](const TableLog::Sink& sink) -> Status {
    std::string buf;
    TableLog::AddHeader(buf, t.id.project, t.id.view);
    if (const std::string* prefix = rows.prefix()) TableLog::AddKeyPrefix(buf, *prefix);
    for (uint32_t id = 0; id < rows.layouts().size(); ++id) {
      TableLog::AddLayout(buf, id, rows.layouts().Get(id)->names);
    }
    RecordBuilder record(buf);
    Status st;
    rows.ForEachForWriter([&](const char* block) {
      if (!st.ok()) return;
      if (!record.is_open()) record.Begin(RecordType::kRows);
      buf.append(block, DecodeBlock(block).block_size);
      if (record.open_bytes() >= record_bytes) {
        record.End();
        if (buf.size() >= (size_t{8} << 20)) {
          st = sink(buf);
          buf.clear();
        }
      }
    });
    if (record.is_open()) record.End();
    if (st.ok() && !buf.empty()) st = sink(buf);
    return st;
  });
}

EmbeddedOnlineStore::MemoryStats EmbeddedOnlineStore::Memory() {
  std::vector<std::shared_ptr<Table>> tables;
  {
    std::shared_lock lock(tables_mu_);
    for (const auto& [key, t] : tables_) tables.push_back(t);
  }
  MemoryStats m;
  for (const auto& t : tables) {
    m.rows += t->rows.rows();
    m.row_bytes += t->rows.block_bytes();
    m.slot_bytes += t->rows.slot_bytes();
    m.arena_bytes += t->rows.arena_bytes();
    std::lock_guard writer(t->writer_mu);
    if (!t->dropped) m.log_bytes += t->log->size();
  }
  return m;
}

}  // namespace kiln::storage
