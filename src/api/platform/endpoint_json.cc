#include "api/platform/endpoint_json.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <initializer_list>

namespace kiln::api::platform {
namespace {

using nlohmann::json;

// --- decoding helpers: every message names the field by its JSON path ---

std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

Status CheckKeys(const json& obj, const std::string& path, const std::string_view* allowed, size_t n) {
  for (const auto& [key, value] : obj.items()) {
    if (std::find(allowed, allowed + n, key) == allowed + n) {
      std::string known;
      for (size_t i = 0; i < n; ++i) known += (known.empty() ? "" : ", ") + std::string(allowed[i]);
      return InvalidArgument("unknown field '" + Join(path, key) + "'" + (n ? " (expected " + known + ")" : " (expected none)"));
    }
  }
  return Status::Ok();
}

Status CheckKeys(const json& obj, const std::string& path, std::initializer_list<std::string_view> allowed) {
  return CheckKeys(obj, path, allowed.begin(), allowed.size());
}

StatusOr<const json*> NeedObject(const json& v, const std::string& path) {
  if (!v.is_object()) return InvalidArgument(path + " must be an object");
  return &v;
}

StatusOr<std::string> GetString(const json& v, const std::string& path, bool allow_empty = false) {
  if (!v.is_string()) return InvalidArgument(path + " must be a string");
  std::string s = v.get<std::string>();
  if (!allow_empty && s.empty()) return InvalidArgument(path + " must not be empty");
  return s;
}

StatusOr<int64_t> GetInt(const json& v, const std::string& path, int64_t lo, int64_t hi) {
  int64_t n = 0;
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(hi)) n = hi + 1;  // out of range below
    else n = static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    n = v.get<int64_t>();
  } else {
    return InvalidArgument(path + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  if (n < lo || n > hi) {
    return InvalidArgument(path + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
                           " (got " + v.dump() + ")");
  }
  return n;
}

std::string NumberText(double d) {
  json j = d;
  return j.dump();
}

StatusOr<double> GetNumber(const json& v, const std::string& path, double lo, double hi) {
  if (!v.is_number()) return InvalidArgument(path + " must be a number");
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < lo || d > hi) {
    return InvalidArgument(path + " must be a number from " + NumberText(lo) + " to " + NumberText(hi) + " (got " +
                           v.dump() + ")");
  }
  return d;
}

StatusOr<bool> GetBool(const json& v, const std::string& path) {
  if (!v.is_boolean()) return InvalidArgument(path + " must be true or false");
  return v.get<bool>();
}

bool ValidEndpointName(std::string_view n) {
  if (n.empty() || n.size() > 128) return false;
  auto ok = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'; };
  return std::isalnum(static_cast<unsigned char>(n[0])) && std::all_of(n.begin(), n.end(), ok);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A model reference: "version" (a number, as text or integer), "alias" or
// "stage" (Staging | Production, any case), exactly one.
Status ParseRef(const json& obj, const std::string& path, storage::EndpointRoute* route) {
  int given = 0;
  for (const char* k : {"version", "alias", "stage"}) given += obj.contains(k) ? 1 : 0;
  if (given != 1) return InvalidArgument(path + " needs exactly one of version, alias or stage");
  if (auto it = obj.find("version"); it != obj.end()) {
    const std::string p = Join(path, "version");
    int64_t v = 0;
    if (it->is_string()) {
      const std::string& s = it->get_ref<const std::string&>();
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < 1) {
        return InvalidArgument(p + " must be a version number such as \"3\" (got " + it->dump() + ")");
      }
    } else {
      KILN_ASSIGN_OR_RETURN(v, GetInt(*it, p, 1, int64_t{1} << 53));
    }
    route->ref_kind = "version";
    route->ref = std::to_string(v);
    route->version = v;
  } else if (auto a = obj.find("alias"); a != obj.end()) {
    KILN_ASSIGN_OR_RETURN(std::string alias, GetString(*a, Join(path, "alias")));
    if (alias[0] == '@') alias.erase(0, 1);  // "@champion" as in models:/fraud@champion
    if (alias.empty()) return InvalidArgument(Join(path, "alias") + " must not be empty");
    route->ref_kind = "alias";
    route->ref = alias;
  } else {
    KILN_ASSIGN_OR_RETURN(std::string stage, GetString(obj["stage"], Join(path, "stage")));
    const std::string l = Lower(stage);
    if (l != "staging" && l != "production") {
      return InvalidArgument(Join(path, "stage") + " must be Staging or Production (got '" + stage + "')");
    }
    route->ref_kind = "stage";
    route->ref = l == "staging" ? "Staging" : "Production";
  }
  return Status::Ok();
}

Status ParseRoutes(const json& v, storage::RevisionSpec* spec) {
  if (!v.is_array() || v.empty()) return InvalidArgument("routes must be a non-empty array of {model, version|alias|stage, percent}");
  if (v.size() > 16) return InvalidArgument("routes holds " + std::to_string(v.size()) + " routes; at most 16");
  std::vector<storage::EndpointRoute> routes;
  int sum = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string path = "routes[" + std::to_string(i) + "]";
    KILN_ASSIGN_OR_RETURN(const json* obj, NeedObject(v[i], path));
    KILN_RETURN_IF_ERROR(CheckKeys(*obj, path, {"model", "version", "alias", "stage", "percent"}));
    storage::EndpointRoute route;
    if (!obj->contains("model")) return InvalidArgument(path + ".model is required");
    KILN_ASSIGN_OR_RETURN(route.model, GetString((*obj)["model"], path + ".model"));
    KILN_RETURN_IF_ERROR(ParseRef(*obj, path, &route));
    if (auto p = obj->find("percent"); p != obj->end()) {
      KILN_ASSIGN_OR_RETURN(int64_t percent, GetInt(*p, path + ".percent", 0, 100));
      route.percent = static_cast<int>(percent);
    } else if (v.size() == 1) {
      route.percent = 100;
    } else {
      return InvalidArgument(path + ".percent is required when there are several routes");
    }
    sum += route.percent;
    routes.push_back(std::move(route));
  }
  if (sum != 100) return InvalidArgument("routes' percents sum to " + std::to_string(sum) + "; they must sum to 100");
  spec->routes = std::move(routes);
  return Status::Ok();
}

