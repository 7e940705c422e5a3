// POST /api/v1/endpoints/{name}/predict and the capture it feeds, GET
// /api/v1/endpoints/{name}/predictions (JSON pages or JSON lines).
//
// Predict is a deferred route: the worker decodes the body, reads the
// endpoint's sticky header and capture share from its live snapshot (memory
// only), and hands the call to the PredictService, which answers from the
// model batcher's thread; no worker waits for the model. A small body starts
// on the I/O thread instead (PredictService runs cheap rows in place there);
// what would block there (a Redis read, many entity rows) starts again on a
// worker.
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "api/platform/endpoint_json.h"
#include "api/platform/routes_internal.h"
#include "deploy/capture_store.h"
#include "features/feature_registry.h"
#include "features/value_json.h"

namespace kiln::api::platform {
namespace {

using nlohmann::json;
using ojson = nlohmann::ordered_json;

constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

// What starts on the I/O thread: a body this small decodes in microseconds,
// and this many entity rows read from memory in about as long.
constexpr size_t kInlineMaxBody = 16 * 1024;
constexpr size_t kInlineMaxEntityRows = 16;

// One model input value: a number, a boolean (1/0) or null (missing, NaN:
// the models kiln serves treat it as missing, as pandas' NaN is for MLflow).
StatusOr<double> InputValue(const ojson& v, const std::string& path) {
  if (v.is_number()) return v.get<double>();
  if (v.is_boolean()) return v.get<bool>() ? 1.0 : 0.0;
  if (v.is_null()) return kMissing;
  return InvalidArgument(path + " must be a number or null (got " + v.dump() + ")");
}

// {"col": [..], ...} (columns; scalars: one row), [[..], ..] (positional
// rows in the signature's order) or [{"col": v}, ..] (records; a key absent
// from a record is missing).
Status DecodeInputs(const ojson& in, deploy::PredictRequest* out) {
  if (in.is_object()) {
    if (in.empty()) return InvalidArgument("inputs has no columns");
    bool scalars = false;
    size_t rows = 0;
    bool first = true;
    for (const auto& [name, col] : in.items()) {
      const bool scalar = !col.is_array();
      if (first) {
        scalars = scalar;
        rows = scalar ? 1 : col.size();
      } else if (scalar != scalars || (!scalar && col.size() != rows)) {
        return InvalidArgument("inputs columns have different lengths (inputs." + name + " has " +
                               std::to_string(scalar ? 1 : col.size()) + " values, expected " + std::to_string(rows) + ")");
      }
      first = false;
      out->columns.push_back(name);
    }
    if (rows == 0) return InvalidArgument("inputs columns are empty");
    const size_t width = out->columns.size();
    out->values.assign(rows * width, kMissing);
    size_t c = 0;
    for (const auto& [name, col] : in.items()) {
      for (size_t r = 0; r < rows; ++r) {
        const ojson& v = scalars ? col : col[r];
        KILN_ASSIGN_OR_RETURN(out->values[r * width + c],
                              InputValue(v, "inputs." + name + (scalars ? "" : "[" + std::to_string(r) + "]")));
      }
      ++c;
    }
    out->rows = static_cast<int64_t>(rows);
    return Status::Ok();
  }
  if (!in.is_array() || in.empty()) {
    return InvalidArgument("inputs must be columns {\"col\": [..]}, rows [[..], ..] or records [{\"col\": v}, ..]");
  }
  if (in[0].is_object()) {
    std::map<std::string, size_t> index;
    for (size_t r = 0; r < in.size(); ++r) {
      if (!in[r].is_object()) return InvalidArgument("inputs[" + std::to_string(r) + "] must be an object like inputs[0]");
      for (const auto& [name, v] : in[r].items()) {
        if (index.emplace(name, out->columns.size()).second) out->columns.push_back(name);
      }
    }
    const size_t width = out->columns.size();
    if (width == 0) return InvalidArgument("inputs records have no fields");
    out->values.assign(in.size() * width, kMissing);
    for (size_t r = 0; r < in.size(); ++r) {
      for (const auto& [name, v] : in[r].items()) {
        KILN_ASSIGN_OR_RETURN(out->values[r * width + index[name]],
                              InputValue(v, "inputs[" + std::to_string(r) + "]." + name));
      }
    }
    out->rows = static_cast<int64_t>(in.size());
    return Status::Ok();
  }
  const size_t width = in[0].is_array() ? in[0].size() : 0;
  if (width == 0) return InvalidArgument("inputs[0] must be a non-empty array of values (a row)");
  out->values.reserve(in.size() * width);
  for (size_t r = 0; r < in.size(); ++r) {
    const std::string path = "inputs[" + std::to_string(r) + "]";
    if (!in[r].is_array()) return InvalidArgument(path + " must be an array of values (a row)");
    if (in[r].size() != width) {
      return InvalidArgument(path + " has " + std::to_string(in[r].size()) + " values, inputs[0] has " + std::to_string(width));
    }
    for (size_t c = 0; c < width; ++c) {
      KILN_ASSIGN_OR_RETURN(double d, InputValue(in[r][c], path + "[" + std::to_string(c) + "]"));
      out->values.push_back(d);
    }
  }
  out->rows = static_cast<int64_t>(in.size());
  return Status::Ok();
}

// {"join_key": [v, ..]} (or one scalar per key: one row).
Status DecodeEntities(const ojson& in, deploy::PredictRequest* out) {
  if (!in.is_object() || in.empty()) return InvalidArgument("entities must be an object of join key -> values");
  size_t rows = 0;
  bool first = true;
  for (const auto& [key, col] : in.items()) {
    const json values = json::parse(col.dump());  // RequestValueFromJson takes the unordered type
    std::vector<features::RequestValue> decoded;
    if (values.is_array()) {
      for (size_t i = 0; i < values.size(); ++i) {
        KILN_ASSIGN_OR_RETURN(features::RequestValue v,
                              features::RequestValueFromJson(values[i], "entities." + key + "[" + std::to_string(i) + "]"));
        decoded.push_back(std::move(v));
      }
    } else {
      KILN_ASSIGN_OR_RETURN(features::RequestValue v, features::RequestValueFromJson(values, "entities." + key));
      decoded.push_back(std::move(v));
    }
    if (decoded.empty()) return InvalidArgument("entities." + key + " is empty");
    if (!first && decoded.size() != rows) {
      return InvalidArgument("entities have different lengths (entities." + key + " has " +
                             std::to_string(decoded.size()) + " values, expected " + std::to_string(rows) + ")");
    }
    rows = decoded.size();
    first = false;
    out->entities.emplace_back(key, std::move(decoded));
  }
  return Status::Ok();
}

StatusOr<deploy::PredictRequest> DecodePredict(const std::string& name, std::string_view body) {
  ojson j = ojson::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("the request body is not valid JSON");
  if (!j.is_object()) return InvalidArgument("the request body must be a JSON object");
  deploy::PredictRequest req;
  req.endpoint = name;
  for (const auto& [key, value] : j.items()) {
    if (key != "inputs" && key != "entities" && key != "return_features") {
      return InvalidArgument("unknown field '" + key + "' (expected inputs, entities, return_features)");
    }
  }
  const bool has_inputs = j.contains("inputs"), has_entities = j.contains("entities");
  if (has_inputs == has_entities) return InvalidArgument("give exactly one of inputs or entities");
  if (has_inputs) KILN_RETURN_IF_ERROR(DecodeInputs(j["inputs"], &req));
  if (has_entities) KILN_RETURN_IF_ERROR(DecodeEntities(j["entities"], &req));
  if (auto it = j.find("return_features"); it != j.end()) {
    if (!it->is_boolean()) return InvalidArgument("return_features must be true or false");
    req.return_features = it->get<bool>();
  }
  return req;
}

template <typename T>
T Load(const serving::Tensor& t, int64_t i) {
  T v;
  std::memcpy(&v, t.data.data() + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return v;
}

json Finite(double d) { return std::isfinite(d) ? json(d) : json(nullptr); }

// One output as JSON: [rows] values, or [rows][k] nested per row.
json TensorJson(const serving::Tensor& t) {
  using serving::DataType;
  const int64_t n = t.ElementCount();
  std::vector<json> flat;
  flat.reserve(static_cast<size_t>(std::max<int64_t>(n, 0)));
  if (t.dtype == DataType::kBytes) {
    size_t at = 0;
    for (int64_t i = 0; i < n && at + 4 <= t.data.size(); ++i) {
      uint32_t len;
      std::memcpy(&len, t.data.data() + at, 4);
      at += 4;
      if (at + len > t.data.size()) break;
      flat.emplace_back(std::string(t.data.data() + at, len));
      at += len;
    }
  } else {
    if (static_cast<size_t>(n) * serving::ElementSize(t.dtype) > t.data.size()) return json::array();
    for (int64_t i = 0; i < n; ++i) {
      switch (t.dtype) {
        case DataType::kBool: flat.emplace_back(Load<uint8_t>(t, i) != 0); break;
        case DataType::kUint8: flat.emplace_back(Load<uint8_t>(t, i)); break;
        case DataType::kUint16: flat.emplace_back(Load<uint16_t>(t, i)); break;
        case DataType::kUint32: flat.emplace_back(Load<uint32_t>(t, i)); break;
        case DataType::kUint64: flat.emplace_back(Load<uint64_t>(t, i)); break;
        case DataType::kInt8: flat.emplace_back(Load<int8_t>(t, i)); break;
        case DataType::kInt16: flat.emplace_back(Load<int16_t>(t, i)); break;
        case DataType::kInt32: flat.emplace_back(Load<int32_t>(t, i)); break;
        case DataType::kInt64: flat.emplace_back(Load<int64_t>(t, i)); break;
        case DataType::kFp32: flat.push_back(Finite(Load<float>(t, i))); break;
        case DataType::kFp64: flat.push_back(Finite(Load<double>(t, i))); break;
        default: flat.emplace_back(nullptr); break;  // FP16: kiln's runtimes do not produce it
      }
    }
  }
  if (t.shape.size() <= 1) return json(std::move(flat));
  const int64_t rows = t.shape[0];
  const int64_t per_row = rows > 0 ? static_cast<int64_t>(flat.size()) / rows : 0;
  json out = json::array();
  for (int64_t r = 0; r < rows; ++r) {
    json row = json::array();
    for (int64_t c = 0; c < per_row; ++c) row.push_back(std::move(flat[static_cast<size_t>(r * per_row + c)]));
    out.push_back(std::move(row));
  }
  return out;
}

json ResponseJson(const deploy::PredictResponse& r, bool return_features) {
  json predictions;
  if (r.outputs.size() == 1) {
    predictions = TensorJson(r.outputs[0]);
  } else {
    predictions = json::object();
    for (const auto& t : r.outputs) predictions[t.name] = TensorJson(t);
  }
  json out = {{"predictions", std::move(predictions)},
              {"model_name", r.model},
              {"model_version", std::to_string(r.version)},
              {"revision", r.revision}};
  if (return_features) {
    json values = json::array();
    const size_t width = r.feature_names.size();
    for (int64_t row = 0; width > 0 && row < r.rows; ++row) {
      json v = json::array();
      for (size_t c = 0; c < width; ++c) {
        const size_t at = static_cast<size_t>(row) * width + c;
        v.push_back(at < r.feature_values.size() ? Finite(r.feature_values[at]) : json(nullptr));
      }
      values.push_back(std::move(v));
    }
    out["features"] = {{"names", r.feature_names}, {"values", std::move(values)}};
  }
  return out;
}

struct Capture {
  std::shared_ptr<deploy::CaptureStore> store;
  std::string request;
  std::chrono::steady_clock::time_point start;
};

void Record(const Capture& c, const net::HttpResponse& res, int64_t revision, const std::string& model,
            int64_t version) {
  deploy::CapturedPrediction p;
  p.timestamp_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  p.revision = revision;
  p.model = model;
  p.version = version;
  p.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - c.start).count();
  p.status = static_cast<int>(res.status);
  p.request_json = c.request;
  p.response_json = res.body;
  c.store->Add(std::move(p));
}

void Predict(deploy::EndpointService& endpoints, const deploy::PredictService& predict,
             const deploy::RouteTable& routes, std::shared_ptr<net::HttpRequest> req, net::Responder respond) {
  const auto start = std::chrono::steady_clock::now();
  const std::string name(req->PathParam("name"));
  std::shared_ptr<const deploy::LiveEndpoint> live = routes.Find(name);
  std::shared_ptr<Capture> capture;
  if (live && live->capture_percent > 0 && deploy::CaptureStore::Sample(live->capture_percent)) {
    auto store = live->capture ? live->capture : endpoints.Capture(name);
    if (store) capture = std::make_shared<Capture>(Capture{std::move(store), req->body, start});
  }
  auto request = DecodePredict(name, req->body);
  if (!request.ok()) {
    net::HttpResponse res = ErrorResponse(request.status());
    if (capture) Record(*capture, res, 0, "", 0);
    return respond(std::move(res));
  }
  if (req->on_io_thread && !request->entities.empty() &&
      (predict.FeatureReadsBlock() || request->entities.front().second.size() > kInlineMaxEntityRows)) {
    return respond(net::HttpResponse::RunOnPool());
  }
  if (live && !live->sticky_header.empty()) request->sticky_value = std::string(req->Header(live->sticky_header));
  request->on_io_thread = req->on_io_thread;
  const bool return_features = request->return_features;
  live.reset();  // the service takes its own snapshot; this one must not outlive the call on a batcher thread
  predict.Predict(std::move(*request), [capture, return_features, respond](StatusOr<deploy::PredictResponse> out) {
    if (!out.ok() && features::IsWouldBlock(out.status())) return respond(net::HttpResponse::RunOnPool());
    if (!out.ok()) {
      net::HttpResponse res = ErrorResponse(out.status());
      if (capture) Record(*capture, res, 0, "", 0);
      return respond(std::move(res));
    }
    net::HttpResponse res = JsonResponse(200, ResponseJson(*out, return_features));
    if (capture) Record(*capture, res, out->revision, out->model, out->version);
    respond(std::move(res));
  });
}

net::HttpResponse Predictions(deploy::EndpointService& endpoints, net::HttpRequest& req) {
  const std::string name(req.PathParam("name"));
  std::string_view format = req.QueryValue("format");
  if (!format.empty() && format != "json" && format != "jsonl") {
    return ErrorResponse(InvalidArgument("format must be json or jsonl (got '" + std::string(format) + "')"));
  }
  const bool jsonl = format == "jsonl";
  auto after = QueryInt(req.QueryValue("after_id"), "after_id", 0, 0, INT64_MAX);
  if (!after.ok()) return ErrorResponse(after.status());
  // JSON lines is the export: everything the store holds unless bounded.
  auto max = QueryInt(req.QueryValue("max_results"), "max_results", jsonl ? 100'000'000 : 100, 1,
                      jsonl ? 100'000'000 : 10'000);
  if (!max.ok()) return ErrorResponse(max.status());
  std::shared_ptr<deploy::CaptureStore> store = endpoints.Capture(name);
  if (!store) return ErrorResponse(NotFound("endpoint '" + name + "' does not exist"));
  std::vector<deploy::CapturedPrediction> records = store->List(*after, static_cast<size_t>(*max));
  if (jsonl) {
    net::HttpResponse res;
    res.status = 200;
    res.content_type = "application/x-ndjson";
    for (const auto& r : records) {
      res.body += Dump(CaptureJson(r));
      res.body += '\n';
    }
    return res;
  }
  json out = json::array();
  for (const auto& r : records) out.push_back(CaptureJson(r));
  json body = {{"predictions", std::move(out)}};
  if (!records.empty()) body["next_after_id"] = records.back().id;
  return JsonResponse(200, body);
}

}  // namespace

void AddPredictRoutes(net::Router& router, deploy::EndpointService& endpoints, const deploy::PredictService& predict,
                      const deploy::RouteTable& routes) {
  deploy::EndpointService* svc = &endpoints;
  const deploy::PredictService* p = &predict;
  const deploy::RouteTable* table = &routes;
  net::Route& r = router.AddAsync("POST", "/api/v1/endpoints/{name}/predict",
                                  [svc, p, table](std::shared_ptr<net::HttpRequest> req, net::Responder respond) {
                                    Predict(*svc, *p, *table, std::move(req), std::move(respond));
                                  });
  r.render_error = RenderError;
  r.inline_if = [](const net::HttpRequest& req) { return req.body.size() <= kInlineMaxBody; };
  AddRoute(router, "GET", "/api/v1/endpoints/{name}/predictions",
           [svc](net::HttpRequest& req) { return Predictions(*svc, req); });
}

}  // namespace kiln::api::platform
