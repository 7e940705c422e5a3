#include "api/mlflow/mlflow_access.h"

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "api/mlflow/artifact_owner.h"
#include "api/mlflow/entity_json.h"
#include "api/mlflow/graphql_access.h"
#include "api/mlflow/object_owners.h"
#include "api/mlflow/request_fields.h"
#include "api/mlflow/run_refs.h"
#include "registry/model_uri.h"
#include "registry/registry_json.h"

namespace kiln::api::mlflow {
namespace {

using nlohmann::json;
using net::AccessRule;
using net::HttpRequest;
using net::HttpResponse;
using net::ObjectLocator;
using net::ObjectSnapshot;
using Owners = std::shared_ptr<ObjectOwners>;
using Refs = StatusOr<std::vector<ObjectRef>>;

ObjectRef Exp(std::string id) { return {ObjectKind::kExperiment, std::move(id)}; }
ObjectRef Model(std::string name) { return {ObjectKind::kRegisteredModel, std::move(name)}; }

void AddUnique(std::vector<ObjectRef>* out, ObjectRef o) {
  if (std::find(out->begin(), out->end(), o) == out->end()) out->push_back(std::move(o));
}

StatusOr<std::string> RunIdOf(const RequestFields& f) {
  KILN_ASSIGN_OR_RETURN(auto run_id, f.String("run_id"));
  if (run_id && !run_id->empty()) return *run_id;
  KILN_ASSIGN_OR_RETURN(auto run_uuid, f.String("run_uuid"));
  if (run_uuid && !run_uuid->empty()) return *run_uuid;
  return MissingParameter("run_id");
}

// ------------------------------------------------------------------ locators

ObjectLocator GlobalScope() {
  return [](const HttpRequest&) -> Refs { return std::vector<ObjectRef>{ObjectRef::Global()}; };
}

ObjectLocator ExperimentField(const char* key) {
  return [key](const HttpRequest& req) -> Refs {
    KILN_ASSIGN_OR_RETURN(auto f, RequestFields::From(req));
    KILN_ASSIGN_OR_RETURN(auto id, f.RequiredString(key));
    return std::vector<ObjectRef>{Exp(id)};
  };
}

// runs/create: MLflow's default experiment when none is named.
ObjectLocator RunCreateExperiment() {
  return [](const HttpRequest& req) -> Refs {
    KILN_ASSIGN_OR_RETURN(auto f, RequestFields::From(req));
    KILN_ASSIGN_OR_RETURN(auto id, f.String("experiment_id"));
    return std::vector<ObjectRef>{Exp(id && !id->empty() ? *id : "0")};
  };
}

// Searches naming experiments: viewer on each (none named: the global scope).
ObjectLocator ExperimentList(const char* key) {
  return [key](const HttpRequest& req) -> Refs {
    KILN_ASSIGN_OR_RETURN(auto f, RequestFields::From(req));
    KILN_ASSIGN_OR_RETURN(auto ids, f.StringList(key));
    std::vector<ObjectRef> out;
    for (auto& id : ids) AddUnique(&out, Exp(std::move(id)));
    return out;
  };
}

ObjectLocator ExperimentByName(Owners o) {
  return [o](const HttpRequest& req) -> Refs {
    KILN_ASSIGN_OR_RETURN(auto f, RequestFields::From(req));
    KILN_ASSIGN_OR_RETURN(auto name, f.RequiredString("experiment_name"));
    KILN_ASSIGN_OR_RETURN(auto id, o->ExperimentIdByName(name));
    return std::vector<ObjectRef>{Exp(id)};
  };
}

ObjectLocator RunField(Owners o) {
  return [o](const HttpRequest& req) -> Refs {
    KILN_ASSIGN_OR_RETURN(auto f, RequestFields::From(req));
    KILN_ASSIGN_OR_RETURN(auto run_id, RunIdOf(f));
    KILN_ASSIGN_OR_RETURN(auto exp, o->ExperimentOfRun(run_id));
    return std::vector<ObjectRef>{Exp(exp)};
  };
}

// log-metric / log-batch: the run, and every logged model the metrics are
// written to (MLflow's validate_can_log_metrics). The parse is the handler's
// too (RequestFields keeps it on the request).
ObjectLocator MetricRefs(Owners o) {
  return [o](const HttpRequest& req) -> Refs {
    KILN_ASSIGN_OR_RETURN(auto f, RequestFields::From(req));
    RunRefs refs = RunRefsOf(f.doc());
    if (refs.run_id.empty()) return MissingParameter("run_id");
    std::vector<ObjectRef> out;
    KILN_ASSIGN_OR_RETURN(auto exp, o->ExperimentOfRun(refs.run_id));
    out.push_back(Exp(exp));
    for (const auto& m : refs.model_ids) {
      KILN_ASSIGN_OR_RETURN(auto mexp, o->ExperimentOfLoggedModel(m));
      AddUnique(&out, Exp(mexp));
    }
    return out;
  };
}

ObjectLocator RunList(Owners o, const char* key) {
  return [o, key](const HttpRequest& req) -> Refs {
    KILN_ASSIGN_OR_RETURN(auto f, RequestFields::From(req));
    KILN_ASSIGN_OR_RETURN(auto ids, f.StringList(key));
    if (ids.empty()) return MissingParameter(key);
    std::vector<ObjectRef> out;
    for (const auto& id : ids) {
      KILN_ASSIGN_OR_RETURN(auto exp, o->ExperimentOfRun(id));
      AddUnique(&out, Exp(exp));
    }
    return out;
  };
}

// Repeated query parameters (the UI's get-history-bulk: ?run_id=a&run_id=b).
ObjectLocator RunQueryValues(Owners o, const char* key) {
  return [o, key](const HttpRequest& req) -> Refs {
    std::vector<ObjectRef> out;
    for (const auto& id : req.QueryValues(key)) {
      KILN_ASSIGN_OR_RETURN(auto exp, o->ExperimentOfRun(id));
      AddUnique(&out, Exp(exp));
    }
    if (out.empty()) return InvalidArgument(std::string("the request must name at least one ") + key);
    return out;
  };
}

// Streamed uploads: the body is not read yet, the run is in the query.
ObjectLocator RunQuery(Owners o, const char* key) {
  return [o, key](const HttpRequest& req) -> Refs {
    std::string id(req.QueryValue(key));
    if (id.empty()) return InvalidArgument(std::string("Request must specify ") + key + ".");
    KILN_ASSIGN_OR_RETURN(auto exp, o->ExperimentOfRun(id));
    return std::vector<ObjectRef>{Exp(exp)};
  };
}

ObjectLocator LoggedModelPath(Owners o) {
  return [o](const HttpRequest& req) -> Refs {
    std::string id(req.PathParam("model_id"));
    if (id.empty()) return MissingParameter("model_id");
    KILN_ASSIGN_OR_RETURN(auto exp, o->ExperimentOfLoggedModel(id));
    return std::vector<ObjectRef>{Exp(exp)};
  };
}

ObjectLocator ModelName(const char* key = "name") {
  return [key](const HttpRequest& req) -> Refs {
    KILN_ASSIGN_OR_RETURN(auto f, RequestFields::From(req));
    KILN_ASSIGN_OR_RETURN(auto name, f.RequiredString(key));
    return std::vector<ObjectRef>{Model(name)};
  };
}

// The object a model version's source names, for MLflow's rule that
// registering it needs READ on what it is created from.
StatusOr<std::optional<ObjectRef>> SourceObject(ObjectOwners& o, const std::string& source,
                                               const std::string& registry_prefix) {
  if (registry::IsRunsUri(source)) {
    KILN_ASSIGN_OR_RETURN(auto ru, registry::ParseRunsUri(source));
    KILN_ASSIGN_OR_RETURN(auto exp, o.ExperimentOfRun(ru.run_id));
    return std::optional<ObjectRef>(Exp(exp));
  }
  if (registry::IsModelsUri(source)) {
    KILN_ASSIGN_OR_RETURN(auto mu, registry::ParseModelsUri(source));
    if (mu.kind == registry::ModelUri::Kind::kLoggedModel) {
      KILN_ASSIGN_OR_RETURN(auto exp, o.ExperimentOfLoggedModel(mu.model_id));
      return std::optional<ObjectRef>(Exp(exp));
    }
    return std::optional<ObjectRef>(Model(mu.name));
  }
  if (auto path = registry::ArtifactStorePath(source); path.ok()) {
    KILN_ASSIGN_OR_RETURN(auto owner, OwnerOfArtifactPath(o, *path, registry_prefix));
    return std::optional<ObjectRef>(owner);
  }
  return std::optional<ObjectRef>();  // registered by reference: nothing of kiln's is read
}

ObjectLocator VersionCreate(Owners o, std::string registry_prefix) {
  return [o, registry_prefix](const HttpRequest& req) -> Refs {
    KILN_ASSIGN_OR_RETURN(auto f, RequestFields::From(req));
    KILN_ASSIGN_OR_RETURN(auto name, f.RequiredString("name"));
    if (req.access) {
      // A mismatched or missing source is the handler's 4xx; only what
      // exists can be read, so lookups that fail are left to it.
      std::vector<ObjectRef> sources;
      KILN_ASSIGN_OR_RETURN(auto run_id, f.String("run_id"));
      KILN_ASSIGN_OR_RETURN(auto model_id, f.String("model_id"));
      KILN_ASSIGN_OR_RETURN(auto source, f.String("source"));
      if (run_id && !run_id->empty()) {
        if (auto exp = o->ExperimentOfRun(*run_id); exp.ok()) AddUnique(&sources, Exp(*exp));
      }
      if (model_id && !model_id->empty()) {
        if (auto exp = o->ExperimentOfLoggedModel(*model_id); exp.ok()) AddUnique(&sources, Exp(*exp));
      }
      if (source) {
        if (auto s = SourceObject(*o, *source, registry_prefix); s.ok() && s->has_value()) AddUnique(&sources, **s);
      }
      for (const auto& s : sources) {
        if (!req.access->Allows(s, Role::kViewer)) {
          return PermissionDenied("permission denied: registering a version from " + s.ToString() +
                                  " requires viewer on it");
        }
      }
    }
    return std::vector<ObjectRef>{Model(name)};
  };
}

// kiln's models/resolve: the registered model (or logged model) a models:/ URI names.
ObjectLocator ResolveUri(Owners o) {
  return [o](const HttpRequest& req) -> Refs {
    KILN_ASSIGN_OR_RETURN(auto f, RequestFields::From(req));
    KILN_ASSIGN_OR_RETURN(auto uri, f.RequiredString("uri"));
    KILN_ASSIGN_OR_RETURN(auto mu, registry::ParseModelsUri(uri));
    if (mu.kind == registry::ModelUri::Kind::kLoggedModel) {
      KILN_ASSIGN_OR_RETURN(auto exp, o->ExperimentOfLoggedModel(mu.model_id));
      return std::vector<ObjectRef>{Exp(exp)};
    }
    return std::vector<ObjectRef>{Model(mu.name)};
  };
}

// registry/events: one model's events, or (no name) everyone's: the global scope.
ObjectLocator EventsName() {
  return [](const HttpRequest& req) -> Refs {
    KILN_ASSIGN_OR_RETURN(auto f, RequestFields::From(req));
    KILN_ASSIGN_OR_RETURN(auto name, f.String("name"));
    if (name && !name->empty()) return std::vector<ObjectRef>{Model(*name)};
    return std::vector<ObjectRef>{ObjectRef::Global()};
  };
}

ObjectLocator TraceField(Owners o, const char* key) {
  return [o, key](const HttpRequest& req) -> Refs {
    KILN_ASSIGN_OR_RETURN(auto f, RequestFields::From(req));
    KILN_ASSIGN_OR_RETURN(auto id, f.RequiredString(key));
    KILN_ASSIGN_OR_RETURN(auto exp, o->ExperimentOfTrace(id));
    return std::vector<ObjectRef>{Exp(exp)};
  };
}

ObjectLocator TraceQuery(Owners o, const char* key) {
  return [o, key](const HttpRequest& req) -> Refs {
    std::string id(req.QueryValue(key));
    if (id.empty()) return InvalidArgument(std::string("Request must include the \"") + key + "\" query parameter.");
    KILN_ASSIGN_OR_RETURN(auto exp, o->ExperimentOfTrace(id));
    return std::vector<ObjectRef>{Exp(exp)};
  };
}

ObjectLocator TracePath(Owners o, const char* param) {
  return [o, param](const HttpRequest& req) -> Refs {
    std::string id(req.PathParam(param));
    if (id.empty()) return MissingParameter(param);
    KILN_ASSIGN_OR_RETURN(auto exp, o->ExperimentOfTrace(id));
    return std::vector<ObjectRef>{Exp(exp)};
  };
}

ObjectLocator TraceList(Owners o, const char* key) {
  return [o, key](const HttpRequest& req) -> Refs {
    KILN_ASSIGN_OR_RETURN(auto f, RequestFields::From(req));
    KILN_ASSIGN_OR_RETURN(auto ids, f.StringList(key));
    if (ids.empty()) return MissingParameter(key);
    std::vector<ObjectRef> out;
    for (const auto& id : ids) {
      KILN_ASSIGN_OR_RETURN(auto exp, o->ExperimentOfTrace(id));
      AddUnique(&out, Exp(exp));
    }
    return out;
  };
}

// v3 search: locations[].mlflow_experiment.experiment_id.
ObjectLocator TraceLocations() {
  return [](const HttpRequest& req) -> Refs {
    KILN_ASSIGN_OR_RETURN(auto f, RequestFields::From(req));
    KILN_ASSIGN_OR_RETURN(auto locations, f.Objects("locations"));
    if (locations.empty()) return MissingParameter("locations");
    std::vector<ObjectRef> out;
    for (const auto& loc : locations) {
      auto exp = loc.find("mlflow_experiment");
      if (exp == loc.end() || !exp->is_object()) {
        return InvalidArgument("kiln searches traces in MLflow experiments only");
      }
      KILN_ASSIGN_OR_RETURN(auto id, RequestFields::StringIn(*exp, "experiment_id", "locations.mlflow_experiment"));
      if (!id || id->empty()) return MissingParameter("locations.mlflow_experiment.experiment_id");
      AddUnique(&out, Exp(*id));
    }
    return out;
  };
}

// StartTraceV3: the destination experiment, and the experiment of an
// existing trace the request names (MLflow merges into it).
ObjectLocator StartTraceV3(Owners o) {
  return [o](const HttpRequest& req) -> Refs {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return MissingParameter("trace");
    const json info = body.value("trace", json::object()).value("trace_info", json::object());
    const json loc = info.value("trace_location", json::object()).value("mlflow_experiment", json::object());
    auto id = loc.find("experiment_id");
    if (id == loc.end() || !id->is_string() || id->get<std::string>().empty()) {
      return MissingParameter("trace.trace_info.trace_location.mlflow_experiment.experiment_id");
    }
    std::vector<ObjectRef> out{Exp(id->get<std::string>())};
    if (auto tid = info.find("trace_id"); tid != info.end() && tid->is_string() && !tid->get<std::string>().empty()) {
      if (auto exp = o->ExperimentOfTrace(tid->get<std::string>()); exp.ok()) AddUnique(&out, Exp(*exp));
    }
    return out;
  };
}

// OTLP/HTTP export: the experiment (and run) named by MLflow's headers.
ObjectLocator OtlpHeaders(Owners o) {
  return [o](const HttpRequest& req) -> Refs {
    std::string exp(req.Header("x-mlflow-experiment-id"));
    if (exp.empty()) return InvalidArgument("Missing required header 'X-MLflow-Experiment-Id'");
    std::vector<ObjectRef> out{Exp(exp)};
    std::string run(req.Header("x-mlflow-run-id"));
    if (!run.empty()) {
      KILN_ASSIGN_OR_RETURN(auto rexp, o->ExperimentOfRun(run));
      AddUnique(&out, Exp(rexp));
    }
    return out;
  };
}

ObjectLocator ArtifactPathParam(Owners o, std::string registry_prefix) {
  return [o, registry_prefix](const HttpRequest& req) -> Refs {
    KILN_ASSIGN_OR_RETURN(auto owner, OwnerOfArtifactPath(*o, std::string(req.PathParam("path")), registry_prefix));
    return std::vector<ObjectRef>{owner};
  };
}

ObjectLocator ArtifactListQuery(Owners o, std::string registry_prefix) {
  return [o, registry_prefix](const HttpRequest& req) -> Refs {
    std::string path(req.QueryValue("path"));
    while (!path.empty() && path.back() == '/') path.pop_back();
    KILN_ASSIGN_OR_RETURN(auto owner, OwnerOfArtifactPath(*o, path, registry_prefix));
    return std::vector<ObjectRef>{owner};
  };
}

ObjectLocator Graphql(Owners o) {
  return [o](const HttpRequest& req) -> Refs { return LocateGraphqlObjects(*o, req); };
}

// ----------------------------------------------------------------- snapshots

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

ObjectSnapshot ExperimentSnapshot(Owners o, const char* key) {
  return [o, key](const HttpRequest& req) -> std::string {
    auto f = RequestFields::From(req);
    if (!f.ok()) return "";
    auto id = f->String(key);
    if (!id.ok() || !id->has_value()) return "";
    auto exp = o->tracking().GetExperiment(**id);
    return exp.ok() ? Dump(ExperimentJson(*exp)) : "";
  };
}

ObjectSnapshot ExperimentByNameSnapshot(Owners o) {
  return [o](const HttpRequest& req) -> std::string {
    auto f = RequestFields::From(req);
    if (!f.ok()) return "";
    auto name = f->String("name");
    if (!name.ok() || !name->has_value()) return "";
    auto exp = o->tracking().GetExperimentByName(**name);
    return exp.ok() ? Dump(ExperimentJson(*exp)) : "";
  };
}

// Run info, params and tags; metric histories are not part of a snapshot.
ObjectSnapshot RunSnapshot(Owners o) {
  return [o](const HttpRequest& req) -> std::string {
    auto f = RequestFields::From(req);
    if (!f.ok()) return "";
    auto id = RunIdOf(*f);
    if (!id.ok()) return "";
    auto run = o->tracking().GetRun(*id);
    if (!run.ok()) return "";
    json j = RunJson(*run);
    if (auto d = j.find("data"); d != j.end() && d->is_object()) d->erase("metrics");
    j.erase("inputs");
    j.erase("outputs");
    return Dump(j);
  };
}

ObjectSnapshot LoggedModelSnapshot(Owners o) {
  return [o](const HttpRequest& req) -> std::string {
    auto m = o->tracking().GetLoggedModel(std::string(req.PathParam("model_id")), /*allow_deleted=*/true);
    return m.ok() ? Dump(LoggedModelJson(*m)) : "";
  };
}

// The registered model under `name`, or (rename: after it) under `new_name`.
ObjectSnapshot ModelSnapshot(Owners o) {
  return [o](const HttpRequest& req) -> std::string {
    auto f = RequestFields::From(req);
    if (!f.ok()) return "";
    for (const char* key : {"name", "new_name"}) {
      auto name = f->String(key);
      if (!name.ok() || !name->has_value()) continue;
      if (auto m = o->registry().GetRegisteredModel(**name); m.ok()) return Dump(registry::RegisteredModelJson(*m));
    }
    return "";
  };
}

ObjectSnapshot VersionSnapshot(Owners o) {
  return [o](const HttpRequest& req) -> std::string {
    auto f = RequestFields::From(req);
    if (!f.ok()) return "";
    auto name = f->String("name");
    auto version = f->String("version");
    if (!name.ok() || !version.ok() || !name->has_value() || !version->has_value()) return "";
    auto v = o->registry().GetModelVersion(**name, **version);
    return v.ok() ? Dump(registry::ModelVersionJson(*v)) : "";
  };
}

// ---------------------------------------------------------- created/deleted

std::vector<ObjectRef> CreatedExperiment(const HttpRequest&, const HttpResponse& res) {
  json body = json::parse(res.body, nullptr, false);
  if (!body.is_object()) return {};
  auto id = body.find("experiment_id");
  if (id == body.end() || !id->is_string()) return {};
  return {Exp(id->get<std::string>())};
}

std::vector<ObjectRef> CreatedModel(const HttpRequest&, const HttpResponse& res) {
  json body = json::parse(res.body, nullptr, false);
  if (!body.is_object()) return {};
  const json m = body.value("registered_model", json::object());
  auto name = m.find("name");
  if (name == m.end() || !name->is_string()) return {};
  return {Model(name->get<std::string>())};
}

std::vector<ObjectRef> RequestModel(const HttpRequest& req, const HttpResponse&) {
  auto f = RequestFields::From(req);
  if (!f.ok()) return {};
  auto name = f->String("name");
  if (!name.ok() || !name->has_value()) return {};
  return {Model(**name)};
}

// ---------------------------------------------------------------- the table

constexpr const char* kM2 = "/api/2.0/mlflow";
constexpr const char* kM3 = "/api/3.0/mlflow";
constexpr const char* kArtifacts = "/api/2.0/mlflow-artifacts";
constexpr const char* kKiln = "/api/2.0/kiln";

// "/ajax-api/..." is the UI's alias of "/api/...": one decision for both.
std::string Normalize(const std::string& pattern) {
  if (pattern.rfind("/ajax-api/", 0) == 0) return "/api/" + pattern.substr(10);
  return pattern;
}

// "mlflow." + the path after the API prefix, placeholders dropped:
// /api/2.0/mlflow/runs/log-batch -> mlflow.runs.log-batch.
std::string ActionOf(const std::string& normalized) {
  std::string rest = normalized;
  for (const char* p : {kM2, kM3, kArtifacts, kKiln}) {
    std::string prefix = std::string(p) + "/";
    if (rest.rfind(prefix, 0) == 0) {
      rest = (std::string(p) == kArtifacts ? "artifacts/" : std::string(p) == kKiln ? "kiln/" : "") +
             rest.substr(prefix.size());
      break;
    }
  }
  std::string out = "mlflow";
  size_t start = 0;
  while (start < rest.size()) {
    size_t slash = rest.find('/', start);
    if (slash == std::string::npos) slash = rest.size();
    std::string seg = rest.substr(start, slash - start);
    if (!seg.empty() && seg.front() != '{') out += "." + seg;
    start = slash + 1;
  }
  return out;
}

class Table {
 public:
  void Set(const std::string& method, const std::string& pattern, AccessRule rule) {
    rules_[method + " " + pattern] = std::move(rule);
  }
  void Read(const std::string& method, const std::string& pattern, ObjectLocator locate) {
    Set(method, pattern, net::ObjectAccess(Role::kViewer, std::move(locate), false));
  }
  // A mutation needing `role`; action defaults to "mlflow.<path>".
  AccessRule& Write(const std::string& method, const std::string& pattern, Role role, ObjectLocator locate,
                    ObjectSnapshot snapshot = nullptr, std::string action = "") {
    AccessRule r = net::ObjectAccess(role, std::move(locate), true);
    r.action = action.empty() ? ActionOf(pattern) : std::move(action);
    r.snapshot = std::move(snapshot);
    auto& slot = rules_[method + " " + pattern];
    slot = std::move(r);
    return slot;
  }
  void Authenticated(const std::string& method, const std::string& pattern) {
    Set(method, pattern, net::AuthenticatedAccess(false));
  }
  const AccessRule* Find(const std::string& method, const std::string& pattern) const {
    auto it = rules_.find(method + " " + pattern);
    return it == rules_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, AccessRule> rules_;
};

void AddTrackingRules(Table& t, const Owners& o) {
  const std::string p = kM2;
  auto& create = t.Write("POST", p + "/experiments/create", Role::kEditor, GlobalScope(), ExperimentByNameSnapshot(o));
  create.created = CreatedExperiment;
  t.Read("GET", p + "/experiments/get", ExperimentField("experiment_id"));
  t.Read("GET", p + "/experiments/get-by-name", ExperimentByName(o));
  t.Authenticated("POST", p + "/experiments/search");
  t.Authenticated("GET", p + "/experiments/search");
  auto exp_snap = ExperimentSnapshot(o, "experiment_id");
  t.Write("POST", p + "/experiments/update", Role::kEditor, ExperimentField("experiment_id"), exp_snap);
  t.Write("POST", p + "/experiments/delete", Role::kManager, ExperimentField("experiment_id"), exp_snap);
  t.Write("POST", p + "/experiments/restore", Role::kManager, ExperimentField("experiment_id"), exp_snap);
  t.Write("POST", p + "/experiments/set-experiment-tag", Role::kEditor, ExperimentField("experiment_id"), exp_snap);
  t.Write("POST", p + "/experiments/delete-experiment-tag", Role::kEditor, ExperimentField("experiment_id"), exp_snap);

  auto run = RunField(o);
  auto run_snap = RunSnapshot(o);
  t.Write("POST", p + "/runs/create", Role::kEditor, RunCreateExperiment());
  t.Read("GET", p + "/runs/get", run);
  t.Write("POST", p + "/runs/update", Role::kEditor, run, run_snap);
  t.Write("POST", p + "/runs/delete", Role::kManager, run, run_snap);
  t.Write("POST", p + "/runs/restore", Role::kManager, run, run_snap);
  // The request body is the change: no snapshot, which keeps logging fast.
  t.Write("POST", p + "/runs/log-metric", Role::kEditor, MetricRefs(o));
  t.Write("POST", p + "/runs/log-batch", Role::kEditor, MetricRefs(o));
  for (const char* path : {"/runs/log-parameter", "/runs/set-tag", "/runs/delete-tag", "/runs/log-model",
                           "/runs/log-inputs", "/runs/outputs"}) {
    t.Write("POST", p + path, Role::kEditor, run, run_snap);
  }
  t.Read("POST", p + "/runs/search", ExperimentList("experiment_ids"));
  t.Read("GET", p + "/runs/search", ExperimentList("experiment_ids"));
  t.Read("GET", p + "/metrics/get-history", run);
  t.Read("GET", p + "/metrics/get-history-bulk-interval", RunList(o, "run_ids"));
  t.Read("GET", p + "/metrics/get-history-bulk", RunQueryValues(o, "run_id"));

  auto lm = LoggedModelPath(o);
  auto lm_snap = LoggedModelSnapshot(o);
  t.Write("POST", p + "/logged-models", Role::kEditor, ExperimentField("experiment_id"), nullptr,
          "mlflow.logged-models.create");
  t.Read("POST", p + "/logged-models/search", ExperimentList("experiment_ids"));
  t.Read("GET", p + "/logged-models/{model_id}", lm);
  t.Write("PATCH", p + "/logged-models/{model_id}", Role::kEditor, lm, lm_snap, "mlflow.logged-models.finalize");
  t.Write("DELETE", p + "/logged-models/{model_id}", Role::kManager, lm, lm_snap, "mlflow.logged-models.delete");
  t.Write("PATCH", p + "/logged-models/{model_id}/tags", Role::kEditor, lm, lm_snap, "mlflow.logged-models.set-tags");
  t.Write("DELETE", p + "/logged-models/{model_id}/tags/{tag_key}", Role::kEditor, lm, lm_snap,
          "mlflow.logged-models.delete-tag");
  t.Write("POST", p + "/logged-models/{model_id}/params", Role::kEditor, lm, lm_snap, "mlflow.logged-models.log-params");
  t.Read("GET", p + "/logged-models/{model_id}/artifacts/directories", lm);
  t.Read("GET", p + "/logged-models/{model_id}/artifacts/files", lm);
  t.Read("GET", p + "/artifacts/list", run);

  // What the server is: no object, but not public either.
  t.Authenticated("GET", std::string(kM3) + "/server-info");
}

void AddArtifactRules(Table& t, const Owners& o, const std::string& registry_prefix) {
  const std::string a = kArtifacts;
  auto path = ArtifactPathParam(o, registry_prefix);
  t.Read("GET", a + "/artifacts", ArtifactListQuery(o, registry_prefix));
  t.Read("GET", a + "/artifacts/{path...}", path);
  t.Write("PUT", a + "/artifacts/{path...}", Role::kEditor, path, nullptr, "mlflow.artifacts.upload");
  t.Write("DELETE", a + "/artifacts/{path...}", Role::kManager, path, nullptr, "mlflow.artifacts.delete");
  for (const char* op : {"create", "complete", "abort"}) {
    t.Write("POST", a + "/mpu/" + op + "/{path...}", Role::kEditor, path, nullptr,
            std::string("mlflow.artifacts.mpu.") + op);
  }
}

void AddRegistryRules(Table& t, const Owners& o, const std::string& registry_prefix) {
  const std::string p = kM2;
  auto name = ModelName();
  auto model_snap = ModelSnapshot(o);
  auto version_snap = VersionSnapshot(o);
  auto& create = t.Write("POST", p + "/registered-models/create", Role::kEditor, GlobalScope(), model_snap);
  create.created = CreatedModel;
  t.Read("GET", p + "/registered-models/get", name);
  // Grants name the model: the new name starts with the renamer as manager,
  // the old one is freed of its grants (a later model of that name must not
  // inherit them). Moving the other grants along needs the gate's help.
  auto& rename = t.Write("POST", p + "/registered-models/rename", Role::kManager, name, model_snap);
  rename.created = CreatedModel;
  rename.deleted = RequestModel;
  t.Write("PATCH", p + "/registered-models/update", Role::kEditor, name, model_snap);
  auto& del = t.Write("DELETE", p + "/registered-models/delete", Role::kManager, name, model_snap);
  del.deleted = RequestModel;
  t.Authenticated("GET", p + "/registered-models/search");
  t.Read("POST", p + "/registered-models/get-latest-versions", name);
  t.Read("GET", p + "/registered-models/get-latest-versions", name);
  t.Write("POST", p + "/registered-models/set-tag", Role::kEditor, name, model_snap);
  t.Write("DELETE", p + "/registered-models/delete-tag", Role::kEditor, name, model_snap);
  t.Write("POST", p + "/registered-models/alias", Role::kEditor, name, model_snap, "mlflow.registered-models.alias.set");
  t.Write("DELETE", p + "/registered-models/alias", Role::kManager, name, model_snap,
          "mlflow.registered-models.alias.delete");
  t.Read("GET", p + "/registered-models/alias", name);

  t.Write("POST", p + "/model-versions/create", Role::kEditor, VersionCreate(o, registry_prefix), model_snap);
  t.Read("GET", p + "/model-versions/get", name);
  t.Write("PATCH", p + "/model-versions/update", Role::kEditor, name, version_snap);
  t.Write("DELETE", p + "/model-versions/delete", Role::kManager, name, version_snap);
  t.Write("POST", p + "/model-versions/transition-stage", Role::kEditor, name, version_snap);
  t.Authenticated("GET", p + "/model-versions/search");
  t.Read("GET", p + "/model-versions/get-download-uri", name);
  t.Write("POST", p + "/model-versions/set-tag", Role::kEditor, name, version_snap);
  t.Write("DELETE", p + "/model-versions/delete-tag", Role::kManager, name, version_snap);

  const std::string k = kKiln;
  t.Read("GET", k + "/model-versions/get-package", name);
  t.Read("GET", k + "/models/resolve", ResolveUri(o));
  t.Read("GET", k + "/registry/events", EventsName());
}

void AddTraceRules(Table& t, const Owners& o) {
  for (const std::string p : {kM3, kM2}) {
    const bool v3 = p == kM3;
    const char* id = v3 ? "trace_id" : "request_id";
    const std::string one = p + "/traces/{" + id + "}";
    t.Write("PATCH", one + "/tags", Role::kEditor, TracePath(o, id), nullptr, "mlflow.traces.tags.set");
    t.Write("DELETE", one + "/tags", Role::kEditor, TracePath(o, id), nullptr, "mlflow.traces.tags.delete");
    t.Write("POST", p + "/traces/delete-traces", Role::kManager, ExperimentField("experiment_id"));
    // kiln answers these Unimplemented: no object is touched.
    for (const char* op : {"link-to-run", "link-prompts"}) t.Authenticated("POST", p + "/traces/" + op);
  }
  const std::string p3 = kM3;
  t.Write("POST", p3 + "/traces", Role::kEditor, StartTraceV3(o), nullptr, "mlflow.traces.start");
  t.Read("GET", p3 + "/traces/get", TraceField(o, "trace_id"));
  t.Read("GET", p3 + "/traces/batchGet", TraceList(o, "trace_ids"));
  t.Read("POST", p3 + "/traces/batchGetInfos", TraceList(o, "trace_ids"));
  t.Read("POST", p3 + "/traces/search", TraceLocations());
  t.Read("GET", p3 + "/traces/{trace_id}", TracePath(o, "trace_id"));
  t.Write("POST", p3 + "/traces/{trace_id}/assessments", Role::kEditor, TracePath(o, "trace_id"), nullptr,
          "mlflow.traces.assessments.create");
  const std::string assessment = p3 + "/traces/{trace_id}/assessments/{assessment_id}";
  t.Read("GET", assessment, TracePath(o, "trace_id"));
  t.Write("PATCH", assessment, Role::kEditor, TracePath(o, "trace_id"), nullptr, "mlflow.traces.assessments.update");
  t.Write("DELETE", assessment, Role::kEditor, TracePath(o, "trace_id"), nullptr, "mlflow.traces.assessments.delete");
  for (const char* op : {"metrics", "calculate-filter-correlation"}) t.Authenticated("POST", p3 + "/traces/" + op);

  const std::string p2 = kM2;
  t.Write("POST", p2 + "/traces", Role::kEditor, ExperimentField("experiment_id"), nullptr, "mlflow.traces.start");
  t.Write("PATCH", p2 + "/traces/{request_id}", Role::kEditor, TracePath(o, "request_id"), nullptr, "mlflow.traces.end");
  t.Read("GET", p2 + "/traces/{request_id}/info", TracePath(o, "request_id"));
  t.Read("GET", p2 + "/traces", ExperimentList("experiment_ids"));
  t.Read("GET", p2 + "/get-trace-artifact", TraceQuery(o, "request_id"));
  t.Write("POST", "/v1/traces", Role::kEditor, OtlpHeaders(o), nullptr, "mlflow.traces.export-spans");
}

void AddUiRules(Table& t, const Owners& o) {
  t.Set("GET", "/", net::PublicAccess());
  t.Set("GET", "/static-files/{path...}", net::PublicAccess());
  t.Read("GET", "/get-artifact", RunField(o));
  t.Read("GET", "/model-versions/get-artifact", ModelName());
  const std::string p2 = kM2;
  const std::string p3 = kM3;
  t.Write("POST", p2 + "/upload-artifact", Role::kEditor, RunQuery(o, "run_uuid"), nullptr, "mlflow.artifacts.upload");
  t.Read("POST", p2 + "/experiments/search-datasets", ExperimentList("experiment_ids"));
  // kiln's UI switches: telemetry off, no assistant, no gateway.
  t.Authenticated("GET", p3 + "/ui-telemetry");
  t.Authenticated("POST", p3 + "/ui-telemetry");
  t.Authenticated("GET", p3 + "/assistant/config");
  t.Authenticated("GET", p3 + "/assistant/providers");
  t.Authenticated("GET", p2 + "/gateway-proxy");
  t.Authenticated("POST", p2 + "/gateway-proxy");
  t.Read("GET", "/graphql", Graphql(o));
  t.Read("POST", "/graphql", Graphql(o));
}

// MLflow paths other modules own (users, roles and permissions: src/api/admin).
bool OwnedElsewhere(const std::string& normalized) {
  for (const char* p : {"/api/2.0/mlflow/users/", "/api/3.0/mlflow/users/", "/api/3.0/mlflow/roles/",
                        "/api/2.0/mlflow/roles/", "/api/2.0/mlflow/permissions/", "/api/3.0/mlflow/permissions/"}) {
    if (normalized.rfind(p, 0) == 0) return true;
  }
  return false;
}

// With auth off the gate still locates a mutation's objects, for its audit
// record, but decides nothing: a request the locator cannot resolve (a
// missing run) then goes on to the handler, which answers it exactly as
// without auth, instead of the locator's error.
ObjectLocator DecideOnlyWithAuth(ObjectLocator inner) {
  return [inner = std::move(inner)](const HttpRequest& req) -> Refs {
    Refs found = inner(req);
    if (!found.ok() && !req.access) return std::vector<ObjectRef>{};
    return found;
  };
}

}  // namespace

bool IsMlflowPattern(const std::string& pattern) {
  const std::string n = Normalize(pattern);
  for (const char* p : {kM2, kM3, kArtifacts, kKiln}) {
    if (n.rfind(std::string(p) + "/", 0) == 0) return true;
  }
  for (const char* exact : {"/", "/static-files/{path...}", "/get-artifact", "/model-versions/get-artifact",
                            "/graphql", "/v1/traces"}) {
    if (n == exact) return true;
  }
  return false;
}

Status ApplyMlflowAccess(net::Router& router, tracking::TrackingService& tracking,
                         registry::RegistryService& registry, tracking::TraceService& traces,
                         const MlflowAccessOptions& options) {
  auto owners = std::make_shared<ObjectOwners>(tracking, registry, &traces, options.owner_cache_entries);
  Table table;
  AddTrackingRules(table, owners);
  AddArtifactRules(table, owners, options.registry_prefix);
  AddRegistryRules(table, owners, options.registry_prefix);
  AddTraceRules(table, owners);
  AddUiRules(table, owners);
  std::string unknown;
  for (net::Route* route : router.mutable_routes()) {
    if (route->access.kind != net::AccessKind::kUnset || !IsMlflowPattern(route->pattern)) continue;
    const std::string n = Normalize(route->pattern);
    if (OwnedElsewhere(n)) continue;
    const AccessRule* rule = table.Find(route->method, n);
    if (!rule) {
      unknown += "\n  " + route->method + " " + route->pattern;
      continue;
    }
    route->access = *rule;
    if (route->access.locate) route->access.locate = DecideOnlyWithAuth(std::move(route->access.locate));
  }
  if (!unknown.empty()) return FailedPrecondition("MLflow routes without an access decision:" + unknown);
  return Status::Ok();
}

}  // namespace kiln::api::mlflow
