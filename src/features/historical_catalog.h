// FeatureCatalog: the registry questions materialization and point-in-time
// retrieval ask, as a small interface so both can be tested without the
// registry's protobuf store. RegistryCatalog answers them from the
// FeatureRegistry (historical_catalog.cc, kept in its own file so tests that
// use a fake do not link the registry).
//
// Ownership: RegistryCatalog borrows the registry. Thread-safety: as the
// registry (thread-safe).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "features/view_schema.h"

namespace kiln::features {

class FeatureRegistry;

class FeatureCatalog {
 public:
  virtual ~FeatureCatalog() = default;
  virtual StatusOr<std::string> ResolveProject(const std::string& explicit_project, const std::string& object) = 0;
  virtual StatusOr<ViewSchema> GetViewSchema(const std::string& project, const std::string& view) = 0;
  virtual StatusOr<std::vector<ViewSchema>> ListViewSchemas(const std::string& project) = 0;
  virtual StatusOr<std::vector<ViewProjection>> GetFeatureServiceProjections(const std::string& project,
                                                                             const std::string& service) = 0;
  virtual Status RecordMaterialization(const std::string& project, const std::string& view, int64_t start_us,
                                       int64_t end_us, const std::string& actor) = 0;
};

std::unique_ptr<FeatureCatalog> NewRegistryCatalog(FeatureRegistry& registry);

}  // namespace kiln::features
