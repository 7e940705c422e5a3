#include "deploy/predict_service.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "core/release_later.h"
#include "deploy/drift.h"
#include "deploy/endpoint_inference_router.h"
#include "deploy/feature_matrix.h"

namespace kiln::deploy {

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The caller's fault (4xx) or the server's (5xx), as the guardrails count it.
bool IsServerError(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kFailedPrecondition: return false;
    default: return true;
  }
}

std::string ListText(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out + "]";
}

std::string ModelText(const LiveRoute& r) { return "model '" + r.model + "' version " + std::to_string(r.version); }

// The model's input width: its signature's, else its runtime's declared
// second dimension (-1 when the runtime does not say).
int64_t ModelWidth(const LiveRoute& route) {
  if (!route.input_columns.empty()) return static_cast<int64_t>(route.input_columns.size());
  const auto& specs = route.served->runtime->inputs();
  if (!specs.empty() && specs[0].shape.size() == 2 && specs[0].shape[1] > 0) return specs[0].shape[1];
  return -1;
}

struct Matrix {
  int64_t rows = 0;
  int64_t width = 0;
  std::vector<double> values;  // row-major, in the model's column order
};

// Named columns or positional rows -> the model's column order.
StatusOr<Matrix> FromInputs(const PredictRequest& req, const LiveRoute& route) {
  Matrix m;
  m.rows = req.rows;
  if (req.rows <= 0) return InvalidArgument("the request has no input rows");
  if (!req.columns.empty()) {
    if (route.input_columns.empty()) {
      return InvalidArgument(ModelText(route) +
                             " has no signature, so its inputs have no names: send positional rows "
                             "(a list of lists in the model's feature order)");
    }
    const size_t given = req.columns.size();
    if (req.values.size() != static_cast<size_t>(req.rows) * given) {
      return InvalidArgument("every input column must hold " + std::to_string(req.rows) + " values");
    }
    std::unordered_map<std::string, size_t> at;
    for (size_t i = 0; i < given; ++i) {
      if (!at.emplace(req.columns[i], i).second) {
        return InvalidArgument("input column '" + req.columns[i] + "' appears twice");
      }
    }
    std::vector<size_t> source;
    source.reserve(route.input_columns.size());
    for (const std::string& col : route.input_columns) {
      auto it = at.find(col);
      if (it == at.end()) {
        return InvalidArgument("missing input column '" + col + "': " + ModelText(route) + " takes " +
                               ListText(route.input_columns));
      }
      source.push_back(it->second);
      at.erase(it);
    }
    if (!at.empty()) {
      std::string unknown;
      for (size_t i = 0; i < given; ++i) {
        if (at.count(req.columns[i])) unknown += (unknown.empty() ? "'" : ", '") + req.columns[i] + "'";
      }
      return InvalidArgument("unknown input column " + unknown + ": " + ModelText(route) + " takes " +
                             ListText(route.input_columns));
    }
    m.width = static_cast<int64_t>(source.size());
    m.values.resize(static_cast<size_t>(m.rows * m.width));
    for (int64_t r = 0; r < m.rows; ++r) {
      for (size_t c = 0; c < source.size(); ++c) {
        m.values[static_cast<size_t>(r * m.width) + c] = req.values[static_cast<size_t>(r) * given + source[c]];
      }
    }
    return m;
  }
  int64_t width = ModelWidth(route);
  if (width < 0) {
    if (req.values.size() % static_cast<size_t>(req.rows) != 0) {
      return InvalidArgument("every input row must have the same number of values");
    }
    width = static_cast<int64_t>(req.values.size()) / req.rows;
  }
  if (req.values.size() != static_cast<size_t>(req.rows * width)) {
    std::string names = route.input_columns.empty() ? "" : " " + ListText(route.input_columns);
    return InvalidArgument("every input row must hold " + std::to_string(width) + " values (" + ModelText(route) +
                           " takes " + std::to_string(width) + " features" + names + "); got " +
                           std::to_string(req.values.size()) + " values for " + std::to_string(req.rows) + " rows");
  }
  m.width = width;
  m.values = req.values;
  return m;
}

