// Validation of endpoint specs and settings, and route resolution: every
// route names a registered model by version, alias or stage; it is resolved
// to a version number once, when the revision is created, and that version
// must be something kiln can serve.
#include <algorithm>
#include <cctype>
#include <cmath>

#include "deploy/endpoint_service_internal.h"
#include "deploy/predict_service.h"

namespace kiln::deploy {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool ParsePositive(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return v > 0;
}

// Registry stage names, case-insensitively.
StatusOr<std::string> NormalizeRouteStage(const std::string& stage) {
  const std::string l = Lower(stage);
  if (l == "staging") return std::string(storage::kStageStaging);
  if (l == "production") return std::string(storage::kStageProduction);
  if (l == "none") return std::string(storage::kStageNone);
  if (l == "archived") return std::string(storage::kStageArchived);
  return InvalidArgument("stage '" + stage + "' is not one of Staging, Production, Archived, None");
}

Status CheckRouteShape(storage::EndpointRoute* r, const std::string& where) {
  if (r->model.empty()) return InvalidArgument(where + ": 'model' is required");
  if (r->ref_kind == "version") {
    if (r->ref.empty() && r->version > 0) r->ref = std::to_string(r->version);
    int64_t v = 0;
    if (!ParsePositive(r->ref, &v)) {
      return InvalidArgument(where + ": version '" + r->ref + "' must be a positive integer");
    }
  } else if (r->ref_kind == "alias") {
    if (!r->ref.empty() && r->ref[0] == '@') r->ref.erase(0, 1);
    if (r->ref.empty()) return InvalidArgument(where + ": 'alias' must not be empty");
  } else if (r->ref_kind == "stage") {
    if (r->ref.empty()) return InvalidArgument(where + ": 'stage' must not be empty");
    KILN_ASSIGN_OR_RETURN(r->ref, NormalizeRouteStage(r->ref));
  } else {
    return InvalidArgument(where + ": give exactly one of 'version', 'alias' or 'stage' (ref_kind '" + r->ref_kind +
                           "' is unknown)");
  }
  return Status::Ok();
}

Status CheckPolicy(const storage::RolloutPolicy& p) {
  const std::string& s = p.strategy;
  if (s != "all_at_once" && s != "canary" && s != "linear") {
    return InvalidArgument("rollout.strategy '" + s + "' must be one of all_at_once, canary, linear");
  }
  if (s == "canary" && (p.step_percent < 1 || p.step_percent > 99)) {
    return InvalidArgument("rollout.step_percent must be from 1 to 99 for a canary (got " +
                           std::to_string(p.step_percent) + ")");
  }
  if (s == "linear") {
    if (p.step_percent < 1 || p.step_percent > 99) {
      return InvalidArgument("rollout.step_percent must be from 1 to 99 for a linear rollout (got " +
                             std::to_string(p.step_percent) + ")");
    }
    if (p.interval_s < 1) {
      return InvalidArgument("rollout.interval_s must be at least 1 for a linear rollout (got " +
                             std::to_string(p.interval_s) + ")");
    }
  }
  if (p.bake_s < 0 || p.bake_s > 7 * 24 * 3600) return InvalidArgument("rollout.bake_s must be from 0 to 604800");
  if (p.interval_s < 0 || p.interval_s > 7 * 24 * 3600) {
    return InvalidArgument("rollout.interval_s must be from 0 to 604800");
  }
  for (size_t i = 0; i < p.rollback_on.size(); ++i) {
    const storage::Guardrail& g = p.rollback_on[i];
    const std::string where = "rollout.rollback_on[" + std::to_string(i) + "]";
    if (g.metric != "error_rate" && g.metric != "p99_ms") {
      return InvalidArgument(where + ".metric '" + g.metric + "' must be error_rate or p99_ms");
    }
    if (g.op != ">" && g.op != ">=" && g.op != "<" && g.op != "<=") {
      return InvalidArgument(where + ".op '" + g.op + "' must be one of >, >=, <, <=");
    }
    if (!std::isfinite(g.threshold)) return InvalidArgument(where + ".threshold must be a finite number");
    if (g.window_s < 1 || g.window_s > RouteStats::kWindowSeconds) {
      return InvalidArgument(where + ".window_s must be from 1 to " + std::to_string(RouteStats::kWindowSeconds));
    }
    if (g.min_requests < 1) return InvalidArgument(where + ".min_requests must be at least 1");
  }
  return Status::Ok();
}

Status CheckSpecShape(storage::RevisionSpec* spec) {
  if (spec->routes.empty()) return InvalidArgument("an endpoint needs at least one route in 'routes'");
  if (spec->routes.size() > 16) return InvalidArgument("an endpoint revision has at most 16 routes");
  int sum = 0;
  for (size_t i = 0; i < spec->routes.size(); ++i) {
    storage::EndpointRoute& r = spec->routes[i];
    const std::string where = "routes[" + std::to_string(i) + "]";
    KILN_RETURN_IF_ERROR(CheckRouteShape(&r, where));
    if (r.percent < 1 || r.percent > 100) {
      return InvalidArgument(where + ".percent must be from 1 to 100 (got " + std::to_string(r.percent) + ")");
    }
    sum += r.percent;
  }
  if (sum != 100) return InvalidArgument("route percents must sum to 100 (they sum to " + std::to_string(sum) + ")");
  if (spec->mirror) {
    KILN_RETURN_IF_ERROR(CheckRouteShape(&spec->mirror->route, "mirror"));
    if (spec->mirror->percent < 1 || spec->mirror->percent > 100) {
      return InvalidArgument("mirror.percent must be from 1 to 100 (got " + std::to_string(spec->mirror->percent) +
                             ")");
    }
  }
  const storage::EndpointBatching& b = spec->batching;
  if (b.max_batch_rows < 0 || b.max_batch_rows > (1 << 20)) {
    return InvalidArgument("batching.max_batch_rows must be from 1 to 1048576");
  }
  if (b.max_queue_delay_us < -1 || b.max_queue_delay_us > 10'000'000) {
    return InvalidArgument("batching.max_queue_delay_us must be from 0 to 10000000");
  }
  if (b.max_queue < 0 || b.max_queue > (1 << 20)) return InvalidArgument("batching.max_queue must be from 1 to 1048576");
  spec->sticky_header = Lower(spec->sticky_header);
  for (char c : spec->sticky_header) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return InvalidArgument("sticky.header '" + spec->sticky_header + "' is not a valid header name");
    }
  }
  if (spec->features) {
    const storage::FeatureBinding& f = *spec->features;
    if (f.feature_service.empty() == f.features.empty()) {
      return InvalidArgument("features: give exactly one of 'feature_service' or 'features'");
    }
    for (const auto& [name, v] : f.defaults) {
      if (!std::isfinite(v)) return InvalidArgument("features.defaults['" + name + "'] must be a finite number");
    }
  }
  return CheckPolicy(spec->rollout);
}

}  // namespace

