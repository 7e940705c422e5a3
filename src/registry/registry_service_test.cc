// RegistryService against the real embedded stores (SQLite file + artifact
// directory in a temporary folder).
#include "registry/registry_service.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "storage/artifact_copy.h"
#include "storage/local/local_artifact_store.h"
#include "storage/sql/sql_registry_store.h"
#include "storage/sql/sql_tracking_store.h"
#include "storage/sqlite/sqlite_database.h"

namespace kiln::registry {
namespace {

class FixedClock final : public Clock {
 public:
  int64_t NowMillis() const override { return 1'700'000'000'000; }
};

class RegistryServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kiln_registry_XXXXXX").string();
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
    tracking_ = std::make_unique<tracking::TrackingService>(*tracking_store_, clock_);
    svc_ = std::make_unique<RegistryService>(*registry_store_, *tracking_, *artifacts_, clock_, events_);
    events_.Subscribe([this](const storage::RegistryEvent& e) { seen_.push_back(e.action); });
  }
  void TearDown() override {
    svc_.reset();
    registry_store_.reset();
    tracking_store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void Put(const std::string& path, const std::string& content) {
    auto w = artifacts_->OpenWriter(path);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(content).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }

  std::string Read(const std::string& path) {
    auto r = artifacts_->OpenReader(path);
    if (!r.ok()) return "<" + r.status().message() + ">";
    std::string out(static_cast<size_t>((*r)->size()), '\0');
    auto n = (*r)->Read(out.data(), out.size());
    return n.ok() ? out.substr(0, *n) : "<read error>";
  }

  // A run with an MLmodel + model file under <run artifacts>/model.
  storage::Run RunWithModel() {
    auto run = tracking_->CreateRun("0", "u", "r", std::nullopt, {});
    EXPECT_TRUE(run.ok()) << run.status().ToString();
    std::string root = run->info.artifact_uri.substr(std::string("mlflow-artifacts:/").size());
    Put(root + "/model/MLmodel", "flavors:\n  onnx:\n    data: model.onnx\n");
    Put(root + "/model/model.onnx", "onnx-bytes");
    return *run;
  }

  std::string dir_;
  FixedClock clock_;
  EventRecorder events_;
  std::vector<std::string> seen_;
  std::unique_ptr<storage::sql::Database> database_;
  std::unique_ptr<storage::SqlTrackingStore> tracking_store_;
  std::unique_ptr<storage::LocalArtifactStore> artifacts_;
  std::unique_ptr<storage::SqlRegistryStore> registry_store_;
  std::unique_ptr<tracking::TrackingService> tracking_;
  std::unique_ptr<RegistryService> svc_;
};

TEST_F(RegistryServiceTest, VersionSurvivesDeletionOfItsSource) {
  storage::Run run = RunWithModel();
  ASSERT_TRUE(svc_->CreateRegisteredModel("alice", "m", {}, "").ok());
  CreateModelVersionRequest req;
  req.name = "m";
  req.source = "runs:/" + run.info.run_id + "/model";
  req.run_id = run.info.run_id;
  auto v = svc_->CreateModelVersion("alice", req);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->source, req.source);
  EXPECT_EQ(v->run_id, run.info.run_id);

  std::string run_root = run.info.artifact_uri.substr(std::string("mlflow-artifacts:/").size());
  ASSERT_TRUE(artifacts_->Delete(run_root).ok());
  ASSERT_TRUE(tracking_->DeleteRun(run.info.run_id).ok());

  auto uri = svc_->GetDownloadUri("m", "1");
  ASSERT_TRUE(uri.ok());
  ASSERT_TRUE(uri->starts_with("mlflow-artifacts:/_registry/"));
  std::string copy = uri->substr(std::string("mlflow-artifacts:/").size());
  EXPECT_EQ(Read(copy + "/model.onnx"), "onnx-bytes");
  auto pkg = svc_->GetPackage("m", "1");
  ASSERT_TRUE(pkg.ok());
  EXPECT_TRUE(pkg->package.servable);
  EXPECT_EQ(pkg->package.runtime, "onnx");

