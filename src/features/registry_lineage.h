// Lineage between a project's registry objects, as Feast 0.67's
// RegistryLineageGenerator derives it (feast/lineage/registry_lineage.py):
// direct edges (entity/feature/data source -> view, view -> feature service,
// ...) and indirect ones (entity/data source -> feature service, entity ->
// data source). Object types are Feast's strings: dataSource, entity,
// featureView, labelView, featureService, feature, savedDataset.
// Sources without a name (Feast names those by a Python hash) are left out.
// Pure over the registry's reads; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace kiln::features {

class FeatureRegistry;

struct LineageRef {
  std::string type;
  std::string name;
};
struct LineageRelation {
  LineageRef source;
  LineageRef target;
};
struct Lineage {
  std::vector<LineageRelation> direct;
  std::vector<LineageRelation> indirect;
};

// filter_type and filter_name both set: only relations touching that object.
StatusOr<Lineage> RegistryLineage(FeatureRegistry& registry, const std::string& project,
                                  const std::string& filter_type, const std::string& filter_name);
// InvalidArgument for an object type Feast does not know.
StatusOr<std::vector<LineageRelation>> ObjectRelationships(FeatureRegistry& registry, const std::string& project,
                                                           const std::string& object_type,
                                                           const std::string& object_name, bool include_indirect);

}  // namespace kiln::features