StatusOr<storage::EndpointMirror> ParseMirror(const json& v) {
  KILN_ASSIGN_OR_RETURN(const json* obj, NeedObject(v, "mirror"));
  KILN_RETURN_IF_ERROR(CheckKeys(*obj, "mirror", {"model", "version", "alias", "stage", "percent"}));
  storage::EndpointMirror m;
  if (!obj->contains("model")) return InvalidArgument("mirror.model is required");
  KILN_ASSIGN_OR_RETURN(m.route.model, GetString((*obj)["model"], "mirror.model"));
  KILN_RETURN_IF_ERROR(ParseRef(*obj, "mirror", &m.route));
  if (!obj->contains("percent")) return InvalidArgument("mirror.percent is required");
  KILN_ASSIGN_OR_RETURN(int64_t percent, GetInt((*obj)["percent"], "mirror.percent", 1, 100));
  m.percent = static_cast<int>(percent);
  m.route.percent = 0;
  return m;
}

StatusOr<storage::EndpointBatching> ParseBatching(const json& v) {
  KILN_ASSIGN_OR_RETURN(const json* obj, NeedObject(v, "batching"));
  KILN_RETURN_IF_ERROR(CheckKeys(*obj, "batching", {"max_batch_rows", "max_queue_delay_us", "max_queue"}));
  storage::EndpointBatching b;
  if (auto it = obj->find("max_batch_rows"); it != obj->end()) {
    KILN_ASSIGN_OR_RETURN(b.max_batch_rows, GetInt(*it, "batching.max_batch_rows", 1, 1 << 20));
  }
  if (auto it = obj->find("max_queue_delay_us"); it != obj->end()) {
    KILN_ASSIGN_OR_RETURN(b.max_queue_delay_us, GetInt(*it, "batching.max_queue_delay_us", 0, 10'000'000));
  }
  if (auto it = obj->find("max_queue"); it != obj->end()) {
    KILN_ASSIGN_OR_RETURN(b.max_queue, GetInt(*it, "batching.max_queue", 1, 1 << 20));
  }
  return b;
}

