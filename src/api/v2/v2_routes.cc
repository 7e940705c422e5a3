#include "api/v2/v2_routes.h"

#include <algorithm>
#include <chrono>
#include <charconv>
#include <optional>

#include "api/v2/inference_call.h"
#include "api/v2/v2_access.h"
#include "api/v2/v2_codec.h"
#include "core/base64.h"
#include "core/release_later.h"

namespace kiln::api::v2 {

using nlohmann::json;
using serving::ModelRepository;

namespace {

net::HttpResponse RenderHttpError(unsigned status, std::string_view, std::string_view message) {
  return ErrorResponse(status, message);
}

net::Route& Add(net::Router& r, const std::string& method, const std::string& path, net::Handler h,
                net::Execution where = net::Execution::kPool) {
  auto& route = r.Add(method, path, std::move(h), where);
  route.render_error = RenderHttpError;
  return route;
}

// A load request may carry the model's files, base64-encoded in the JSON.
constexpr uint64_t kMaxLoadRequestBytes = 256ull << 20;

json SpecsJson(const std::vector<serving::TensorSpec>& specs) {
  json out = json::array();
  for (const auto& s : specs) {
    out.push_back({{"name", s.name}, {"datatype", serving::DataTypeName(s.dtype)}, {"shape", s.shape}});
  }
  return out;
}

std::string VersionParam(net::HttpRequest& req) {
  std::string_view v = req.PathParam("version");
  return std::string(v);
}

// The endpoint `req` names, when it names one without a version: nullopt
// for anything else (the repository's own models).
std::optional<StatusOr<serving::RoutedInference>> RouteEndpoint(const serving::EndpointRouter* endpoints,
                                                                const net::HttpRequest& req) {
  if (!endpoints || !req.PathParam("version").empty()) return std::nullopt;
  return endpoints->Route(req.PathParam("model"), [&req](std::string_view h) { return req.Header(h); });
}

net::HttpResponse Metadata(ModelRepository& repo, const serving::EndpointRouter* endpoints, net::HttpRequest& req) {
  std::string name(req.PathParam("model"));
  json versions = json::array();
  std::shared_ptr<const serving::ServedModel> served;
  // Metadata is no inference: the routed call's finished() is not called, so
  // the endpoint's statistics count inferences only.
  if (auto routed = RouteEndpoint(endpoints, req)) {
    if (!routed->ok()) return ErrorResponse(routed->status());
    served = (*routed)->model;
    versions.push_back(std::to_string(served->version));
  } else {
    auto model = repo.Get(name, VersionParam(req));
    if (!model.ok()) return ErrorResponse(model.status());
    served = *model;
    for (int64_t v : repo.Versions(name)) versions.push_back(std::to_string(v));
  }
  const auto& rt = *served->runtime;
  return JsonResponse({{"name", name},
                       {"versions", std::move(versions)},
                       {"platform", rt.backend()},
                       {"inputs", SpecsJson(rt.inputs())},
                       {"outputs", SpecsJson(rt.outputs())}});
}

// Triton's model configuration (perf_analyzer reads it): the batch
// dimension is implied by max_batch_size, so dims leave it out.
std::string TritonType(serving::DataType t) {
  std::string_view n = serving::DataTypeName(t);
  if (n == "BYTES") return "TYPE_STRING";
  return "TYPE_" + std::string(n);
}

json TritonTensors(const std::vector<serving::TensorSpec>& specs) {
  json out = json::array();
  for (const auto& s : specs) {
    std::vector<int64_t> dims(s.shape.begin() + (s.shape.empty() ? 0 : 1), s.shape.end());
    if (dims.empty()) dims.push_back(1);
    out.push_back({{"name", s.name}, {"data_type", TritonType(s.dtype)}, {"dims", dims}});
  }
  return out;
}

net::HttpResponse Config(ModelRepository& repo, const serving::EndpointRouter* endpoints, net::HttpRequest& req) {
  std::string name(req.PathParam("model"));
  std::shared_ptr<const serving::ServedModel> model;
  if (auto routed = RouteEndpoint(endpoints, req)) {
    if (!routed->ok()) return ErrorResponse(routed->status());
    model = (*routed)->model;
  } else {
    auto found = repo.Get(name, VersionParam(req));
    if (!found.ok()) return ErrorResponse(found.status());
    model = *found;
  }
  const auto& rt = *model->runtime;
  // Triton's max_batch_size is the most rows one execution takes: the batcher's limit.
  const serving::BatchingOptions& batching = model->batcher->options();
  return JsonResponse(
      {{"name", name},
       {"platform", rt.backend()},
       {"backend", rt.backend()},
       {"max_batch_size", batching.max_batch_rows},
       {"input", TritonTensors(rt.inputs())},
       {"output", TritonTensors(rt.outputs())},
       {"dynamic_batching",
        {{"max_queue_delay_microseconds", batching.max_queue_delay.count()},
         {"default_queue_policy", {{"max_queue_size", batching.max_queue}}}}},
       {"version_policy", {{"latest", {{"num_versions", 1}}}}}});
}

json Duration(uint64_t count, uint64_t ns) { return {{"count", count}, {"ns", ns}}; }

net::HttpResponse Stats(ModelRepository& repo, net::HttpRequest& req) {
  std::string name(req.PathParam("model"));
  std::string version = VersionParam(req);
  auto models = repo.Select(name, version);
  if (!models.ok()) return ErrorResponse(models.status());
  // Every model's statistics (no name): only those the caller may view.
  const VisibleModels visible(req);
  json stats = json::array();
  for (const auto& model : *models) {
    if (name.empty() && !visible(model->name)) continue;
    const serving::ModelStats& st = model->stats;
    const uint64_t executions = st.execution_count.load(std::memory_order_relaxed);
    stats.push_back({{"name", model->name},
                     {"version", std::to_string(model->version)},
                     {"last_inference", st.last_inference_ms.load(std::memory_order_relaxed)},
                     {"inference_count", st.inference_count.load(std::memory_order_relaxed)},
                     {"execution_count", executions},
                     {"inference_stats",
                      {{"success", Duration(st.success_count.load(), st.success_ns.load())},
                       {"fail", Duration(st.fail_count.load(), st.fail_ns.load())},
                       {"queue", Duration(executions, st.queue_ns.load())},
                       {"compute_input", Duration(executions, 0)},
                       {"compute_infer", Duration(executions, st.compute_ns.load())},
                       {"compute_output", Duration(executions, 0)}}},
                     {"batch_stats", json::array()}});
  }
  return JsonResponse({{"model_stats", std::move(stats)}});
}

net::HttpResponse Ready(ModelRepository& repo, const serving::EndpointRouter* endpoints, net::HttpRequest& req) {
  std::string name(req.PathParam("model"));
  if (auto routed = RouteEndpoint(endpoints, req)) {
    if (!routed->ok()) return ErrorResponse(routed->status());
    return JsonResponse({{"name", name}, {"ready", true}});
  }
  auto model = repo.Get(name, VersionParam(req));
  if (!model.ok()) return ErrorResponse(model.status());
  return JsonResponse({{"name", name}, {"ready", true}});
}

// Records the inference (api/v2/inference_call.h) with the outcome the
// response's status says, and passes the response on.
net::HttpResponse Finish(InferenceRecord& record, net::HttpResponse res) {
  record.Finish(res.status < 400 ? InferOutcome::kOk
                                 : (res.status < 500 ? InferOutcome::kBadRequest : InferOutcome::kError));
  return res;
}

// Triton's binary tensor extension: the JSON header's length, when present.
StatusOr<std::optional<size_t>> JsonHeaderLength(const net::HttpRequest& req) {
  std::string_view v = req.Header("inference-header-content-length");
  if (v.empty()) return std::optional<size_t>();
  size_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size()) {
    return InvalidArgument("Inference-Header-Content-Length '" + std::string(v) + "' is not a byte count");
  }
  return std::optional<size_t>(n);
}

// What the response needs besides the outputs.
struct ResponsePlan {
  std::string id;
  std::vector<std::string> wanted;  // empty: all outputs
  std::vector<std::string> binary;
  bool binary_all = false;
};

// Decodes and checks a request against the model; the inputs go to the batcher.
StatusOr<std::pair<std::vector<serving::Tensor>, ResponsePlan>> Prepare(const serving::ServedModel& served,
                                                                        const net::HttpRequest& req) {
  KILN_ASSIGN_OR_RETURN(std::optional<size_t> header_length, JsonHeaderLength(req));
  KILN_ASSIGN_OR_RETURN(InferRequest request, DecodeInferRequest(req.body, header_length));
  ResponsePlan plan;
  plan.id = request.id;
  for (const RequestedOutput& o : request.outputs) {
    plan.wanted.push_back(o.name);
    if (o.binary) plan.binary.push_back(o.name);
  }
  KILN_RETURN_IF_ERROR(CheckInferRequest(served, request.inputs, plan.wanted));
  plan.binary_all = request.binary_outputs && plan.wanted.empty();
  return std::make_pair(std::move(request.inputs), std::move(plan));
}

net::HttpResponse Respond(const std::string& model_name, const std::string& model_version, const ResponsePlan& plan,
                          std::vector<serving::Tensor> outputs) {
  if (!plan.wanted.empty()) {
    std::erase_if(outputs, [&](const serving::Tensor& t) {
      return std::find(plan.wanted.begin(), plan.wanted.end(), t.name) == plan.wanted.end();
    });
  }
  std::optional<size_t> json_length;
  std::string body =
      EncodeInferResponse(model_name, model_version, plan.id, outputs, plan.binary, plan.binary_all, &json_length);
  if (!json_length) return net::HttpResponse::Json(200, std::move(body));
  net::HttpResponse res;
  res.status = 200;
  res.content_type = "application/octet-stream";
  res.headers.emplace_back("Inference-Header-Content-Length", std::to_string(*json_length));
  res.body = std::move(body);
  return res;
}

// Runs on a worker: decodes, then queues the rows at the model's batcher,
// which answers from its own thread; the worker is free at once.
void Infer(ModelRepository& repo, serving::InferenceMetrics* metrics, const serving::EndpointRouter* endpoints,
           std::shared_ptr<net::HttpRequest> req, net::Responder respond) {
  std::shared_ptr<const serving::ServedModel> served;
  std::string model_name;
  std::function<void(std::vector<serving::Tensor>)> observe_inputs;
  // Through an endpoint the answer names the endpoint and the registered
  // version that answered, and the endpoint hears how the call ended
  // (finished() exactly once, server_error for 5xx answers).
  if (auto routed = RouteEndpoint(endpoints, *req)) {
    if (!routed->ok()) return respond(ErrorResponse(routed->status()));
    served = std::move((*routed)->model);
    model_name = std::move((*routed)->endpoint);
    observe_inputs = std::move((*routed)->inputs);
    const auto start = std::chrono::steady_clock::now();
    respond = [finished = std::move((*routed)->finished), start, respond = std::move(respond)](net::HttpResponse res) {
      finished(res.status >= 500, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      respond(std::move(res));
    };
  } else {
    auto model = repo.Get(std::string(req->PathParam("model")), VersionParam(*req));
    if (!model.ok()) return respond(ErrorResponse(model.status()));
    served = *model;
    model_name = served->name;
  }
  auto record = std::make_shared<InferenceRecord>(metrics, served);
  auto prepared = Prepare(*served, *req);
  if (!prepared.ok()) return respond(Finish(*record, ErrorResponse(prepared.status())));
  if (observe_inputs) observe_inputs(prepared->first);  // a copy: mirror and drift
  const auto& first = prepared->first.front();
  const int64_t rows = first.shape.size() > 1 ? first.shape[0] : 1;
  auto plan = std::make_shared<const ResponsePlan>(std::move(prepared->second));
  auto version = std::make_shared<const std::string>(std::to_string(served->version));
  auto name = std::make_shared<const std::string>(std::move(model_name));
  Status queued = served->batcher->Submit(
      std::move(prepared->first),
      [served, record, plan, rows, respond, name, version](StatusOr<std::vector<serving::Tensor>> out,
                                                           const serving::BatchTiming& timing) mutable {
        if (!out.ok()) {
          respond(Finish(*record, ErrorResponse(out.status())));
        } else {
          record->Computed(timing, rows);
          respond(Finish(*record, Respond(*name, *version, *plan, std::move(*out))));
        }
        // Unloaded or routed away meanwhile, this call may own the model's
        // last reference: never drop it on its own batcher's thread.
        ReleaseLater(std::move(record));
        ReleaseLater(std::move(served));
      });
  if (!queued.ok()) respond(Finish(*record, ErrorResponse(queued)));
}

struct LoadRequest {
  std::string model_uri;
  serving::LoadOverride override;
};

StatusOr<LoadRequest> DecodeLoadRequest(std::string_view body) {
  LoadRequest out;
  if (body.empty()) return out;
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return InvalidArgument("malformed JSON body");
  auto params = doc.find("parameters");
  if (params == doc.end()) return out;
  if (!params->is_object()) return InvalidArgument("'parameters' must be an object");
  for (const auto& [key, value] : params->items()) {
    if (key == "model_uri") {
      if (!value.is_string()) return InvalidArgument("parameters.model_uri must be a string");
      out.model_uri = value.get<std::string>();
    } else if (key == "config") {
      // tritonclient sends the config as JSON text; accept an object too.
      if (value.is_string()) {
        out.override.config = value.get<std::string>();
      } else if (value.is_object()) {
        out.override.config = value.dump();
      } else {
        return InvalidArgument("parameters.config must be a JSON model config");
      }
    } else if (key.starts_with("file:")) {
      if (!value.is_string()) return InvalidArgument("parameter '" + key + "' must be base64 text");
      std::optional<std::string> content = Base64Decode(value.get_ref<const std::string&>());
      if (!content) return InvalidArgument("parameter '" + key + "' is not valid base64");
      out.override.files[key.substr(5)] = std::move(*content);
    }
  }
  if (!out.model_uri.empty() && (!out.override.config.empty() || !out.override.files.empty())) {
    return InvalidArgument("parameters.model_uri cannot be combined with config or files");
  }
  return out;
}

}  // namespace

void AddV2Routes(net::Router& r, ModelRepository& repo, const std::string& server_version,
                 serving::InferenceMetrics* metrics, const serving::EndpointRouter* endpoints) {
  Add(r, "GET", "/v2", [server_version](net::HttpRequest&) {
    return JsonResponse({{"name", "kiln"}, {"version", server_version}, {"extensions", {"model_repository", "statistics", "binary_tensor_data", "model_configuration"}}});
  }, net::Execution::kInline);
  Add(r, "GET", "/v2/health/live", [](net::HttpRequest&) { return JsonResponse({{"live", true}}); },
      net::Execution::kInline);
  Add(r, "GET", "/v2/health/ready", [](net::HttpRequest&) { return JsonResponse({{"ready", true}}); },
      net::Execution::kInline);
  Add(r, "GET", "/v2/models", [&repo](net::HttpRequest& req) {
    const VisibleModels visible(req);
    json names = json::array();
    for (const auto& name : repo.ReadyModels()) {
      if (visible(name)) names.push_back(name);
    }
    return JsonResponse({{"models", std::move(names)}});
  });
  Add(r, "GET", "/v2/models/stats", [&repo](net::HttpRequest& req) { return Stats(repo, req); });
  for (const std::string base : {"/v2/models/{model}", "/v2/models/{model}/versions/{version}"}) {
    Add(r, "GET", base, [&repo, endpoints](net::HttpRequest& req) { return Metadata(repo, endpoints, req); });
    Add(r, "GET", base + "/ready", [&repo, endpoints](net::HttpRequest& req) { return Ready(repo, endpoints, req); });
    Add(r, "GET", base + "/config", [&repo, endpoints](net::HttpRequest& req) { return Config(repo, endpoints, req); });
    Add(r, "GET", base + "/stats", [&repo](net::HttpRequest& req) { return Stats(repo, req); });
    auto& infer = r.AddAsync("POST", base + "/infer",
                             [&repo, metrics, endpoints](std::shared_ptr<net::HttpRequest> req, net::Responder respond) {
                               Infer(repo, metrics, endpoints, std::move(req), std::move(respond));
                             });
    infer.render_error = RenderHttpError;
  }
  Add(r, "POST", "/v2/repository/index", [&repo](net::HttpRequest& req) {
    json out = json::array();
    const VisibleModels visible(req);
    for (const auto& m : repo.Index()) {
      if (!visible(m.name)) continue;
      json entry = {{"name", m.name}, {"state", m.state}};
      if (!m.version.empty()) entry["version"] = m.version;
      if (!m.reason.empty()) entry["reason"] = m.reason;
      out.push_back(std::move(entry));
    }
    return JsonResponse(out);
  });
  // Triton's load: parameters.config (a model config, JSON text) and model
  // files as "file:<version>/<name>" (base64), or kiln's
  // parameters.model_uri ("models:/fraud@champion") to serve a registered
  // version (the registry's copy) under this name.
  auto& load = Add(r, "POST", "/v2/repository/models/{model}/load", [&repo](net::HttpRequest& req) {
    std::string name(req.PathParam("model"));
    auto request = DecodeLoadRequest(req.body);
    if (!request.ok()) return ErrorResponse(request.status());
    Status s = request->model_uri.empty() ? repo.Load(name, request->override)
                                          : repo.LoadUri(name, request->model_uri);
    return s.ok() ? JsonResponse(json::object()) : ErrorResponse(s);
  });
  load.max_body_bytes = kMaxLoadRequestBytes;
  Add(r, "POST", "/v2/repository/models/{model}/unload", [&repo](net::HttpRequest& req) {
    Status s = repo.Unload(std::string(req.PathParam("model")));
    return s.ok() ? JsonResponse(json::object()) : ErrorResponse(s);
  });
}

}  // namespace kiln::api::v2
