#include "api/ui_data/ui_data_routes.h"

#include <charconv>
#include <memory>
#include <nlohmann/json.hpp>

#include "api/mlflow/mlflow_errors.h"
#include "api/mlflow/object_owners.h"
#include "api/ui_data/ui_data_json.h"

namespace kiln::api::ui_data {

using nlohmann::json;
using Owners = std::shared_ptr<mlflow::ObjectOwners>;
using Refs = StatusOr<std::vector<ObjectRef>>;

namespace {

constexpr const char* kPrefix = "/api/2.0/kiln/ui";
constexpr size_t kOwnerCacheEntries = 100000;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

net::HttpResponse Answer(StatusOr<json> body) {
  if (!body.ok()) return mlflow::ErrorResponse(body.status());
  return mlflow::JsonOk(Dump(*body));
}

// "a,b,c" and repeated parameters alike, empty items dropped.
std::vector<std::string> ListQuery(const net::HttpRequest& req, std::string_view key) {
  std::vector<std::string> out;
  for (const auto& v : req.QueryValues(key)) {
    size_t start = 0;
    while (start <= v.size()) {
      size_t comma = v.find(',', start);
      if (comma == std::string::npos) comma = v.size();
      if (comma > start) out.push_back(v.substr(start, comma - start));
      start = comma + 1;
    }
  }
  return out;
}

std::vector<std::string> ChartRunIds(const net::HttpRequest& req) {
  std::vector<std::string> ids = ListQuery(req, "run_id");
  for (auto& id : ListQuery(req, "run_ids")) ids.push_back(std::move(id));
  return ids;
}

StatusOr<std::optional<int64_t>> IntQuery(const net::HttpRequest& req, std::string_view key) {
  if (!req.HasQuery(key)) return std::optional<int64_t>();
  std::string_view v = req.QueryValue(key);
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size()) {
    return InvalidArgument("invalid value '" + std::string(v) + "' for parameter '" + std::string(key) +
                           "': expected an integer");
  }
  return std::optional<int64_t>(n);
}

StatusOr<json> Body(const net::HttpRequest& req) {
  json body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return InvalidArgument("the request body must be a JSON object");
  return body;
}

StatusOr<std::string> StringField(const json& obj, const std::string& key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::string();
  if (!it->is_string()) return InvalidArgument("'" + path + "' must be a string");
  return it->get<std::string>();
}

StatusOr<std::vector<std::string>> StringsField(const json& obj, const std::string& key, const std::string& path) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (it->is_string()) return std::vector<std::string>{it->get<std::string>()};
  if (!it->is_array()) return InvalidArgument("'" + path + "' must be a list of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) return InvalidArgument("'" + path + "' must be a list of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

StatusOr<std::optional<int64_t>> IntField(const json& obj, const std::string& key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<int64_t>();
  if (it->is_number_integer()) return std::optional<int64_t>(it->get<int64_t>());
  if (it->is_string()) {  // protobuf-JSON spells int64 as a string too
    const std::string s = it->get<std::string>();
    int64_t n = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (!s.empty() && ec == std::errc() && ptr == s.data() + s.size()) return std::optional<int64_t>(n);
  }
  return InvalidArgument("'" + key + "' must be an integer");
}

// ------------------------------------------------------------------ access

ObjectRef Exp(std::string id) { return {ObjectKind::kExperiment, std::move(id)}; }

void AddUnique(std::vector<ObjectRef>* out, ObjectRef o) {
  if (std::find(out->begin(), out->end(), o) == out->end()) out->push_back(std::move(o));
}

// With auth off nothing is decided: the handler answers a bad request itself.
net::AccessRule ViewerOn(net::ObjectLocator locate) {
  return net::ObjectAccess(
      Role::kViewer,
      [locate = std::move(locate)](const net::HttpRequest& req) -> Refs {
        if (!req.access) return std::vector<ObjectRef>{};
        return locate(req);
      },
      /*mutation=*/false);
}

net::ObjectLocator ChartRuns(Owners o) {
  return [o](const net::HttpRequest& req) -> Refs {
    std::vector<ObjectRef> out;
    std::vector<std::string> ids = ChartRunIds(req);
    if (ids.empty()) return InvalidArgument("the request must name at least one run (run_id or run_ids)");
    if (ids.size() > tracking::kMaxUiChartRuns) {
      return InvalidArgument("at most " + std::to_string(tracking::kMaxUiChartRuns) + " runs per request; got " +
                             std::to_string(ids.size()));
    }
    for (const auto& id : ids) {
      KILN_ASSIGN_OR_RETURN(auto exp, o->ExperimentOfRun(id));
      AddUnique(&out, Exp(exp));
    }
    return out;
  };
}

net::ObjectLocator BodyExperiments() {
  return [](const net::HttpRequest& req) -> Refs {
    KILN_ASSIGN_OR_RETURN(json body, Body(req));
    KILN_ASSIGN_OR_RETURN(auto ids, StringsField(body, "experiment_ids", "experiment_ids"));
    if (ids.empty()) return InvalidArgument("experiment_ids must name at least one experiment");
    std::vector<ObjectRef> out;
    for (auto& id : ids) AddUnique(&out, Exp(std::move(id)));
    return out;
  };
}

net::ObjectLocator QueryExperiments() {
  return [](const net::HttpRequest& req) -> Refs {
    std::vector<ObjectRef> out;
    for (auto& id : ListQuery(req, "experiment_ids")) AddUnique(&out, Exp(std::move(id)));
    if (out.empty()) return InvalidArgument("experiment_ids must name at least one experiment");
    return out;
  };
}

// ---------------------------------------------------------------- handlers

StatusOr<json> MetricBuckets(tracking::RunAnalytics& a, const net::HttpRequest& req) {
  tracking::MetricBucketsRequest r;
  r.run_ids = ChartRunIds(req);
  r.key = std::string(req.QueryValue("key"));
  const std::string x = req.HasQuery("x") ? std::string(req.QueryValue("x")) : "step";
  if (x == "step") {
    r.axis = storage::MetricAxis::kStep;
  } else if (x == "time") {
    r.axis = storage::MetricAxis::kTime;
  } else {
    return InvalidArgument("invalid value '" + x + "' for parameter 'x': expected \"step\" or \"time\"");
  }
  KILN_ASSIGN_OR_RETURN(r.start, IntQuery(req, "start"));
  KILN_ASSIGN_OR_RETURN(r.end, IntQuery(req, "end"));
  KILN_ASSIGN_OR_RETURN(r.buckets, IntQuery(req, "buckets"));
  KILN_ASSIGN_OR_RETURN(auto series, a.MetricBuckets(r));
  json out = json::array();
  for (const auto& s : series) out.push_back(MetricBucketsJson(s, r.axis));
  return json{{"series", std::move(out)}};
}

StatusOr<json> RunsTable(tracking::RunAnalytics& a, const net::HttpRequest& req) {
  KILN_ASSIGN_OR_RETURN(json body, Body(req));
  tracking::RunsTableRequest r;
  KILN_ASSIGN_OR_RETURN(r.experiment_ids, StringsField(body, "experiment_ids", "experiment_ids"));
  KILN_ASSIGN_OR_RETURN(r.filter, StringField(body, "filter", "filter"));
  KILN_ASSIGN_OR_RETURN(r.view_type, StringField(body, "run_view_type", "run_view_type"));
  KILN_ASSIGN_OR_RETURN(r.order_by, StringsField(body, "order_by", "order_by"));
  KILN_ASSIGN_OR_RETURN(r.page_token, StringField(body, "page_token", "page_token"));
  KILN_ASSIGN_OR_RETURN(r.max_results, IntField(body, "max_results"));
  if (auto c = body.find("columns"); c != body.end() && !c->is_null()) {
    if (!c->is_object()) return InvalidArgument("'columns' must be an object {params, metrics, tags}");
    KILN_ASSIGN_OR_RETURN(r.columns.params, StringsField(*c, "params", "columns.params"));
    KILN_ASSIGN_OR_RETURN(r.columns.metrics, StringsField(*c, "metrics", "columns.metrics"));
    KILN_ASSIGN_OR_RETURN(r.columns.tags, StringsField(*c, "tags", "columns.tags"));
  }
  KILN_ASSIGN_OR_RETURN(r.metric_aggregates, StringsField(body, "metric_aggregates", "metric_aggregates"));
  KILN_ASSIGN_OR_RETURN(auto page, a.RunsTable(r));
  return RunsTableJson(page);
}

StatusOr<json> RunColumns(tracking::RunAnalytics& a, const net::HttpRequest& req) {
  KILN_ASSIGN_OR_RETURN(auto keys, a.RunColumns(ListQuery(req, "experiment_ids")));
  return RunColumnsJson(keys);
}

StatusOr<json> RunGroups(tracking::RunAnalytics& a, const net::HttpRequest& req) {
  KILN_ASSIGN_OR_RETURN(json body, Body(req));
  tracking::RunGroupsRequest r;
  KILN_ASSIGN_OR_RETURN(r.experiment_ids, StringsField(body, "experiment_ids", "experiment_ids"));
  KILN_ASSIGN_OR_RETURN(r.filter, StringField(body, "filter", "filter"));
  KILN_ASSIGN_OR_RETURN(r.view_type, StringField(body, "run_view_type", "run_view_type"));
  KILN_ASSIGN_OR_RETURN(r.metric_key, StringField(body, "metric", "metric"));
  auto g = body.find("group_by");
  if (g == body.end() || !g->is_object() || g->size() != 1) {
    return InvalidArgument("group_by must be an object with exactly one of {\"param\": key} or {\"tag\": key}");
  }
  if (g->contains("param")) {
    r.source = storage::GroupSource::kParam;
    KILN_ASSIGN_OR_RETURN(r.group_key, StringField(*g, "param", "group_by.param"));
  } else if (g->contains("tag")) {
    r.source = storage::GroupSource::kTag;
    KILN_ASSIGN_OR_RETURN(r.group_key, StringField(*g, "tag", "group_by.tag"));
  } else {
    return InvalidArgument("group_by must be an object with exactly one of {\"param\": key} or {\"tag\": key}");
  }
  KILN_ASSIGN_OR_RETURN(auto groups, a.RunGroups(r));
  return RunGroupsJson(groups);
}

using Fn = StatusOr<json> (*)(tracking::RunAnalytics&, const net::HttpRequest&);

void Add(net::Router& router, const char* method, const char* path, tracking::RunAnalytics& a, Fn fn,
         net::AccessRule access) {
  auto& route = router.Add(
      method, std::string(kPrefix) + path, [&a, fn](net::HttpRequest& req) { return Answer(fn(a, req)); },
      net::Execution::kPool);
  route.render_error = mlflow::RenderHttpLayerError;
  route.access = std::move(access);
}

}  // namespace

void AddUiDataRoutes(net::Router& router, tracking::RunAnalytics& analytics, tracking::TrackingService& tracking,
                     registry::RegistryService& registry) {
  auto owners = std::make_shared<mlflow::ObjectOwners>(tracking, registry, nullptr, kOwnerCacheEntries);
  Add(router, "GET", "/metric-buckets", analytics, MetricBuckets, ViewerOn(ChartRuns(owners)));
  Add(router, "POST", "/runs-table", analytics, RunsTable, ViewerOn(BodyExperiments()));
  Add(router, "GET", "/run-columns", analytics, RunColumns, ViewerOn(QueryExperiments()));
  Add(router, "POST", "/runs-groups", analytics, RunGroups, ViewerOn(BodyExperiments()));
}

}  // namespace kiln::api::ui_data
