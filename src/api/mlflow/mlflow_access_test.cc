// The MLflow routes' access table against the real routes and stores: every
// route has a decision, unknown routes are refused, locators find the
// objects MLflow's rules check, and searches filter inside their queries.
#include "api/mlflow/mlflow_access.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <cctype>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "api/mlflow/artifact_owner.h"
#include "api/mlflow/mlflow_routes.h"
#include "api/mlflow/request_fields.h"
#include "api/mlflow/run_refs.h"
#include "api/mlflow/ui_routes.h"
#include "net/url.h"
#include "storage/local/local_artifact_store.h"
#include "storage/sql/sql_registry_store.h"
#include "storage/sql/sql_trace_store.h"
#include "storage/sql/sql_tracking_store.h"
#include "storage/sqlite/sqlite_database.h"

namespace kiln::api::mlflow {
namespace {

using nlohmann::json;

class FixedClock final : public Clock {
 public:
  int64_t NowMillis() const override { return 1'700'000'000'000; }
};

// The caller's view, as the authorizer would compute it: explicit roles per
// object, `everything` for kinds with no restriction.
class FakeScope final : public AccessScope {
 public:
  std::map<std::string, Role> roles;  // ObjectRef::ToString() -> role
  Principal who;
  const Principal& principal() const override { return who; }
  Role RoleOn(const ObjectRef& o) const override {
    auto it = roles.find(o.ToString());
    return it == roles.end() ? Role::kNone : it->second;
  }
  std::optional<std::vector<std::string>> Visible(ObjectKind kind, Role least) const override {
    std::vector<std::string> ids;
    const std::string prefix = std::string(ObjectKindName(kind)) + ":";
    for (const auto& [k, r] : roles) {
      if (r >= least && k.rfind(prefix, 0) == 0) ids.push_back(k.substr(prefix.size()));
    }
    return ids;
  }
};

class MlflowAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kiln_mlflow_access_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto database = storage::sqlite::OpenDatabase(dir_ + "/kiln.db");
    ASSERT_TRUE(database.ok()) << database.status().ToString();
    database_ = std::move(*database);
    auto db = storage::SqlTrackingStore::Create(*database_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    tracking_store_ = std::move(*db);
    auto art = storage::LocalArtifactStore::Create(dir_ + "/artifacts");
    ASSERT_TRUE(art.ok());
    artifacts_ = std::move(*art);
    registry_store_ = std::make_unique<storage::SqlRegistryStore>(tracking_store_->database());
    trace_store_ = std::make_unique<storage::SqlTraceStore>(tracking_store_->database());
    tracking_ = std::make_unique<tracking::TrackingService>(*tracking_store_, clock_);
    registry_ = std::make_unique<registry::RegistryService>(*registry_store_, *tracking_, *artifacts_, clock_, events_);
    traces_ = std::make_unique<tracking::TraceService>(*trace_store_, *tracking_, clock_);
    std::filesystem::create_directories(dir_ + "/ui");
    std::ofstream(dir_ + "/ui/index.html") << "<html></html>";

    MlflowApiOptions options;
    AddMlflowRoutes(router_, *tracking_, *artifacts_, options);
    AddRegistryRoutes(router_, *registry_);
    AddTraceRoutes(router_, *traces_, *artifacts_);
    AddMlflowUiApiRoutes(router_, *tracking_, *registry_, *artifacts_);
    MlflowUiOptions ui;
    ui.build_dir = dir_ + "/ui";
    ASSERT_TRUE(AddMlflowUiStaticRoutes(router_, ui).ok());
  }
  void TearDown() override {
    registry_.reset();
    traces_.reset();
    tracking_.reset();
    trace_store_.reset();
    registry_store_.reset();
    tracking_store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Status Apply() { return ApplyMlflowAccess(router_, *tracking_, *registry_, *traces_); }

  const net::Route& RouteOf(const std::string& method, const std::string& pattern) {
    net::Route* r = router_.Find(method, pattern);
    EXPECT_NE(r, nullptr) << method << " " << pattern;
    return *r;
  }

  // A request as the server would hand it over (path params from the router).
  net::HttpRequest Request(const std::string& method, const std::string& target, const std::string& body = "") {
    net::HttpRequest req;
    req.method = method;
    req.target = target;
    size_t q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) {
      auto parsed = net::ParseQuery(target.substr(q + 1));
      EXPECT_TRUE(parsed.has_value()) << target;
      if (parsed) req.query = std::move(*parsed);
    }
    req.body = body;
    if (!body.empty()) req.headers.emplace_back("content-type", "application/json");
    auto m = router_.Match(method, req.path);
    EXPECT_NE(m.route, nullptr) << method << " " << req.path;
    req.path_params = m.params;
    return req;
  }

