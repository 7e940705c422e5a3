// MLflow 3 tracing: the v3 trace API (/api/3.0/mlflow/traces...), the MLflow 2
// trace routes the client and UI still call (/api/2.0/mlflow/traces...), the
// UI's trace-data download (get-trace-artifact) and the OTLP/HTTP span
// receiver (/v1/traces). Every route runs on the worker pool.
#include "api/mlflow/handler_util.h"
#include "api/mlflow/mlflow_routes.h"
#include "api/mlflow/proxied_artifacts.h"
#include "api/mlflow/routes_internal.h"
#include "api/mlflow/trace_json.h"
#include "api/mlflow/trace_otlp.h"

namespace kiln::api::mlflow {

using nlohmann::json;
using tracking::TraceService;

namespace {

constexpr const char* kTraceDataFile = "traces.json";

StatusOr<std::map<std::string, std::string>> KeyValues(const RequestFields& f, const std::string& key) {
  KILN_ASSIGN_OR_RETURN(auto tags, DecodeTags(f, key));
  std::map<std::string, std::string> out;
  for (auto& t : tags) out[t.key] = t.value;
  return out;
}

// One search page, each trace info in the shape of the API version asked (v2 or v3).
json TracePageJson(const tracking::PagedResult<tracking::TraceRecord>& page,
                   json (*encode)(const tracking::TraceRecord&)) {
  json arr = json::array();
  for (const auto& rec : page.items) arr.push_back(encode(rec));
  json out = {{"traces", std::move(arr)}};
  if (!page.next_page_token.empty()) out["next_page_token"] = page.next_page_token;
  return out;
}

json TracesJson(const std::vector<tracking::FullTrace>& traces) {
  json arr = json::array();
  for (const auto& t : traces) {
    json spans = json::array();
    for (const auto& s : t.spans) spans.push_back(SpanProtoJson(s));
    arr.push_back({{"trace_info", TraceInfoV3Json(t.record)}, {"spans", std::move(spans)}});
  }
  return arr;
}

StatusOr<tracking::DeleteTracesRequest> DecodeDelete(const RequestFields& f) {
  tracking::DeleteTracesRequest req;
  KILN_ASSIGN_OR_RETURN(req.experiment_id, f.RequiredString("experiment_id"));
  KILN_ASSIGN_OR_RETURN(req.max_timestamp_ms, f.Int64("max_timestamp_millis"));
  KILN_ASSIGN_OR_RETURN(req.max_traces, f.Int64("max_traces"));
  KILN_ASSIGN_OR_RETURN(req.trace_ids, f.StringList("request_ids"));
  return req;
}

Status DecodeSearchFields(const RequestFields& f, tracking::SearchTracesRequest& req) {
  KILN_ASSIGN_OR_RETURN(auto filter, f.String("filter"));
  KILN_ASSIGN_OR_RETURN(req.max_results, f.Int64("max_results"));
  KILN_ASSIGN_OR_RETURN(req.order_by, f.StringList("order_by"));
  KILN_ASSIGN_OR_RETURN(auto token, f.String("page_token"));
  req.filter = filter.value_or("");
  req.page_token = token.value_or("");
  return Status::Ok();
}

StatusOr<std::string> TraceIdParam(const net::HttpRequest& req, const char* name) {
  std::string id(req.PathParam(name));
  if (id.empty()) return MissingParameter(name);
  return id;
}

net::HttpResponse Unsupported(const std::string& what) {
  return ErrorResponse(Unimplemented(what + " is not supported by kiln"));
}

class StringSource final : public net::ResponseBodySource {
 public:
  explicit StringSource(std::unique_ptr<storage::ArtifactReader> reader) : reader_(std::move(reader)) {}
  int64_t size() const override { return reader_->size(); }
  StatusOr<size_t> Read(char* buffer, size_t capacity) override { return reader_->Read(buffer, capacity); }