StatusOr<std::string> ParseSticky(const json& v) {
  KILN_ASSIGN_OR_RETURN(const json* obj, NeedObject(v, "sticky"));
  KILN_RETURN_IF_ERROR(CheckKeys(*obj, "sticky", {"header"}));
  if (!obj->contains("header")) return InvalidArgument("sticky.header is required");
  KILN_ASSIGN_OR_RETURN(std::string header, GetString((*obj)["header"], "sticky.header"));
  // RFC 9110 token characters: anything else can never arrive as a header name.
  auto token = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  };
  if (header.size() > 128 || !std::all_of(header.begin(), header.end(), token)) {
    return InvalidArgument("sticky.header '" + header + "' is not an HTTP header name");
  }
  return Lower(header);
}

StatusOr<storage::FeatureBinding> ParseFeatures(const json& v) {
  KILN_ASSIGN_OR_RETURN(const json* obj, NeedObject(v, "features"));
  KILN_RETURN_IF_ERROR(CheckKeys(*obj, "features", {"project", "feature_service", "features", "defaults", "allow_stale"}));
  storage::FeatureBinding b;
  if (auto it = obj->find("project"); it != obj->end()) {
    KILN_ASSIGN_OR_RETURN(b.project, GetString(*it, "features.project"));
  }
  const bool has_service = obj->contains("feature_service"), has_list = obj->contains("features");
  if (has_service == has_list) return InvalidArgument("features needs exactly one of feature_service or features");
  if (has_service) {
    KILN_ASSIGN_OR_RETURN(b.feature_service, GetString((*obj)["feature_service"], "features.feature_service"));
  } else {
    const json& list = (*obj)["features"];
    if (!list.is_array() || list.empty()) return InvalidArgument("features.features must be a non-empty array of \"view:feature\" strings");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string p = "features.features[" + std::to_string(i) + "]";
      KILN_ASSIGN_OR_RETURN(std::string ref, GetString(list[i], p));
      const size_t colon = ref.find(':');
      if (colon == 0 || colon == std::string::npos || colon + 1 == ref.size() || ref.find(':', colon + 1) != std::string::npos) {
        return InvalidArgument(p + " must be \"view:feature\" (got '" + ref + "')");
      }
      b.features.push_back(std::move(ref));
    }
  }
  if (auto it = obj->find("defaults"); it != obj->end()) {
    if (!it->is_object()) return InvalidArgument("features.defaults must be an object of feature name -> number");
    for (const auto& [name, value] : it->items()) {
      if (name.empty()) return InvalidArgument("features.defaults has an empty feature name");
      KILN_ASSIGN_OR_RETURN(double d, GetNumber(value, "features.defaults." + name, -1e300, 1e300));
      b.defaults[name] = d;
    }
  }
  if (auto it = obj->find("allow_stale"); it != obj->end()) {
    KILN_ASSIGN_OR_RETURN(b.allow_stale, GetBool(*it, "features.allow_stale"));
  }
  return b;
}

// RouteStats keeps ten minutes; a guardrail cannot look further back.
constexpr int64_t kMaxWindowS = 600;
constexpr int64_t kMaxWaitS = 86400;

