#include <gtest/gtest.h>

#include <thread>

#include "storage/sql/sql_test_util.h"
#include "storage/sql/sql_trace_store.h"

namespace kiln::storage {
namespace {

class SqliteTraceStoreTest : public testing::SqlStoreTest {
 protected:
  void SetUp() override {
    testing::SqlStoreTest::SetUp();
    traces_ = std::make_unique<SqlTraceStore>(store_->database());
    exp_ = NewExperiment("traces");
  }
  void TearDown() override {
    traces_.reset();
    testing::SqlStoreTest::TearDown();
  }

  TraceInfo Info(const std::string& id, int64_t t, const std::string& state = kTraceStateOk) {
    TraceInfo info;
    info.trace_id = id;
    info.experiment_id = exp_;
    info.request_time_ms = t;
    info.execution_duration_ms = 10;
    info.state = state;
    return info;
  }

  static TraceSpan Span(const std::string& trace, const std::string& id, const std::string& parent, int64_t start_ns,
                        int64_t end_ns, const std::string& name = "s") {
    TraceSpan s;
    s.trace_id = trace;
    s.span_id = id;
    s.parent_span_id = parent;
    s.name = name;
    s.status_code = "OK";
    s.start_time_ns = start_ns;
    s.end_time_ns = end_ns;
    s.content = "{\"name\":\"" + name + "\"}";
    return s;
  }

  std::vector<std::string> Ids(const TraceQuery& q) {
    auto page = traces_->SearchTraces(q);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> out;
    if (page.ok()) {
      for (const auto& t : page->items) out.push_back(t.trace_id);
    }
    return out;
  }

  TraceQuery Query() {
    TraceQuery q;
    q.experiment_ids = {exp_};
    return q;
  }

  std::unique_ptr<SqlTraceStore> traces_;
  std::string exp_;
};

TEST_F(SqliteTraceStoreTest, UpsertRoundTripsInfoTagsAndMetadata) {
  TraceInfo info = Info("tr-1", 1000);
  info.client_request_id = "req-9";
  info.request_preview = "in";
  info.tags = {{"a", "1"}};
  info.metadata = {{"m", "2"}};
  ASSERT_TRUE(traces_->UpsertTraceInfo(info).ok());
  auto got = traces_->GetTraceInfo("tr-1");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->experiment_id, exp_);
  EXPECT_EQ(got->client_request_id, "req-9");
  EXPECT_EQ(got->request_preview, "in");
  EXPECT_FALSE(got->response_preview.has_value());
  EXPECT_EQ(got->execution_duration_ms, 10);
  EXPECT_EQ(got->tags.at("a"), "1");
  EXPECT_EQ(got->metadata.at("m"), "2");
  EXPECT_EQ(traces_->GetTraceInfo("tr-missing").status().code(), StatusCode::kNotFound);
}

TEST_F(SqliteTraceStoreTest, SpansBeforeInfoThenInfoWins) {
  TraceStore::DerivedTrace d;
  d.from_spans = Info("tr-2", 2000, kTraceStateInProgress);
  d.from_spans.execution_duration_ms = 5;
  d.has_root = true;
  d.root_state = kTraceStateError;
  d.tags = {{"mlflow.trace.spansLocation", "TRACKING_STORE"}};
  ASSERT_TRUE(traces_->LogSpans({Span("tr-2", "b", "", 2000000000, 2005000000)}, {{"tr-2", d}}).ok());
  auto early = traces_->GetTraceInfo("tr-2");
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(early->state, kTraceStateError);  // from the root span
  EXPECT_EQ(early->tags.at("mlflow.trace.spansLocation"), "TRACKING_STORE");

  // A child that started earlier stretches the trace until the info arrives.
  TraceStore::DerivedTrace d2;
  d2.from_spans = Info("tr-2", 1990, kTraceStateInProgress);
  d2.from_spans.execution_duration_ms = 2;
  ASSERT_TRUE(traces_->LogSpans({Span("tr-2", "a", "b", 1990000000, 1992000000)}, {{"tr-2", d2}}).ok());
  auto stretched = traces_->GetTraceInfo("tr-2");
  EXPECT_EQ(stretched->request_time_ms, 1990);
  EXPECT_EQ(stretched->execution_duration_ms, 15);

  TraceInfo info = Info("tr-2", 1980);
  info.tags = {{"user", "x"}};
  auto merged = traces_->UpsertTraceInfo(info);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->request_time_ms, 1980);
  EXPECT_EQ(merged->state, kTraceStateOk);
  EXPECT_EQ(merged->tags.at("user"), "x");
  EXPECT_EQ(merged->tags.at("mlflow.trace.spansLocation"), "TRACKING_STORE");