StatusOr<Matrix> FromEntities(const PredictRequest& req, const LiveEndpoint& ep, const LiveRoute& route,
                              features::OnlineService* online) {
  if (!ep.features) {
    return InvalidArgument("endpoint '" + ep.name +
                           "' is not bound to features: send the model inputs (\"inputs\") instead of entities");
  }
  if (!online) return Unavailable("this server has no online feature store, so it cannot predict from entities");
  if (route.input_columns.empty()) {
    return InvalidArgument(ModelText(route) + " has no signature, so its inputs cannot be matched to features");
  }
  const storage::FeatureBinding& b = *ep.features;
  features::OnlineRequest online_req;
  online_req.project = b.project;
  online_req.feature_service = b.feature_service;
  online_req.features = b.features;
  online_req.full_feature_names = true;  // both names are known, so a column can match either
  online_req.entities = req.entities;
  online_req.memory_only = req.on_io_thread;
  KILN_ASSIGN_OR_RETURN(features::OnlineResult result, online->GetOnlineFeatures(online_req));
  if (result.rows == 0) return InvalidArgument("the request has no entity rows");
  Matrix m;
  m.rows = static_cast<int64_t>(result.rows);
  m.width = static_cast<int64_t>(route.input_columns.size());
  KILN_ASSIGN_OR_RETURN(m.values, BuildFeatureMatrix(result, route.input_columns, b, req.entities));
  return m;
}

serving::Tensor FloatTensor(std::string name, const Matrix& m) {
  serving::Tensor t;
  t.name = std::move(name);
  t.dtype = serving::DataType::kFp32;
  t.shape = {m.rows, m.width};
  t.data.resize(m.values.size() * sizeof(float));
  char* out = t.data.data();
  for (double v : m.values) {
    const float f = static_cast<float>(v);
    std::memcpy(out, &f, sizeof f);
    out += sizeof f;
  }
  return t;
}

// The same rows in the mirror model's column order (by name when both have
// signatures); nullopt when the mirror cannot take them.
std::optional<Matrix> ForMirror(const LiveRoute& mirror, const LiveRoute& route, const Matrix& m) {
  if (mirror.input_columns.empty() || route.input_columns.empty() || mirror.input_columns == route.input_columns) {
    const int64_t w = ModelWidth(mirror);
    if (w >= 0 && w != m.width) return std::nullopt;
    return m;
  }
  std::unordered_map<std::string, size_t> at;
  for (size_t i = 0; i < route.input_columns.size(); ++i) at.emplace(route.input_columns[i], i);
  std::vector<size_t> source;
  for (const auto& col : mirror.input_columns) {
    auto it = at.find(col);
    if (it == at.end()) return std::nullopt;
    source.push_back(it->second);
  }
  Matrix out;
  out.rows = m.rows;
  out.width = static_cast<int64_t>(source.size());
  out.values.resize(static_cast<size_t>(out.rows * out.width));
  for (int64_t r = 0; r < m.rows; ++r) {
    for (size_t c = 0; c < source.size(); ++c) {
      out.values[static_cast<size_t>(r * out.width) + c] = m.values[static_cast<size_t>(r * m.width) + source[c]];
    }
  }
  return out;
}

bool SampleMirror(int percent) {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  return RandomKey() % 10000 < static_cast<uint64_t>(percent) * 100;
}

bool NumericType(features::ValueType t) {
  using features::ValueType;
  return t == ValueType::kInt32 || t == ValueType::kInt64 || t == ValueType::kDouble || t == ValueType::kFloat ||
         t == ValueType::kBool;
}

// What a predict call holds until it completes (see core/release_later.h).
struct InFlight {
  std::shared_ptr<const LiveEndpoint> endpoint;
  const LiveRoute* route = nullptr;
  PredictDone done;
  Clock::time_point start;
  std::vector<std::string> feature_names;
  std::vector<double> feature_values;
  int64_t rows = 0;
};