  StatusOr<std::vector<ObjectRef>> Locate(const std::string& method, const std::string& target,
                                          const std::string& body = "") {
    net::HttpRequest req = Request(method, target, body);
    auto m = router_.Match(method, req.path);
    if (!m.route) return NotFound("no route");
    const net::AccessRule& rule = m.route->access;
    EXPECT_EQ(rule.kind, net::AccessKind::kObject) << method << " " << target;
    if (!rule.locate) return Internal("no locator");
    return rule.locate(req);
  }

  net::HttpResponse Call(net::HttpRequest req) {
    auto m = router_.Match(req.method, req.path);
    EXPECT_NE(m.route, nullptr);
    return m.route->handler(req);
  }

  std::string dir_;
  FixedClock clock_;
  registry::EventRecorder events_;
  std::unique_ptr<storage::sql::Database> database_;
  std::unique_ptr<storage::SqlTrackingStore> tracking_store_;
  std::unique_ptr<storage::LocalArtifactStore> artifacts_;
  std::unique_ptr<storage::SqlRegistryStore> registry_store_;
  std::unique_ptr<storage::SqlTraceStore> trace_store_;
  std::unique_ptr<tracking::TrackingService> tracking_;
  std::unique_ptr<registry::RegistryService> registry_;
  std::unique_ptr<tracking::TraceService> traces_;
  net::Router router_;
};

std::string Encode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

ObjectRef Exp(const std::string& id) { return {ObjectKind::kExperiment, id}; }
ObjectRef Model(const std::string& n) { return {ObjectKind::kRegisteredModel, n}; }

TEST_F(MlflowAccessTest, EveryMlflowRouteGetsADecision) {
  ASSERT_TRUE(Apply().ok()) << Apply().ToString();
  size_t decided = 0;
  for (const net::Route* r : router_.routes()) {
    ASSERT_TRUE(IsMlflowPattern(r->pattern)) << r->pattern;
    EXPECT_NE(r->access.kind, net::AccessKind::kUnset) << r->method << " " << r->pattern;
    if (r->access.kind == net::AccessKind::kObject) {
      EXPECT_TRUE(static_cast<bool>(r->access.locate)) << r->method << " " << r->pattern;
    }
    if (r->access.mutation) {
      EXPECT_EQ(r->access.action.rfind("mlflow.", 0), 0u) << r->method << " " << r->pattern;
      EXPECT_NE(r->access.kind, net::AccessKind::kPublic) << r->method << " " << r->pattern;
    }
    ++decided;
  }
  EXPECT_GT(decided, 200u);
  // Only the UI's files are public.
  for (const net::Route* r : router_.routes()) {
    if (r->access.kind == net::AccessKind::kPublic) {
      EXPECT_TRUE(r->pattern == "/" || r->pattern == "/static-files/{path...}") << r->pattern;
    }
  }
}

TEST_F(MlflowAccessTest, DecisionsFollowMlflowsPermissionTable) {
  ASSERT_TRUE(Apply().ok());
  auto rule = [&](const char* m, const char* p) { return RouteOf(m, p).access; };
  EXPECT_EQ(rule("GET", "/api/2.0/mlflow/runs/get").role, Role::kViewer);
  EXPECT_FALSE(rule("GET", "/api/2.0/mlflow/runs/get").mutation);
  EXPECT_EQ(rule("POST", "/api/2.0/mlflow/runs/log-batch").role, Role::kEditor);
  EXPECT_EQ(rule("POST", "/api/2.0/mlflow/runs/log-batch").action, "mlflow.runs.log-batch");
  EXPECT_FALSE(static_cast<bool>(rule("POST", "/api/2.0/mlflow/runs/log-batch").snapshot));
  EXPECT_TRUE(static_cast<bool>(rule("POST", "/api/2.0/mlflow/runs/set-tag").snapshot));
  EXPECT_EQ(rule("POST", "/ajax-api/2.0/mlflow/runs/delete").role, Role::kManager);
  EXPECT_EQ(rule("POST", "/api/2.0/mlflow/experiments/restore").role, Role::kManager);
  EXPECT_EQ(rule("POST", "/api/2.0/mlflow/experiments/create").role, Role::kEditor);
  EXPECT_TRUE(static_cast<bool>(rule("POST", "/api/2.0/mlflow/experiments/create").created));
  EXPECT_EQ(rule("POST", "/api/2.0/mlflow/registered-models/create").action, "mlflow.registered-models.create");
  EXPECT_TRUE(static_cast<bool>(rule("DELETE", "/api/2.0/mlflow/registered-models/delete").deleted));
  EXPECT_FALSE(static_cast<bool>(rule("POST", "/api/2.0/mlflow/experiments/delete").deleted));  // soft delete
  EXPECT_EQ(rule("POST", "/api/2.0/mlflow/registered-models/rename").role, Role::kManager);
  EXPECT_EQ(rule("DELETE", "/api/2.0/mlflow/registered-models/alias").role, Role::kManager);
  EXPECT_EQ(rule("POST", "/api/2.0/mlflow/registered-models/alias").role, Role::kEditor);
  EXPECT_EQ(rule("DELETE", "/api/2.0/mlflow/model-versions/delete-tag").role, Role::kManager);
  EXPECT_EQ(rule("GET", "/api/2.0/mlflow/experiments/search").kind, net::AccessKind::kAuthenticated);
  EXPECT_EQ(rule("GET", "/api/2.0/mlflow/registered-models/search").kind, net::AccessKind::kAuthenticated);
  EXPECT_EQ(rule("GET", "/api/2.0/mlflow/model-versions/search").kind, net::AccessKind::kAuthenticated);
  EXPECT_EQ(rule("POST", "/api/2.0/mlflow/runs/search").kind, net::AccessKind::kObject);
  EXPECT_EQ(rule("PUT", "/api/2.0/mlflow-artifacts/artifacts/{path...}").role, Role::kEditor);
  EXPECT_EQ(rule("GET", "/graphql").kind, net::AccessKind::kObject);
  EXPECT_EQ(rule("GET", "/api/3.0/mlflow/server-info").kind, net::AccessKind::kAuthenticated);
}

TEST_F(MlflowAccessTest, AnUnknownMlflowRouteIsRefused) {
  router_.Add("POST", "/api/2.0/mlflow/runs/brand-new", [](net::HttpRequest&) { return net::HttpResponse(); });
  Status s = Apply();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("POST /api/2.0/mlflow/runs/brand-new"), std::string::npos) << s.message();
}