  // Once finalized, late spans no longer move the trace's extent.
  ASSERT_TRUE(traces_->LogSpans({Span("tr-2", "c", "b", 1000000000, 9000000000)}, {{"tr-2", d2}}).ok());
  EXPECT_EQ(traces_->GetTraceInfo("tr-2")->request_time_ms, 1980);

  auto spans = traces_->GetSpans("tr-2");
  ASSERT_TRUE(spans.ok());
  ASSERT_EQ(spans->size(), 3u);
  EXPECT_EQ((*spans)[0].span_id, "b");  // root first
  EXPECT_EQ((*spans)[1].span_id, "c");  // then by start time
  EXPECT_EQ((*spans)[2].span_id, "a");
}

TEST_F(SqliteTraceStoreTest, SpanUpsertReplacesSameSpan) {
  TraceStore::DerivedTrace d;
  d.from_spans = Info("tr-3", 1, kTraceStateInProgress);
  ASSERT_TRUE(traces_->LogSpans({Span("tr-3", "a", "", 1, 0, "old")}, {{"tr-3", d}}).ok());
  ASSERT_TRUE(traces_->LogSpans({Span("tr-3", "a", "", 1, 5, "new")}, {{"tr-3", d}}).ok());
  auto spans = traces_->GetSpans("tr-3");
  ASSERT_EQ(spans->size(), 1u);
  EXPECT_EQ((*spans)[0].name, "new");
  EXPECT_EQ((*spans)[0].end_time_ns, 5);
}

TEST_F(SqliteTraceStoreTest, SearchFiltersOrderAndPaging) {
  for (int i = 0; i < 5; ++i) {
    TraceInfo info = Info("tr-" + std::to_string(i), 100 + i, i == 3 ? kTraceStateError : kTraceStateOk);
    if (i % 2 == 0) info.tags = {{"env", i == 0 ? "prod" : "dev"}};
    info.metadata = {{"n", std::to_string(i)}};
    ASSERT_TRUE(traces_->UpsertTraceInfo(info).ok());
  }
  EXPECT_EQ(Ids(Query()), (std::vector<std::string>{"tr-4", "tr-3", "tr-2", "tr-1", "tr-0"}));

  auto q = Query();
  q.filter = {{TraceFieldKind::kAttribute, "state", TraceOp::kEq, std::string("ERROR")}};
  EXPECT_EQ(Ids(q), (std::vector<std::string>{"tr-3"}));
  q.filter = {{TraceFieldKind::kTag, "env", TraceOp::kIsNull, {}}};
  EXPECT_EQ(Ids(q), (std::vector<std::string>{"tr-3", "tr-1"}));
  q.filter = {{TraceFieldKind::kTag, "env", TraceOp::kILike, std::string("DE%")}};
  EXPECT_EQ(Ids(q), (std::vector<std::string>{"tr-4", "tr-2"}));
  q.filter = {{TraceFieldKind::kAttribute, "request_time", TraceOp::kGe, int64_t{103}},
              {TraceFieldKind::kMetadata, "n", TraceOp::kNotIn, std::vector<std::string>{"4"}}};
  EXPECT_EQ(Ids(q), (std::vector<std::string>{"tr-3"}));

  q = Query();
  q.order_by = {{TraceFieldKind::kTag, "env", true}};
  EXPECT_EQ(Ids(q), (std::vector<std::string>{"tr-4", "tr-2", "tr-0", "tr-3", "tr-1"}));

  q = Query();
  q.max_results = 2;
  auto first = traces_->SearchTraces(q);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->items.size(), 2u);
  EXPECT_TRUE(first->has_more);
  q.offset = 4;
  auto last = traces_->SearchTraces(q);
  EXPECT_EQ(last->items.size(), 1u);
  EXPECT_FALSE(last->has_more);
}

TEST_F(SqliteTraceStoreTest, SpanFiltersMatchAnySpan) {
  TraceStore::DerivedTrace d;
  d.from_spans = Info("tr-s", 1, kTraceStateInProgress);
  TraceSpan llm = Span("tr-s", "b", "a", 2, 3, "call_llm");
  llm.span_type = "LLM";
  ASSERT_TRUE(traces_->LogSpans({Span("tr-s", "a", "", 1, 4, "root"), llm}, {{"tr-s", d}}).ok());
  ASSERT_TRUE(traces_->UpsertTraceInfo(Info("tr-other", 2)).ok());
  auto q = Query();
  q.filter = {{TraceFieldKind::kSpan, "span_type", TraceOp::kEq, std::string("LLM")}};
  EXPECT_EQ(Ids(q), (std::vector<std::string>{"tr-s"}));
  q.filter = {{TraceFieldKind::kSpan, "name", TraceOp::kLike, std::string("call%")}};
  EXPECT_EQ(Ids(q), (std::vector<std::string>{"tr-s"}));
}