Status ValidateEndpointName(const std::string& name) {
  auto ok_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  };
  if (name.empty() || name.size() > 128 || !std::isalnum(static_cast<unsigned char>(name[0])) ||
      !std::all_of(name.begin(), name.end(), ok_char)) {
    return InvalidArgument("endpoint name '" + name +
                           "' must match [A-Za-z0-9][A-Za-z0-9._-]{0,127} (letters, digits, '.', '_', '-')");
  }
  return Status::Ok();
}

Status ValidateSettings(const storage::EndpointSettings& s) {
  if (!(s.capture_percent >= 0 && s.capture_percent <= 100)) {
    return InvalidArgument("capture.percent must be from 0 to 100");
  }
  if (!(s.drift_threshold > 0 && std::isfinite(s.drift_threshold))) {
    return InvalidArgument("drift.threshold must be a positive number");
  }
  if (s.description.size() > 5000) return InvalidArgument("description is longer than 5000 characters");
  return Status::Ok();
}

StatusOr<std::string> NormalizeDeployStage(const std::string& stage) {
  const std::string l = Lower(stage);
  if (l == "staging") return std::string(storage::kStageStaging);
  if (l == "production") return std::string(storage::kStageProduction);
  return InvalidArgument("target_stage '" + stage + "' must be staging or production");
}

