#include "api/v1/v1_routes.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "api/v2/inference_call.h"
#include "api/v2/v2_access.h"
#include "api/v2/v2_codec.h"

namespace kiln::api::v1 {

using nlohmann::json;
using v2::ErrorResponse;
using v2::JsonResponse;

namespace {

// Rows of numbers (null = missing) as one [rows, features] tensor of the
// model's input type (FP32 or FP64).
StatusOr<serving::Tensor> RowsTensor(const json& rows, const serving::TensorSpec& input) {
  if (!rows.is_array() || rows.empty()) return InvalidArgument("'instances' must be a non-empty array of rows");
  serving::Tensor t;
  t.name = input.name;
  t.dtype = input.dtype;
  const bool fp32 = input.dtype == serving::DataType::kFp32;
  size_t width = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    const json& row = rows[r];
    if (!row.is_array()) return InvalidArgument("instances[" + std::to_string(r) + "] must be an array of numbers");
    if (r == 0) width = row.size();
    if (row.size() != width) {
      return InvalidArgument("instances[" + std::to_string(r) + "] has " + std::to_string(row.size()) +
                             " values, instances[0] has " + std::to_string(width));
    }
    for (const json& v : row) {
      double d;
      if (v.is_number()) {
        d = v.get<double>();
      } else if (v.is_null()) {
        d = std::numeric_limits<double>::quiet_NaN();
      } else {
        return InvalidArgument("instances[" + std::to_string(r) + "] holds " + v.dump() + ", not a number");
      }
      const size_t at = t.data.size();
      if (fp32) {
        const auto f = static_cast<float>(d);
        t.data.resize(at + sizeof(f));
        std::memcpy(t.data.data() + at, &f, sizeof(f));
      } else {
        t.data.resize(at + sizeof(d));
        std::memcpy(t.data.data() + at, &d, sizeof(d));
      }
    }
  }
  t.shape = {static_cast<int64_t>(rows.size()), static_cast<int64_t>(width)};
  return t;
}

json Predictions(const serving::Tensor& out) {
  json preds = json::array();
  const int64_t rows = out.shape.empty() ? 0 : out.shape[0];
  const int64_t per_row = out.shape.size() > 1 ? out.shape[1] : 1;
  auto value = [&](int64_t i) -> json {
    const char* p = out.data.data();
    auto load = [p, i]<typename T>(T) {
      T v;
      std::memcpy(&v, p + i * sizeof(T), sizeof(T));
      return v;
    };
    switch (out.dtype) {
      case serving::DataType::kFp64: {
        double d = load(double{});
        return std::isfinite(d) ? json(d) : json(nullptr);
      }
      case serving::DataType::kInt64: return json(load(int64_t{}));
      case serving::DataType::kInt32: return json(load(int32_t{}));
      case serving::DataType::kBool: return json(load(uint8_t{}) != 0);
      default: {
        float f = load(float{});
        return std::isfinite(f) ? json(f) : json(nullptr);
      }
    }
  };
  for (int64_t r = 0; r < rows; ++r) {
    if (out.shape.size() == 1) {
      preds.push_back(value(r));
      continue;
    }
    json row = json::array();
    for (int64_t c = 0; c < per_row; ++c) row.push_back(value(r * per_row + c));
    preds.push_back(std::move(row));
  }
  return preds;
}

void Predict(serving::ModelRepository& repo, serving::InferenceMetrics* metrics, const std::string& name,
             const std::string& body, net::Responder respond) {
  auto model = repo.Get(name);
  if (!model.ok()) return respond(ErrorResponse(model.status()));
  // Counted like V2 requests once the model is known: metrics and /stats.
  auto record = std::make_shared<v2::InferenceRecord>(metrics, *model);
  auto fail = [&record, &respond](const Status& s) {
    record->Finish(v2::OutcomeOf(s));
    respond(ErrorResponse(s));
  };
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return fail(InvalidArgument("malformed JSON: the body must be an object"));
  const json* rows = doc.contains("instances") ? &doc["instances"] : (doc.contains("inputs") ? &doc["inputs"] : nullptr);
  if (!rows) return fail(InvalidArgument("the body needs 'instances' (or 'inputs')"));
  std::shared_ptr<const serving::ServedModel> served = *model;
  const serving::Runtime& rt = *served->runtime;
  auto v1_output = [](serving::DataType t) {
    using serving::DataType;
    return t == DataType::kFp32 || t == DataType::kFp64 || t == DataType::kInt64 || t == DataType::kInt32 ||
           t == DataType::kBool;
  };
  const auto in_type = rt.inputs().empty() ? serving::DataType::kBytes : rt.inputs()[0].dtype;
  if (rt.inputs().size() != 1 || (in_type != serving::DataType::kFp32 && in_type != serving::DataType::kFp64) ||
      rt.outputs().empty() || !v1_output(rt.outputs()[0].dtype)) {
    return fail(InvalidArgument("model '" + name + "' does not take V1 rows; use the V2 protocol"));
  }
  auto tensor = RowsTensor(*rows, rt.inputs()[0]);
  if (!tensor.ok()) return fail(tensor.status());
  const int64_t rows_in = tensor->shape[0];
  std::vector<serving::Tensor> inputs;
  inputs.push_back(std::move(*tensor));
  // Rows queue at the model's batcher like V2 requests; it answers from its thread.
  Status queued = served->batcher->Submit(
      std::move(inputs), [record, rows_in, respond](StatusOr<std::vector<serving::Tensor>> out,
                                                    const serving::BatchTiming& timing) {
        if (!out.ok()) {
          record->Finish(v2::OutcomeOf(out.status()));
          return respond(ErrorResponse(out.status()));
        }
        record->Computed(timing, rows_in);
        record->Finish(v2::InferOutcome::kOk);
        respond(JsonResponse({{"predictions", Predictions(out->front())}}));
      });
  if (!queued.ok()) fail(queued);
}

void Add(net::Router& r, const std::string& method, const std::string& path, net::Handler h) {
  auto& route = r.Add(method, path, std::move(h), net::Execution::kPool);
  route.render_error = [](unsigned status, std::string_view, std::string_view message) {
    return ErrorResponse(status, message);
  };
}

}  // namespace