TEST_F(SqliteTraceStoreTest, DeleteByIdsAndByTimestampCascades) {
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(traces_->UpsertTraceInfo(Info("tr-" + std::to_string(i), 10 * i)).ok());
  TraceStore::DerivedTrace d;
  d.from_spans = Info("tr-0", 0, kTraceStateInProgress);
  ASSERT_TRUE(traces_->LogSpans({Span("tr-0", "a", "", 1, 2)}, {{"tr-0", d}}).ok());
  Assessment a;
  a.assessment_id = "a-1";
  a.trace_id = "tr-0";
  a.name = "q";
  a.kind = "feedback";
  a.source_type = "HUMAN";
  a.value_json = "{\"value\":1}";
  ASSERT_TRUE(traces_->CreateAssessment(a).ok());

  EXPECT_EQ(*traces_->DeleteTraces({exp_, {"tr-3", "tr-nope"}, std::nullopt, std::nullopt}), 1);
  EXPECT_EQ(*traces_->DeleteTraces({exp_, {}, 10, 1}), 1);  // oldest first: tr-0
  EXPECT_TRUE(traces_->GetSpans("tr-0")->empty());
  EXPECT_EQ(traces_->GetAssessment("tr-0", "a-1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*traces_->DeleteTraces({exp_, {}, 100, std::nullopt}), 2);
  EXPECT_TRUE(Ids(Query()).empty());
}

TEST_F(SqliteTraceStoreTest, TagsAndAssessmentOverrides) {
  ASSERT_TRUE(traces_->UpsertTraceInfo(Info("tr-t", 1)).ok());
  ASSERT_TRUE(traces_->SetTraceTag("tr-t", "k", "v").ok());
  EXPECT_EQ(traces_->GetTraceInfo("tr-t")->tags.at("k"), "v");
  ASSERT_TRUE(traces_->DeleteTraceTag("tr-t", "k").ok());
  EXPECT_EQ(traces_->DeleteTraceTag("tr-t", "k").code(), StatusCode::kNotFound);
  EXPECT_EQ(traces_->SetTraceTag("tr-none", "k", "v").code(), StatusCode::kNotFound);

  Assessment first;
  first.assessment_id = "a-1";
  first.trace_id = "tr-t";
  first.name = "q";
  first.kind = "feedback";
  first.source_type = "HUMAN";
  first.value_json = "{\"value\":1}";
  first.metadata = {{"m", "1"}};
  ASSERT_TRUE(traces_->CreateAssessment(first).ok());
  Assessment second = first;
  second.assessment_id = "a-2";
  second.overrides = "a-1";
  ASSERT_TRUE(traces_->CreateAssessment(second).ok());
  EXPECT_FALSE(traces_->GetAssessment("tr-t", "a-1")->valid);
  Assessment bad = first;
  bad.assessment_id = "a-3";
  bad.overrides = "a-nope";
  EXPECT_EQ(traces_->CreateAssessment(bad).code(), StatusCode::kNotFound);
  ASSERT_TRUE(traces_->DeleteAssessment("tr-t", "a-2").ok());
  EXPECT_TRUE(traces_->GetAssessment("tr-t", "a-1")->valid);
  EXPECT_TRUE(traces_->DeleteAssessment("tr-t", "a-2").ok());  // already gone
  EXPECT_EQ(traces_->DeleteAssessment("tr-none", "a-2").code(), StatusCode::kNotFound);
  auto listed = traces_->ListAssessments("tr-t");
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].metadata.at("m"), "1");
}

TEST_F(SqliteTraceStoreTest, ConcurrentSpanWritersShareTheDatabase) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 25; ++i) {
        std::string id = "tr-" + std::to_string(t) + "-" + std::to_string(i);
        TraceStore::DerivedTrace d;
        d.from_spans = Info(id, i, kTraceStateInProgress);
        EXPECT_TRUE(traces_->LogSpans({Span(id, "a", "", 1, 2)}, {{id, d}}).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  auto q = Query();
  q.max_results = 500;
  EXPECT_EQ(Ids(q).size(), 200u);
}

}  // namespace
}  // namespace kiln::storage