 private:
  std::unique_ptr<storage::ArtifactReader> reader_;
};

net::HttpResponse Attachment(net::HttpResponse res, const std::string& name) {
  res.content_type = "application/octet-stream";
  res.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + "\"");
  return res;
}

// The trace-data download MLflow's UI uses: spans from the store when they
// are there, otherwise the traces.json (or an attachment) the client
// uploaded under the trace's artifact location.
net::HttpResponse GetTraceArtifact(TraceService& traces, storage::ArtifactStore& artifacts, net::HttpRequest& req) {
  std::string request_id(req.QueryValue("request_id"));
  if (request_id.empty()) {
    return RenderHttpLayerError(400, "BAD_REQUEST", "Request must include the \"request_id\" query parameter.");
  }
  auto record = traces.GetTraceInfo(request_id);
  if (!record.ok()) return ErrorResponse(record.status());
  std::string path(req.QueryValue("path"));
  const auto& tags = record->info.tags;
  auto spans_loc = tags.find(tracking::kSpansLocationTag);
  if (path.empty() && spans_loc != tags.end() && spans_loc->second == tracking::kSpansInTrackingStore) {
    auto full = traces.GetTrace(request_id, /*allow_partial=*/true);
    if (!full.ok()) return ErrorResponse(full.status());
    json spans = json::array();
    for (const auto& s : full->spans) spans.push_back(SpanDict(s));
    return Attachment(net::HttpResponse::Json(200, Dump(json{{"spans", std::move(spans)}})), kTraceDataFile);
  }
  auto loc = tags.find(tracking::kArtifactLocationTag);
  std::optional<std::string> root = loc == tags.end() ? std::nullopt : ProxiedArtifactPath(loc->second);
  if (!root) {
    return ErrorResponse(FailedPrecondition("The data of trace '" + request_id +
                                            "' is not held by this server's artifact store"));
  }
  std::string rel;
  if (path.empty()) {
    rel = *root + "/" + kTraceDataFile;
  } else {
    if (path.find("..") != std::string::npos || path.front() == '/' || path.find('\\') != std::string::npos) {
      return ErrorResponse(InvalidArgument("Invalid path '" + path + "'"));
    }
    rel = *root + "/attachments/" + path;
  }
  auto reader = artifacts.OpenReader(rel);
  if (!reader.ok()) {
    if (reader.status().code() == StatusCode::kNotFound) {
      return ErrorResponse(NotFound("Trace data of '" + request_id + "' was not found (" + rel + ")"));
    }
    return ErrorResponse(reader.status());
  }
  net::HttpResponse res;
  res.stream = std::make_unique<StringSource>(std::move(reader).value());
  return Attachment(std::move(res), path.empty() ? kTraceDataFile : path.substr(path.rfind('/') + 1));
}

net::HttpResponse ExportOtlp(TraceService& traces, net::HttpRequest& req) {
  std::string experiment_id(req.Header("x-mlflow-experiment-id"));
  if (experiment_id.empty()) {
    return ErrorResponse(InvalidArgument("Missing required header 'X-MLflow-Experiment-Id'"));
  }
  std::string_view ct = req.Header("content-type");
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  OtlpEncoding encoding;
  if (ct == "application/x-protobuf") {
    encoding = OtlpEncoding::kProtobuf;
  } else if (ct == "application/json") {
    encoding = OtlpEncoding::kJson;
  } else {
    return ErrorResponse(InvalidArgument("Invalid Content-Type: " + std::string(ct) +
                                         ". Expected: application/x-protobuf or application/json"));
  }
  std::string_view ce = req.Header("content-encoding");
  if (!ce.empty() && ce != "identity") {
    return ErrorResponse(InvalidArgument("Content-Encoding '" + std::string(ce) +
                                         "' is not supported by kiln's OTLP receiver; send uncompressed bodies"));
  }
  auto spans = DecodeOtlpTraces(req.body, encoding, traces.limits().max_spans_per_request);
  if (!spans.ok()) return ErrorResponse(spans.status());
  std::string run_id(req.Header("x-mlflow-run-id"));
  if (Status s = traces.LogSpans(experiment_id, std::move(*spans), run_id); !s.ok()) return ErrorResponse(s);
  net::HttpResponse res;
  res.content_type = "application/x-protobuf";
  res.body = OtlpSuccessResponse();
  return res;
}

void AddV3Routes(net::Router& r, const std::string& p, TraceService& svc) {
  AddRoute(r, "POST", p + "/traces", Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    auto body = json::parse(req.body, nullptr, false);
    if (!f.Has("trace") || !body.is_object() || !body["trace"].is_object()) return MissingParameter("trace");
    const json& trace = body["trace"];
    if (auto spans = trace.find("spans"); spans != trace.end() && spans->is_array() && !spans->empty()) {
      return InvalidArgument("StartTraceV3 with inline spans is not supported by kiln; export spans to /v1/traces");
    }
    std::vector<storage::Assessment> assessments;
    KILN_ASSIGN_OR_RETURN(auto info, DecodeTraceInfoV3(trace.value("trace_info", json()), &assessments));
    KILN_ASSIGN_OR_RETURN(auto record, svc.StartTrace(std::move(info), std::move(assessments)));
    return json{{"trace", {{"trace_info", TraceInfoV3Json(record)}}}};
  }));
  AddRoute(r, "GET", p + "/traces/get", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, f.RequiredString("trace_id"));
    KILN_ASSIGN_OR_RETURN(auto partial, f.Bool("allow_partial"));
    KILN_ASSIGN_OR_RETURN(auto full, svc.GetTrace(id, partial.value_or(false)));
    return json{{"trace", TracesJson({full})[0]}};
  }));
  AddRoute(r, "GET", p + "/traces/batchGet", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto ids, f.StringList("trace_ids"));
    if (ids.empty()) return MissingParameter("trace_ids");
    KILN_ASSIGN_OR_RETURN(auto traces, svc.BatchGetTraces(ids));
    return json{{"traces", TracesJson(traces)}};
  }));
  AddRoute(r, "POST", p + "/traces/batchGetInfos",
           Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
             KILN_ASSIGN_OR_RETURN(auto ids, f.StringList("trace_ids"));
             if (ids.empty()) return MissingParameter("trace_ids");
             KILN_ASSIGN_OR_RETURN(auto records, svc.BatchGetTraceInfos(ids));
             json arr = json::array();
             for (const auto& rec : records) arr.push_back(TraceInfoV3Json(rec));
             return json{{"trace_infos", std::move(arr)}};
           }));
  AddRoute(r, "POST", p + "/traces/search", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    tracking::SearchTracesRequest req;
    KILN_ASSIGN_OR_RETURN(auto locations, f.Objects("locations"));
    if (locations.empty()) return MissingParameter("locations");
    for (size_t i = 0; i < locations.size(); ++i) {
      auto exp = locations[i].find("mlflow_experiment");
      if (exp == locations[i].end() || !exp->is_object()) {
        return InvalidArgument("kiln searches traces in MLflow experiments only (locations[" + std::to_string(i) + "])");
      }
      KILN_ASSIGN_OR_RETURN(auto id, RequestFields::StringIn(*exp, "experiment_id", "locations.mlflow_experiment"));
      if (!id || id->empty()) return MissingParameter("locations.mlflow_experiment.experiment_id");
      req.experiment_ids.push_back(*id);
    }
    KILN_RETURN_IF_ERROR(DecodeSearchFields(f, req));
    KILN_ASSIGN_OR_RETURN(auto page, svc.SearchTraces(req));
    return TracePageJson(page, TraceInfoV3Json);
  }));
  AddRoute(r, "POST", p + "/traces/delete-traces",
           Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
             KILN_ASSIGN_OR_RETURN(auto req, DecodeDelete(f));
             KILN_ASSIGN_OR_RETURN(int64_t n, svc.DeleteTraces(req));
             return json{{"traces_deleted", n}};
           }));
  AddRoute(r, "GET", p + "/traces/{trace_id}", Json([&svc](const RequestFields&, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, TraceIdParam(req, "trace_id"));
    KILN_ASSIGN_OR_RETURN(auto record, svc.GetTraceInfo(id));
    return json{{"trace", {{"trace_info", TraceInfoV3Json(record)}}}};
  }));
  AddRoute(r, "POST", p + "/traces/{trace_id}/assessments",
           Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
             KILN_ASSIGN_OR_RETURN(auto id, TraceIdParam(req, "trace_id"));
             auto body = json::parse(req.body, nullptr, false);
             if (!f.Has("assessment") || !body.is_object()) return MissingParameter("assessment");
             KILN_ASSIGN_OR_RETURN(auto a, DecodeAssessment(body["assessment"], "assessment"));
             a.trace_id = id;
             a.assessment_id.clear();  // the server assigns ids
             KILN_ASSIGN_OR_RETURN(auto created, svc.CreateAssessment(std::move(a)));
             return json{{"assessment", AssessmentJson(created)}};
           }));
  const std::string one = p + "/traces/{trace_id}/assessments/{assessment_id}";
  AddRoute(r, "GET", one, Json([&svc](const RequestFields&, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto a, svc.GetAssessment(std::string(req.PathParam("trace_id")),
                                                    std::string(req.PathParam("assessment_id"))));
    return json{{"assessment", AssessmentJson(a)}};
  }));
  AddRoute(r, "PATCH", one, Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    auto body = json::parse(req.body, nullptr, false);
    if (!f.Has("assessment") || !body.is_object() || !body["assessment"].is_object()) {
      return MissingParameter("assessment");
    }
    if (!f.Has("update_mask")) return MissingParameter("update_mask");
    const json& a = body["assessment"];
    // FieldMask's JSON form is one comma-separated string of camelCase paths.
    std::vector<std::string> paths;
    const json& mask = body["update_mask"];
    std::string joined = mask.is_string() ? mask.get<std::string>()
                         : mask.is_object() && mask.contains("paths") && mask["paths"].is_array()
                             ? [&] {
                                 std::string s;
                                 for (const auto& p : mask["paths"]) s += (s.empty() ? "" : ",") + p.get<std::string>();
                                 return s;
                               }()
                             : "";
    for (size_t start = 0; start <= joined.size();) {
      size_t comma = joined.find(',', start);
      std::string path = joined.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!path.empty()) paths.push_back(path);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    tracking::AssessmentUpdate u;
    for (const auto& path : paths) {
      if (path == "assessment_name" || path == "assessmentName") {
        KILN_ASSIGN_OR_RETURN(auto name, RequestFields::StringIn(a, "assessment_name", "assessment"));
        u.name = name.value_or("");
      } else if (path == "feedback") {
        if (!a.contains("feedback") || !a["feedback"].is_object()) return MissingParameter("assessment.feedback");
        u.feedback_json = a["feedback"].dump();
      } else if (path == "expectation") {
        if (!a.contains("expectation") || !a["expectation"].is_object()) return MissingParameter("assessment.expectation");
        u.expectation_json = a["expectation"].dump();
      } else if (path == "rationale") {
        KILN_ASSIGN_OR_RETURN(auto rationale, RequestFields::StringIn(a, "rationale", "assessment"));
        u.rationale = rationale.value_or("");
      } else if (path == "metadata") {
        std::map<std::string, std::string> md;
        if (auto m = a.find("metadata"); m != a.end() && m->is_object()) {
          for (auto it = m->begin(); it != m->end(); ++it) {
            if (!it->is_string()) return InvalidArgument("assessment.metadata values must be strings");
            md[it.key()] = it->get<std::string>();
          }
        }
        u.metadata = std::move(md);
      } else if (path == "valid") {
        u.valid = a.value("valid", false);
      } else {
        return InvalidArgument("Unsupported update_mask path '" + path + "'");
      }
    }
    KILN_ASSIGN_OR_RETURN(auto updated, svc.UpdateAssessment(std::string(req.PathParam("trace_id")),
                                                             std::string(req.PathParam("assessment_id")), u));
    return json{{"assessment", AssessmentJson(updated)}};
  }));
  AddRoute(r, "DELETE", one, Json([&svc](const RequestFields&, net::HttpRequest& req) -> StatusOr<json> {
    KILN_RETURN_IF_ERROR(svc.DeleteAssessment(std::string(req.PathParam("trace_id")),
                                              std::string(req.PathParam("assessment_id"))));
    return json::object();
  }));
  for (const char* op : {"link-to-run", "link-prompts", "metrics", "calculate-filter-correlation"}) {
    std::string what = std::string("POST /mlflow/traces/") + op;
    AddRoute(r, "POST", p + "/traces/" + op, [what](net::HttpRequest&) { return Unsupported(what); });
  }
}

