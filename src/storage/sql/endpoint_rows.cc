#include "storage/sql/endpoint_rows.h"

#include <cmath>
#include <exception>
#include <stdexcept>
#include <limits>
#include <nlohmann/json.hpp>

namespace kiln::storage::sql {
namespace {

using nlohmann::json;

json Num(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

// Reads a value written by Num; throws (caught by the caller) on anything else.
double ToDouble(const json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
  }
  throw std::runtime_error("expected a number, got " + j.dump());
}

// The typed readers leave `out` unchanged when `key` is absent (or null).
void Read(const json& o, const char* key, std::string& out) {
  auto it = o.find(key);
  if (it != o.end() && !it->is_null()) out = it->get<std::string>();
}
void Read(const json& o, const char* key, bool& out) {
  auto it = o.find(key);
  if (it != o.end() && !it->is_null()) out = it->get<bool>();
}
void Read(const json& o, const char* key, int64_t& out) {
  auto it = o.find(key);
  if (it != o.end() && !it->is_null()) {
    if (!it->is_number_integer()) throw std::runtime_error(std::string(key) + " is not an integer");
    out = it->get<int64_t>();
  }
}
void Read(const json& o, const char* key, int& out) {
  int64_t v = out;
  Read(o, key, v);
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
    throw std::runtime_error(std::string(key) + " is out of range");
  }
  out = static_cast<int>(v);
}
void Read(const json& o, const char* key, double& out) {
  auto it = o.find(key);
  if (it != o.end() && !it->is_null()) out = ToDouble(*it);
}
const json* Child(const json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return nullptr;
  return &*it;
}

json RouteJson(const EndpointRoute& r) {
  return {{"model", r.model}, {"ref_kind", r.ref_kind}, {"ref", r.ref}, {"version", r.version},
          {"percent", r.percent}};
}
EndpointRoute RouteFrom(const json& j) {
  EndpointRoute r;
  Read(j, "model", r.model);
  Read(j, "ref_kind", r.ref_kind);
  Read(j, "ref", r.ref);
  Read(j, "version", r.version);
  Read(j, "percent", r.percent);
  return r;
}

template <typename T, typename Fn>
StatusOr<T> Parse(const std::string& text, const char* what, Fn fn) {
  try {
    json j = json::parse(text);
    if (!j.is_object()) return Internal(std::string("stored endpoint ") + what + " is not a JSON object");
    return fn(j);
  } catch (const std::exception& e) {
    return Internal(std::string("stored endpoint ") + what + " is corrupt: " + e.what());
  }
}

}  // namespace

std::string SettingsToJson(const EndpointSettings& s) {
  json j = {{"description", s.description},       {"follow_aliases", s.follow_aliases},
            {"capture_percent", Num(s.capture_percent)}, {"drift_baseline", s.drift_baseline},
            {"drift_threshold", Num(s.drift_threshold)}};
  return j.dump();
}

StatusOr<EndpointSettings> SettingsFromJson(const std::string& text) {
  return Parse<EndpointSettings>(text, "settings", [](const json& j) {
    EndpointSettings s;
    Read(j, "description", s.description);
    Read(j, "follow_aliases", s.follow_aliases);
    Read(j, "capture_percent", s.capture_percent);
    Read(j, "drift_baseline", s.drift_baseline);
    Read(j, "drift_threshold", s.drift_threshold);
    return s;
  });
}

std::string StateToJson(const EndpointState& s) {
  json traffic = json::array();
  for (const TrafficShare& t : s.traffic) traffic.push_back({{"revision", t.revision}, {"percent", t.percent}});
  const RolloutState& r = s.rollout;
  json rollout = {{"active", r.active},       {"from_revision", r.from_revision}, {"to_revision", r.to_revision},
                  {"percent", r.percent},     {"phase", r.phase},                 {"started_ms", r.started_ms},
                  {"next_step_ms", r.next_step_ms}};
  json j = {{"latest_revision", s.latest_revision},
            {"latest_ready_revision", s.latest_ready_revision},
            {"rolled_out_revision", s.rolled_out_revision},
            {"previous_rolled_out_revision", s.previous_rolled_out_revision},
            {"traffic", std::move(traffic)},
            {"rollout", std::move(rollout)}};
  return j.dump();
}