// Answers a call with the model's outputs, on whichever thread ran them
// (`in_place`: the caller's own, not a batcher's).
void Complete(InFlight& call, StatusOr<std::vector<serving::Tensor>> out, bool in_place) {
  const LiveRoute& r = *call.route;
  const double seconds = SecondsSince(call.start);
  if (r.stats) r.stats->Record(!out.ok() && IsServerError(out.status()), seconds);
  PredictDone done = std::move(call.done);
  if (!out.ok()) {
    done(out.status());
  } else {
    PredictResponse resp;
    resp.endpoint = call.endpoint->name;
    resp.model = r.model;
    resp.version = r.version;
    resp.revision = r.revision;
    resp.outputs = std::move(*out);
    resp.feature_names = std::move(call.feature_names);
    resp.feature_values = std::move(call.feature_values);
    resp.rows = call.rows;
    resp.latency_ms = seconds * 1e3;
    done(std::move(resp));
  }
  // This may be the model's last owner: never drop it on its batcher's
  // thread (a self-join). In place the caller still holds the snapshot and
  // releases it (see Predict).
  if (in_place) {
    call.endpoint.reset();
  } else {
    ReleaseLater(std::move(call.endpoint));
  }
}

}  // namespace

Status CheckFeatureBinding(features::FeatureRegistry& registry, const std::string& default_project,
                           const storage::FeatureBinding& binding, const std::vector<std::string>& input_columns) {
  if (input_columns.empty()) {
    return InvalidArgument(
        "a feature binding needs a model with a signature: kiln matches the signature's input column names to "
        "the features (log the model with a signature)");
  }
  if (binding.feature_service.empty() == binding.features.empty()) {
    return InvalidArgument("a feature binding names either a feature_service or a list of features (view:feature)");
  }
  const std::string& wanted = binding.project.empty() ? default_project : binding.project;
  struct Bound {
    std::string full;
    features::ValueType type;
  };
  std::vector<Bound> bound;
  std::string project;
  auto view_of = [&](const std::string& view) -> StatusOr<features::ViewSchema> {
    KILN_ASSIGN_OR_RETURN(features::ViewSchema s, registry.GetViewSchema(project, view));
    if (s.kind == features::ViewKind::kOnDemand) {
      return InvalidArgument("feature view '" + view + "' is an on-demand view, which kiln does not compute");
    }
    return s;
  };
  auto add = [&](const features::ViewSchema& s, const std::string& output, const std::string& feature) -> Status {
    for (const auto& f : s.features) {
      if (f.name == feature) {
        bound.push_back({output + "__" + feature, f.type});
        return Status::Ok();
      }
    }
    return NotFound("Feature " + feature + " not found in feature view " + s.name);
  };
  if (!binding.feature_service.empty()) {
    KILN_ASSIGN_OR_RETURN(project, registry.ResolveProject(wanted, binding.feature_service));
    KILN_ASSIGN_OR_RETURN(auto projections, registry.GetFeatureServiceProjections(project, binding.feature_service));
    for (const auto& p : projections) {
      KILN_ASSIGN_OR_RETURN(features::ViewSchema s, view_of(p.view));
      const std::string output = p.alias.empty() ? p.view : p.alias;
      if (p.features.empty()) {
        for (const auto& f : s.features) bound.push_back({output + "__" + f.name, f.type});
      } else {
        for (const auto& f : p.features) KILN_RETURN_IF_ERROR(add(s, output, f));
      }
    }
  } else {
    for (const std::string& ref : binding.features) {
      const size_t colon = ref.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == ref.size()) {
        return InvalidArgument("Invalid feature reference '" + ref + "'. Expected format: '<feature_view>:<feature>'");
      }
      const std::string view = ref.substr(0, colon);
      if (project.empty()) {
        KILN_ASSIGN_OR_RETURN(project, registry.ResolveProject(wanted, view));
      }
      KILN_ASSIGN_OR_RETURN(features::ViewSchema s, view_of(view));
      KILN_RETURN_IF_ERROR(add(s, view, ref.substr(colon + 1)));
    }
  }
  for (const auto& [name, value] : binding.defaults) {
    bool known = false;
    for (const auto& c : input_columns) known = known || c == name;
    if (!known) {
      return InvalidArgument("the binding declares a default for '" + name +
                             "', which is not an input column of the model " + ListText(input_columns));
    }
    if (!std::isfinite(value)) return InvalidArgument("the default for '" + name + "' must be a finite number");
  }
  std::vector<std::string> names;
  for (const auto& b : bound) names.push_back(b.full);
  KILN_ASSIGN_OR_RETURN(std::vector<int> map, MapFeatureColumns(names, input_columns, binding));
  for (size_t c = 0; c < map.size(); ++c) {
    if (map[c] < 0) continue;
    const Bound& b = bound[static_cast<size_t>(map[c])];
    if (!NumericType(b.type)) {
      return InvalidArgument("feature '" + b.full + "' (for model input '" + input_columns[c] + "') is " +
                             std::string(features::ValueTypeName(b.type)) +
                             "; a model input must be a number (Int32, Int64, Float32, Float64 or Bool)");
    }
  }
  return Status::Ok();
}

