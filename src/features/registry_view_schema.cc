#include "features/registry_view_schema.h"

#include <algorithm>

#include "feast/core/DataSource.pb.h"
#include "feast/core/Entity.pb.h"
#include "feast/core/FeatureView.pb.h"
#include "feast/core/OnDemandFeatureView.pb.h"
#include "feast/core/StreamFeatureView.pb.h"

namespace kiln::features {

namespace {

// Feast's entityless views name this placeholder entity (feast.feature_view.DUMMY_ENTITY_NAME).
constexpr const char* kDummyEntity = "__dummy";

int64_t DurationUs(const google::protobuf::Duration& d) { return d.seconds() * 1000000 + d.nanos() / 1000; }

int64_t TimestampUs(const google::protobuf::Timestamp& t) { return t.seconds() * 1000000 + t.nanos() / 1000; }

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// FeatureViewSpec and StreamFeatureViewSpec share these field names.
template <class View>
StatusOr<ViewSchema> FromBatchLikeView(const View& view, ViewKind kind, const EntityLookup& lookup) {
  const auto& spec = view.spec();
  ViewSchema s;
  s.project = spec.project();
  s.name = spec.name();
  s.kind = kind;
  for (const std::string& entity_name : spec.entities()) {
    if (entity_name == kDummyEntity) continue;
    StatusOr<feast::core::Entity> entity = lookup(entity_name);
    if (!entity.ok()) {
      return FailedPrecondition("feature view " + spec.name() + " uses entity " + entity_name +
                                ", which does not exist in project " + spec.project());
    }
    EntityColumn col;
    col.name = entity_name;
    col.join_key = entity->spec().join_key().empty() ? entity_name : entity->spec().join_key();
    col.type = static_cast<ValueType>(entity->spec().value_type());
    // The view's entity_columns carry the join key's type as the view sees it
    // (inferred from the source when the entity left it unspecified).
    for (const auto& ec : spec.entity_columns()) {
      if (ec.name() == col.join_key && ec.value_type() != 0) col.type = static_cast<ValueType>(ec.value_type());
    }
    s.entities.push_back(std::move(col));
  }
  for (const auto& f : spec.features()) s.features.push_back({f.name(), static_cast<ValueType>(f.value_type())});
  s.ttl_us = spec.has_ttl() ? DurationUs(spec.ttl()) : 0;
  s.online = spec.online();
  if (spec.has_batch_source()) {
    s.batch_source_name = spec.batch_source().name();
    StatusOr<storage::OfflineSource> src = OfflineSourceOf(spec.batch_source());
    if (src.ok()) {
      s.batch_source = std::move(*src);
    } else {
      s.batch_source_error = src.status().message();
    }
  } else {
    s.batch_source_error = "feature view " + spec.name() + " has no batch source";
  }
  if (spec.has_stream_source() && spec.stream_source().type() == feast::core::DataSource::PUSH_SOURCE) {
    s.push_source_name = spec.stream_source().name();
  }
  for (const auto& iv : view.meta().materialization_intervals()) {
    s.materialization_intervals.emplace_back(TimestampUs(iv.start_time()), TimestampUs(iv.end_time()));
  }
  s.created_us = view.meta().has_created_timestamp() ? TimestampUs(view.meta().created_timestamp()) : 0;
  s.updated_us = view.meta().has_last_updated_timestamp() ? TimestampUs(view.meta().last_updated_timestamp()) : 0;
  return s;
}

}  // namespace

StatusOr<storage::OfflineSource> OfflineSourceOf(const feast::core::DataSource& source) {
  const std::string& name = source.name();
  if (source.type() != feast::core::DataSource::BATCH_FILE || !source.has_file_options()) {
    return Unimplemented("data source " + name + " is not a FileSource; kiln reads only Feast FileSources");
  }
  const auto& file = source.file_options();
  if (file.file_format().format_case() == feast::core::FileFormat::kDeltaFormat) {
    return Unimplemented("data source " + name + " is a Delta table; kiln reads Parquet and CSV files");
  }
  std::string path = file.uri();
  if (path.rfind("file://", 0) == 0) path = path.substr(7);
  if (path.find("://") != std::string::npos) {
    return Unimplemented("data source " + name + " points at " + file.uri() +
                         "; kiln reads local files only");
  }
  if (path.empty()) return InvalidArgument("data source " + name + " has no path");
  if (path.front() != '/') {
    return InvalidArgument("data source " + name + " has the relative path " + path +
                           "; the kiln server cannot resolve it against the client's repo, use an absolute path");
  }
  storage::OfflineSource out;
  out.path = path;
  std::string lower = path;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  out.format = (!file.file_format().has_parquet_format() && EndsWith(lower, ".csv")) ? storage::FileFormat::kCsv
                                                                                     : storage::FileFormat::kParquet;
  out.timestamp_field = source.timestamp_field();
  out.created_timestamp_column = source.created_timestamp_column();
  for (const auto& [from, to] : source.field_mapping()) out.field_mapping[from] = to;
  return out;
}

StatusOr<ViewSchema> SchemaFromFeatureView(const feast::core::FeatureView& view, const EntityLookup& entities) {
  return FromBatchLikeView(view, ViewKind::kBatch, entities);
}

StatusOr<ViewSchema> SchemaFromStreamFeatureView(const feast::core::StreamFeatureView& view,
                                                 const EntityLookup& entities) {
  return FromBatchLikeView(view, ViewKind::kStream, entities);
}

ViewSchema SchemaFromOnDemandView(const feast::core::OnDemandFeatureView& view) {
  ViewSchema s;
  s.project = view.spec().project();
  s.name = view.spec().name();
  s.kind = ViewKind::kOnDemand;
  for (const auto& f : view.spec().features()) s.features.push_back({f.name(), static_cast<ValueType>(f.value_type())});
  s.online = true;
  s.batch_source_error = "on-demand feature view " + s.name + " runs a Python UDF, which kiln does not execute";
  if (view.meta().has_created_timestamp()) s.created_us = TimestampUs(view.meta().created_timestamp());
  if (view.meta().has_last_updated_timestamp()) s.updated_us = TimestampUs(view.meta().last_updated_timestamp());
  return s;
}

}  // namespace kiln::features