StatusOr<storage::Guardrail> ParseGuardrail(const json& v, const std::string& path) {
  KILN_ASSIGN_OR_RETURN(const json* obj, NeedObject(v, path));
  KILN_RETURN_IF_ERROR(CheckKeys(*obj, path, {"metric", "op", "threshold", "window_s", "min_requests"}));
  storage::Guardrail g;
  if (!obj->contains("metric")) return InvalidArgument(path + ".metric is required (error_rate or p99_ms)");
  KILN_ASSIGN_OR_RETURN(g.metric, GetString((*obj)["metric"], path + ".metric"));
  if (g.metric != "error_rate" && g.metric != "p99_ms") {
    return InvalidArgument(path + ".metric must be error_rate or p99_ms (got '" + g.metric + "')");
  }
  if (auto it = obj->find("op"); it != obj->end()) {
    KILN_ASSIGN_OR_RETURN(g.op, GetString(*it, path + ".op"));
    if (g.op != ">" && g.op != ">=" && g.op != "<" && g.op != "<=") {
      return InvalidArgument(path + ".op must be one of >, >=, <, <= (got '" + g.op + "')");
    }
  }
  if (!obj->contains("threshold")) return InvalidArgument(path + ".threshold is required");
  const double hi = g.metric == "error_rate" ? 1.0 : 1e9;
  KILN_ASSIGN_OR_RETURN(g.threshold, GetNumber((*obj)["threshold"], path + ".threshold", 0, hi));
  if (auto it = obj->find("window_s"); it != obj->end()) {
    KILN_ASSIGN_OR_RETURN(g.window_s, GetInt(*it, path + ".window_s", 1, kMaxWindowS));
  }
  if (auto it = obj->find("min_requests"); it != obj->end()) {
    KILN_ASSIGN_OR_RETURN(g.min_requests, GetInt(*it, path + ".min_requests", 1, int64_t{1} << 40));
  }
  return g;
}

StatusOr<storage::RolloutPolicy> ParseRollout(const json& v) {
  KILN_ASSIGN_OR_RETURN(const json* obj, NeedObject(v, "rollout"));
  KILN_RETURN_IF_ERROR(CheckKeys(*obj, "rollout", {"strategy", "step_percent", "bake_s", "interval_s", "rollback_on"}));
  storage::RolloutPolicy p;
  if (auto it = obj->find("strategy"); it != obj->end()) {
    KILN_ASSIGN_OR_RETURN(p.strategy, GetString(*it, "rollout.strategy"));
  }
  const std::string& s = p.strategy;
  if (s != "all_at_once" && s != "canary" && s != "linear") {
    return InvalidArgument("rollout.strategy must be all_at_once, canary or linear (got '" + s + "')");
  }
  if (auto it = obj->find("step_percent"); it != obj->end()) {
    if (s == "all_at_once") return InvalidArgument("rollout.step_percent applies to canary and linear only");
    KILN_ASSIGN_OR_RETURN(int64_t step, GetInt(*it, "rollout.step_percent", 1, 99));
    p.step_percent = static_cast<int>(step);
  } else if (s != "all_at_once") {
    return InvalidArgument("rollout.step_percent is required for " + s);
  }
  if (auto it = obj->find("interval_s"); it != obj->end()) {
    if (s != "linear") return InvalidArgument("rollout.interval_s applies to linear only");
    KILN_ASSIGN_OR_RETURN(p.interval_s, GetInt(*it, "rollout.interval_s", 0, kMaxWaitS));
  }
  if (auto it = obj->find("bake_s"); it != obj->end()) {
    if (s == "all_at_once") return InvalidArgument("rollout.bake_s applies to canary and linear only");
    KILN_ASSIGN_OR_RETURN(p.bake_s, GetInt(*it, "rollout.bake_s", 0, kMaxWaitS));
  }
  if (auto it = obj->find("rollback_on"); it != obj->end()) {
    if (!it->is_array()) return InvalidArgument("rollout.rollback_on must be an array of guardrails");
    if (it->size() > 16) return InvalidArgument("rollout.rollback_on holds more than 16 guardrails");
    for (size_t i = 0; i < it->size(); ++i) {
      KILN_ASSIGN_OR_RETURN(storage::Guardrail g, ParseGuardrail((*it)[i], "rollout.rollback_on[" + std::to_string(i) + "]"));
      p.rollback_on.push_back(std::move(g));
    }
  }
  return p;
}