StatusOr<EndpointState> StateFromJson(const std::string& text) {
  return Parse<EndpointState>(text, "state", [](const json& j) {
    EndpointState s;
    Read(j, "latest_revision", s.latest_revision);
    Read(j, "latest_ready_revision", s.latest_ready_revision);
    Read(j, "rolled_out_revision", s.rolled_out_revision);
    Read(j, "previous_rolled_out_revision", s.previous_rolled_out_revision);
    if (const json* t = Child(j, "traffic")) {
      for (const json& e : t->get_ref<const json::array_t&>()) {
        TrafficShare share;
        Read(e, "revision", share.revision);
        Read(e, "percent", share.percent);
        s.traffic.push_back(share);
      }
    }
    if (const json* r = Child(j, "rollout")) {
      RolloutState& o = s.rollout;
      Read(*r, "active", o.active);
      Read(*r, "from_revision", o.from_revision);
      Read(*r, "to_revision", o.to_revision);
      Read(*r, "percent", o.percent);
      Read(*r, "phase", o.phase);
      Read(*r, "started_ms", o.started_ms);
      Read(*r, "next_step_ms", o.next_step_ms);
    }
    return s;
  });
}

std::string SpecToJson(const RevisionSpec& spec) {
  json routes = json::array();
  for (const EndpointRoute& r : spec.routes) routes.push_back(RouteJson(r));
  json j = {{"routes", std::move(routes)}};
  j["mirror"] = spec.mirror ? json{{"route", RouteJson(spec.mirror->route)}, {"percent", spec.mirror->percent}}
                            : json(nullptr);
  j["batching"] = {{"max_batch_rows", spec.batching.max_batch_rows},
                   {"max_queue_delay_us", spec.batching.max_queue_delay_us},
                   {"max_queue", spec.batching.max_queue}};
  j["sticky_header"] = spec.sticky_header;
  if (spec.features) {
    const FeatureBinding& f = *spec.features;
    json defaults = json::object();
    for (const auto& [name, v] : f.defaults) defaults[name] = Num(v);
    j["features"] = {{"project", f.project},
                     {"feature_service", f.feature_service},
                     {"features", f.features},
                     {"defaults", std::move(defaults)},
                     {"allow_stale", f.allow_stale}};
  } else {
    j["features"] = nullptr;
  }
  const RolloutPolicy& p = spec.rollout;
  json guards = json::array();
  for (const Guardrail& g : p.rollback_on) {
    guards.push_back({{"metric", g.metric},
                      {"op", g.op},
                      {"threshold", Num(g.threshold)},
                      {"window_s", g.window_s},
                      {"min_requests", g.min_requests}});
  }
  j["rollout"] = {{"strategy", p.strategy}, {"step_percent", p.step_percent}, {"interval_s", p.interval_s},
                  {"bake_s", p.bake_s},     {"rollback_on", std::move(guards)}};
  return j.dump();
}

StatusOr<RevisionSpec> SpecFromJson(const std::string& text) {
  return Parse<RevisionSpec>(text, "revision spec", [](const json& j) {
    RevisionSpec spec;
    if (const json* routes = Child(j, "routes")) {
      for (const json& r : routes->get_ref<const json::array_t&>()) spec.routes.push_back(RouteFrom(r));
    }
    if (const json* m = Child(j, "mirror")) {
      EndpointMirror mirror;
      if (const json* r = Child(*m, "route")) mirror.route = RouteFrom(*r);
      Read(*m, "percent", mirror.percent);
      spec.mirror = std::move(mirror);
    }
    if (const json* b = Child(j, "batching")) {
      Read(*b, "max_batch_rows", spec.batching.max_batch_rows);
      Read(*b, "max_queue_delay_us", spec.batching.max_queue_delay_us);
      Read(*b, "max_queue", spec.batching.max_queue);
    }
    Read(j, "sticky_header", spec.sticky_header);
    if (const json* f = Child(j, "features")) {
      FeatureBinding binding;
      Read(*f, "project", binding.project);
      Read(*f, "feature_service", binding.feature_service);
      if (const json* list = Child(*f, "features")) binding.features = list->get<std::vector<std::string>>();
      if (const json* d = Child(*f, "defaults")) {
        for (const auto& [name, v] : d->get_ref<const json::object_t&>()) binding.defaults[name] = ToDouble(v);
      }
      Read(*f, "allow_stale", binding.allow_stale);
      spec.features = std::move(binding);
    }
    if (const json* p = Child(j, "rollout")) {
      RolloutPolicy& r = spec.rollout;
      Read(*p, "strategy", r.strategy);
      Read(*p, "step_percent", r.step_percent);
      Read(*p, "interval_s", r.interval_s);
      Read(*p, "bake_s", r.bake_s);
      if (const json* gs = Child(*p, "rollback_on")) {
        for (const json& g : gs->get_ref<const json::array_t&>()) {
          Guardrail guard;
          Read(g, "metric", guard.metric);
          Read(g, "op", guard.op);
          Read(g, "threshold", guard.threshold);
          Read(g, "window_s", guard.window_s);
          Read(g, "min_requests", guard.min_requests);
          r.rollback_on.push_back(std::move(guard));
        }
      }
    }
    return spec;
  });
}

}  // namespace kiln::storage::sql