PredictService::PredictService(const RouteTable& routes, features::OnlineService* online)
    : routes_(routes), online_(online) {}

void PredictService::Predict(PredictRequest request, PredictDone done) const {
  const Clock::time_point start = Clock::now();
  std::shared_ptr<const LiveEndpoint> ep = routes_.Find(request.endpoint);
  if (!ep) return done(NotFound("endpoint '" + request.endpoint + "' does not exist"));
  if (ep->routes.empty()) {
    return done(Unavailable("endpoint '" + ep->name + "' has no model ready to serve"));
  }
  const uint64_t key = !ep->sticky_header.empty() && !request.sticky_value.empty() ? StickyHash(request.sticky_value)
                                                                                  : RandomKey();
  const LiveRoute& route = ep->Pick(key);
  auto fail = [&](const Status& s) {
    // A would-block is no outcome: the call starts again on a worker.
    if (route.stats && !features::IsWouldBlock(s)) route.stats->Record(IsServerError(s), SecondsSince(start));
    done(s);
  };
  if (!route.served || !route.served->runtime || !route.served->batcher || route.served->runtime->inputs().empty()) {
    return fail(Unavailable(ModelText(route) + " is not ready"));
  }
  const bool has_inputs = request.rows > 0 || !request.values.empty() || !request.columns.empty();
  if (has_inputs && !request.entities.empty()) {
    return fail(InvalidArgument("send either model inputs or entities, not both"));
  }
  if (!has_inputs && request.entities.empty()) {
    return fail(InvalidArgument(ep->features ? "the request carries neither inputs nor entities"
                                             : "the request carries no inputs"));
  }
  StatusOr<Matrix> built =
      request.entities.empty() ? FromInputs(request, route) : FromEntities(request, *ep, route, online_);
  if (!built.ok()) return fail(built.status());
  Matrix& m = *built;
  if (m.rows * m.width > serving::kMaxTensorElements) {
    return fail(InvalidArgument("the request holds more than " + std::to_string(serving::kMaxTensorElements) +
                                " input values"));
  }

  if (ep->drift && !route.input_columns.empty()) ep->drift->Observe(route.input_columns, m.values.data(), m.rows);
  if (ep->mirror && SampleMirror(ep->mirror_percent) && ep->mirror->served) {
    if (auto mm = ForMirror(*ep->mirror, route, m)) {
      std::vector<serving::Tensor> mirrored;
      mirrored.push_back(FloatTensor("", *mm));
      SubmitMirror(*ep, std::move(mirrored));
    }
  }

  std::vector<serving::Tensor> inputs;
  inputs.push_back(FloatTensor(route.served->runtime->inputs()[0].name, m));
  auto call = std::make_shared<InFlight>();
  call->endpoint = ep;
  call->route = &route;
  call->done = std::move(done);
  call->start = start;
  call->rows = m.rows;
  if (request.return_features) {
    call->feature_names = route.input_columns;
    call->feature_values = std::move(m.values);
  }
  const int64_t row_cost = route.served->runtime->RowCost();
  if (request.on_io_thread && row_cost >= 0 && m.rows * row_cost <= kInlineRowCost) {
    Complete(*call, route.served->runtime->Execute(inputs), /*in_place=*/true);
    // Only the likely last owner is handed over (an I/O thread should not
    // free a model); the usual case drops its reference here rather than
    // wake the releaser's thread for every call.
    if (ep.use_count() == 1) ReleaseLater(std::move(ep));
    return;
  }
  Status queued = route.served->batcher->Submit(
      std::move(inputs),
      [call](StatusOr<std::vector<serving::Tensor>> out, const serving::BatchTiming&) {
        Complete(*call, std::move(out), /*in_place=*/false);
      });
  if (!queued.ok()) {
    // Submit refused: the callback never runs; `done` is still ours.
    PredictDone d = std::move(call->done);
    if (route.stats) route.stats->Record(IsServerError(queued), SecondsSince(start));
    d(queued);
    return;
  }
}

}  // namespace kiln::deploy