// Revision fields present in `j` replace (or, when null, reset) those of *spec.
Status ApplyRevisionFields(const json& j, storage::RevisionSpec* spec, bool* touched) {
  for (const auto& [key, value] : j.items()) {
    const bool null = value.is_null();
    if (key == "routes") {
      if (null) return InvalidArgument("routes cannot be null: an endpoint always routes somewhere");
      KILN_RETURN_IF_ERROR(ParseRoutes(value, spec));
    } else if (key == "mirror") {
      if (null) {
        spec->mirror.reset();
      } else {
        KILN_ASSIGN_OR_RETURN(spec->mirror, ParseMirror(value));
      }
    } else if (key == "batching") {
      if (null) {
        spec->batching = {};
      } else {
        KILN_ASSIGN_OR_RETURN(spec->batching, ParseBatching(value));
      }
    } else if (key == "sticky") {
      if (null) {
        spec->sticky_header.clear();
      } else {
        KILN_ASSIGN_OR_RETURN(spec->sticky_header, ParseSticky(value));
      }
    } else if (key == "features") {
      if (null) {
        spec->features.reset();
      } else {
        KILN_ASSIGN_OR_RETURN(spec->features, ParseFeatures(value));
      }
    } else if (key == "rollout") {
      if (null) {
        spec->rollout = {};
      } else {
        KILN_ASSIGN_OR_RETURN(spec->rollout, ParseRollout(value));
      }
    } else {
      continue;
    }
    *touched = true;
  }
  return Status::Ok();
}

Status ApplySettingsFields(const json& j, storage::EndpointSettings* settings, bool* touched) {
  for (const auto& [key, value] : j.items()) {
    const bool null = value.is_null();
    if (key == "description") {
      if (null) {
        settings->description.clear();
      } else {
        KILN_ASSIGN_OR_RETURN(settings->description, GetString(value, "description", /*allow_empty=*/true));
        if (settings->description.size() > 4096) return InvalidArgument("description is longer than 4096 bytes");
      }
    } else if (key == "follow_aliases") {
      if (null) {
        settings->follow_aliases = false;
      } else {
        KILN_ASSIGN_OR_RETURN(settings->follow_aliases, GetBool(value, "follow_aliases"));
      }
    } else if (key == "capture") {
      if (null) {
        settings->capture_percent = 0;
      } else {
        KILN_ASSIGN_OR_RETURN(const json* obj, NeedObject(value, "capture"));
        KILN_RETURN_IF_ERROR(CheckKeys(*obj, "capture", {"percent"}));
        if (!obj->contains("percent")) return InvalidArgument("capture.percent is required");
        KILN_ASSIGN_OR_RETURN(settings->capture_percent, GetNumber((*obj)["percent"], "capture.percent", 0, 100));
      }
    } else if (key == "drift") {
      if (null) {
        settings->drift_baseline.clear();
        settings->drift_threshold = 0.1;
      } else {
        KILN_ASSIGN_OR_RETURN(const json* obj, NeedObject(value, "drift"));
        KILN_RETURN_IF_ERROR(CheckKeys(*obj, "drift", {"baseline", "threshold"}));
        if (!obj->contains("baseline")) return InvalidArgument("drift.baseline is required (a .csv/.parquet path or \"run\")");
        KILN_ASSIGN_OR_RETURN(settings->drift_baseline, GetString((*obj)["baseline"], "drift.baseline"));
        if (settings->drift_baseline != "run" && settings->drift_baseline[0] != '/') {
          return InvalidArgument("drift.baseline must be an absolute server path to a .csv or .parquet file, or \"run\"");
        }
        settings->drift_threshold = 0.1;
        if (auto it = obj->find("threshold"); it != obj->end()) {
          KILN_ASSIGN_OR_RETURN(settings->drift_threshold, GetNumber(*it, "drift.threshold", 1e-9, 1e6));
        }
      }
    } else {
      continue;
    }
    *touched = true;
  }
  return Status::Ok();
}

constexpr std::string_view kEndpointFields[] = {"name",     "description", "routes",  "mirror",         "batching", "sticky",
                                               "features", "rollout",     "capture", "follow_aliases", "drift"};