  ASSERT_TRUE(svc_->DeleteModelVersion("alice", "m", "1").ok());
  EXPECT_EQ(artifacts_->OpenReader(copy + "/model.onnx").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(seen_, (std::vector<std::string>{"create_registered_model", "create_model_version",
                                             "delete_model_version"}));
}

TEST_F(RegistryServiceTest, SourcesMustBelongToTheNamedRun) {
  storage::Run run = RunWithModel();
  storage::Run other = RunWithModel();
  ASSERT_TRUE(svc_->CreateRegisteredModel("", "m", {}, "").ok());
  std::string root = run.info.artifact_uri;
  struct Case {
    std::string source;
    std::optional<std::string> run_id;
  };
  for (const Case& c : std::vector<Case>{{"runs:/" + run.info.run_id + "/model", std::nullopt},
                                         {"runs:/" + run.info.run_id + "/model", other.info.run_id},
                                         {root + "/model", std::nullopt},
                                         {root + "/model", other.info.run_id},
                                         {"/etc", run.info.run_id},
                                         {"file:///etc", run.info.run_id},
                                         {"http://example.com/model", run.info.run_id},
                                         {"s3://bucket/a/../model", run.info.run_id},
                                         {root + "/../../x", run.info.run_id},
                                         {"mlflow-artifacts:/_registry", run.info.run_id}}) {
    CreateModelVersionRequest req;
    req.name = "m";
    req.source = c.source;
    req.run_id = c.run_id;
    auto v = svc_->CreateModelVersion("", req);
    EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument) << c.source;
  }
  CreateModelVersionRequest ok;
  ok.name = "m";
  ok.source = root + "/model";
  ok.run_id = run.info.run_id;
  auto v = svc_->CreateModelVersion("", ok);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->version, 1);  // the refused attempts consumed no numbers

  // A version can be registered from another registered version.
  CreateModelVersionRequest copy;
  copy.name = "m";
  copy.source = "models:/m/1";
  auto v2 = svc_->CreateModelVersion("", copy);
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_EQ(v2->run_id, run.info.run_id);
  EXPECT_EQ(svc_->GetPackage("m", "2")->package.files.size(), 2u);
}

// Sources MLflow accepts but kiln cannot read are registered by reference:
// nothing copied, nothing deleted, not servable, downloads go to the source.
TEST_F(RegistryServiceTest, ExternalSourcesAreReferences) {
  ASSERT_TRUE(svc_->CreateRegisteredModel("", "m", {}, "").ok());
  CreateModelVersionRequest req;
  req.name = "m";
  req.source = "s3://bucket/models/m";
  auto v = svc_->CreateModelVersion("", req);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->status, "READY");
  EXPECT_EQ(v->source, "s3://bucket/models/m");
  EXPECT_EQ(v->external_location, "s3://bucket/models/m");
  EXPECT_TRUE(v->storage_path.empty());
  EXPECT_NE(v->status_message.find("External reference"), std::string::npos) << v->status_message;
  EXPECT_EQ(*svc_->GetDownloadUri("m", "1"), "s3://bucket/models/m");
  auto pkg = svc_->GetPackage("m", "1");
  ASSERT_TRUE(pkg.ok());
  EXPECT_TRUE(pkg->external);
  EXPECT_FALSE(pkg->package.servable);
  EXPECT_NE(pkg->package.reason.find("s3://bucket/models/m"), std::string::npos);
  EXPECT_TRUE(pkg->package.files.empty());

  // A run kiln does not hold: the runs:/ URI itself is the location.
  CreateModelVersionRequest runs;
  runs.name = "m";
  runs.source = "runs:/0123456789abcdef0123456789abcdef/model";
  runs.run_id = "0123456789abcdef0123456789abcdef";
  auto v2 = svc_->CreateModelVersion("", runs);
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_EQ(*svc_->GetDownloadUri("m", "2"), runs.source);

  // A version of an external version points at the same place; an alias
  // source is pinned to the version it names.
  ASSERT_TRUE(svc_->SetAlias("", "m", "champ", "1").ok());
  CreateModelVersionRequest chain;
  chain.name = "m";
  chain.source = "models:/m@champ";
  auto v3 = svc_->CreateModelVersion("", chain);
  ASSERT_TRUE(v3.ok()) << v3.status().ToString();
  EXPECT_EQ(v3->source, "models:/m/1");
  EXPECT_EQ(*svc_->GetDownloadUri("m", "3"), "s3://bucket/models/m");

  auto listed = storage::ListArtifactTree(*artifacts_, "_registry");
  EXPECT_TRUE(!listed.ok() || listed->empty()) << "nothing was copied";
  ASSERT_TRUE(svc_->DeleteModelVersion("", "m", "1").ok());
  EXPECT_EQ(*svc_->GetDownloadUri("m", "3"), "s3://bucket/models/m");
}

