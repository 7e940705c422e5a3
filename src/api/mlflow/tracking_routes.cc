// Experiments, runs, metrics and logged models.
#include "api/mlflow/entity_json.h"
#include "api/mlflow/handler_util.h"
#include "api/mlflow/mlflow_routes.h"
#include "api/mlflow/routes_internal.h"
#include "api/mlflow/search_scope.h"

namespace kiln::api::mlflow {

using nlohmann::json;
using tracking::TrackingService;

namespace {

json RunsPage(const tracking::PagedResult<storage::Run>& page) {
  json out = json::object();
  if (!page.items.empty()) {
    json runs = json::array();
    for (const auto& r : page.items) runs.push_back(RunJson(r));
    out["runs"] = std::move(runs);
  }
  if (!page.next_page_token.empty()) out["next_page_token"] = page.next_page_token;
  return out;
}

StatusOr<std::vector<storage::DatasetInput>> DecodeDatasetInputs(const RequestFields& f) {
  KILN_ASSIGN_OR_RETURN(auto objects, f.Objects("datasets"));
  std::vector<storage::DatasetInput> out;
  for (size_t i = 0; i < objects.size(); ++i) {
    std::string ctx = "datasets[" + std::to_string(i) + "]";
    storage::DatasetInput in;
    auto ds_it = objects[i].find("dataset");
    if (ds_it == objects[i].end() || !ds_it->is_object()) return MissingParameter(ctx + ".dataset");
    const json& ds = *ds_it;
    std::string dctx = ctx + ".dataset";
    KILN_ASSIGN_OR_RETURN(auto name, RequestFields::StringIn(ds, "name", dctx));
    KILN_ASSIGN_OR_RETURN(auto digest, RequestFields::StringIn(ds, "digest", dctx));
    KILN_ASSIGN_OR_RETURN(auto source_type, RequestFields::StringIn(ds, "source_type", dctx));
    KILN_ASSIGN_OR_RETURN(auto source, RequestFields::StringIn(ds, "source", dctx));
    KILN_ASSIGN_OR_RETURN(auto schema, RequestFields::StringIn(ds, "schema", dctx));
    KILN_ASSIGN_OR_RETURN(auto profile, RequestFields::StringIn(ds, "profile", dctx));
    in.dataset = {name.value_or(""), digest.value_or(""), source_type.value_or(""),
                  source.value_or(""), schema.value_or(""), profile.value_or("")};
    if (auto tags_it = objects[i].find("tags"); tags_it != objects[i].end() && tags_it->is_array()) {
      for (const auto& t : *tags_it) {
        if (!t.is_object()) return InvalidArgument("Invalid value for parameter '" + ctx + ".tags' supplied.");
        KILN_ASSIGN_OR_RETURN(auto k, RequestFields::StringIn(t, "key", ctx + ".tags"));
        KILN_ASSIGN_OR_RETURN(auto v, RequestFields::StringIn(t, "value", ctx + ".tags"));
        if (!k) return MissingParameter(ctx + ".tags.key");
        in.tags.push_back({*k, v.value_or("")});
      }
    }
    out.push_back(std::move(in));
  }
  return out;
}

// Filter, view type, max_results, order_by and page token: the fields every
// search request shares (the view type's field name differs by entity).
template <typename SearchRequest>
Status DecodeSearchPage(const RequestFields& f, const std::string& view_key, SearchRequest& req) {
  KILN_ASSIGN_OR_RETURN(auto filter, f.String("filter"));
  KILN_ASSIGN_OR_RETURN(auto view, f.String(view_key));
  KILN_ASSIGN_OR_RETURN(req.max_results, f.Int64("max_results"));
  KILN_ASSIGN_OR_RETURN(req.order_by, f.StringList("order_by"));
  KILN_ASSIGN_OR_RETURN(auto token, f.String("page_token"));
  req.filter = filter.value_or("");
  req.view_type = view.value_or("");
  req.page_token = token.value_or("");
  return Status::Ok();
}

StatusOr<std::string> RunIdOf(const RequestFields& f) {
  KILN_ASSIGN_OR_RETURN(auto run_id, f.String("run_id"));
  if (run_id && !run_id->empty()) return *run_id;
  KILN_ASSIGN_OR_RETURN(auto run_uuid, f.String("run_uuid"));
  if (run_uuid && !run_uuid->empty()) return *run_uuid;
  return MissingParameter("run_id");
}

}  // namespace

void AddExperimentRoutes(net::Router& r, const std::string& p, TrackingService& svc, const MlflowApiOptions& opt) {
  AddRoute(r, "POST", p + "/experiments/create", Json([&svc, opt](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto name, f.String("name"));
    if (!name) return MissingParameter("name");
    KILN_ASSIGN_OR_RETURN(auto location, f.String("artifact_location"));
    KILN_ASSIGN_OR_RETURN(auto tags, DecodeTags(f));
    KILN_ASSIGN_OR_RETURN(auto id, svc.CreateExperiment(*name, location.value_or(""), tags, opt.default_artifact_root));
    return json{{"experiment_id", id}};
  }));
  AddRoute(r, "GET", p + "/experiments/get", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, f.RequiredString("experiment_id"));
    KILN_ASSIGN_OR_RETURN(auto exp, svc.GetExperiment(id));
    return json{{"experiment", ExperimentJson(exp)}};
  }));
  AddRoute(r, "GET", p + "/experiments/get-by-name", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto name, f.RequiredString("experiment_name"));
    KILN_ASSIGN_OR_RETURN(auto exp, svc.GetExperimentByName(name));
    return json{{"experiment", ExperimentJson(exp)}};
  }));
  auto search = Json([&svc](const RequestFields& f, net::HttpRequest& http) -> StatusOr<json> {
    tracking::SearchExperimentsRequest req;
    KILN_RETURN_IF_ERROR(DecodeSearchPage(f, "view_type", req));
    AddVisibilityScope(http, ObjectKind::kExperiment, "experiment_id", &req.scope);
    KILN_ASSIGN_OR_RETURN(auto page, svc.SearchExperiments(req));
    json out = json::object();
    if (!page.items.empty()) {
      json arr = json::array();
      for (const auto& e : page.items) arr.push_back(ExperimentJson(e));
      out["experiments"] = std::move(arr);
    }
    if (!page.next_page_token.empty()) out["next_page_token"] = page.next_page_token;
    return out;
  });
  AddRoute(r, "POST", p + "/experiments/search", search);
  AddRoute(r, "GET", p + "/experiments/search", search);
  AddRoute(r, "POST", p + "/experiments/update", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, f.RequiredString("experiment_id"));
    KILN_ASSIGN_OR_RETURN(auto new_name, f.String("new_name"));
    if (new_name) KILN_RETURN_IF_ERROR(svc.RenameExperiment(id, *new_name));
    return json::object();
  }));
  AddRoute(r, "POST", p + "/experiments/delete", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, f.RequiredString("experiment_id"));
    KILN_RETURN_IF_ERROR(svc.DeleteExperiment(id));
    return json::object();
  }));
  AddRoute(r, "POST", p + "/experiments/restore", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, f.RequiredString("experiment_id"));
    KILN_RETURN_IF_ERROR(svc.RestoreExperiment(id));
    return json::object();
  }));
  AddRoute(r, "POST", p + "/experiments/set-experiment-tag", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, f.RequiredString("experiment_id"));
    KILN_ASSIGN_OR_RETURN(auto key, f.RequiredString("key"));
    KILN_ASSIGN_OR_RETURN(auto value, f.String("value"));
    KILN_RETURN_IF_ERROR(svc.SetExperimentTag(id, {key, value.value_or("")}));
    return json::object();
  }));
  AddRoute(r, "POST", p + "/experiments/delete-experiment-tag", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, f.RequiredString("experiment_id"));
    KILN_ASSIGN_OR_RETURN(auto key, f.RequiredString("key"));
    KILN_RETURN_IF_ERROR(svc.DeleteExperimentTag(id, key));
    return json::object();
  }));
}

