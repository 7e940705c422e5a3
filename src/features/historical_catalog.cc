#include "features/historical_catalog.h"

#include "features/feature_registry.h"

namespace kiln::features {
namespace {

class RegistryCatalog final : public FeatureCatalog {
 public:
  explicit RegistryCatalog(FeatureRegistry& registry) : registry_(registry) {}

  StatusOr<std::string> ResolveProject(const std::string& explicit_project, const std::string& object) override {
    return registry_.ResolveProject(explicit_project, object);
  }
  StatusOr<ViewSchema> GetViewSchema(const std::string& project, const std::string& view) override {
    return registry_.GetViewSchema(project, view);
  }
  StatusOr<std::vector<ViewSchema>> ListViewSchemas(const std::string& project) override {
    return registry_.ListViewSchemas(project);
  }
  StatusOr<std::vector<ViewProjection>> GetFeatureServiceProjections(const std::string& project,
                                                                     const std::string& service) override {
    return registry_.GetFeatureServiceProjections(project, service);
  }
  Status RecordMaterialization(const std::string& project, const std::string& view, int64_t start_us,
                               int64_t end_us, const std::string& actor) override {
    return registry_.RecordMaterialization(project, view, start_us, end_us, actor);
  }

 private:
  FeatureRegistry& registry_;
};

}  // namespace

std::unique_ptr<FeatureCatalog> NewRegistryCatalog(FeatureRegistry& registry) {
  return std::make_unique<RegistryCatalog>(registry);
}

}  // namespace kiln::features
