#include "api/feast/feature_ui_routes.h"

#include <algorithm>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "feast/core/DataSource.pb.h"
#include "feast/core/Entity.pb.h"
#include "feast/core/FeatureService.pb.h"
#include "feast/core/FeatureView.pb.h"
#include "feast/core/OnDemandFeatureView.pb.h"
#include "feast/core/Project.pb.h"
#include "feast/core/StreamFeatureView.pb.h"
#include "feast/types/Value.pb.h"
#include "features/registry_lineage.h"
#include "features/registry_view_schema.h"
#include "features/value_json.h"
#include "features/view_freshness.h"

namespace kiln::api::feast {
namespace {

namespace f = kiln::features;
namespace fc = ::feast::core;
using nlohmann::json;

constexpr const char* kPrefix = "/api/2.0/kiln/ui/features";
// The entity Feast's apply adds for entityless views; its SDK hides it from
// entity listings (list_entities(hide_dummy_entity=True)), and so does the UI.
constexpr const char* kDummyEntity = "__dummy";

size_t CountEntities(const std::vector<f::RegistryObject>& ents) {
  size_t n = 0;
  for (const auto& o : ents) n += static_cast<const fc::Entity&>(*o.message).spec().name() != kDummyEntity;
  return n;
}

struct Deps {
  f::FeatureRegistry& registry;
  storage::OnlineStore& online;
  f::Materializer& materializer;
  const Clock& clock;