void AddRunRoutes(net::Router& r, const std::string& p, TrackingService& svc) {
  AddRoute(r, "POST", p + "/runs/create", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto exp, f.String("experiment_id"));
    KILN_ASSIGN_OR_RETURN(auto user, f.String("user_id"));
    KILN_ASSIGN_OR_RETURN(auto name, f.String("run_name"));
    KILN_ASSIGN_OR_RETURN(auto start, f.Int64("start_time"));
    KILN_ASSIGN_OR_RETURN(auto tags, DecodeTags(f));
    KILN_ASSIGN_OR_RETURN(auto run, svc.CreateRun(exp.value_or(""), user.value_or(""), name.value_or(""), start, tags));
    return json{{"run", RunJson(run)}};
  }));
  AddRoute(r, "GET", p + "/runs/get", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, RunIdOf(f));
    KILN_ASSIGN_OR_RETURN(auto run, svc.GetRun(id));
    return json{{"run", RunJson(run)}};
  }));
  AddRoute(r, "POST", p + "/runs/update", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, RunIdOf(f));
    KILN_ASSIGN_OR_RETURN(auto status, f.String("status"));
    KILN_ASSIGN_OR_RETURN(auto end, f.Int64("end_time"));
    KILN_ASSIGN_OR_RETURN(auto name, f.String("run_name"));
    KILN_ASSIGN_OR_RETURN(auto info, svc.UpdateRun(id, status, end, name));
    return json{{"run_info", RunInfoJson(info)}};
  }));
  AddRoute(r, "POST", p + "/runs/delete", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, RunIdOf(f));
    KILN_RETURN_IF_ERROR(svc.DeleteRun(id));
    return json::object();
  }));
  AddRoute(r, "POST", p + "/runs/restore", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, RunIdOf(f));
    KILN_RETURN_IF_ERROR(svc.RestoreRun(id));
    return json::object();
  }));
  AddRoute(r, "POST", p + "/runs/log-metric", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, RunIdOf(f));
    storage::Metric m;
    KILN_ASSIGN_OR_RETURN(auto key, f.String("key"));
    KILN_ASSIGN_OR_RETURN(auto value, f.Double("value"));
    KILN_ASSIGN_OR_RETURN(auto ts, f.Int64("timestamp"));
    KILN_ASSIGN_OR_RETURN(auto step, f.Int64("step"));
    KILN_ASSIGN_OR_RETURN(auto model_id, f.String("model_id"));
    KILN_ASSIGN_OR_RETURN(auto dataset_name, f.String("dataset_name"));
    KILN_ASSIGN_OR_RETURN(auto dataset_digest, f.String("dataset_digest"));
    if (!key) return MissingParameter("key");
    if (!value) return MissingParameter("value");
    if (!ts) return MissingParameter("timestamp");
    m.key = *key;
    m.value = *value;
    m.timestamp = *ts;
    m.step = step.value_or(0);
    m.model_id = model_id.value_or("");
    m.dataset_name = dataset_name.value_or("");
    m.dataset_digest = dataset_digest.value_or("");
    KILN_RETURN_IF_ERROR(svc.LogMetric(id, m));
    return json::object();
  }));
  // log-parameter and set-tag carry the same {run_id, key, value} shape.
  auto key_value_route = [&r, &p](const std::string& path, auto apply) {
    AddRoute(r, "POST", p + path, Json([apply](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
      KILN_ASSIGN_OR_RETURN(auto id, RunIdOf(f));
      KILN_ASSIGN_OR_RETURN(auto key, f.String("key"));
      KILN_ASSIGN_OR_RETURN(auto value, f.String("value"));
      if (!key) return MissingParameter("key");
      if (!value) return MissingParameter("value");
      KILN_RETURN_IF_ERROR(apply(id, *key, *value));
      return json::object();
    }));
  };
  key_value_route("/runs/log-parameter", [&svc](const std::string& id, const std::string& k, const std::string& v) {
    return svc.LogParam(id, {k, v});
  });
  key_value_route("/runs/set-tag", [&svc](const std::string& id, const std::string& k, const std::string& v) {
    return svc.SetTag(id, {k, v});
  });
  AddRoute(r, "POST", p + "/runs/delete-tag", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, RunIdOf(f));
    KILN_ASSIGN_OR_RETURN(auto key, f.RequiredString("key"));
    KILN_RETURN_IF_ERROR(svc.DeleteTag(id, key));
    return json::object();
  }));
  AddRoute(r, "POST", p + "/runs/log-batch", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, RunIdOf(f));
    KILN_ASSIGN_OR_RETURN(auto metrics, DecodeMetrics(f));
    KILN_ASSIGN_OR_RETURN(auto params, DecodeParams(f));
    KILN_ASSIGN_OR_RETURN(auto tags, DecodeTags(f));
    KILN_RETURN_IF_ERROR(svc.LogBatch(id, metrics, params, tags));
    return json::object();
  }));
  AddRoute(r, "POST", p + "/runs/log-model", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, RunIdOf(f));
    KILN_ASSIGN_OR_RETURN(auto model_json, f.String("model_json"));
    if (!model_json) return MissingParameter("model_json");
    auto parsed = json::parse(*model_json, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      return InvalidArgument("Malformed model info. \n" + *model_json + "\n is not a valid JSON.");
    }
    for (const char* required : {"artifact_path", "flavors", "utc_time_created", "run_id"}) {
      if (!parsed.contains(required)) {
        return InvalidArgument(std::string("Model json is missing mandatory fields: ") + required);
      }
    }
    // MLflow keeps the list of models logged to a run in tag mlflow.log-model.history.
    KILN_ASSIGN_OR_RETURN(auto run, svc.GetRun(id));
    json history = json::array();
    for (const auto& t : run.tags) {
      if (t.key == "mlflow.log-model.history") {
        auto h = json::parse(t.value, nullptr, false);
        if (h.is_array()) history = std::move(h);
      }
    }
    history.push_back(parsed);
    KILN_RETURN_IF_ERROR(svc.SetTag(id, {"mlflow.log-model.history", Dump(history)}));
    return json::object();
  }));
  AddRoute(r, "POST", p + "/runs/log-inputs", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, RunIdOf(f));
    KILN_ASSIGN_OR_RETURN(auto datasets, DecodeDatasetInputs(f));
    KILN_ASSIGN_OR_RETURN(auto models_json, f.Objects("models"));
    std::vector<storage::ModelInput> models;
    for (const auto& m : models_json) {
      KILN_ASSIGN_OR_RETURN(auto mid, RequestFields::StringIn(m, "model_id", "models"));
      if (!mid) return MissingParameter("models.model_id");
      models.push_back({*mid});
    }
    KILN_RETURN_IF_ERROR(svc.LogInputs(id, datasets, models));
    return json::object();
  }));
  AddRoute(r, "POST", p + "/runs/outputs", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, RunIdOf(f));
    KILN_ASSIGN_OR_RETURN(auto models_json, f.Objects("models"));
    std::vector<storage::ModelOutput> models;
    for (const auto& m : models_json) {
      KILN_ASSIGN_OR_RETURN(auto mid, RequestFields::StringIn(m, "model_id", "models"));
      KILN_ASSIGN_OR_RETURN(auto step, RequestFields::Int64In(m, "step", "models"));
      if (!mid) return MissingParameter("models.model_id");
      models.push_back({*mid, step.value_or(0)});
    }
    KILN_RETURN_IF_ERROR(svc.LogOutputs(id, models));
    return json::object();
  }));
  auto search = Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    tracking::SearchRunsRequest req;
    KILN_ASSIGN_OR_RETURN(req.experiment_ids, f.StringList("experiment_ids"));
    KILN_RETURN_IF_ERROR(DecodeSearchPage(f, "run_view_type", req));
    KILN_ASSIGN_OR_RETURN(auto page, svc.SearchRuns(req));
    return RunsPage(page);
  });
  AddRoute(r, "POST", p + "/runs/search", search);
  AddRoute(r, "GET", p + "/runs/search", search);

  AddRoute(r, "GET", p + "/metrics/get-history", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, RunIdOf(f));
    KILN_ASSIGN_OR_RETURN(auto key, f.RequiredString("metric_key"));
    KILN_ASSIGN_OR_RETURN(auto max_results, f.Int64("max_results"));
    KILN_ASSIGN_OR_RETURN(auto token, f.String("page_token"));
    KILN_ASSIGN_OR_RETURN(auto page, svc.GetMetricHistory(id, key, max_results, token.value_or("")));
    json out = json::object();
    if (!page.items.empty()) {
      json arr = json::array();
      for (const auto& m : page.items) arr.push_back(MetricJson(m));
      out["metrics"] = std::move(arr);
    }
    if (!page.next_page_token.empty()) out["next_page_token"] = page.next_page_token;
    return out;
  }));
  AddRoute(r, "GET", p + "/metrics/get-history-bulk-interval", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    tracking::BulkIntervalRequest req;
    KILN_ASSIGN_OR_RETURN(req.run_ids, f.StringList("run_ids"));
    // MLflow checks run_ids before metric_key; clients match on this wording.
    if (req.run_ids.empty()) return MissingParameter("run_ids");
    KILN_ASSIGN_OR_RETURN(req.metric_key, f.RequiredString("metric_key"));
    KILN_ASSIGN_OR_RETURN(req.start_step, f.Int64("start_step"));
    KILN_ASSIGN_OR_RETURN(req.end_step, f.Int64("end_step"));
    KILN_ASSIGN_OR_RETURN(req.max_results, f.Int64("max_results"));
    KILN_ASSIGN_OR_RETURN(auto metrics, svc.GetMetricHistoryBulkInterval(req));
    json arr = json::array();
    for (const auto& m : metrics) arr.push_back(MetricJson(m, true));
    return json{{"metrics", std::move(arr)}};
  }));
}