TEST_F(MlflowAccessTest, RoutesOtherModulesDecidedAreLeftAlone) {
  auto& users = router_.Add("POST", "/api/2.0/mlflow/users/create", [](net::HttpRequest&) { return net::HttpResponse(); });
  users.access = net::AdminAccess(true);
  router_.Add("GET", "/v2/health/live", [](net::HttpRequest&) { return net::HttpResponse(); });
  ASSERT_TRUE(Apply().ok());
  EXPECT_EQ(RouteOf("POST", "/api/2.0/mlflow/users/create").access.kind, net::AccessKind::kAdmin);
  EXPECT_EQ(RouteOf("GET", "/v2/health/live").access.kind, net::AccessKind::kUnset);  // not MLflow's
}

TEST_F(MlflowAccessTest, LocatorsCheckChildrenAsTheirParents) {
  ASSERT_TRUE(Apply().ok());
  auto e1 = tracking_->CreateExperiment("one", "", {}, "mlflow-artifacts:");
  auto e2 = tracking_->CreateExperiment("two", "", {}, "mlflow-artifacts:");
  ASSERT_TRUE(e1.ok() && e2.ok());
  auto run = tracking_->CreateRun(*e2, "u", "r", std::nullopt, {});
  ASSERT_TRUE(run.ok());
  const std::string rid = run->info.run_id;
  auto lm = tracking_->CreateLoggedModel(*e1, "m", "", "", {}, {});
  ASSERT_TRUE(lm.ok()) << lm.status().ToString();

  auto got = Locate("GET", "/api/2.0/mlflow/runs/get?run_id=" + rid);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, std::vector<ObjectRef>{Exp(*e2)});
  got = Locate("GET", "/ajax-api/2.0/mlflow/runs/get?run_uuid=" + rid);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, std::vector<ObjectRef>{Exp(*e2)});

  // log-batch: the run's experiment and the experiment of a logged model the metrics go to.
  json batch = {{"run_id", rid},
                {"metrics", json::array({{{"key", "a"}, {"value", 1}, {"timestamp", 1}, {"step", 0}},
                                         {{"key", "b"}, {"value", 2}, {"timestamp", 1}, {"model_id", lm->model_id}}})},
                {"params", json::array({{{"key", "model_id"}, {"value", "not-a-model"}}})}};
  got = Locate("POST", "/api/2.0/mlflow/runs/log-batch", batch.dump());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, (std::vector<ObjectRef>{Exp(*e2), Exp(*e1)}));

  // With auth on, an unresolvable object is the locator's error (as the handler would answer)...
  auto scope = std::make_shared<FakeScope>();
  net::HttpRequest missing = Request("POST", "/api/2.0/mlflow/runs/log-metric", json{{"run_id", "nope"}, {"key", "a"}}.dump());
  missing.access = scope;
  const auto& log_metric = RouteOf("POST", "/api/2.0/mlflow/runs/log-metric").access;
  EXPECT_EQ(log_metric.locate(missing).status().code(), StatusCode::kNotFound);
  net::HttpRequest empty = Request("POST", "/api/2.0/mlflow/runs/log-batch", "{}");
  empty.access = scope;
  EXPECT_EQ(RouteOf("POST", "/api/2.0/mlflow/runs/log-batch").access.locate(empty).status().code(),
            StatusCode::kInvalidArgument);
  // ...with auth off (nothing decided) the handler gives its own answer.
  missing.access = nullptr;
  got = log_metric.locate(missing);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());

  got = Locate("GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=two");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, std::vector<ObjectRef>{Exp(*e2)});
  got = Locate("POST", "/api/2.0/mlflow/runs/search", json{{"experiment_ids", {*e1, *e2}}}.dump());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, (std::vector<ObjectRef>{Exp(*e1), Exp(*e2)}));
  got = Locate("GET", "/api/2.0/mlflow/logged-models/" + lm->model_id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, std::vector<ObjectRef>{Exp(*e1)});
  got = Locate("POST", "/api/2.0/mlflow/experiments/create", json{{"name", "x"}}.dump());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, std::vector<ObjectRef>{ObjectRef::Global()});
  got = Locate("POST", "/api/2.0/mlflow/runs/create", "{}");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, std::vector<ObjectRef>{Exp("0")});
  got = Locate("GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk?run_id=" + rid + "&metric_key=a");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, std::vector<ObjectRef>{Exp(*e2)});
  got = Locate("GET", "/graphql?query=" +
                          Encode("query Q($id: String) { mlflowGetRun(input: {runId: $id}) { run { info { runId } } } }") +
                          "&variables=" + Encode(json{{"id", rid}}.dump()));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, std::vector<ObjectRef>{Exp(*e2)});
  got = Locate("POST", "/graphql",
               json{{"query", "{ mlflowGetRun(input: {runId: \"" + rid + "\"}) { run { modelVersions { name } } } }"}}.dump());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, (std::vector<ObjectRef>{Exp(*e2), ObjectRef::Global()}));
  got = Locate("POST", "/graphql", json{{"query", "{ mlflowSearchRuns(input: {experimentIds: [\"" + *e1 + "\"]}) { runs { info { runId } } } }"}}.dump());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, std::vector<ObjectRef>{Exp(*e1)});

  auto trace = traces_->StartTraceV2(*e1, 1, {}, {});
  ASSERT_TRUE(trace.ok()) << trace.status().ToString();
  got = Locate("GET", "/api/2.0/mlflow/traces/" + trace->info.trace_id + "/info");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, std::vector<ObjectRef>{Exp(*e1)});
  got = Locate("GET", "/api/3.0/mlflow/traces/get?trace_id=" + trace->info.trace_id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, std::vector<ObjectRef>{Exp(*e1)});
}

