// FeatureRegistry: Feast's registry as a domain service. It stores Feast's
// registry objects (projects, entities, data sources, feature views of three
// kinds, feature services, saved datasets, validation references,
// permissions, infra) through a FeatureRegistryStore, stamps their
// creation/update times in their meta, records every change as an event, and
// answers the typed questions the rest of features/ asks (ViewSchema, feature
// services, push sources, materialization intervals).
//
// Messages are Feast's own protobuf types (generated from proto/feast/),
// because its registry *is* those messages; no other domain code parses them.
//
// Ownership: borrows the store, clock and event sink; they outlive it.
// Thread-safety: all methods are thread-safe (the store serializes writes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "features/view_schema.h"
#include "storage/feature_registry_store.h"

namespace kiln::features {

class FeatureRegistry {
 public:
  FeatureRegistry(storage::FeatureRegistryStore& store, const Clock& clock);

  // --- typed reads for serving, materialization and retrieval ---
  // project empty: resolved as described in ResolveProject.
  StatusOr<ViewSchema> GetViewSchema(const std::string& project, const std::string& view);
  StatusOr<std::vector<ViewSchema>> ListViewSchemas(const std::string& project);
  StatusOr<std::vector<ViewProjection>> GetFeatureServiceProjections(const std::string& project,
                                                                     const std::string& service);
  // The batch/stream views a push source feeds.
  StatusOr<std::vector<ViewSchema>> ViewsForPushSource(const std::string& project, const std::string& push_source);
  // Records a materialized window in the view's meta, as Feast's
  // ApplyMaterialization does (the SDK's incremental start reads it).
  Status RecordMaterialization(const std::string& project, const std::string& view, int64_t start_us,
                               int64_t end_us, const std::string& actor);
  // The feature server's requests carry no project: an explicit one wins;
  // else the only project whose registry holds an object named `object`
  // (view, feature service or push source; or the only project at all).
  // Ambiguity is InvalidArgument naming the candidates.
  StatusOr<std::string> ResolveProject(const std::string& explicit_project, const std::string& object);

  // The gRPC RegistryServer adapter's calls (apply/get/list/delete per kind,
  // Proto, Refresh, ...) are declared by the registry's own implementation
  // below this line as it is written.
 private:
  storage::FeatureRegistryStore& store_;
  const Clock& clock_;
};

}  // namespace kiln::features