void AddLoggedModelRoutes(net::Router& r, const std::string& p, TrackingService& svc) {
  AddRoute(r, "POST", p + "/logged-models", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto exp, f.RequiredString("experiment_id"));
    KILN_ASSIGN_OR_RETURN(auto name, f.String("name"));
    KILN_ASSIGN_OR_RETURN(auto type, f.String("model_type"));
    KILN_ASSIGN_OR_RETURN(auto source_run, f.String("source_run_id"));
    KILN_ASSIGN_OR_RETURN(auto tags, DecodeTags(f));
    KILN_ASSIGN_OR_RETURN(auto params, DecodeParams(f));
    KILN_ASSIGN_OR_RETURN(auto model, svc.CreateLoggedModel(exp, name.value_or(""), type.value_or(""),
                                                            source_run.value_or(""), tags, params));
    return json{{"model", LoggedModelJson(model)}};
  }));
  AddRoute(r, "POST", p + "/logged-models/search", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    tracking::SearchLoggedModelsRequest req;
    KILN_ASSIGN_OR_RETURN(req.experiment_ids, f.StringList("experiment_ids"));
    KILN_ASSIGN_OR_RETURN(auto filter, f.String("filter"));
    KILN_ASSIGN_OR_RETURN(req.max_results, f.Int64("max_results"));
    KILN_ASSIGN_OR_RETURN(auto token, f.String("page_token"));
    KILN_ASSIGN_OR_RETURN(auto order, f.Objects("order_by"));
    for (const auto& o : order) {
      tracking::LoggedModelOrderField field;
      KILN_ASSIGN_OR_RETURN(auto name, RequestFields::StringIn(o, "field_name", "order_by"));
      if (!name) return MissingParameter("order_by.field_name");
      field.field_name = *name;
      if (auto it = o.find("ascending"); it != o.end() && it->is_boolean()) field.ascending = it->get<bool>();
      KILN_ASSIGN_OR_RETURN(auto dn, RequestFields::StringIn(o, "dataset_name", "order_by"));
      KILN_ASSIGN_OR_RETURN(auto dd, RequestFields::StringIn(o, "dataset_digest", "order_by"));
      field.dataset_name = dn.value_or("");
      field.dataset_digest = dd.value_or("");
      req.order_by.push_back(std::move(field));
    }
    KILN_ASSIGN_OR_RETURN(auto datasets, f.Objects("datasets"));
    for (const auto& d : datasets) {
      KILN_ASSIGN_OR_RETURN(auto dn, RequestFields::StringIn(d, "dataset_name", "datasets"));
      KILN_ASSIGN_OR_RETURN(auto dd, RequestFields::StringIn(d, "dataset_digest", "datasets"));
      req.datasets.push_back({dn.value_or(""), dd.value_or("")});
    }
    req.filter = filter.value_or("");
    req.page_token = token.value_or("");
    KILN_ASSIGN_OR_RETURN(auto page, svc.SearchLoggedModels(req));
    json out = json::object();
    json arr = json::array();
    for (const auto& m : page.items) arr.push_back(LoggedModelJson(m));
    out["models"] = std::move(arr);
    if (!page.next_page_token.empty()) out["next_page_token"] = page.next_page_token;
    return out;
  }));
  AddRoute(r, "GET", p + "/logged-models/{model_id}", Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto allow_deleted, f.Bool("allow_deleted"));
    KILN_ASSIGN_OR_RETURN(auto model, svc.GetLoggedModel(std::string(req.PathParam("model_id")), allow_deleted.value_or(false)));
    return json{{"model", LoggedModelJson(model)}};
  }));
  AddRoute(r, "PATCH", p + "/logged-models/{model_id}", Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto status, f.String("status"));
    if (!status) return MissingParameter("status");
    KILN_ASSIGN_OR_RETURN(auto model, svc.FinalizeLoggedModel(std::string(req.PathParam("model_id")), *status));
    return json{{"model", LoggedModelJson(model)}};
  }));
  AddRoute(r, "DELETE", p + "/logged-models/{model_id}", Json([&svc](const RequestFields&, net::HttpRequest& req) -> StatusOr<json> {
    KILN_RETURN_IF_ERROR(svc.DeleteLoggedModel(std::string(req.PathParam("model_id"))));
    return json::object();
  }));
  AddRoute(r, "PATCH", p + "/logged-models/{model_id}/tags", Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto tags, DecodeTags(f));
    KILN_RETURN_IF_ERROR(svc.SetLoggedModelTags(std::string(req.PathParam("model_id")), tags));
    return json::object();
  }));
  AddRoute(r, "DELETE", p + "/logged-models/{model_id}/tags/{tag_key}", Json([&svc](const RequestFields&, net::HttpRequest& req) -> StatusOr<json> {
    KILN_RETURN_IF_ERROR(svc.DeleteLoggedModelTag(std::string(req.PathParam("model_id")), std::string(req.PathParam("tag_key"))));
    return json::object();
  }));
  AddRoute(r, "POST", p + "/logged-models/{model_id}/params", Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto params, DecodeParams(f));
    KILN_RETURN_IF_ERROR(svc.LogLoggedModelParams(std::string(req.PathParam("model_id")), params));
    return json::object();
  }));
}

}  // namespace kiln::api::mlflow