TEST_F(MlflowAccessTest, ProxiedArtifactPathsBelongToTheirExperiment) {
  ASSERT_TRUE(Apply().ok());
  auto e1 = tracking_->CreateExperiment("one", "", {}, "mlflow-artifacts:");
  auto custom = tracking_->CreateExperiment("custom", "mlflow-artifacts:/shared/place", {}, "mlflow-artifacts:");
  ASSERT_TRUE(e1.ok() && custom.ok());
  auto run = tracking_->CreateRun(*e1, "u", "r", std::nullopt, {});
  ASSERT_TRUE(run.ok());
  const std::string a = "/api/2.0/mlflow-artifacts/artifacts/";
  auto got = Locate("GET", a + *e1 + "/" + run->info.run_id + "/artifacts/model/MLmodel");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, std::vector<ObjectRef>{Exp(*e1)});
  got = Locate("PUT", a + *e1 + "/x");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, std::vector<ObjectRef>{Exp(*e1)});
  // Traversal, unknown experiments, custom locations and the root: nobody's.
  for (const std::string& path : {*e1 + "/../" + *custom + "/x", std::string("999/x"), std::string("shared/place/x"),
                                 *custom + "/x", std::string("_registry/nothing/x")}) {
    ObjectOwners owners(*tracking_, *registry_, traces_.get(), 10);
    auto owner = OwnerOfArtifactPath(owners, path, "_registry");
    ASSERT_TRUE(owner.ok()) << path;
    EXPECT_EQ(*owner, ObjectRef::Global()) << path;
  }
  got = Locate("GET", "/api/2.0/mlflow-artifacts/artifacts?path=");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, std::vector<ObjectRef>{ObjectRef::Global()});
  got = Locate("GET", "/api/2.0/mlflow-artifacts/artifacts?path=" + *e1);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, std::vector<ObjectRef>{Exp(*e1)});

  // A registered version's copy belongs to its registered model.
  auto w = artifacts_->OpenWriter(*e1 + "/" + run->info.run_id + "/artifacts/model/MLmodel");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("artifact_path: model\nflavors: {}\n").ok());
  ASSERT_TRUE((*w)->Commit().ok());
  ASSERT_TRUE(registry_->CreateRegisteredModel("", "fraud", {}, "").ok());
  registry::CreateModelVersionRequest c;
  c.name = "fraud";
  c.source = "runs:/" + run->info.run_id + "/model";
  c.run_id = run->info.run_id;
  auto v = registry_->CreateModelVersion("", c);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  got = Locate("GET", a + v->storage_path + "/MLmodel");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, std::vector<ObjectRef>{Model("fraud")});

  // Registering from a run needs viewer on the run's experiment too.
  auto scope = std::make_shared<FakeScope>();
  scope->roles["registered_model:fraud"] = Role::kEditor;
  net::HttpRequest req = Request("POST", "/api/2.0/mlflow/model-versions/create",
                                 json{{"name", "fraud"}, {"source", c.source}, {"run_id", *c.run_id}}.dump());
  req.access = scope;
  const auto& rule = RouteOf("POST", "/api/2.0/mlflow/model-versions/create").access;
  EXPECT_EQ(rule.locate(req).status().code(), StatusCode::kPermissionDenied);
  scope->roles["experiment:" + *e1] = Role::kViewer;
  auto ok = rule.locate(req);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok, std::vector<ObjectRef>{Model("fraud")});
}