constexpr size_t kEndpointFieldCount = sizeof(kEndpointFields) / sizeof(kEndpointFields[0]);

StatusOr<json> ParseObject(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("the request body is not valid JSON");
  if (!j.is_object()) return InvalidArgument("the request body must be a JSON object");
  return j;
}

json RefJson(const storage::EndpointRoute& r) {
  return {{"model", r.model}, {"ref_kind", r.ref_kind}, {"ref", r.ref}, {"version", r.version}, {"percent", r.percent}};
}

json SpecJson(const storage::RevisionSpec& s) {
  json out = json::object();
  json routes = json::array();
  for (const auto& r : s.routes) routes.push_back(RefJson(r));
  out["routes"] = std::move(routes);
  if (s.mirror) {
    json m = RefJson(s.mirror->route);
    m.erase("percent");
    m["percent"] = s.mirror->percent;
    out["mirror"] = std::move(m);
  } else {
    out["mirror"] = nullptr;
  }
  json batching = json::object();
  if (s.batching.max_batch_rows > 0) batching["max_batch_rows"] = s.batching.max_batch_rows;
  if (s.batching.max_queue_delay_us >= 0) batching["max_queue_delay_us"] = s.batching.max_queue_delay_us;
  if (s.batching.max_queue > 0) batching["max_queue"] = s.batching.max_queue;
  out["batching"] = std::move(batching);
  out["sticky"] = s.sticky_header.empty() ? json(nullptr) : json{{"header", s.sticky_header}};
  if (s.features) {
    const auto& f = *s.features;
    json b = {{"project", f.project}, {"defaults", json::object()}, {"allow_stale", f.allow_stale}};
    if (!f.feature_service.empty()) b["feature_service"] = f.feature_service;
    else b["features"] = f.features;
    for (const auto& [k, v] : f.defaults) b["defaults"][k] = v;
    out["features"] = std::move(b);
  } else {
    out["features"] = nullptr;
  }
  const auto& p = s.rollout;
  json rollout = {{"strategy", p.strategy}};
  if (p.strategy != "all_at_once") {
    rollout["step_percent"] = p.step_percent;
    rollout["bake_s"] = p.bake_s;
  }
  if (p.strategy == "linear") rollout["interval_s"] = p.interval_s;
  json guards = json::array();
  for (const auto& g : p.rollback_on) {
    guards.push_back({{"metric", g.metric}, {"op", g.op}, {"threshold", g.threshold}, {"window_s", g.window_s},
                      {"min_requests", g.min_requests}});
  }
  rollout["rollback_on"] = std::move(guards);
  out["rollout"] = std::move(rollout);
  return out;
}

// Captured bodies are stored as text; shown as JSON when they are JSON.
json Embedded(const std::string& text) {
  if (text.empty()) return nullptr;
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? json(text) : j;
}

}  // namespace

StatusOr<deploy::EndpointCreate> ParseCreateEndpoint(std::string_view body) {
  KILN_ASSIGN_OR_RETURN(json j, ParseObject(body));
  KILN_RETURN_IF_ERROR(CheckKeys(j, "", kEndpointFields, kEndpointFieldCount));
  deploy::EndpointCreate out;
  if (!j.contains("name")) return InvalidArgument("name is required");
  KILN_ASSIGN_OR_RETURN(out.name, GetString(j["name"], "name"));
  if (!ValidEndpointName(out.name)) {
    return InvalidArgument("name '" + out.name + "' must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit");
  }
  if (!j.contains("routes")) return InvalidArgument("routes is required");
  bool touched = false;
  KILN_RETURN_IF_ERROR(ApplyRevisionFields(j, &out.spec, &touched));
  KILN_RETURN_IF_ERROR(ApplySettingsFields(j, &out.settings, &touched));
  return out;
}