// Local paths: only inside the local artifact directory of the named run.
TEST_F(RegistryServiceTest, LocalSourcesNeedTheirRunsLocalDirectory) {
  std::string local_root = dir_ + "/file-store";
  std::filesystem::create_directories(local_root);
  auto exp = tracking_->CreateExperiment("file-exp", "file://" + local_root, {}, "mlflow-artifacts:/");
  ASSERT_TRUE(exp.ok()) << exp.status().ToString();
  auto run = tracking_->CreateRun(*exp, "u", "r", std::nullopt, {});
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(run->info.artifact_uri.starts_with("file://")) << run->info.artifact_uri;
  ASSERT_TRUE(svc_->CreateRegisteredModel("", "m", {}, "").ok());
  CreateModelVersionRequest req;
  req.name = "m";
  req.source = run->info.artifact_uri + "/model";
  req.run_id = run->info.run_id;
  auto v = svc_->CreateModelVersion("", req);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->external_location, req.source);
  req.source = "file://" + dir_ + "/elsewhere";
  EXPECT_EQ(svc_->CreateModelVersion("", req).status().code(), StatusCode::kInvalidArgument);
  req.source = run->info.artifact_uri + "/model";
  req.run_id.reset();
  EXPECT_EQ(svc_->CreateModelVersion("", req).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(RegistryServiceTest, ValidationAndModelUris) {
  EXPECT_EQ(svc_->CreateRegisteredModel("", "a/b", {}, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(svc_->CreateRegisteredModel("", "  ", {}, "").status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(svc_->CreateRegisteredModel("", "m", {}, "").ok());
  storage::Run run = RunWithModel();
  CreateModelVersionRequest req;
  req.name = "m";
  req.source = "runs:/" + run.info.run_id + "/model";
  req.run_id = run.info.run_id;
  ASSERT_TRUE(svc_->CreateModelVersion("", req).ok());
  ASSERT_TRUE(svc_->CreateModelVersion("", req).ok());
  EXPECT_EQ(svc_->SetAlias("", "m", "latest", "1").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(svc_->SetAlias("", "m", "V2", "1").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(svc_->SetAlias("", "m", "bad alias", "1").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(svc_->SetAlias("", "m", "champion", "x").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(svc_->SetAlias("", "m", "champion", "1").ok());
  EXPECT_EQ(svc_->TransitionStage("", "m", "2", "prod", false).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(svc_->TransitionStage("", "m", "2", "archived", true).status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(svc_->TransitionStage("", "m", "2", "production", false).ok());

  EXPECT_EQ(svc_->ResolveModelUri("models:/m@champion")->version, 1);
  EXPECT_EQ(svc_->ResolveModelUri("models:/m/Production")->version, 2);
  EXPECT_EQ(svc_->ResolveModelUri("models:/m/latest")->version, 2);
  EXPECT_EQ(svc_->ResolveModelUri("models:/m/Staging").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(svc_->ResolveModelUri("models:/nope/1").status().code(), StatusCode::kNotFound);

  auto page = svc_->ListEvents("m", 2, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);
  ASSERT_FALSE(page->next_page_token.empty());
  auto rest = svc_->ListEvents("m", 100, page->next_page_token);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->items.size(), 3u);  // version 2, alias, transition
  EXPECT_TRUE(rest->next_page_token.empty());
}

}  // namespace
}  // namespace kiln::registry