  int64_t NowUs() const { return clock.NowMillis() * 1000; }
};

json Time(int64_t us) {
  if (us <= 0) return nullptr;
  std::string out;
  f::AppendRfc3339(us, &out);
  return out;
}

json TimeAlways(int64_t us) {
  std::string out;
  f::AppendRfc3339(us, &out);
  return out;
}

double Seconds(int64_t us) { return static_cast<double>(us) / 1e6; }

unsigned HttpStatusOf(StatusCode c) {
  switch (c) {
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kAborted: return 409;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kResourceExhausted:
    case StatusCode::kUnavailable: return 503;
    default: return 500;
  }
}

std::string_view ErrorCodeOf(StatusCode c) {
  switch (c) {
    case StatusCode::kInvalidArgument: return "INVALID_PARAMETER_VALUE";
    case StatusCode::kUnauthenticated: return "UNAUTHENTICATED";
    case StatusCode::kPermissionDenied: return "PERMISSION_DENIED";
    case StatusCode::kNotFound: return "RESOURCE_DOES_NOT_EXIST";
    case StatusCode::kUnavailable:
    case StatusCode::kResourceExhausted: return "TEMPORARILY_UNAVAILABLE";
    default: return "INTERNAL_ERROR";
  }
}

net::HttpResponse ErrorJson(unsigned status, std::string_view code, std::string_view message) {
  return net::HttpResponse::Json(
      status, json{{"error_code", code}, {"message", message}}.dump(-1, ' ', false, json::error_handler_t::replace));
}

net::HttpResponse Answer(const StatusOr<json>& body) {
  if (!body.ok()) {
    const Status& s = body.status();
    return ErrorJson(HttpStatusOf(s.code()), ErrorCodeOf(s.code()), s.message());
  }
  return net::HttpResponse::Json(200, body->dump(-1, ' ', false, json::error_handler_t::replace));
}

json Tags(const google::protobuf::Map<std::string, std::string>& tags) {
  json out = json::object();
  for (const auto& [k, v] : tags) out[k] = v;
  return out;
}

std::string ValueTypeName(int v) {
  return ::feast::types::ValueType_Enum_IsValid(v)
             ? ::feast::types::ValueType_Enum_Name(static_cast<::feast::types::ValueType_Enum>(v))
             : std::to_string(v);
}

// Feast's Python type names (feast.types), as a user writes them in a Field.
std::string FeastTypeName(f::ValueType t) {
  switch (t) {
    case f::ValueType::kBytes: return "Bytes";
    case f::ValueType::kString: return "String";
    case f::ValueType::kInt32: return "Int32";
    case f::ValueType::kInt64: return "Int64";
    case f::ValueType::kDouble: return "Float64";
    case f::ValueType::kFloat: return "Float32";
    case f::ValueType::kBool: return "Bool";
    case f::ValueType::kUnixTimestamp: return "UnixTimestamp";
    case f::ValueType::kBytesList: return "Array(Bytes)";
    case f::ValueType::kStringList: return "Array(String)";
    case f::ValueType::kInt32List: return "Array(Int32)";
    case f::ValueType::kInt64List: return "Array(Int64)";
    case f::ValueType::kDoubleList: return "Array(Float64)";
    case f::ValueType::kFloatList: return "Array(Float32)";
    case f::ValueType::kBoolList: return "Array(Bool)";
    case f::ValueType::kUnixTimestampList: return "Array(UnixTimestamp)";
    case f::ValueType::kNull: return "Null";
    default: return "Invalid";
  }
}

std::string SourceTypeName(const fc::DataSource& s) {
  switch (s.type()) {
    case fc::DataSource::BATCH_FILE: return "file";
    case fc::DataSource::PUSH_SOURCE: return "push";
    case fc::DataSource::REQUEST_SOURCE: return "request";
    case fc::DataSource::STREAM_KAFKA: return "kafka";
    case fc::DataSource::STREAM_KINESIS: return "kinesis";
    case fc::DataSource::BATCH_BIGQUERY: return "bigquery";
    case fc::DataSource::BATCH_SNOWFLAKE: return "snowflake";
    case fc::DataSource::BATCH_REDSHIFT: return "redshift";
    case fc::DataSource::BATCH_SPARK: return "spark";
    case fc::DataSource::BATCH_TRINO: return "trino";
    case fc::DataSource::BATCH_ATHENA: return "athena";
    case fc::DataSource::BATCH_ICEBERG: return "iceberg";
    case fc::DataSource::CUSTOM_SOURCE: return "custom";
    default: return "unknown";
  }
}

json DataSourceJson(const fc::DataSource& s, int64_t created_us, int64_t updated_us) {
  json j = {{"name", s.name()},
            {"type", SourceTypeName(s)},
            {"description", s.description()},
            {"owner", s.owner()},
            {"tags", Tags(s.tags())},
            {"timestamp_field", s.timestamp_field()},
            {"created_timestamp_column", s.created_timestamp_column()},
            {"created", Time(created_us)},
            {"updated", Time(updated_us)}};
  json mapping = json::object();
  for (const auto& [k, v] : s.field_mapping()) mapping[k] = v;
  j["field_mapping"] = mapping;
  if (s.has_file_options()) j["path"] = s.file_options().uri();
  if (s.has_batch_source()) j["batch_source"] = s.batch_source().name();
  if (s.has_request_data_options()) {
    json schema = json::array();
    for (const auto& fs : s.request_data_options().schema()) {
      schema.push_back({{"name", fs.name()}, {"value_type", ValueTypeName(fs.value_type())}});
    }
    j["schema"] = schema;
  }
  // Whether kiln's offline engine can read it (materialization, retrieval).
  if (s.type() == fc::DataSource::BATCH_FILE) {
    StatusOr<storage::OfflineSource> readable = f::OfflineSourceOf(s);
    j["readable_by_kiln"] = readable.ok();
    j["unreadable_reason"] = readable.ok() ? "" : readable.status().message();
  }
  return j;
}

json FreshnessJson(const f::ViewFreshness& fr) {
  return json{{"state", f::FreshnessStateName(fr.state)},
              {"newest_event", fr.newest_event_us ? TimeAlways(*fr.newest_event_us) : json(nullptr)},
              {"age_seconds", fr.newest_event_us ? json(Seconds(fr.age_us)) : json(nullptr)},
              {"ttl_seconds", Seconds(fr.ttl_us)},
              {"checked", TimeAlways(fr.checked_us)},
              {"reason", fr.reason}};
}

json JobJson(const f::MaterializeProgress& p, int64_t now_us) {
  json views = json::array();
  for (size_t i = 0; i < p.views.size(); ++i) {
    json v = {{"view", p.views[i]}};
    if (i < p.windows.size()) {
      v["start"] = TimeAlways(p.windows[i].first);
      v["end"] = TimeAlways(p.windows[i].second);
    }
    views.push_back(std::move(v));
  }
  const int64_t end = p.finished_us > 0 ? p.finished_us : now_us;
  return json{{"job_id", p.job_id},
              {"state", p.state},
              {"views", views},
              {"view", p.view},
              {"rows_total", p.rows_total},
              {"rows_done", p.rows_done},
              {"rows_per_second", p.rows_per_second},
              {"eta_seconds", p.eta_seconds},
              {"error", p.error},
              {"skipped", p.skipped},
              {"started", TimeAlways(p.started_us)},
              {"finished", Time(p.finished_us)},
              {"duration_seconds", Seconds(std::max<int64_t>(0, end - p.started_us))}};
}

// The jobs of one project, newest first.
json ProjectJobs(Deps& d, const std::string& project, int* running) {
  const int64_t now = d.NowUs();
  json out = json::array();
  std::vector<f::MaterializeProgress> jobs = d.materializer.ListJobs();
  for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) {
    if (it->project != project) continue;
    if (it->state == "running") ++*running;
    out.push_back(JobJson(*it, now));
  }
  return out;
}

const char* ViewKindName(f::ViewKind k) {
  switch (k) {
    case f::ViewKind::kBatch: return "batch";
    case f::ViewKind::kStream: return "stream";
    case f::ViewKind::kOnDemand: return "on_demand";
  }
  return "batch";
}

// What only the view messages say (description, owner, tags, offline,
// on-demand inputs), by view name.
struct ViewExtras {
  std::string description, owner, stream_source, mode;
  json tags = json::object();
  bool offline = false;
  std::vector<std::string> source_views, request_sources;
};

StatusOr<std::map<std::string, ViewExtras>> LoadViewExtras(f::FeatureRegistry& reg, const std::string& project) {
  std::map<std::string, ViewExtras> out;
  KILN_ASSIGN_OR_RETURN(auto fvs, reg.List(f::ObjectKind::kFeatureView, project, {}));
  for (const auto& o : fvs) {
    const auto& spec = static_cast<const fc::FeatureView&>(*o.message).spec();
    ViewExtras& x = out[spec.name()];
    x.description = spec.description();
    x.owner = spec.owner();
    x.tags = Tags(spec.tags());
    x.offline = spec.offline();
    if (spec.has_stream_source()) x.stream_source = spec.stream_source().name();
  }
  KILN_ASSIGN_OR_RETURN(auto sfvs, reg.List(f::ObjectKind::kStreamFeatureView, project, {}));
  for (const auto& o : sfvs) {
    const auto& spec = static_cast<const fc::StreamFeatureView&>(*o.message).spec();
    ViewExtras& x = out[spec.name()];
    x.description = spec.description();
    x.owner = spec.owner();
    x.tags = Tags(spec.tags());
    if (spec.has_stream_source()) x.stream_source = spec.stream_source().name();
  }
  KILN_ASSIGN_OR_RETURN(auto odfvs, reg.List(f::ObjectKind::kOnDemandFeatureView, project, {}));
  for (const auto& o : odfvs) {
    const auto& spec = static_cast<const fc::OnDemandFeatureView&>(*o.message).spec();
    ViewExtras& x = out[spec.name()];
    x.description = spec.description();
    x.owner = spec.owner();
    x.tags = Tags(spec.tags());
    x.mode = spec.mode();
    std::map<std::string, fc::OnDemandSource> sources(spec.sources().begin(), spec.sources().end());
    for (const auto& [_, src] : sources) {
      if (src.has_request_data_source()) {
        x.request_sources.push_back(src.request_data_source().name());
      } else if (src.has_feature_view_projection()) {
        x.source_views.push_back(src.feature_view_projection().feature_view_name());
      } else if (src.has_feature_view()) {
        x.source_views.push_back(src.feature_view().spec().name());
      }
    }
  }
  return out;
}

json ViewJson(Deps& d, const f::ViewSchema& v, const ViewExtras& x, int64_t now_us) {
  json entities = json::array();
  for (const auto& e : v.entities) {
    entities.push_back({{"name", e.name}, {"join_key", e.join_key}, {"value_type", ValueTypeName(static_cast<int>(e.type))}});
  }
  json features = json::array();
  for (const auto& c : v.features) {
    features.push_back(
        {{"name", c.name}, {"type", FeastTypeName(c.type)}, {"value_type", ValueTypeName(static_cast<int>(c.type))}});
  }
  json intervals = json::array();
  for (const auto& [start, end] : v.materialization_intervals) {
    intervals.push_back({{"start", TimeAlways(start)}, {"end", TimeAlways(end)}});
  }
  const bool on_demand = v.kind == f::ViewKind::kOnDemand;
  json j = {{"name", v.name},
            {"kind", ViewKindName(v.kind)},
            {"description", x.description},
            {"owner", x.owner},
            {"tags", x.tags},
            {"entities", entities},
            {"features", features},
            {"ttl_seconds", Seconds(v.ttl_us)},
            {"online", on_demand ? false : v.online},
            {"offline", x.offline},
            {"batch_source", v.batch_source_name},
            {"stream_source", x.stream_source},
            {"push_source", v.push_source_name},
            {"materializable", !on_demand && v.online && v.batch_source.has_value()},
            {"materialization_intervals", intervals},
            {"freshness", FreshnessJson(f::FreshnessOf(v, d.online, now_us))},
            {"created", Time(v.created_us)},
            {"updated", Time(v.updated_us)}};
  if (!on_demand && !v.batch_source && !v.batch_source_error.empty()) j["batch_source_error"] = v.batch_source_error;
  if (on_demand) {
    j["executable"] = false;
    j["not_executable_reason"] =
        "on-demand feature view: its Python transformation runs in the Feast SDK, never in kiln (kiln refuses to "
        "serve or materialize it)";
    j["mode"] = x.mode;
    j["source_views"] = x.source_views;
    j["request_sources"] = x.request_sources;
  }
  return j;
}

StatusOr<json> ProjectDetail(Deps& d, const std::string& name) {
  f::FeatureRegistry& reg = d.registry;
  KILN_ASSIGN_OR_RETURN(f::RegistryObject project, reg.Get(f::ObjectKind::kProject, name, name));
  const auto& pspec = static_cast<const fc::Project&>(*project.message).spec();
  const int64_t now = d.NowUs();
  json out;
  out["project"] = {{"name", name},
                    {"description", pspec.description()},
                    {"owner", pspec.owner()},
                    {"tags", Tags(pspec.tags())},
                    {"created", Time(project.created_us)},
                    {"updated", Time(project.updated_us)}};
  out["now"] = TimeAlways(now);

  json entities = json::array();
  KILN_ASSIGN_OR_RETURN(auto ents, reg.List(f::ObjectKind::kEntity, name, {}));
  for (const auto& o : ents) {
    const auto& spec = static_cast<const fc::Entity&>(*o.message).spec();
    if (spec.name() == kDummyEntity) continue;
    entities.push_back({{"name", spec.name()},
                        {"join_key", spec.join_key()},
                        {"value_type", ValueTypeName(spec.value_type())},
                        {"description", spec.description()},
                        {"owner", spec.owner()},
                        {"tags", Tags(spec.tags())},
                        {"created", Time(o.created_us)},
                        {"updated", Time(o.updated_us)}});
  }
  out["entities"] = entities;

  json sources = json::array();
  KILN_ASSIGN_OR_RETURN(auto srcs, reg.List(f::ObjectKind::kDataSource, name, {}));
  for (const auto& o : srcs) {
    sources.push_back(DataSourceJson(static_cast<const fc::DataSource&>(*o.message), o.created_us, o.updated_us));
  }
  out["data_sources"] = sources;

  KILN_ASSIGN_OR_RETURN(auto extras, LoadViewExtras(reg, name));
  KILN_ASSIGN_OR_RETURN(auto schemas, reg.ListViewSchemas(name));
  json views = json::array();
  for (const auto& v : schemas) views.push_back(ViewJson(d, v, extras[v.name], now));
  out["feature_views"] = views;

  json services = json::array();
  KILN_ASSIGN_OR_RETURN(auto fss, reg.List(f::ObjectKind::kFeatureService, name, {}));
  for (const auto& o : fss) {
    const auto& spec = static_cast<const fc::FeatureService&>(*o.message).spec();
    json projections = json::array();
    for (const auto& p : spec.features()) {
      json feats = json::array();
      for (const auto& c : p.feature_columns()) feats.push_back(c.name());
      projections.push_back({{"view", p.feature_view_name()}, {"alias", p.feature_view_name_alias()}, {"features", feats}});
    }
    services.push_back({{"name", spec.name()},
                        {"description", spec.description()},
                        {"owner", spec.owner()},
                        {"tags", Tags(spec.tags())},
                        {"views", projections},
                        {"created", Time(o.created_us)},
                        {"updated", Time(o.updated_us)}});
  }
  out["feature_services"] = services;

  KILN_ASSIGN_OR_RETURN(f::Lineage lineage, f::RegistryLineage(reg, name, "", ""));
  auto relations = [](const std::vector<f::LineageRelation>& rs) {
    json a = json::array();
    for (const auto& r : rs) {
      a.push_back({{"source", {{"type", r.source.type}, {"name", r.source.name}}},
                   {"target", {{"type", r.target.type}, {"name", r.target.name}}}});
    }
    return a;
  };
  out["lineage"] = {{"direct", relations(lineage.direct)}, {"indirect", relations(lineage.indirect)}};

  int running = 0;
  out["materializations"] = ProjectJobs(d, name, &running);
  out["running"] = running;
  return out;
}

StatusOr<json> ProjectList(Deps& d, const net::HttpRequest& req) {
  f::FeatureRegistry& reg = d.registry;
  KILN_ASSIGN_OR_RETURN(auto projects, reg.List(f::ObjectKind::kProject, "", {}));
  json out = json::array();
  for (const auto& o : projects) {
    const auto& spec = static_cast<const fc::Project&>(*o.message).spec();
    // With auth on, only the projects the caller may view.
    if (req.access && !req.access->Allows({kiln::ObjectKind::kFeatureProject, spec.name()}, Role::kViewer)) continue;
    json counts = json::object();
    KILN_ASSIGN_OR_RETURN(auto ents, reg.List(f::ObjectKind::kEntity, spec.name(), {}));
    KILN_ASSIGN_OR_RETURN(auto srcs, reg.List(f::ObjectKind::kDataSource, spec.name(), {}));
    KILN_ASSIGN_OR_RETURN(auto fvs, reg.List(f::ObjectKind::kFeatureView, spec.name(), {}));
    KILN_ASSIGN_OR_RETURN(auto sfvs, reg.List(f::ObjectKind::kStreamFeatureView, spec.name(), {}));
    KILN_ASSIGN_OR_RETURN(auto odfvs, reg.List(f::ObjectKind::kOnDemandFeatureView, spec.name(), {}));
    KILN_ASSIGN_OR_RETURN(auto fss, reg.List(f::ObjectKind::kFeatureService, spec.name(), {}));
    counts["entities"] = CountEntities(ents);
    counts["data_sources"] = srcs.size();
    counts["feature_views"] = fvs.size() + sfvs.size();
    counts["on_demand_feature_views"] = odfvs.size();
    counts["feature_services"] = fss.size();
    out.push_back({{"name", spec.name()},
                   {"description", spec.description()},
                   {"created", Time(o.created_us)},
                   {"updated", Time(o.updated_us)},
                   {"counts", counts}});
  }
  return json{{"projects", out}};
}

StatusOr<json> Materializations(Deps& d, const std::string& project) {
  KILN_RETURN_IF_ERROR(d.registry.Get(f::ObjectKind::kProject, project, project).status());
  int running = 0;
  json jobs = ProjectJobs(d, project, &running);
  return json{{"now", TimeAlways(d.NowUs())}, {"materializations", jobs}, {"running", running}};
}

StatusOr<json> Freshness(Deps& d, const std::string& project, const std::string& view) {
  KILN_RETURN_IF_ERROR(d.registry.Get(f::ObjectKind::kProject, project, project).status());
  KILN_ASSIGN_OR_RETURN(f::ViewSchema v, d.registry.GetViewSchema(project, view));
  json j = FreshnessJson(f::FreshnessOf(v, d.online, d.NowUs()));
  j["view"] = v.name;
  return j;
}

net::AccessRule ViewerOn(net::ObjectLocator locate) { return net::ObjectAccess(Role::kViewer, std::move(locate), false); }

}  // namespace