void AddTagRoutes(net::Router& r, const std::string& p, TraceService& svc, const char* id_name) {
  const std::string path = p + "/traces/{" + id_name + "}/tags";
  std::string id_key = id_name;
  AddRoute(r, "PATCH", path, Json([&svc, id_key](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, TraceIdParam(req, id_key.c_str()));
    KILN_ASSIGN_OR_RETURN(auto key, f.RequiredString("key"));
    KILN_ASSIGN_OR_RETURN(auto value, f.String("value"));
    KILN_RETURN_IF_ERROR(svc.SetTraceTag(id, key, value.value_or("")));
    return json::object();
  }));
  AddRoute(r, "DELETE", path, Json([&svc, id_key](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto id, TraceIdParam(req, id_key.c_str()));
    KILN_ASSIGN_OR_RETURN(auto key, f.RequiredString("key"));
    KILN_RETURN_IF_ERROR(svc.DeleteTraceTag(id, key));
    return json::object();
  }));
}

void AddV2Routes(net::Router& r, const std::string& p, TraceService& svc) {
  AddRoute(r, "POST", p + "/traces", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto exp, f.RequiredString("experiment_id"));
    KILN_ASSIGN_OR_RETURN(auto ts, f.Int64("timestamp_ms"));
    if (!ts) return MissingParameter("timestamp_ms");
    KILN_ASSIGN_OR_RETURN(auto metadata, KeyValues(f, "request_metadata"));
    KILN_ASSIGN_OR_RETURN(auto tags, KeyValues(f, "tags"));
    KILN_ASSIGN_OR_RETURN(auto record, svc.StartTraceV2(exp, *ts, metadata, tags));
    return json{{"trace_info", TraceInfoV2Json(record)}};
  }));
  AddRoute(r, "PATCH", p + "/traces/{request_id}",
           Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
             KILN_ASSIGN_OR_RETURN(auto id, TraceIdParam(req, "request_id"));
             KILN_ASSIGN_OR_RETURN(auto ts, f.Int64("timestamp_ms"));
             if (!ts) return MissingParameter("timestamp_ms");
             KILN_ASSIGN_OR_RETURN(auto status, f.String("status"));
             std::string state = StateFromV2Status(status.value_or(""));
             if (state != storage::kTraceStateUnspecified && state != storage::kTraceStateOk &&
                 state != storage::kTraceStateError && state != storage::kTraceStateInProgress) {
               return InvalidArgument("Invalid value '" + state + "' for parameter 'status'");
             }
             KILN_ASSIGN_OR_RETURN(auto metadata, KeyValues(f, "request_metadata"));
             KILN_ASSIGN_OR_RETURN(auto tags, KeyValues(f, "tags"));
             KILN_ASSIGN_OR_RETURN(auto record, svc.EndTraceV2(id, *ts, state, metadata, tags));
             return json{{"trace_info", TraceInfoV2Json(record)}};
           }));
  AddRoute(r, "GET", p + "/traces/{request_id}/info",
           Json([&svc](const RequestFields&, net::HttpRequest& req) -> StatusOr<json> {
             KILN_ASSIGN_OR_RETURN(auto id, TraceIdParam(req, "request_id"));
             KILN_ASSIGN_OR_RETURN(auto record, svc.GetTraceInfo(id));
             return json{{"trace_info", TraceInfoV2Json(record)}};
           }));
  AddRoute(r, "GET", p + "/traces", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    tracking::SearchTracesRequest req;
    KILN_ASSIGN_OR_RETURN(req.experiment_ids, f.StringList("experiment_ids"));
    if (req.experiment_ids.empty()) return MissingParameter("experiment_ids");
    KILN_RETURN_IF_ERROR(DecodeSearchFields(f, req));
    KILN_ASSIGN_OR_RETURN(auto page, svc.SearchTraces(req));
    return TracePageJson(page, TraceInfoV2Json);
  }));
  AddRoute(r, "POST", p + "/traces/delete-traces",
           Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
             KILN_ASSIGN_OR_RETURN(auto req, DecodeDelete(f));
             KILN_ASSIGN_OR_RETURN(int64_t n, svc.DeleteTraces(req));
             return json{{"traces_deleted", n}};
           }));
  for (const char* op : {"link-to-run", "link-prompts"}) {
    std::string what = std::string("POST /mlflow/traces/") + op;
    AddRoute(r, "POST", p + "/traces/" + op, [what](net::HttpRequest&) { return Unsupported(what); });
  }
}

}  // namespace

void AddTraceRoutes(net::Router& router, TraceService& traces, storage::ArtifactStore& artifacts) {
  for (const std::string base : {"/api/3.0/mlflow", "/ajax-api/3.0/mlflow"}) {
    AddV3Routes(router, base, traces);
    AddTagRoutes(router, base, traces, "trace_id");
  }
  for (const std::string base : {"/api/2.0/mlflow", "/ajax-api/2.0/mlflow"}) {
    AddV2Routes(router, base, traces);
    AddTagRoutes(router, base, traces, "request_id");
    AddRoute(router, "GET", base + "/get-trace-artifact",
             [&traces, &artifacts](net::HttpRequest& req) { return GetTraceArtifact(traces, artifacts, req); });
  }
  AddRoute(router, "POST", "/v1/traces", [&traces](net::HttpRequest& req) { return ExportOtlp(traces, req); });
}

}  // namespace kiln::api::mlflow