void AddV1Routes(net::Router& r, serving::ModelRepository& repo, serving::InferenceMetrics* metrics) {
  // KServe's liveness probe (kserve's V1 client calls it for is_server_live).
  Add(r, "GET", "/", [](net::HttpRequest&) { return JsonResponse({{"status", "alive"}}); });
  Add(r, "GET", "/v1/models", [&repo](net::HttpRequest& req) {
    const v2::VisibleModels visible(req);
    json names = json::array();
    for (const auto& name : repo.ReadyModels()) {
      if (visible(name)) names.push_back(name);
    }
    return JsonResponse({{"models", std::move(names)}});
  });
  Add(r, "GET", "/v1/models/{model}", [&repo](net::HttpRequest& req) {
    std::string name(req.PathParam("model"));
    auto model = repo.Get(name);
    if (!model.ok()) return ErrorResponse(model.status());
    return JsonResponse({{"name", name}, {"ready", true}});
  });
  // The verb shares the segment with the name: /v1/models/fraud:predict.
  auto& predict = r.AddAsync("POST", "/v1/models/{model_verb}",
                             [&repo, metrics](std::shared_ptr<net::HttpRequest> req, net::Responder respond) {
                               std::string target(req->PathParam("model_verb"));
                               size_t colon = target.rfind(':');
                               if (colon == std::string::npos || target.substr(colon + 1) != "predict") {
                                 return respond(
                                     ErrorResponse(404, "unknown V1 verb in '" + target + "' (supported: :predict)"));
                               }
                               Predict(repo, metrics, target.substr(0, colon), req->body, std::move(respond));
                             });
  predict.render_error = [](unsigned status, std::string_view, std::string_view message) {
    return ErrorResponse(status, message);
  };
}

}  // namespace kiln::api::v1
