#include "api/mlflow/graphql_access.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "api/mlflow/graphql_parser.h"

namespace kiln::api::mlflow {
namespace {

using nlohmann::json;

constexpr int kMaxFragmentDepth = 16;

struct Walk {
  ObjectOwners& owners;
  const graphql::Document& doc;
  const json& variables;
  std::vector<ObjectRef> objects;
  bool needs_global = false;

  void Add(ObjectRef o) {
    if (std::find(objects.begin(), objects.end(), o) == objects.end()) objects.push_back(std::move(o));
  }

  // A literal or variable value as JSON (variables substituted).
  json ToJson(const graphql::Value& v) const {
    using K = graphql::Value::Kind;
    switch (v.kind) {
      case K::kString:
      case K::kEnum:
      case K::kInt:
      case K::kFloat:
        return v.text;
      case K::kBoolean:
        return v.text == "true";
      case K::kList: {
        json arr = json::array();
        for (const auto& i : v.items) arr.push_back(ToJson(i));
        return arr;
      }
      case K::kObject: {
        json obj = json::object();
        for (const auto& [k, f] : v.fields) obj[k] = ToJson(f);
        return obj;
      }
      case K::kVariable:
        return variables.is_object() && variables.contains(v.text) ? variables[v.text] : json();
      case K::kNull:
        break;
    }
    return json();
  }

  // The `input` argument of a root field, as JSON.
  json Input(const graphql::Selection& field) const {
    for (const auto& [name, value] : field.arguments) {
      if (name == "input") return ToJson(value);
    }
    return json::object();
  }

  static std::vector<std::string> Strings(const json& in, const char* camel, const char* snake) {
    std::vector<std::string> out;
    for (const char* key : {camel, snake}) {
      auto it = in.find(key);
      if (it == in.end()) continue;
      if (it->is_string()) out.push_back(it->get<std::string>());
      if (it->is_array()) {
        for (const auto& s : *it) {
          if (s.is_string()) out.push_back(s.get<std::string>());
        }
      }
    }
    return out;
  }

  Status RunsOf(const std::vector<std::string>& run_ids) {
    if (run_ids.empty()) needs_global = true;
    for (const auto& id : run_ids) {
      KILN_ASSIGN_OR_RETURN(auto exp, owners.ExperimentOfRun(id));
      Add({ObjectKind::kExperiment, exp});
    }
    return Status::Ok();
  }

  Status Root(const graphql::Selection& field) {
    const std::string& n = field.name;
    if (n == "__typename" || n == "__schema" || n == "__type" || n == "test" || n == "testMutation") {
      return Status::Ok();
    }
    json in = Input(field);
    if (n == "mlflowGetExperiment") {
      auto ids = Strings(in, "experimentId", "experiment_id");
      if (ids.empty()) needs_global = true;
      for (const auto& id : ids) Add({ObjectKind::kExperiment, id});
      return Status::Ok();
    }
    if (n == "mlflowSearchRuns") {
      auto ids = Strings(in, "experimentIds", "experiment_ids");
      if (ids.empty()) needs_global = true;
      for (const auto& id : ids) Add({ObjectKind::kExperiment, id});
      return Status::Ok();
    }
    if (n == "mlflowGetRun") {
      auto ids = Strings(in, "runId", "run_id");
      if (ids.empty()) ids = Strings(in, "runUuid", "run_uuid");
      return RunsOf(ids);
    }
    if (n == "mlflowGetMetricHistoryBulkInterval") return RunsOf(Strings(in, "runIds", "run_ids"));
    needs_global = true;  // mlflowSearchModelVersions, and anything kiln does not know
    return Status::Ok();
  }

  const graphql::Fragment* FragmentNamed(const std::string& name) const {
    for (const auto& f : doc.fragments) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }

  // Root fields of a selection set, through fragments.
  Status Roots(const std::vector<graphql::Selection>& selections, int depth) {
    if (depth > kMaxFragmentDepth) return InvalidArgument("GraphQL fragments nest too deeply");
    for (const auto& s : selections) {
      if (s.kind == graphql::Selection::Kind::kField) {
        KILN_RETURN_IF_ERROR(Root(s));
      } else if (s.kind == graphql::Selection::Kind::kInlineFragment) {
        KILN_RETURN_IF_ERROR(Roots(s.selections, depth + 1));
      } else if (const auto* f = FragmentNamed(s.name)) {
        KILN_RETURN_IF_ERROR(Roots(f->selections, depth + 1));
      }
    }
    return Status::Ok();
  }

  // Registered model versions reachable from a run are not pinned to names
  // the query gives: they need a role on everything.
  static bool SelectsVersions(const std::vector<graphql::Selection>& selections) {
    for (const auto& s : selections) {
      if (s.kind == graphql::Selection::Kind::kField && (s.name == "modelVersions" || s.name == "model_versions")) {
        return true;
      }
      if (SelectsVersions(s.selections)) return true;
    }
    return false;
  }
};

}  // namespace

StatusOr<std::vector<ObjectRef>> LocateGraphqlObjects(ObjectOwners& owners, const net::HttpRequest& req) {
  std::string query;
  json variables = json::object();
  if (req.method == "GET") {
    query = std::string(req.QueryValue("query"));
    std::string vars(req.QueryValue("variables"));
    if (!vars.empty()) variables = json::parse(vars, nullptr, false);
  } else {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return InvalidArgument("GraphQL requests must be a JSON object with a 'query' string");
    }
    if (auto q = body.find("query"); q != body.end() && q->is_string()) query = q->get<std::string>();
    if (auto v = body.find("variables"); v != body.end() && v->is_object()) variables = *v;
  }
  if (variables.is_discarded()) return InvalidArgument("GraphQL 'variables' must be a JSON object");
  if (query.empty()) return InvalidArgument("GraphQL request has no 'query'");
  KILN_ASSIGN_OR_RETURN(graphql::Document doc, graphql::Parse(query));
  Walk walk{owners, doc, variables, {}, false};
  // Every operation, not only the one operationName picks: a superset is
  // never less strict.
  for (const auto& op : doc.operations) {
    KILN_RETURN_IF_ERROR(walk.Roots(op.selections, 0));
    if (Walk::SelectsVersions(op.selections)) walk.needs_global = true;
  }
  for (const auto& f : doc.fragments) {
    if (Walk::SelectsVersions(f.selections)) walk.needs_global = true;
  }
  if (walk.needs_global) walk.Add(ObjectRef::Global());
  return std::move(walk.objects);
}

}  // namespace kiln::api::mlflow