TEST_F(MlflowAccessTest, SearchesFilterInsideTheQuery) {
  ASSERT_TRUE(Apply().ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    auto id = tracking_->CreateExperiment("e" + std::to_string(i), "", {}, "mlflow-artifacts:");
    ASSERT_TRUE(id.ok());
    ids.push_back(*id);
    ASSERT_TRUE(registry_->CreateRegisteredModel("", "m" + std::to_string(i), {}, "").ok());
  }
  auto scope = std::make_shared<FakeScope>();
  scope->roles["experiment:" + ids[1]] = Role::kViewer;
  scope->roles["experiment:" + ids[4]] = Role::kManager;
  scope->roles["registered_model:m2"] = Role::kViewer;
  scope->roles["registered_model:m5"] = Role::kEditor;

  // Page by page with max_results=1: exactly the visible ones, then no token.
  auto pages = [&](const std::string& path, const char* list_key, const char* id_key) {
    std::vector<std::string> seen;
    std::string token;
    for (int guard = 0; guard < 20; ++guard) {
      std::string target = path + "?max_results=1" + (token.empty() ? "" : "&page_token=" + Encode(token));
      net::HttpRequest req = Request("GET", target);
      req.access = scope;
      auto res = Call(std::move(req));
      EXPECT_EQ(res.status, 200u) << res.body;
      json body = json::parse(res.body);
      for (const auto& e : body.value(list_key, json::array())) seen.push_back(e.value(id_key, ""));
      token = body.value("next_page_token", "");
      if (token.empty()) break;
    }
    return seen;
  };
  EXPECT_EQ(pages("/api/2.0/mlflow/experiments/search", "experiments", "experiment_id"),
            (std::vector<std::string>{ids[1], ids[4]}));  // same creation time: id order
  EXPECT_EQ(pages("/api/2.0/mlflow/registered-models/search", "registered_models", "name"),
            (std::vector<std::string>{"m2", "m5"}));
  // Nothing visible: an empty page without a token.
  auto none = std::make_shared<FakeScope>();
  net::HttpRequest req = Request("GET", "/api/2.0/mlflow/experiments/search?max_results=1");
  req.access = none;
  auto res = Call(std::move(req));
  EXPECT_EQ(res.body, "{}");
  // Auth off (no scope): everything, including the default experiment.
  net::HttpRequest all = Request("GET", "/api/2.0/mlflow/experiments/search?max_results=100");
  res = Call(std::move(all));
  EXPECT_EQ(json::parse(res.body)["experiments"].size(), 7u);
}

