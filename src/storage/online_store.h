// OnlineStore: the latest feature values per entity key per feature view, as
// Feast's online stores hold them. The feature service depends only on this
// interface; the embedded store (storage/embedded/) implements it today, a
// Redis store in Feast's own layout follows with the production backends.
//
// Data model: a table is (project, feature view). A table holds one row per
// entity key; a row carries its event and created timestamps and one value
// per feature. Entity keys are Feast's entity key serialization v3 (join keys
// sorted by name); values are serialized feast.types.Value messages, opaque to
// the store (an empty string means "no value", read back as absent).
//
// Contract for every implementation:
// - Write never replaces a row with an older event timestamp; at equal event
//   timestamps the later created timestamp wins; otherwise the incoming row
//   replaces the stored row whole (features not in the write are dropped).
// - Write returns only once the rows are durable: after a crash or restart
//   every acknowledged row reads back.
// - Tables need no creation: the first write creates one (a remote-registry
//   `feast apply` never tells the online store about new views).
// - Thread-safe: any number of readers and writers concurrently. Reads must
//   not block on disk I/O; Read may be called from an I/O thread.
#pragma once

#include <cstdint>
#include <functional>
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
  int64_t created_ts_us = 0;
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

  virtual Status Ping() = 0;
};

}  // namespace kiln::storage
