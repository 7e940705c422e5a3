#include "tracking/trace_filter.h"

#include <gtest/gtest.h>

namespace kiln::tracking {
namespace {

using storage::TraceFieldKind;
using storage::TraceOp;

TEST(TraceFilter, EmptyFilterHasNoClauses) {
  auto c = ParseTraceFilter("   ");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->empty());
}

TEST(TraceFilter, AttributesAndAliases) {
  auto c = ParseTraceFilter("status = 'OK' AND trace.timestamp_ms > 100 and attributes.execution_time <= 5 "
                            "AND request_id IN ('tr-1', 'tr-2') AND end_time != 7");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->size(), 5u);
  EXPECT_EQ((*c)[0].kind, TraceFieldKind::kAttribute);
  EXPECT_EQ((*c)[0].key, "state");
  EXPECT_EQ(std::get<std::string>((*c)[0].value), "OK");
  EXPECT_EQ((*c)[1].key, "request_time");
  EXPECT_EQ((*c)[1].op, TraceOp::kGt);
  EXPECT_EQ(std::get<int64_t>((*c)[1].value), 100);
  EXPECT_EQ((*c)[2].key, "execution_duration");
  EXPECT_EQ((*c)[3].key, "trace_id");
  EXPECT_EQ((*c)[3].op, TraceOp::kIn);
  EXPECT_EQ(std::get<std::vector<std::string>>((*c)[3].value).size(), 2u);
  EXPECT_EQ((*c)[4].key, "end_time");
}

TEST(TraceFilter, NameAndRunIdMapToTagAndMetadata) {
  auto c = ParseTraceFilter("name = 'predict' AND run_id = 'abc'");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)[0].kind, TraceFieldKind::kTag);
  EXPECT_EQ((*c)[0].key, "mlflow.traceName");
  EXPECT_EQ((*c)[1].kind, TraceFieldKind::kMetadata);
  EXPECT_EQ((*c)[1].key, "mlflow.sourceRun");
}

TEST(TraceFilter, TagsMetadataAndSpans) {
  auto c = ParseTraceFilter("tag.`my key` ILIKE '%x%' AND tags.mlflow.user = \"bob\" AND "
                            "request_metadata.team IS NOT NULL AND metadata.k IS NULL AND span.type = 'LLM' "
                            "AND span.status NOT IN ('ERROR')");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->size(), 6u);
  EXPECT_EQ((*c)[0].key, "my key");
  EXPECT_EQ((*c)[0].op, TraceOp::kILike);
  EXPECT_EQ((*c)[1].key, "mlflow.user");
  EXPECT_EQ(std::get<std::string>((*c)[1].value), "bob");
  EXPECT_EQ((*c)[2].kind, TraceFieldKind::kMetadata);
  EXPECT_EQ((*c)[2].op, TraceOp::kIsNotNull);
  EXPECT_EQ((*c)[3].op, TraceOp::kIsNull);
  EXPECT_EQ((*c)[4].kind, TraceFieldKind::kSpan);
  EXPECT_EQ((*c)[4].key, "span_type");
  EXPECT_EQ((*c)[5].key, "status_code");
  EXPECT_EQ((*c)[5].op, TraceOp::kNotIn);
}

TEST(TraceFilter, RefusesWhatItCannotDoExactly) {
  for (const char* bad : {"status = 'OK' OR status = 'ERROR'", "tag.x RLIKE 'a.*'", "feedback.q = 'yes'",
                          "text ILIKE '%x%'", "span.content LIKE '%x%'", "timestamp_ms > 'x'", "status > 'OK'",
                          "tag.x IN ('a')", "name IN ('a')", "bogus.key = 'x'", "unknown = 'x'", "status = ", "status 'OK'",
                          "tag.x = unquoted", "status = 'unterminated"}) {
    auto c = ParseTraceFilter(bad);
    EXPECT_FALSE(c.ok()) << bad;
    if (!c.ok()) {
      EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

TEST(TraceOrderBy, KeysDirectionsAndDuplicates) {
  auto o = ParseTraceOrderBy({"timestamp_ms DESC", "tag.env", "name ASC", "attributes.execution_time"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  ASSERT_EQ(o->size(), 4u);
  EXPECT_EQ((*o)[0].key, "request_time");
  EXPECT_FALSE((*o)[0].ascending);
  EXPECT_EQ((*o)[1].kind, TraceFieldKind::kTag);
  EXPECT_TRUE((*o)[1].ascending);
  EXPECT_EQ((*o)[2].key, "mlflow.traceName");
  EXPECT_EQ((*o)[3].key, "execution_duration");
  EXPECT_FALSE(ParseTraceOrderBy({"timestamp DESC", "timestamp_ms"}).ok());
  EXPECT_FALSE(ParseTraceOrderBy({"bogus"}).ok());
  EXPECT_FALSE(ParseTraceOrderBy({"timestamp_ms SIDEWAYS"}).ok());
  EXPECT_FALSE(ParseTraceOrderBy({"span.name"}).ok());
}

}  // namespace
}  // namespace kiln::tracking