StatusOr<EndpointPatch> ParsePatchEndpoint(std::string_view body, const std::string& name,
                                           const storage::RevisionSpec& current_spec,
                                           const storage::EndpointSettings& current_settings) {
  KILN_ASSIGN_OR_RETURN(json j, ParseObject(body));
  KILN_RETURN_IF_ERROR(CheckKeys(j, "", kEndpointFields, kEndpointFieldCount));
  if (auto it = j.find("name"); it != j.end() && (!it->is_string() || it->get<std::string>() != name)) {
    return InvalidArgument("name cannot change (the endpoint is '" + name + "')");
  }
  EndpointPatch out;
  storage::RevisionSpec spec = current_spec;
  storage::EndpointSettings settings = current_settings;
  bool spec_touched = false, settings_touched = false;
  KILN_RETURN_IF_ERROR(ApplyRevisionFields(j, &spec, &spec_touched));
  KILN_RETURN_IF_ERROR(ApplySettingsFields(j, &settings, &settings_touched));
  if (!spec_touched && !settings_touched) {
    return InvalidArgument("the body changes nothing: give revision fields (routes, mirror, batching, sticky, features, "
                           "rollout) and/or settings (description, follow_aliases, capture, drift)");
  }
  if (spec_touched) out.spec = std::move(spec);
  if (settings_touched) out.settings = std::move(settings);
  return out;
}

StatusOr<std::string> ParseActionBody(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::string();
  KILN_ASSIGN_OR_RETURN(json j, ParseObject(body));
  KILN_RETURN_IF_ERROR(CheckKeys(j, "", {"reason"}));
  std::string reason;
  if (auto it = j.find("reason"); it != j.end() && !it->is_null()) {
    KILN_ASSIGN_OR_RETURN(reason, GetString(*it, "reason"));
    if (reason.size() > 1024) return InvalidArgument("reason is longer than 1024 bytes");
  }
  return reason;
}

StatusOr<ModelDeployRequest> ParseModelDeploy(std::string_view body, bool need_version) {
  KILN_ASSIGN_OR_RETURN(json j, ParseObject(body));
  if (need_version) {
    KILN_RETURN_IF_ERROR(CheckKeys(j, "", {"model_name", "model_version", "target_stage"}));
  } else {
    KILN_RETURN_IF_ERROR(CheckKeys(j, "", {"model_name", "target_stage"}));
  }
  ModelDeployRequest out;
  if (!j.contains("model_name")) return InvalidArgument("model_name is required");
  KILN_ASSIGN_OR_RETURN(out.model_name, GetString(j["model_name"], "model_name"));
  if (need_version) {
    if (!j.contains("model_version")) return InvalidArgument("model_version is required");
    const json& v = j["model_version"];
    if (v.is_number_integer() || v.is_number_unsigned()) {
      KILN_ASSIGN_OR_RETURN(int64_t n, GetInt(v, "model_version", 1, int64_t{1} << 53));
      out.model_version = std::to_string(n);
    } else {
      KILN_ASSIGN_OR_RETURN(out.model_version, GetString(v, "model_version"));
      int64_t n = 0;
      auto [end, ec] = std::from_chars(out.model_version.data(), out.model_version.data() + out.model_version.size(), n);
      if (ec != std::errc() || end != out.model_version.data() + out.model_version.size() || n < 1) {
        return InvalidArgument("model_version must be a version number such as \"3\" (got '" + out.model_version + "')");
      }
    }
  }
  if (!j.contains("target_stage")) return InvalidArgument("target_stage is required (staging or production)");
  KILN_ASSIGN_OR_RETURN(out.target_stage, GetString(j["target_stage"], "target_stage"));
  const std::string l = Lower(out.target_stage);
  if (l != "staging" && l != "production") {
    return InvalidArgument("target_stage must be staging or production (got '" + out.target_stage + "')");
  }
  return out;
}

json RevisionJson(const storage::EndpointRevision& r) {
  json out = {{"revision", r.number}, {"created_ms", r.created_ms}, {"created_by", r.created_by}, {"reason", r.reason}};
  out.update(SpecJson(r.spec));
  return out;
}

