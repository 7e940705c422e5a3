#include "features/historical.h"

#include <algorithm>
#include <map>
#include <set>

namespace kiln::features {
namespace {

// One view as the request names it (a feature service may join the same
// view twice under different aliases).
struct ViewRefs {
  std::string name_to_use;
  std::string view;
  std::vector<std::string> features;
  std::vector<std::pair<std::string, std::string>> join_key_map;
};

Status ParseRef(const std::string& ref, std::string* view, std::string* feature) {
  const size_t colon = ref.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == ref.size()) {
    return InvalidArgument("Invalid feature reference '" + ref +
                           "'. Expected format: '<feature_view>:<feature>'");
  }
  *view = ref.substr(0, colon);
  *feature = ref.substr(colon + 1);
  if (view->find('@') != std::string::npos) {
    return InvalidArgument("Invalid feature reference '" + ref +
                           "': versioned feature views (view@vN) are not supported by kiln");
  }
  return Status::Ok();
}

ViewRefs* Group(std::vector<ViewRefs>& groups, const std::string& name_to_use) {
  for (auto& g : groups) {
    if (g.name_to_use == name_to_use) return &g;
  }
  groups.push_back(ViewRefs{name_to_use, "", {}, {}});
  return &groups.back();
}

// Feast's FeatureNameCollisionError, raised before any data is read.
Status CheckCollisions(const std::vector<ViewRefs>& groups, bool full_feature_names) {
  std::map<std::string, int> counts;
  for (const auto& g : groups) {
    for (const auto& f : g.features) ++counts[full_feature_names ? g.name_to_use + "__" + f : f];
  }
  std::string names;
  for (const auto& [name, n] : counts) {
    if (n > 1) names += (names.empty() ? "" : ", ") + name;
  }
  if (names.empty()) return Status::Ok();
  return InvalidArgument(
      "Duplicate features named " + names + " found.\n" +
      (full_feature_names
           ? "To resolve this collision, please ensure that the feature views or their own features have different "
             "names. If you're intentionally joining the same feature view twice on different sets of entities, "
             "please rename one of the feature views with '.with_name'."
           : "To resolve this collision, either use the full feature name by setting 'full_feature_names=True', or "
             "ensure that the features in question have different names."));
}

}  // namespace

HistoricalService::HistoricalService(std::unique_ptr<FeatureCatalog> catalog, storage::OfflineEngine& engine)
    : catalog_(std::move(catalog)), engine_(engine) {}

StatusOr<storage::PitRequest> HistoricalService::Plan(const HistoricalRequest& request, std::string* project_out) {
  if (request.features.empty() && request.feature_service.empty()) {
    return InvalidArgument("No features specified for retrieval");
  }
  if (!request.features.empty() && !request.feature_service.empty()) {
    return InvalidArgument("give either features or feature_service, not both");
  }
  if (request.output_path.empty()) return InvalidArgument("an output path is required");
  if (request.output_format == storage::FileFormat::kJson) {
    return InvalidArgument("historical features are written as Parquet or CSV");
  }
  if (request.entities.timestamp_column.empty()) return InvalidArgument("the entity event timestamp column is empty");

  std::string first_object = request.feature_service;
  std::vector<std::pair<std::string, std::string>> parsed;  // (view, feature)
  for (const auto& ref : request.features) {
    std::string view, feature;
    KILN_RETURN_IF_ERROR(ParseRef(ref, &view, &feature));
    parsed.emplace_back(view, feature);
  }
  if (first_object.empty()) first_object = parsed[0].first;
  KILN_ASSIGN_OR_RETURN(std::string project, catalog_->ResolveProject(request.project, first_object));
  if (project_out) *project_out = project;

  std::map<std::string, ViewSchema> schemas;
  auto schema = [&](const std::string& view) -> StatusOr<const ViewSchema*> {
    auto it = schemas.find(view);
    if (it == schemas.end()) {
      KILN_ASSIGN_OR_RETURN(ViewSchema s, catalog_->GetViewSchema(project, view));
      it = schemas.emplace(view, std::move(s)).first;
    }
    return &it->second;
  };

  std::vector<ViewRefs> groups;
  if (!request.feature_service.empty()) {
    KILN_ASSIGN_OR_RETURN(std::vector<ViewProjection> projections,
                          catalog_->GetFeatureServiceProjections(project, request.feature_service));
    for (const auto& p : projections) {
      KILN_ASSIGN_OR_RETURN(const ViewSchema* s, schema(p.view));
      ViewRefs* g = Group(groups, p.alias.empty() ? p.view : p.alias);
      g->view = p.view;
      g->join_key_map = p.join_key_map;
      if (p.features.empty()) {
        for (const auto& f : s->features) g->features.push_back(f.name);
      } else {
        g->features.insert(g->features.end(), p.features.begin(), p.features.end());
      }
    }
  } else {
    for (const auto& [view, feature] : parsed) {
      ViewRefs* g = Group(groups, view);
      g->view = view;
      g->features.push_back(feature);
    }
  }
  KILN_RETURN_IF_ERROR(CheckCollisions(groups, request.full_feature_names));

  storage::PitRequest pit;
  pit.entities = request.entities;
  pit.output_path = request.output_path;
  pit.output_format = request.output_format;
  for (const auto& g : groups) {
    KILN_ASSIGN_OR_RETURN(const ViewSchema* s, schema(g.view));
    if (s->kind == ViewKind::kOnDemand) {
      return InvalidArgument("on-demand feature view " + g.view +
                             " needs its Python transformation run, which kiln does not do");
    }
    if (!s->batch_source) {
      return FailedPrecondition("feature view " + g.view + " cannot be read offline: " +
                                (s->batch_source_error.empty() ? "it has no batch source" : s->batch_source_error));
    }
    storage::PitView v;
    v.name = g.name_to_use;
    v.source = *s->batch_source;
    v.ttl_us = s->ttl_us;
    for (const auto& e : s->entities) {
      std::string request_column = e.join_key;
      for (const auto& [from, to] : g.join_key_map) {
        if (from == e.join_key) request_column = to;
      }
      v.source_join_keys.push_back(e.join_key);
      v.join_keys.push_back(request_column);
    }
    for (const auto& f : g.features) {
      const bool known = std::any_of(s->features.begin(), s->features.end(),
                                     [&](const FeatureColumn& c) { return c.name == f; });
      if (!known) return NotFound("Feature " + f + " not found in projection " + g.name_to_use);
      v.features.emplace_back(f, request.full_feature_names ? g.name_to_use + "__" + f : f);
    }
    pit.views.push_back(std::move(v));
  }
  return pit;
}

StatusOr<HistoricalResult> HistoricalService::Retrieve(const HistoricalRequest& request) {
  HistoricalResult result;
  KILN_ASSIGN_OR_RETURN(storage::PitRequest pit, Plan(request, &result.project));
  KILN_ASSIGN_OR_RETURN(storage::PitResult r, engine_.PointInTimeJoin(pit));
  result.rows = r.rows;
  result.columns = std::move(r.columns);
  result.output_path = request.output_path;
  return result;
}

}  // namespace kiln::features