void AddFeatureUiRoutes(net::Router& router, f::FeatureRegistry& registry, storage::OnlineStore& online,
                        f::Materializer& materializer, const Clock& clock) {
  auto deps = std::make_shared<Deps>(Deps{registry, online, materializer, clock});
  auto add = [&router](const std::string& path, net::Handler handler, net::AccessRule access) {
    net::Route& r = router.Add("GET", std::string(kPrefix) + path, std::move(handler), net::Execution::kPool);
    r.render_error = ErrorJson;
    r.access = std::move(access);
  };
  auto project_ref = [](const net::HttpRequest& req) -> StatusOr<std::vector<ObjectRef>> {
    return std::vector<ObjectRef>{{kiln::ObjectKind::kFeatureProject, std::string(req.PathParam("project"))}};
  };
  add("/projects", [deps](net::HttpRequest& req) { return Answer(ProjectList(*deps, req)); },
      net::AuthenticatedAccess());
  add("/projects/{project}",
      [deps](net::HttpRequest& req) { return Answer(ProjectDetail(*deps, std::string(req.PathParam("project")))); },
      ViewerOn(project_ref));
  add("/projects/{project}/materializations",
      [deps](net::HttpRequest& req) {
        return Answer(Materializations(*deps, std::string(req.PathParam("project"))));
      },
      ViewerOn(project_ref));
  add("/projects/{project}/views/{view}/freshness",
      [deps](net::HttpRequest& req) {
        return Answer(
            Freshness(*deps, std::string(req.PathParam("project")), std::string(req.PathParam("view"))));
      },
      ViewerOn([](const net::HttpRequest& req) -> StatusOr<std::vector<ObjectRef>> {
        return std::vector<ObjectRef>{{kiln::ObjectKind::kFeatureView,
                                       std::string(req.PathParam("project")) + "/" + std::string(req.PathParam("view"))}};
      }));
}

}  // namespace kiln::api::feast