StatusOr<std::vector<std::string>> EndpointService::Impl::InputColumns(const std::string& model, int64_t version) {
  {
    std::lock_guard lock(mu);
    auto it = columns.find({model, version});
    if (it != columns.end()) return it->second;
  }
  KILN_ASSIGN_OR_RETURN(registry::VersionPackage pkg, registry.GetPackage(model, std::to_string(version)));
  std::vector<std::string> names;
  const nlohmann::json& inputs = pkg.package.signature_inputs;
  if (inputs.is_array()) {
    for (const auto& col : inputs) {
      // Tensor-based signatures have unnamed inputs: no column names then.
      if (!col.is_object() || !col.contains("name") || !col["name"].is_string()) {
        names.clear();
        break;
      }
      names.push_back(col["name"].get<std::string>());
    }
  }
  std::lock_guard lock(mu);
  columns[{model, version}] = names;
  return names;
}

Status EndpointService::Impl::ResolveRoute(storage::EndpointRoute* r, const std::string& where) {
  StatusOr<storage::ModelVersion> mv = Status(StatusCode::kInternal, "unresolved");
  if (r->ref_kind == "version") {
    mv = registry.GetModelVersion(r->model, r->ref);
  } else if (r->ref_kind == "alias") {
    mv = registry.GetModelVersionByAlias(r->model, r->ref);
  } else {
    auto latest = registry.GetLatestVersions(r->model, {r->ref});
    if (!latest.ok()) return latest.status();
    if (latest->empty()) {
      return NotFound(where + ": registered model '" + r->model + "' has no version in stage '" + r->ref + "'");
    }
    mv = latest->front();
  }
  if (!mv.ok()) return Status(mv.status().code(), where + ": " + mv.status().message());
  if (mv->status != "READY") {
    return FailedPrecondition(where + ": model '" + r->model + "' version " + std::to_string(mv->version) +
                              " is " + mv->status + ", not READY");
  }
  r->version = mv->version;
  KILN_ASSIGN_OR_RETURN(registry::VersionPackage pkg, registry.GetPackage(r->model, std::to_string(r->version)));
  if (pkg.external || !pkg.package.servable) {
    return InvalidArgument(where + ": model '" + r->model + "' version " + std::to_string(r->version) +
                           " cannot be served: " +
                           (pkg.package.reason.empty() ? std::string("no runtime for it") : pkg.package.reason));
  }
  return Status::Ok();
}

Status EndpointService::Impl::ResolveSpec(storage::RevisionSpec* spec) {
  KILN_RETURN_IF_ERROR(CheckSpecShape(spec));
  for (size_t i = 0; i < spec->routes.size(); ++i) {
    KILN_RETURN_IF_ERROR(ResolveRoute(&spec->routes[i], "routes[" + std::to_string(i) + "]"));
  }
  if (spec->mirror) KILN_RETURN_IF_ERROR(ResolveRoute(&spec->mirror->route, "mirror"));
  if (spec->features) {
    if (feature_registry == nullptr) {
      return FailedPrecondition("this server has no feature registry, so an endpoint cannot bind features");
    }
    for (const storage::EndpointRoute& r : spec->routes) {
      KILN_ASSIGN_OR_RETURN(std::vector<std::string> cols, InputColumns(r.model, r.version));
      Status s = CheckFeatureBinding(*feature_registry, options.default_feature_project, *spec->features, cols);
      if (!s.ok()) {
        return Status(s.code(), "features do not fit model '" + r.model + "' version " + std::to_string(r.version) +
                                    ": " + s.message());
      }
    }
  }
  return Status::Ok();
}

}  // namespace kiln::deploy