json EndpointJson(const deploy::EndpointView& v) {
  const auto& rec = v.record;
  const auto& st = rec.state;
  json revisions = json::array();
  for (const auto& r : v.revisions) revisions.push_back(RevisionJson(r));
  json traffic = json::array();
  for (const auto& r : v.routes) {
    traffic.push_back({{"revision", r.revision},
                       {"model", r.model},
                       {"version", r.version},
                       {"percent", r.percent},
                       {"ready", r.ready},
                       {"reason", r.reason},
                       {"requests_1m", r.last_minute.requests},
                       {"error_rate_1m", r.last_minute.error_rate},
                       {"p99_ms_1m", r.last_minute.p99_ms}});
  }
  json shares = json::array();
  for (const auto& t : st.traffic) shares.push_back({{"revision", t.revision}, {"percent", t.percent}});
  json rollout = nullptr;
  if (st.rollout.active) {
    rollout = {{"from_revision", st.rollout.from_revision},
               {"to_revision", st.rollout.to_revision},
               {"percent", st.rollout.percent},
               {"phase", st.rollout.phase},
               {"started_ms", st.rollout.started_ms},
               {"next_step_ms", st.rollout.next_step_ms}};
  }
  json drift = json::array();
  for (const auto& d : v.drift) {
    drift.push_back({{"feature", d.feature}, {"psi", d.psi}, {"drifted", d.drifted}, {"current_rows", d.current_rows}});
  }
  const auto& s = rec.settings;
  json status = {{"latest_revision", st.latest_revision},
                 {"latest_ready_revision", st.latest_ready_revision},
                 {"rolled_out_revision", st.rolled_out_revision},
                 {"previous_rolled_out_revision", st.previous_rolled_out_revision},
                 {"pending", st.rollout.active},
                 {"rollout", std::move(rollout)},
                 {"revision_traffic", std::move(shares)},
                 {"traffic", std::move(traffic)},
                 {"drift", std::move(drift)},
                 {"drift_error", v.drift_error}};
  return {{"name", rec.name},
          {"description", s.description},
          {"created_ms", rec.created_ms},
          {"updated_ms", rec.updated_ms},
          {"created_by", rec.created_by},
          {"config_version", st.config_version},
          {"follow_aliases", s.follow_aliases},
          {"capture", {{"percent", s.capture_percent}}},
          {"drift", s.drift_baseline.empty() ? json(nullptr)
                                             : json{{"baseline", s.drift_baseline}, {"threshold", s.drift_threshold}}},
          {"revisions", std::move(revisions)},
          {"status", std::move(status)}};
}

json EventJson(const storage::EndpointEvent& e) {
  json detail = Embedded(e.detail_json);
  if (detail.is_null()) detail = json::object();
  return {{"id", e.id},         {"endpoint", e.endpoint}, {"timestamp_ms", e.timestamp_ms}, {"actor", e.actor},
          {"action", e.action}, {"reason", e.reason},     {"revision", e.revision},         {"detail", std::move(detail)}};
}

json DeployOutcomeJson(const deploy::DeployOutcome& o) {
  return {{"endpoint", o.endpoint},
          {"revision", o.revision},
          {"model_name", o.model},
          {"model_version", std::to_string(o.version)},
          {"stage", o.stage},
          {"created", o.created}};
}

json CaptureJson(const deploy::CapturedPrediction& r) {
  return {{"id", r.id},
          {"timestamp_ms", r.timestamp_ms},
          {"revision", r.revision},
          {"model_name", r.model},
          {"model_version", r.version > 0 ? json(std::to_string(r.version)) : json(nullptr)},
          {"latency_ms", r.latency_ms},
          {"status", r.status},
          {"request", Embedded(r.request_json)},
          {"response", Embedded(r.response_json)}};
}

StatusOr<int64_t> QueryInt(std::string_view text, std::string_view name, int64_t fallback, int64_t lo, int64_t hi) {
  if (text.empty()) return fallback;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < lo || n > hi) {
    return InvalidArgument(std::string(name) + " must be an integer from " + std::to_string(lo) + " to " +
                           std::to_string(hi) + " (got '" + std::string(text) + "')");
  }
  return n;
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace kiln::api::platform
