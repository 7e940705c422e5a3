#include "features/registry_lineage.h"

#include <algorithm>
#include <map>
#include <set>

#include "feast/core/FeatureService.pb.h"
#include "feast/core/FeatureView.pb.h"
#include "feast/core/LabelView.pb.h"
#include "feast/core/OnDemandFeatureView.pb.h"
#include "feast/core/StreamFeatureView.pb.h"
#include "features/feature_registry.h"

namespace kiln::features {

namespace {

constexpr const char* kDataSource = "dataSource";
constexpr const char* kEntity = "entity";
constexpr const char* kFeatureView = "featureView";
constexpr const char* kLabelView = "labelView";
constexpr const char* kFeatureService = "featureService";
constexpr const char* kFeature = "feature";
constexpr const char* kSavedDataset = "savedDataset";

template <class M>
StatusOr<std::vector<M>> ListAs(FeatureRegistry& reg, ObjectKind kind, const std::string& project) {
  StatusOr<std::vector<RegistryObject>> objs = reg.List(kind, project, {});
  if (!objs.ok()) return objs.status();
  std::vector<M> out;
  for (const RegistryObject& o : *objs) out.push_back(static_cast<const M&>(*o.message));
  return out;
}

void Add(std::vector<LineageRelation>& out, const char* st, const std::string& sn, const char* tt,
         const std::string& tn) {
  out.push_back({{st, sn}, {tt, tn}});
}

bool Touches(const LineageRelation& r, const std::string& type, const std::string& name) {
  return (r.source.type == type && r.source.name == name) || (r.target.type == type && r.target.name == name);
}

bool IsViewType(const std::string& t) { return t == kFeatureView || t == kLabelView; }

}  // namespace

StatusOr<Lineage> RegistryLineage(FeatureRegistry& reg, const std::string& project, const std::string& filter_type,
                                  const std::string& filter_name) {
  auto fvs = ListAs<feast::core::FeatureView>(reg, ObjectKind::kFeatureView, project);
  auto sfvs = ListAs<feast::core::StreamFeatureView>(reg, ObjectKind::kStreamFeatureView, project);
  auto odfvs = ListAs<feast::core::OnDemandFeatureView>(reg, ObjectKind::kOnDemandFeatureView, project);
  auto lvs = ListAs<feast::core::LabelView>(reg, ObjectKind::kLabelView, project);
  auto fss = ListAs<feast::core::FeatureService>(reg, ObjectKind::kFeatureService, project);
  for (const Status& s : {fvs.status(), sfvs.status(), odfvs.status(), lvs.status(), fss.status()}) {
    if (!s.ok()) return s;
  }
  Lineage l;
  std::vector<LineageRelation>& d = l.direct;
  std::set<std::string> label_names;
  for (const auto& lv : *lvs) label_names.insert(lv.spec().name());
  for (const auto& fs : *fss) {
    for (const auto& p : fs.spec().features()) {
      const bool label = p.view_type() == kLabelView || label_names.count(p.feature_view_name()) > 0;
      Add(d, label ? kLabelView : kFeatureView, p.feature_view_name(), kFeatureService, fs.spec().name());
    }
  }
  for (const auto& fv : *fvs) {
    for (const auto& e : fv.spec().entities()) Add(d, kEntity, e, kFeatureView, fv.spec().name());
    for (const auto& f : fv.spec().features()) Add(d, kFeature, f.name(), kFeatureView, fv.spec().name());
    if (!fv.spec().batch_source().name().empty()) {
      Add(d, kDataSource, fv.spec().batch_source().name(), kFeatureView, fv.spec().name());
    }
  }
  for (const auto& odfv : *odfvs) {
    for (const auto& e : odfv.spec().entities()) Add(d, kEntity, e, kFeatureView, odfv.spec().name());
    for (const auto& f : odfv.spec().features()) Add(d, kFeature, f.name(), kFeatureView, odfv.spec().name());
  }
  for (const auto& odfv : *odfvs) {
    std::map<std::string, feast::core::OnDemandSource> sources(odfv.spec().sources().begin(),
                                                               odfv.spec().sources().end());
    for (const auto& [_, src] : sources) {
      if (src.has_request_data_source() && !src.request_data_source().name().empty()) {
        Add(d, kDataSource, src.request_data_source().name(), kFeatureView, odfv.spec().name());
      } else if (src.has_feature_view_projection() && !src.feature_view_projection().feature_view_name().empty()) {
        Add(d, kFeatureView, src.feature_view_projection().feature_view_name(), kFeatureView, odfv.spec().name());
      }
    }
  }
  for (const auto& sfv : *sfvs) {
    if (!sfv.spec().stream_source().name().empty()) {
      Add(d, kDataSource, sfv.spec().stream_source().name(), kFeatureView, sfv.spec().name());
    }
    if (!sfv.spec().batch_source().name().empty()) {
      Add(d, kDataSource, sfv.spec().batch_source().name(), kFeatureView, sfv.spec().name());
    }
  }
  for (const auto& lv : *lvs) {
    for (const auto& e : lv.spec().entities()) Add(d, kEntity, e, kLabelView, lv.spec().name());
    if (lv.spec().has_source()) {
      const auto& src = lv.spec().source();
      if (!src.name().empty()) Add(d, kDataSource, src.name(), kLabelView, lv.spec().name());
      if (src.has_batch_source() && !src.batch_source().name().empty()) {
        Add(d, kDataSource, src.batch_source().name(), kLabelView, lv.spec().name());
      }
    }
  }
  // Feast builds the lineage registry without saved datasets, so it has no
  // savedDataset edges either.
  (void)kSavedDataset;

  for (const auto& fs : *fss) {
    for (const auto& p : fs.spec().features()) {
      for (const auto& r : d) {
        if (r.target.name == p.feature_view_name() && IsViewType(r.target.type)) {
          l.indirect.push_back({r.source, {kFeatureService, fs.spec().name()}});
        }
      }
    }
  }
  std::map<std::string, std::vector<std::string>> view_sources;
  for (const auto& r : d) {
    if (r.source.type == kDataSource && IsViewType(r.target.type)) view_sources[r.target.name].push_back(r.source.name);
  }
  for (const auto& r : d) {
    if (r.source.type != kEntity || !IsViewType(r.target.type)) continue;
    auto it = view_sources.find(r.target.name);
    if (it == view_sources.end()) continue;
    for (const auto& ds : it->second) l.indirect.push_back({r.source, {kDataSource, ds}});
  }
  if (!filter_type.empty() && !filter_name.empty()) {
    auto drop = [&](const LineageRelation& r) { return !Touches(r, filter_type, filter_name); };
    std::erase_if(l.direct, drop);
    std::erase_if(l.indirect, drop);
  }
  return l;
}

StatusOr<std::vector<LineageRelation>> ObjectRelationships(FeatureRegistry& reg, const std::string& project,
                                                           const std::string& object_type,
                                                           const std::string& object_name, bool include_indirect) {
  static const std::set<std::string> kTypes = {kDataSource, kEntity,  kFeatureView, kLabelView,
                                               kFeatureService, kFeature, kSavedDataset};
  if (kTypes.count(object_type) == 0) {
    return InvalidArgument("'" + object_type + "' is not a valid FeastObjectType");
  }
  StatusOr<Lineage> l = RegistryLineage(reg, project, "", "");
  if (!l.ok()) return l.status();
  std::vector<LineageRelation> all = l->direct;
  if (include_indirect) all.insert(all.end(), l->indirect.begin(), l->indirect.end());
  std::vector<LineageRelation> out;
  for (auto& r : all) {
    if (Touches(r, object_type, object_name)) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace kiln::features