TEST(RunRefsTest, KeepsOnlyTheRunAndModelIds) {
  auto refs = RunRefsOf(json::parse(R"({"run_uuid": "r1", "metrics": [{"key": "k", "value": 1, "model_id": "m1"},
      {"key": "k", "nested": {"model_id": "no"}}, {"model_id": "m1"}, {"model_id": "m2"}],
      "params": [{"key": "model_id", "value": "no"}], "tags": {"model_id": "no"}})"));
  EXPECT_EQ(refs.run_id, "r1");
  EXPECT_EQ(refs.model_ids, (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(RunRefsOf(json::parse(R"({"run_id": "r2", "run_uuid": "r1", "model_id": 5})")).run_id, "r2");
  EXPECT_TRUE(RunRefsOf(json::parse("[1]")).run_id.empty());
}

// The access check and the handler share one parse of the body; a body
// changed after it was parsed is parsed again.
TEST(RequestFieldsTest, ParsesTheBodyOncePerRequest) {
  net::HttpRequest req;
  req.method = "POST";
  req.headers.emplace_back("content-type", "application/json");
  req.body = R"({"run_id": "r1"})";
  auto first = RequestFields::From(req);
  ASSERT_TRUE(first.ok());
  auto second = RequestFields::From(req);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(&first->doc(), &second->doc());
  req.body = R"({"run_id": "r2", "x": 1})";
  auto third = RequestFields::From(req);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(*third->RequiredString("run_id"), "r2");
  req.body = "{";
  EXPECT_FALSE(RequestFields::From(req).ok());
}

}  // namespace
}  // namespace kiln::api::mlflow
