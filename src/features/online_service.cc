#include "features/online_service.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace kiln::features {

namespace {

// Feast's entityless views key every row by this placeholder
// (feast.feature_view.DUMMY_ENTITY_ID / DUMMY_ENTITY_VAL).
constexpr const char* kDummyJoinKey = "__dummy_id";

struct PlannedView {
  ViewSchema schema;
  std::string output_name;  // projection alias or the view's name
  std::vector<std::string> features;
  // Per schema entity: the request column carrying it (after join_key_map).
  std::vector<std::string> request_columns;
};

struct Plan {
  std::string project;
  std::vector<PlannedView> views;
};

Status CheckServable(const ViewSchema& s) {
  if (s.kind == ViewKind::kOnDemand) {
    return Unimplemented("on-demand feature view '" + s.name +
                         "' computes its features with a Python UDF, which kiln does not run; request the "
                         "feature views it reads instead");
  }
  return Status::Ok();
}

// "view:feature" -> (view, feature), as Feast's _parse_feature_ref.
Status ParseRef(const std::string& ref, std::string* view, std::string* feature) {
  const size_t colon = ref.find(':');
  if (colon == std::string::npos) {
    return InvalidArgument("Invalid feature reference '" + ref +
                           "'. Expected format: '<feature_view>:<feature>' or '<feature_view>@<version>:<feature>'");
  }
  *view = ref.substr(0, colon);
  *feature = ref.substr(colon + 1);
  const size_t at = view->find('@');
  if (at != std::string::npos) {
    const std::string version = view->substr(at + 1);
    if (version.empty() || version == "latest" || version == "LATEST" || version == "Latest") {
      view->resize(at);
    } else if ((version[0] == 'v' || version[0] == 'V') && version.size() > 1 &&
               std::all_of(version.begin() + 1, version.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return InvalidArgument("Version-qualified ref '" + ref +
                             "' not supported: kiln serves the latest version of each feature view");
    }
  }
  if (view->empty() || feature->empty()) return InvalidArgument("Invalid feature reference '" + ref + "'");
  return Status::Ok();
}

bool HasFeature(const ViewSchema& s, const std::string& f) {
  for (const auto& c : s.features) {
    if (c.name == f) return true;
  }
  return false;
}

Status NoSuchFeature(const std::string& feature, const std::string& view) {
  return NotFound("Feature " + feature + " not found in feature view " + view);
}

int64_t NowUs(const Clock& clock) { return clock.NowMillis() * 1000; }

}  // namespace

std::string_view FieldStatusName(FieldStatus s) {
  switch (s) {
    case FieldStatus::kPresent: return "PRESENT";
    case FieldStatus::kNullValue: return "NULL_VALUE";
    case FieldStatus::kNotFound: return "NOT_FOUND";
    case FieldStatus::kOutsideMaxAge: return "OUTSIDE_MAX_AGE";
    default: return "INVALID";
  }
}

OnlineService::OnlineService(FeatureRegistry& registry, storage::OnlineStore& store, const Clock& clock,
                             OnlineLimits limits)
    : registry_(registry), store_(store), clock_(clock), limits_(std::move(limits)) {}

const std::string& OnlineService::ProjectOr(const std::string& requested) const {
  return requested.empty() ? limits_.default_project : requested;
}

StatusOr<OnlineResult> OnlineService::GetOnlineFeatures(const OnlineRequest& request) {
  if (request.memory_only && store_.ReadsBlock()) return WouldBlock();
  const RegistryRead cached = request.memory_only ? RegistryRead::kCachedOnly : RegistryRead::kLoad;
  // --- shape of the entity columns ---
  size_t rows = 0;
  if (!request.entities.empty()) rows = request.entities.front().second.size();
  for (const auto& [name, values] : request.entities) {
    if (values.size() != rows) {
      return InvalidArgument("All entity rows must have the same columns: '" + request.entities.front().first +
                             "' has " + std::to_string(rows) + " values, '" + name + "' has " +
                             std::to_string(values.size()));
    }
  }
  if (rows > limits_.max_entity_rows) {
    return InvalidArgument("the request asks for " + std::to_string(rows) + " entity rows; kiln serves at most " +
                           std::to_string(limits_.max_entity_rows) + " per request (split it)");
  }
  std::unordered_map<std::string, size_t> column_index;
  for (size_t i = 0; i < request.entities.size(); ++i) {
    if (!column_index.emplace(request.entities[i].first, i).second) {
      return InvalidArgument("entity column '" + request.entities[i].first + "' appears twice");
    }
  }

  // --- which views and features ---
  Plan plan;
  if (!request.feature_service.empty()) {
    KILN_ASSIGN_OR_RETURN(plan.project,
                          registry_.ResolveProject(ProjectOr(request.project), request.feature_service, cached));
    KILN_ASSIGN_OR_RETURN(auto projections,
                          registry_.GetFeatureServiceProjections(plan.project, request.feature_service, cached));
    for (auto& p : projections) {
      PlannedView pv;
      KILN_ASSIGN_OR_RETURN(pv.schema, registry_.GetViewSchema(plan.project, p.view, cached));
      KILN_RETURN_IF_ERROR(CheckServable(pv.schema));
      pv.output_name = p.alias.empty() ? p.view : p.alias;
      if (p.features.empty()) {
        for (const auto& f : pv.schema.features) pv.features.push_back(f.name);
      } else {
        for (const auto& f : p.features) {
          if (!HasFeature(pv.schema, f)) return NoSuchFeature(f, p.view);
          pv.features.push_back(f);
        }
      }
      for (const auto& e : pv.schema.entities) {
        std::string col = e.join_key;
        for (const auto& [from, to] : p.join_key_map) {
          if (from == e.join_key) col = to;
        }
        pv.request_columns.push_back(std::move(col));
      }
      plan.views.push_back(std::move(pv));
    }
  } else {
    if (request.features.empty()) return InvalidArgument("No features specified for retrieval");
    std::vector<std::pair<std::string, std::string>> refs;
    refs.reserve(request.features.size());
    for (const auto& ref : request.features) {
      std::string view, feature;
      KILN_RETURN_IF_ERROR(ParseRef(ref, &view, &feature));
      refs.emplace_back(std::move(view), std::move(feature));
    }
    KILN_ASSIGN_OR_RETURN(plan.project,
                          registry_.ResolveProject(ProjectOr(request.project), refs.front().first, cached));
    std::unordered_map<std::string, size_t> view_index;
    for (auto& [view, feature] : refs) {
      auto it = view_index.find(view);
      if (it == view_index.end()) {
        PlannedView pv;
        KILN_ASSIGN_OR_RETURN(pv.schema, registry_.GetViewSchema(plan.project, view, cached));
        KILN_RETURN_IF_ERROR(CheckServable(pv.schema));
        pv.output_name = view;
        for (const auto& e : pv.schema.entities) pv.request_columns.push_back(e.join_key);
        it = view_index.emplace(view, plan.views.size()).first;
        plan.views.push_back(std::move(pv));
      }
      PlannedView& pv = plan.views[it->second];
      if (!HasFeature(pv.schema, feature)) return NoSuchFeature(feature, view);
      pv.features.push_back(feature);
    }
  }

  // --- output names: Feast refuses collisions (FeatureNameCollisionError) ---
  std::vector<std::string> names;
  {
    std::unordered_set<std::string> seen;
    std::vector<std::string> collided;
    for (const auto& pv : plan.views) {
      for (const auto& f : pv.features) {
        std::string name = request.full_feature_names ? pv.output_name + "__" + f : f;
        if (!seen.insert(name).second) collided.push_back(pv.output_name + ":" + f);
        names.push_back(std::move(name));
      }
    }
    if (!collided.empty()) {
      std::string list;
      for (const auto& c : collided) list += (list.empty() ? "" : ", ") + c;
      return InvalidArgument("Duplicate features named " + list +
                             (request.full_feature_names
                                  ? " (each feature may be requested once)"
                                  : "; set full_feature_names=True or request each feature name once"));
    }
  }

  // --- entity keys per view, converted by the declared join-key types ---
  OnlineResult result;
  result.rows = rows;
  struct ConvertedColumn {
    ValueType type = ValueType::kInvalid;
    std::vector<EntityKeyValue> values;
  };
  std::vector<ConvertedColumn> converted(request.entities.size());
  auto convert = [&](size_t col, const std::string& join_key, ValueType type) -> Status {
    ConvertedColumn& c = converted[col];
    if (c.type == type) return Status::Ok();
    if (c.type != ValueType::kInvalid) {
      return InvalidArgument("entity column '" + request.entities[col].first + "' is used as " +
                             std::string(ValueTypeName(c.type)) + " and as " + std::string(ValueTypeName(type)) +
                             " by the requested views");
    }
    c.type = type;
    c.values.reserve(rows);
    for (const auto& v : request.entities[col].second) {
      if (v.kind == RequestValue::Kind::kNull) {
        return InvalidArgument("entity column '" + request.entities[col].first + "' holds a null");
      }
      auto k = ToEntityKeyValue(v, join_key, type);
      if (!k.ok()) return k.status();
      c.values.push_back(std::move(*k));
    }
    return Status::Ok();
  };
  std::vector<std::vector<std::string>> view_keys(plan.views.size());
  for (size_t vi = 0; vi < plan.views.size(); ++vi) {
    const PlannedView& pv = plan.views[vi];
    std::vector<size_t> cols;
    for (size_t e = 0; e < pv.schema.entities.size(); ++e) {
      const std::string& col = pv.request_columns[e];
      auto it = column_index.find(col);
      if (it == column_index.end()) {
        return InvalidArgument("feature view " + pv.schema.name + " needs entity column '" + col +
                               "', which the request's entities do not carry");
      }
      KILN_RETURN_IF_ERROR(convert(it->second, col, pv.schema.entities[e].type));
      cols.push_back(it->second);
    }
    std::vector<std::string>& keys = view_keys[vi];
    keys.reserve(rows);
    std::vector<EntityKeyValue> parts(cols.size());
    for (size_t r = 0; r < rows; ++r) {
      if (cols.empty()) {
        EntityKeyValue dummy;
        dummy.join_key = kDummyJoinKey;
        dummy.type = ValueType::kString;
        parts.assign(1, dummy);
      } else {
        for (size_t e = 0; e < cols.size(); ++e) {
          parts[e] = converted[cols[e]].values[r];
          parts[e].join_key = pv.schema.entities[e].join_key;  // the view's own name, not the request alias
        }
      }
      KILN_ASSIGN_OR_RETURN(std::string key, SerializeEntityKey(parts));
      keys.push_back(std::move(key));
    }
  }

  // --- the join-key columns first (Feast: PRESENT, no timestamp) ---
  for (size_t col = 0; col < request.entities.size(); ++col) {
    if (converted[col].type == ValueType::kInvalid) continue;  // not a join key of any requested view
    OnlineColumn c;
    c.name = request.entities[col].first;
    c.statuses.assign(rows, FieldStatus::kPresent);
    c.event_ts_us.assign(rows, 0);
    c.values.reserve(rows);
    for (const auto& v : converted[col].values) {
      const size_t off = result.arena.size();
      AppendEntityValueBytes(v, &result.arena);
      c.values.emplace_back(static_cast<uint32_t>(off), static_cast<uint32_t>(result.arena.size() - off));
    }
    result.columns.push_back(std::move(c));
  }

  // --- one store read per view ---
  size_t cells = 0;
  for (const auto& pv : plan.views) cells += pv.features.size() * rows;
  result.arena.reserve(result.arena.size() + cells * 10);  // a scalar Value is 2-10 bytes
  const int64_t now_us = NowUs(clock_);
  size_t name_index = 0;
  for (size_t vi = 0; vi < plan.views.size(); ++vi) {
    const PlannedView& pv = plan.views[vi];
    const size_t first = result.columns.size();
    for (size_t f = 0; f < pv.features.size(); ++f) {
      OnlineColumn c;
      c.name = names[name_index++];
      c.statuses.assign(rows, FieldStatus::kNotFound);
      c.event_ts_us.assign(rows, 0);
      c.values.assign(rows, {0, 0});
      result.columns.push_back(std::move(c));
    }
    const int64_t ttl = pv.schema.ttl_us;
    Status read = store_.Read(
        storage::OnlineTable{plan.project, pv.schema.name}, view_keys[vi], pv.features,
        [&](size_t r, const storage::OnlineRowView* row) {
          if (row == nullptr) return;
          const bool stale = ttl > 0 && row->event_ts_us < now_us - ttl;
          for (size_t f = 0; f < pv.features.size(); ++f) {
            OnlineColumn& c = result.columns[first + f];
            c.event_ts_us[r] = row->event_ts_us;
            const std::string_view v = (*row->values)[f];
            if (ValueBytesIsNull(v)) {
              c.statuses[r] = FieldStatus::kNullValue;
              continue;
            }
            c.statuses[r] = stale ? FieldStatus::kOutsideMaxAge : FieldStatus::kPresent;
            c.values[r] = {static_cast<uint32_t>(result.arena.size()), static_cast<uint32_t>(v.size())};
            result.arena.append(v);
          }
        });
    KILN_RETURN_IF_ERROR(read);
  }
  return result;
}

StatusOr<WriteOutcome> OnlineService::WriteToOnlineStore(const std::string& project, const std::string& view,
                                                         const nlohmann::json& df) {
  KILN_ASSIGN_OR_RETURN(std::string resolved, registry_.ResolveProject(ProjectOr(project), view));
  KILN_ASSIGN_OR_RETURN(ViewSchema schema, registry_.GetViewSchema(resolved, view));
  if (schema.kind == ViewKind::kOnDemand) {
    return Unimplemented("on-demand feature view '" + view +
                         "': kiln does not run its Python UDF, so it cannot write its features");
  }
  return WriteViews(resolved, {std::move(schema)}, df);
}

StatusOr<WriteOutcome> OnlineService::Push(const std::string& project, const std::string& push_source,
                                           const nlohmann::json& df, PushTarget to) {
  KILN_ASSIGN_OR_RETURN(std::string resolved, registry_.ResolveProject(ProjectOr(project), push_source));
  KILN_ASSIGN_OR_RETURN(std::vector<ViewSchema> views, registry_.ViewsForPushSource(resolved, push_source));
  if (to != PushTarget::kOnline) {
    // Feast's file offline store rewrites the source Parquet; kiln's offline
    // engine only reads sources, so it refuses rather than drop the rows.
    return Unimplemented("push to '" + std::string(to == PushTarget::kOffline ? "offline" : "online_and_offline") +
                         "' is not supported by kiln: it does not append to offline sources; push with "
                         "\"to\": \"online\" and write the offline rows to the source files yourself");
  }
  return WriteViews(resolved, views, df);
}

StatusOr<WriteOutcome> OnlineService::WriteViews(const std::string& project, const std::vector<ViewSchema>& views,
                                                 const nlohmann::json& df) {
  if (!df.is_object()) return InvalidArgument("df must be a JSON object of columns (column name -> list of values)");
  size_t rows = 0;
  bool first = true;
  std::string first_name;
  for (auto it = df.begin(); it != df.end(); ++it) {
    if (!it.value().is_array()) return InvalidArgument("df column '" + it.key() + "' must be a list of values");
    if (first) {
      rows = it.value().size();
      first_name = it.key();
      first = false;
    } else if (it.value().size() != rows) {
      return InvalidArgument("df columns must have the same length: '" + first_name + "' has " +
                             std::to_string(rows) + " values, '" + it.key() + "' has " +
                             std::to_string(it.value().size()));
    }
  }
  if (rows > limits_.max_write_rows) {
    return InvalidArgument("the request carries " + std::to_string(rows) + " rows; kiln writes at most " +
                           std::to_string(limits_.max_write_rows) + " per request (split it)");
  }
  auto column = [&](const std::string& name) -> const nlohmann::json* {
    auto it = df.find(name);
    return it == df.end() ? nullptr : &*it;
  };

  // Validate every view before writing any, so a bad request stores nothing.
  std::vector<storage::OnlineWriteBatch> batches(views.size());
  const int64_t now_us = NowUs(clock_);
  for (size_t vi = 0; vi < views.size(); ++vi) {
    const ViewSchema& s = views[vi];
    std::vector<const nlohmann::json*> key_cols;
    for (const auto& e : s.entities) {
      const nlohmann::json* c = column(e.join_key);
      if (!c) return InvalidArgument("df has no column '" + e.join_key + "' (join key of feature view " + s.name + ")");
      key_cols.push_back(c);
    }
    std::vector<const nlohmann::json*> feature_cols;
    for (const auto& f : s.features) {
      const nlohmann::json* c = column(f.name);
      if (!c) return InvalidArgument("df has no column '" + f.name + "' (feature of feature view " + s.name + ")");
      feature_cols.push_back(c);
    }
    std::string ts_name = s.batch_source && !s.batch_source->timestamp_field.empty() ? s.batch_source->timestamp_field
                                                                                        : "event_timestamp";
    const nlohmann::json* ts_col = column(ts_name);
    if (!ts_col && ts_name != "event_timestamp") {
      ts_name = "event_timestamp";
      ts_col = column(ts_name);
    }
    if (!ts_col) return InvalidArgument("df has no event timestamp column '" + ts_name + "' for feature view " + s.name);
    std::string created_name = s.batch_source ? s.batch_source->created_timestamp_column : "";
    const nlohmann::json* created_col = created_name.empty() ? nullptr : column(created_name);
    if (!created_col) {
      created_name = "created";
      created_col = column(created_name);
    }

    storage::OnlineWriteBatch& batch = batches[vi];
    for (const auto& f : s.features) batch.features.push_back(f.name);
    batch.rows.resize(rows);
    std::vector<EntityKeyValue> parts(std::max<size_t>(1, s.entities.size()));
    for (size_t r = 0; r < rows; ++r) {
      storage::OnlineWriteBatch::Row& row = batch.rows[r];
      if (s.entities.empty()) {
        parts[0].join_key = kDummyJoinKey;
        parts[0].type = ValueType::kString;
        parts[0].bytes_value.clear();
      } else {
        for (size_t e = 0; e < s.entities.size(); ++e) {
          const nlohmann::json& v = (*key_cols[e])[r];
          if (v.is_null()) return InvalidArgument("df column '" + s.entities[e].join_key + "' row " + std::to_string(r) + " is null");
          KILN_ASSIGN_OR_RETURN(RequestValue rv, RequestValueFromJson(v, s.entities[e].join_key));
          KILN_ASSIGN_OR_RETURN(parts[e], ToEntityKeyValue(rv, s.entities[e].join_key, s.entities[e].type));
        }
      }
      KILN_ASSIGN_OR_RETURN(row.entity_key, SerializeEntityKey(parts));
      const nlohmann::json& ts = (*ts_col)[r];
      if (!ts.is_string()) {
        return InvalidArgument("df column '" + ts_name + "' row " + std::to_string(r) +
                               ": event timestamps must be ISO 8601 text");
      }
      auto ts_us = ParseTimestampUs(ts.get_ref<const std::string&>());
      if (!ts_us.ok()) return InvalidArgument("df column '" + ts_name + "': " + ts_us.status().message());
      row.event_ts_us = *ts_us;
      row.created_ts_us = 0;
      if (created_col && !(*created_col)[r].is_null()) {
        const nlohmann::json& c = (*created_col)[r];
        if (!c.is_string()) {
          return InvalidArgument("df column '" + created_name + "' row " + std::to_string(r) +
                                 ": created timestamps must be ISO 8601 text or null");
        }
        auto c_us = ParseTimestampUs(c.get_ref<const std::string&>());
        if (!c_us.ok()) return InvalidArgument("df column '" + created_name + "': " + c_us.status().message());
        row.created_ts_us = *c_us;
      } else {
        // No created time: the write's own time orders it after earlier
        // writes of the same event time, as a later ingestion.
        row.created_ts_us = now_us;
      }
      row.values.resize(s.features.size());
      for (size_t f = 0; f < s.features.size(); ++f) {
        KILN_RETURN_IF_ERROR(AppendJsonAsValueBytes((*feature_cols[f])[r], s.features[f].type, s.features[f].name,
                                                    &row.values[f]));
      }
    }
  }

  WriteOutcome out;
  out.rows = rows;
  for (size_t vi = 0; vi < views.size(); ++vi) {
    KILN_ASSIGN_OR_RETURN(storage::OnlineWriteResult w,
                          store_.Write(storage::OnlineTable{project, views[vi].name}, batches[vi]));
    out.views.push_back(views[vi].name);
    out.written += w.written;
    out.skipped += w.skipped;
  }
  return out;
}

}  // namespace kiln::features
