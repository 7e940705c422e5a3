// HistoricalService: Feast's get_historical_features (training sets) over
// the offline engine. It resolves feature references or a feature service
// against the registry the way Feast's SDK does (views in the order their
// first feature is named, features in the order named, collisions refused),
// turns each view into a storage::PitView (join key map, field mapping,
// ttl) and has the engine write the joined rows as Parquet or CSV.
//
// Output columns, as Feast's file offline store names them: the entity
// input's columns in their order, then per view its features as `feature`
// or, with full_feature_names, `view__feature` (the projection's alias when
// a feature service renames the view).
//
// Ownership: borrows the catalog/registry and engine. Thread-safety:
// thread-safe (stateless between calls).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "features/historical_catalog.h"
#include "storage/offline_engine.h"

namespace kiln::features {

class FeatureRegistry;

struct HistoricalRequest {
  std::string project;  // empty: resolved by the registry
  storage::EntityInput entities;
  std::vector<std::string> features;  // "view:feature"
  std::string feature_service;        // instead of features
  bool full_feature_names = false;
  std::string output_path;
  storage::FileFormat output_format = storage::FileFormat::kParquet;
};

struct HistoricalResult {
  std::string project;
  uint64_t rows = 0;
  std::vector<std::string> columns;
  std::string output_path;
};

class HistoricalService {
 public:
  HistoricalService(FeatureRegistry& registry, storage::OfflineEngine& engine);
  HistoricalService(std::unique_ptr<FeatureCatalog> catalog, storage::OfflineEngine& engine);

  StatusOr<HistoricalResult> Retrieve(const HistoricalRequest& request);

  // The engine request Retrieve runs (exposed for tests).
  StatusOr<storage::PitRequest> Plan(const HistoricalRequest& request, std::string* project);

 private:
  std::unique_ptr<FeatureCatalog> catalog_;
  storage::OfflineEngine& engine_;
};

}  // namespace kiln::features
