// OnlineStore: the latest feature values per entity key per feature view, as
// Feast's online stores hold them. The feature service depends only on this
// interface; the embedded store (storage/embedded/) and a Redis store in
// Feast's own layout (storage/redis/) implement it, chosen by
// OpenOnlineStore (online_store_factory.h).
//
// Data model: a table is (project, feature view). A table holds one row per
// entity key; a row carries its event and created timestamps and one value
// per feature. Entity keys are Feast's entity key serialization v3 (join keys
// sorted by name); values are serialized feast.types.Value messages, opaque to
// the store (an empty string means "no value", read back as absent).
//
// Contract for every implementation:
// - Write never replaces a row with an older event timestamp, atomically
//   with respect to concurrent writers (other threads, other processes
//   sharing the store); at equal event timestamps the later created
//   timestamp wins; otherwise the incoming row replaces the stored row whole
//   (features not in the write are dropped). Exception, for compatibility
//   with Feast writing the same Redis: the Redis store keeps no created
//   timestamp (Feast's layout has none), so at an equal event timestamp it
//   keeps the stored row as Feast does, and it keeps stored features the
//   write does not name (see redis_online_store.h).
// - Write returns only once the rows are durable: after a crash or restart
//   every acknowledged row reads back (for Redis: as durable as the
//   server's persistence settings make an acknowledged command).
// - Tables need no creation: the first write creates one (a remote-registry
//   `feast apply` never tells the online store about new views).
// - Thread-safe: any number of readers and writers concurrently.
// - Reads of a store whose ReadsBlock() is false (the embedded store) never
//   block on disk or network and may run on an I/O thread. A store whose
//   ReadsBlock() is true (Redis: a network round trip per Read) must be read
//   on the bounded worker pool only; every caller that reads features
//   (api/feast's HTTP routes and gRPC ServingService, deploy's predict from
//   entities) already runs on the pool, and a caller that wants to answer
//   inline on an I/O thread must check ReadsBlock() first.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kiln::storage {

struct OnlineTable {
  std::string project;
  std::string view;
};

// One write batch: every row has a value slot per name in `features`.
struct OnlineWriteBatch {
  std::vector<std::string> features;
  struct Row {
    std::string entity_key;
    int64_t event_ts_us = 0;
    int64_t created_ts_us = 0;
    std::vector<std::string> values;  // parallel to `features`
  };
  std::vector<Row> rows;
};

struct OnlineWriteResult {
  uint64_t written = 0;  // rows stored (new or replacing an older row)
  uint64_t skipped = 0;  // rows not newer than the stored row
};

// A stored row as Read sees it. The string_views are valid only during the
// callback that receives them.
struct OnlineRowView {
  int64_t event_ts_us = 0;
  int64_t created_ts_us = 0;  // 0 from stores that keep none (Redis)
  // Parallel to the requested feature names; empty when the row holds no
  // value for that feature.
  const std::vector<std::string_view>* values = nullptr;
};

class OnlineStore {
 public:
  virtual ~OnlineStore() = default;

  virtual StatusOr<OnlineWriteResult> Write(const OnlineTable& table, const OnlineWriteBatch& batch) = 0;

  // Calls fn(i, row) for each entity_keys[i] in order; row is nullptr when the
  // table or the key is unknown. fn must be quick (it may run under a lock).
  using ReadFn = std::function<void(size_t index, const OnlineRowView* row)>;
  virtual Status Read(const OnlineTable& table, const std::vector<std::string>& entity_keys,
                      const std::vector<std::string>& features, const ReadFn& fn) = 0;

  // Drops a table and its rows (feature view deleted); OK when unknown.
  virtual Status DropTable(const OnlineTable& table) = 0;

  // Rows held per table, for metrics and the registry's infra listing.
  struct TableStats {
    OnlineTable table;
    uint64_t rows = 0;
  };
  virtual std::vector<TableStats> Stats() = 0;

  // The newest event timestamp among a table's rows (what freshness against a
  // view's ttl is measured from); nullopt when the table is unknown or holds
  // no row. Stores that cannot tell without scanning answer Unimplemented
  // (the default), so a caller says "unknown" instead of guessing.
  virtual StatusOr<std::optional<int64_t>> NewestEventTs(const OnlineTable& table) {
    (void)table;
    return Unimplemented("this online store does not track the newest event time per table");
  }

  virtual Status Ping() = 0;

  // True when Read waits on the network or disk (see the contract above).
  virtual bool ReadsBlock() const { return false; }
};

}  // namespace kiln::storage
