// ViewSchema: what serving, materialization and retrieval need to know about
// a feature view, read out of its registry proto once (by FeatureRegistry) so
// that no other code walks Feast's messages. Plain values; copyable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/offline_engine.h"

namespace kiln::features {

// feast.types.ValueType.Enum numbers (Feast's Value.proto).
enum class ValueType : int {
  kInvalid = 0,
  kBytes = 1,
  kString = 2,
  kInt32 = 3,
  kInt64 = 4,
  kDouble = 5,
  kFloat = 6,
  kBool = 7,
  kUnixTimestamp = 8,
  kBytesList = 11,
  kStringList = 12,
  kInt32List = 13,
  kInt64List = 14,
  kDoubleList = 15,
  kFloatList = 16,
  kBoolList = 17,
  kUnixTimestampList = 18,
  kNull = 19,
};

struct EntityColumn {
  std::string name;      // entity name
  std::string join_key;  // column name in requests and sources (after the projection's join key map)
  ValueType type = ValueType::kInvalid;
};

struct FeatureColumn {
  std::string name;
  ValueType type = ValueType::kInvalid;
};

enum class ViewKind { kBatch, kStream, kOnDemand };

struct ViewSchema {
  std::string project;
  std::string name;
  ViewKind kind = ViewKind::kBatch;
  std::vector<EntityColumn> entities;  // empty for an entityless view (Feast's __dummy key)
  std::vector<FeatureColumn> features;
  int64_t ttl_us = 0;  // 0: no ttl
  bool online = true;
  std::string batch_source_name;
  // Set when the batch source is a file kiln can read; otherwise
  // batch_source_error says why materialization/retrieval is refused.
  std::optional<storage::OfflineSource> batch_source;
  std::string batch_source_error;
  std::string push_source_name;  // non-empty when a push source feeds this view
  // Materialized windows recorded by ApplyMaterialization, [start_us, end_us).
  std::vector<std::pair<int64_t, int64_t>> materialization_intervals;
  int64_t created_us = 0;
  int64_t updated_us = 0;
};

// A feature service's projection of one view: which features, under which
// name (the projection's name_alias when set).
struct ViewProjection {
  std::string view;
  std::string alias;  // empty: the view's name
  std::vector<std::string> features;  // empty: every feature of the view
  std::vector<std::pair<std::string, std::string>> join_key_map;  // view join key -> request column
};

}  // namespace kiln::features
