// TraceService over the real SQLite stores in a temporary directory.
#include "tracking/trace_service.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "storage/sql/sql_trace_store.h"
#include "storage/sql/sql_tracking_store.h"
#include "storage/sqlite/sqlite_database.h"

namespace kiln::tracking {
namespace {

class FixedClock final : public Clock {
 public:
  int64_t NowMillis() const override { return now; }
  int64_t now = 1'000'000;
};

class TraceServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kiln_trace_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto database = storage::sqlite::OpenDatabase(dir_ + "/kiln.db");
    ASSERT_TRUE(database.ok()) << database.status().ToString();
    database_ = std::move(*database);
    auto store = storage::SqlTrackingStore::Create(*database_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    tracking_store_ = std::move(*store);
    tracking_ = std::make_unique<TrackingService>(*tracking_store_, clock_);
    trace_store_ = std::make_unique<storage::SqlTraceStore>(tracking_store_->database());
    TraceLimits limits;
    limits.max_spans_per_request = 3;
    limits.max_attribute_bytes = 100;
    svc_ = std::make_unique<TraceService>(*trace_store_, *tracking_, clock_, limits);
    auto exp = tracking_->CreateExperiment("traces", "", {}, "mlflow-artifacts:");
    ASSERT_TRUE(exp.ok()) << exp.status().ToString();
    exp_ = *exp;
  }
  void TearDown() override {
    svc_.reset();
    trace_store_.reset();
    tracking_.reset();
    tracking_store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  IncomingSpan Span(const std::string& trace, const std::string& id, const std::string& parent,
                    const std::string& status = "OK") {
    IncomingSpan in;
    in.span.trace_id = trace;
    in.span.span_id = id;
    in.span.parent_span_id = parent;
    in.span.name = id;
    in.span.status_code = status;
    in.span.start_time_ns = 5'000'000;
    in.span.end_time_ns = 9'000'000;
    in.span.content = "{}";
    return in;
  }

  storage::TraceInfo Info(const std::string& id) {
    storage::TraceInfo info;
    info.trace_id = id;
    info.experiment_id = exp_;
    info.request_time_ms = 5;
    info.execution_duration_ms = 4;
    info.state = "OK";
    return info;
  }

  std::string dir_;
  FixedClock clock_;
  std::unique_ptr<storage::sql::Database> database_;
  std::unique_ptr<storage::SqlTrackingStore> tracking_store_;
  std::unique_ptr<TrackingService> tracking_;
  std::unique_ptr<storage::SqlTraceStore> trace_store_;
  std::unique_ptr<TraceService> svc_;
  std::string exp_;
};

TEST_F(TraceServiceTest, SpansCreateTraceWithStoreLocationAndArtifactTag) {
  std::vector<IncomingSpan> spans = {Span("tr-a", "1", "", "ERROR"), Span("tr-a", "2", "1")};
  spans[0].trace_tags = {{"team", "x"}, {"mlflow.artifactLocation", "s3://spoofed"}};
  ASSERT_TRUE(svc_->LogSpans(exp_, std::move(spans)).ok());
  auto t = svc_->GetTrace("tr-a", false);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->spans.size(), 2u);
  const auto& tags = t->record.info.tags;
  EXPECT_EQ(tags.at(kSpansLocationTag), kSpansInTrackingStore);
  EXPECT_EQ(tags.at(kArtifactLocationTag), "mlflow-artifacts:/" + exp_ + "/traces/tr-a/artifacts");
  EXPECT_EQ(tags.at("team"), "x");
  EXPECT_EQ(t->record.info.state, "ERROR");
  EXPECT_EQ(t->record.info.request_time_ms, 5);
  EXPECT_EQ(t->record.info.execution_duration_ms, 4);
}

TEST_F(TraceServiceTest, SpanLimitsAndBadIds) {
  std::vector<IncomingSpan> many = {Span("tr-b", "1", ""), Span("tr-b", "2", "1"), Span("tr-b", "3", "1"),
                                    Span("tr-b", "4", "1")};
  EXPECT_EQ(svc_->LogSpans(exp_, std::move(many)).code(), StatusCode::kInvalidArgument);
  auto big = Span("tr-b", "1", "");
  big.largest_attribute_bytes = 101;
  EXPECT_EQ(svc_->LogSpans(exp_, {big}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(svc_->LogSpans(exp_, {Span("tr-b", "", "")}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(svc_->LogSpans("424242", {Span("tr-b", "1", "")}).code(), StatusCode::kNotFound);
  EXPECT_EQ(svc_->LogSpans(exp_, {}).code(), StatusCode::kInvalidArgument);
}

TEST_F(TraceServiceTest, IncompleteTraceIsNotFoundUnlessPartialAllowed) {
  auto info = Info("tr-c");
  info.metadata[kSizeStatsMetadata] = R"({"num_spans": 2})";
  ASSERT_TRUE(svc_->StartTrace(info, {}).ok());
  ASSERT_TRUE(svc_->LogSpans(exp_, {Span("tr-c", "1", "")}).ok());
  EXPECT_EQ(svc_->GetTrace("tr-c", false).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(svc_->GetTrace("tr-c", true).ok());
  EXPECT_TRUE(svc_->BatchGetTraces({"tr-c"})->empty());
  ASSERT_TRUE(svc_->LogSpans(exp_, {Span("tr-c", "2", "1")}).ok());
  EXPECT_TRUE(svc_->GetTrace("tr-c", false).ok());
  EXPECT_EQ(svc_->BatchGetTraces({"tr-c", "tr-missing"})->size(), 1u);
}

TEST_F(TraceServiceTest, StartTraceValidatesAndKeepsSystemTags) {
  auto no_id = Info("");
  EXPECT_EQ(svc_->StartTrace(no_id, {}).status().code(), StatusCode::kInvalidArgument);
  auto bad_state = Info("tr-d");
  bad_state.state = "DONE";
  EXPECT_EQ(svc_->StartTrace(bad_state, {}).status().code(), StatusCode::kInvalidArgument);
  auto long_tag = Info("tr-d");
  long_tag.tags["k"] = std::string(8001, 'x');
  EXPECT_EQ(svc_->StartTrace(long_tag, {}).status().code(), StatusCode::kInvalidArgument);
  auto spoof = Info("tr-d");
  spoof.tags[kSpansLocationTag] = kSpansInTrackingStore;
  auto r = svc_->StartTrace(spoof, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->info.tags.count(kSpansLocationTag), 0u);  // no spans were stored
  EXPECT_EQ(svc_->GetTrace("tr-d", true).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(svc_->SetTraceTag("tr-d", kArtifactLocationTag, "x").code(), StatusCode::kInvalidArgument);
}

TEST_F(TraceServiceTest, AssessmentsGetIdsTimesAndMergeUpdates) {
  ASSERT_TRUE(svc_->StartTrace(Info("tr-e"), {}).ok());
  storage::Assessment a;
  a.trace_id = "tr-e";
  a.name = "q";
  a.kind = "feedback";
  a.value_json = R"({"value":1})";
  a.rationale = "r";
  a.metadata = {{"x", "1"}};
  auto created = svc_->CreateAssessment(a);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->assessment_id.rfind("a-", 0), 0u);
  EXPECT_EQ(created->create_time_ms, clock_.now);
  EXPECT_EQ(created->source_type, "SOURCE_TYPE_UNSPECIFIED");
  clock_.now += 50;
  AssessmentUpdate u;
  u.feedback_json = R"({"value":2})";
  u.metadata = std::map<std::string, std::string>{{"y", "2"}};
  auto updated = svc_->UpdateAssessment("tr-e", created->assessment_id, u);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->value_json, R"({"value":2})");
  EXPECT_EQ(updated->metadata.size(), 2u);
  EXPECT_EQ(updated->rationale, "r");
  EXPECT_EQ(updated->last_update_time_ms, clock_.now);
  AssessmentUpdate wrong;
  wrong.expectation_json = "{}";
  EXPECT_EQ(svc_->UpdateAssessment("tr-e", created->assessment_id, wrong).status().code(),
            StatusCode::kInvalidArgument);
  auto record = svc_->GetTraceInfo("tr-e");
  ASSERT_EQ(record->assessments.size(), 1u);
  a.kind = "";
  EXPECT_EQ(svc_->CreateAssessment(a).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(TraceServiceTest, SearchAndDeleteRules) {
  for (const char* id : {"tr-1", "tr-2", "tr-3"}) ASSERT_TRUE(svc_->StartTrace(Info(id), {}).ok());
  SearchTracesRequest req;
  req.experiment_ids = {exp_};
  req.max_results = 2;
  auto page = svc_->SearchTraces(req);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->items.size(), 2u);
  ASSERT_FALSE(page->next_page_token.empty());
  req.page_token = page->next_page_token;
  EXPECT_EQ(svc_->SearchTraces(req)->items.size(), 1u);
  req.max_results = 501;
  EXPECT_EQ(svc_->SearchTraces(req).status().code(), StatusCode::kInvalidArgument);
  req.max_results = 10;
  req.page_token = "not-a-token";
  EXPECT_EQ(svc_->SearchTraces(req).status().code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(svc_->DeleteTraces({exp_, {}, std::nullopt, std::nullopt}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(svc_->DeleteTraces({exp_, {"tr-1"}, 5, std::nullopt}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(svc_->DeleteTraces({exp_, {"tr-1"}, std::nullopt, 1}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(svc_->DeleteTraces({exp_, {}, 5, 0}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*svc_->DeleteTraces({exp_, {"tr-1"}, std::nullopt, std::nullopt}), 1);
  EXPECT_EQ(*svc_->DeleteTraces({exp_, {}, 5, std::nullopt}), 2);
}

}  // namespace
}  // namespace kiln::tracking
