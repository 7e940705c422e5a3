#include "api/mlflow/graphql_mlflow.h"

#include "api/mlflow/entity_json.h"
#include "registry/registry_json.h"

namespace kiln::api::mlflow {

using graphql::EnumType;
using graphql::FieldDef;
using graphql::InputField;
using graphql::InputType;
using graphql::ObjectType;
using graphql::Resolver;
using graphql::TypeUse;
using nlohmann::json;

namespace {

TypeUse T(const char* name) { return {name, false}; }
TypeUse L(const char* name) { return {name, true}; }

FieldDef F(const char* source, TypeUse type) {
  FieldDef f;
  f.source = source;
  f.type = std::move(type);
  return f;
}

// MLflow's responses carry apiError for Databricks; its server never sets it.
FieldDef ApiErrorField() {
  FieldDef f = F("apiError", T("ApiError"));
  f.name = "apiError";
  f.backed = false;
  return f;
}

FieldDef Root(const char* name, const char* type, const char* input_type, Resolver resolve) {
  FieldDef f;
  f.name = name;
  f.source = name;
  f.type = T(type);
  f.arguments = {InputField{"input", T(input_type), "input"}};
  f.resolve = std::move(resolve);
  return f;
}

FieldDef Unsupported(const char* name, const char* instead) {
  FieldDef f;
  f.name = name;
  f.source = name;
  f.type = T("String");
  f.unsupported = std::string("'") + name + "' is not supported by kiln's GraphQL endpoint; use " + instead + ".";
  return f;
}

ObjectType KeyValue(const char* name) { return {name, {F("key", T("String")), F("value", T("String"))}}; }

std::optional<std::string> Str(const json& input, const char* key) {
  auto it = input.find(key);
  if (it == input.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<int64_t> Int(const json& input, const char* key) {
  auto it = input.find(key);
  if (it == input.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

std::vector<std::string> Strings(const json& input, const char* key) {
  std::vector<std::string> out;
  auto it = input.find(key);
  if (it == input.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

const json& Input(const json& args) {
  static const json kEmpty = json::object();
  auto it = args.find("input");
  return (it != args.end() && it->is_object()) ? *it : kEmpty;
}

void AddTypes(graphql::Schema& s) {
  s.AddEnum({"MlflowRunStatus", {"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"}, "RUNNING"});
  s.AddEnum({"MlflowViewType", {"ACTIVE_ONLY", "DELETED_ONLY", "ALL"}, "ACTIVE_ONLY"});
  s.AddEnum({"MlflowModelVersionStatus", {"PENDING_REGISTRATION", "FAILED_REGISTRATION", "READY"},
             "PENDING_REGISTRATION"});
  s.AddEnum({"MlflowDeploymentJobConnectionState",
             {"DEPLOYMENT_JOB_CONNECTION_STATE_UNSPECIFIED", "NOT_SET_UP", "CONNECTED", "NOT_FOUND",
              "REQUIRED_PARAMETERS_CHANGED"},
             "DEPLOYMENT_JOB_CONNECTION_STATE_UNSPECIFIED"});
  s.AddEnum({"MlflowModelVersionDeploymentJobStateDeploymentJobRunState",
             {"DEPLOYMENT_JOB_RUN_STATE_UNSPECIFIED", "NO_VALID_DEPLOYMENT_JOB_FOUND", "RUNNING", "SUCCEEDED", "FAILED",
              "PENDING", "APPROVAL"},
             "DEPLOYMENT_JOB_RUN_STATE_UNSPECIFIED"});

  s.AddObject({"ErrorDetail", {F("field", T("String")), F("message", T("String"))}});
  s.AddObject({"ApiError",
               {F("code", T("String")), F("message", T("String")), F("help_url", T("String")),
                F("trace_id", T("String")), F("error_details", L("ErrorDetail"))}});
  s.AddObject({"MlflowRunInfo",
               {F("run_id", T("String")), F("run_uuid", T("String")), F("run_name", T("String")),
                F("experiment_id", T("String")), F("user_id", T("String")), F("status", T("MlflowRunStatus")),
                F("start_time", T("LongString")), F("end_time", T("LongString")), F("artifact_uri", T("String")),
                F("lifecycle_stage", T("String"))}});
  FieldDef metric_value = F("value", T("Float"));
  metric_value.nan_as_null = true;  // MLflow's MlflowMetricExtension.resolve_value
  s.AddObject({"MlflowMetricExtension",
               {F("key", T("String")), metric_value, F("timestamp", T("LongString")), F("step", T("LongString")),
                F("dataset_name", T("String")), F("dataset_digest", T("String")), F("model_id", T("String")),
                F("run_id", T("String"))}});
  s.AddObject(KeyValue("MlflowParam"));
  s.AddObject(KeyValue("MlflowRunTag"));
  s.AddObject(KeyValue("MlflowInputTag"));
  s.AddObject(KeyValue("MlflowExperimentTag"));
  s.AddObject(KeyValue("MlflowModelVersionTag"));
  s.AddObject({"MlflowRunData",
               {F("metrics", L("MlflowMetricExtension")), F("params", L("MlflowParam")), F("tags", L("MlflowRunTag"))}});
  s.AddObject({"MlflowDataset",
               {F("name", T("String")), F("digest", T("String")), F("source_type", T("String")),
                F("source", T("String")), F("schema", T("String")), F("profile", T("String"))}});
  s.AddObject({"MlflowDatasetInput", {F("tags", L("MlflowInputTag")), F("dataset", T("MlflowDataset"))}});
  s.AddObject({"MlflowModelInput", {F("model_id", T("String"))}});
  s.AddObject({"MlflowRunInputs", {F("dataset_inputs", L("MlflowDatasetInput")), F("model_inputs", L("MlflowModelInput"))}});
  s.AddObject({"MlflowModelOutput", {F("model_id", T("String")), F("step", T("LongString"))}});
  s.AddObject({"MlflowRunOutputs", {F("model_outputs", L("MlflowModelOutput"))}});
  s.AddObject({"MlflowExperiment",
               {F("experiment_id", T("String")), F("name", T("String")), F("artifact_location", T("String")),
                F("lifecycle_stage", T("String")), F("last_update_time", T("LongString")),
                F("creation_time", T("LongString")), F("tags", L("MlflowExperimentTag")),
                F("effective_trace_archival_retention", T("String")), F("workspace", T("String"))}});
  s.AddObject({"MlflowModelParam", {F("name", T("String")), F("value", T("String"))}});
  s.AddObject({"MlflowModelMetric",
               {F("key", T("String")), F("value", T("Float")), F("timestamp", T("LongString")),
                F("step", T("LongString")), F("dataset_name", T("String")), F("dataset_digest", T("String")),
                F("model_id", T("String")), F("run_id", T("String"))}});
  s.AddObject({"MlflowModelVersionDeploymentJobState",
               {F("job_id", T("String")), F("run_id", T("String")),
                F("job_state", T("MlflowDeploymentJobConnectionState")),
                F("run_state", T("MlflowModelVersionDeploymentJobStateDeploymentJobRunState")),
                F("current_task_name", T("String"))}});
  s.AddObject({"MlflowModelVersion",
               {F("name", T("String")), F("version", T("String")), F("creation_timestamp", T("LongString")),
                F("last_updated_timestamp", T("LongString")), F("user_id", T("String")),
                F("current_stage", T("String")), F("description", T("String")), F("source", T("String")),
                F("run_id", T("String")), F("status", T("MlflowModelVersionStatus")),
                F("status_message", T("String")), F("tags", L("MlflowModelVersionTag")), F("run_link", T("String")),
                F("aliases", L("String")), F("model_id", T("String")), F("model_params", L("MlflowModelParam")),
                F("model_metrics", L("MlflowModelMetric")),
                F("deployment_job_state", T("MlflowModelVersionDeploymentJobState"))}});
  s.AddObject({"MlflowMetricWithRunId",
               {F("key", T("String")), F("value", T("Float")), F("timestamp", T("LongString")),
                F("step", T("LongString")), F("run_id", T("String"))}});
  s.AddObject({"MlflowGetMetricHistoryBulkIntervalResponse", {F("metrics", L("MlflowMetricWithRunId")), ApiErrorField()}});
  s.AddObject({"MlflowGetExperimentResponse", {F("experiment", T("MlflowExperiment")), ApiErrorField()}});
  s.AddObject({"MlflowSearchModelVersionsResponse",
               {F("model_versions", L("MlflowModelVersion")), F("next_page_token", T("String")), ApiErrorField()}});
  s.AddObject({"Test", {F("output", T("String"))}});
  s.AddObject({"TestMutation", {F("output", T("String"))}});

  s.AddInput({"MlflowGetRunInput", {{"run_id", T("String")}, {"run_uuid", T("String")}}});
  s.AddInput({"MlflowGetExperimentInput", {{"experiment_id", T("String")}}});
  s.AddInput({"MlflowSearchRunsInput",
              {{"experiment_ids", L("String")},
               {"filter", T("String")},
               {"run_view_type", T("MlflowViewType")},
               {"max_results", T("Int")},
               {"order_by", L("String")},
               {"page_token", T("String")}}});
  s.AddInput({"MlflowGetMetricHistoryBulkIntervalInput",
              {{"run_ids", L("String")},
               {"metric_key", T("String")},
               {"start_step", T("Int")},
               {"end_step", T("Int")},
               {"max_results", T("Int")}}});
  s.AddInput({"MlflowSearchModelVersionsInput",
              {{"filter", T("String")},
               {"max_results", T("LongString")},
               {"order_by", L("String")},
               {"page_token", T("String")}}});
}

StatusOr<json> ModelVersionsPage(registry::RegistryService& registry, const registry::SearchRequest& req) {
  KILN_ASSIGN_OR_RETURN(auto page, registry.SearchModelVersions(req));
  json out = json::object();
  json arr = json::array();
  for (const auto& v : page.items) arr.push_back(registry::ModelVersionJson(v));
  out["model_versions"] = std::move(arr);
  if (!page.next_page_token.empty()) out["next_page_token"] = page.next_page_token;
  return out;
}

}  // namespace

std::unique_ptr<graphql::Schema> MakeMlflowGraphqlSchema(tracking::TrackingService& tracking,
                                                         registry::RegistryService& registry) {
  auto s = std::make_unique<graphql::Schema>();
  AddTypes(*s);
  // MLflow declares @component(name:) for Databricks' routing; it changes nothing.
  s->AcceptDirective("component");

  // MlflowRunExtension: a run plus its experiment and registered versions.
  FieldDef experiment = F("experiment", T("MlflowExperiment"));
  experiment.resolve = [&tracking](const json& run, const json&) -> StatusOr<json> {
    std::string id = run.value("info", json::object()).value("experiment_id", "");
    KILN_ASSIGN_OR_RETURN(auto exp, tracking.GetExperiment(id));
    return ExperimentJson(exp);
  };
  FieldDef versions = F("model_versions", L("MlflowModelVersion"));
  versions.resolve = [&registry](const json& run, const json&) -> StatusOr<json> {
    std::string id = run.value("info", json::object()).value("run_id", "");
    registry::SearchRequest req;
    req.filter = "run_id='" + id + "'";
    KILN_ASSIGN_OR_RETURN(auto page, ModelVersionsPage(registry, req));
    return page["model_versions"];
  };
  s->AddObject({"MlflowRunExtension",
                {F("info", T("MlflowRunInfo")), F("data", T("MlflowRunData")), F("inputs", T("MlflowRunInputs")),
                 F("outputs", T("MlflowRunOutputs")), experiment, versions}});
  s->AddObject({"MlflowGetRunResponse", {F("run", T("MlflowRunExtension")), ApiErrorField()}});
  s->AddObject({"MlflowSearchRunsResponse",
                {F("runs", L("MlflowRunExtension")), F("next_page_token", T("String")), ApiErrorField()}});

  Resolver get_run = [&tracking](const json&, const json& args) -> StatusOr<json> {
    const json& in = Input(args);
    std::string id = Str(in, "run_id").value_or("");
    if (id.empty()) id = Str(in, "run_uuid").value_or("");
    KILN_ASSIGN_OR_RETURN(auto run, tracking.GetRun(id));
    return json{{"run", RunJson(run)}};
  };
  Resolver search_runs = [&tracking](const json&, const json& args) -> StatusOr<json> {
    const json& in = Input(args);
    tracking::SearchRunsRequest req;
    req.experiment_ids = Strings(in, "experiment_ids");
    req.filter = Str(in, "filter").value_or("");
    req.view_type = Str(in, "run_view_type").value_or("");
    req.max_results = Int(in, "max_results");
    req.order_by = Strings(in, "order_by");
    req.page_token = Str(in, "page_token").value_or("");
    KILN_ASSIGN_OR_RETURN(auto page, tracking.SearchRuns(req));
    json runs = json::array();
    for (const auto& r : page.items) runs.push_back(RunJson(r));
    json out = {{"runs", std::move(runs)}};
    if (!page.next_page_token.empty()) out["next_page_token"] = page.next_page_token;
    return out;
  };
  Resolver get_experiment = [&tracking](const json&, const json& args) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto exp, tracking.GetExperiment(Str(Input(args), "experiment_id").value_or("")));
    return json{{"experiment", ExperimentJson(exp)}};
  };
  Resolver bulk_interval = [&tracking](const json&, const json& args) -> StatusOr<json> {
    const json& in = Input(args);
    tracking::BulkIntervalRequest req;
    req.run_ids = Strings(in, "run_ids");
    req.metric_key = Str(in, "metric_key").value_or("");
    req.start_step = Int(in, "start_step");
    req.end_step = Int(in, "end_step");
    req.max_results = Int(in, "max_results");
    KILN_ASSIGN_OR_RETURN(auto metrics, tracking.GetMetricHistoryBulkInterval(req));
    json arr = json::array();
    for (const auto& m : metrics) arr.push_back(MetricJson(m, true));
    return json{{"metrics", std::move(arr)}};
  };
  Resolver search_versions = [&registry](const json&, const json& args) -> StatusOr<json> {
    const json& in = Input(args);
    registry::SearchRequest req;
    req.filter = Str(in, "filter").value_or("");
    req.max_results = Int(in, "max_results");
    req.order_by = Strings(in, "order_by");
    req.page_token = Str(in, "page_token").value_or("");
    return ModelVersionsPage(registry, req);
  };
  auto echo = [](const char* name, const char* type) {
    FieldDef f;
    f.name = name;
    f.source = f.name;
    f.type = T(type);
    f.arguments = {InputField{"input_string", T("String"), "inputString"}};
    f.resolve = [](const json&, const json& args) -> StatusOr<json> {
      return json{{"output", args.contains("input_string") ? args["input_string"] : json(nullptr)}};
    };
    return f;
  };

  s->AddObject({"Query",
                {Root("mlflowGetExperiment", "MlflowGetExperimentResponse", "MlflowGetExperimentInput", get_experiment),
                 Root("mlflowGetMetricHistoryBulkInterval", "MlflowGetMetricHistoryBulkIntervalResponse",
                      "MlflowGetMetricHistoryBulkIntervalInput", bulk_interval),
                 Root("mlflowGetRun", "MlflowGetRunResponse", "MlflowGetRunInput", get_run),
                 Root("mlflowSearchModelVersions", "MlflowSearchModelVersionsResponse", "MlflowSearchModelVersionsInput",
                      search_versions),
                 Root("mlflowSearchRuns", "MlflowSearchRunsResponse", "MlflowSearchRunsInput", search_runs),
                 Unsupported("mlflowListArtifacts", "GET /ajax-api/2.0/mlflow/artifacts/list"), echo("test", "Test")}});
  s->AddObject({"Mutation",
                {Root("mlflowSearchRuns", "MlflowSearchRunsResponse", "MlflowSearchRunsInput", search_runs),
                 Unsupported("mlflowSearchDatasets", "runs/search and each run's inputs"), echo("testMutation", "TestMutation")}});
  s->SetRoots("Query", "Mutation");
  return s;
}

}  // namespace kiln::api::mlflow
