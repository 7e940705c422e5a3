#include "api/mlflow/trace_json.h"

#include <gtest/gtest.h>

#include "api/mlflow/trace_otlp.h"
#include "otlp/trace.pb.h"

namespace kiln::api::mlflow {
namespace {

using nlohmann::json;

TEST(TraceJson, TimestampsAsProtobufPrintsThem) {
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(1700000000123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(*ParseTimestamp("2023-11-14T22:13:20.123Z", "t"), 1700000000123);
  EXPECT_EQ(*ParseTimestamp("2023-11-14T22:13:20Z", "t"), 1700000000000);
  EXPECT_EQ(*ParseTimestamp("2023-11-14T22:13:20.123456789Z", "t"), 1700000000123);
  EXPECT_EQ(*ParseTimestamp("2023-11-15T00:13:20.5+02:00", "t"), 1700000000500);
  for (const char* bad : {"", "2023-11-14", "2023-11-14T22:13:20", "2023-13-14T22:13:20Z", "2023-11-14T22:13:20.Z",
                          "x023-11-14T22:13:20Z", "2023-11-14T22:13:20Zjunk"}) {
    EXPECT_FALSE(ParseTimestamp(bad, "t").ok()) << bad;
  }
}

TEST(TraceJson, Durations) {
  EXPECT_EQ(FormatDuration(456), "0.456s");
  EXPECT_EQ(FormatDuration(2000), "2s");
  EXPECT_EQ(*ParseDuration("1.5s", "d"), 1500);
  EXPECT_EQ(*ParseDuration("0.000001s", "d"), 0);
  EXPECT_EQ(*ParseDuration("3s", "d"), 3000);
  EXPECT_FALSE(ParseDuration("3", "d").ok());
  EXPECT_FALSE(ParseDuration("1.x5s", "d").ok());
}

TEST(TraceJson, TraceInfoV3RoundTrip) {
  json j = {{"trace_id", "tr-1"},
            {"client_request_id", "c"},
            {"trace_location", {{"type", "MLFLOW_EXPERIMENT"}, {"mlflow_experiment", {{"experiment_id", "7"}}}}},
            {"request_time", "2023-11-14T22:13:20.123Z"},
            {"execution_duration", "0.456s"},
            {"state", "ERROR"},
            {"trace_metadata", {{"m", "1"}}},
            {"tags", {{"t", "2"}}},
            {"assessments", json::array({{{"assessment_name", "q"}, {"feedback", {{"value", 1}}}}})}};
  std::vector<storage::Assessment> assessments;
  auto info = DecodeTraceInfoV3(j, &assessments);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->experiment_id, "7");
  EXPECT_EQ(info->request_time_ms, 1700000000123);
  EXPECT_EQ(info->execution_duration_ms, 456);
  EXPECT_EQ(info->state, "ERROR");
  ASSERT_EQ(assessments.size(), 1u);
  EXPECT_EQ(assessments[0].kind, "feedback");
  tracking::TraceRecord r{*info, {}};
  json out = TraceInfoV3Json(r);
  EXPECT_EQ(out["request_time"], j["request_time"]);
  EXPECT_EQ(out["execution_duration"], j["execution_duration"]);
  EXPECT_EQ(out["tags"], j["tags"]);
  EXPECT_EQ(out["trace_metadata"], j["trace_metadata"]);

  json uc = j;
  uc["trace_location"] = {{"type", "INFERENCE_TABLE"}, {"inference_table", {{"full_table_name", "a.b.c"}}}};
  EXPECT_EQ(DecodeTraceInfoV3(uc, nullptr).status().code(), StatusCode::kInvalidArgument);
  json bad_state = j;
  bad_state["state"] = "DONE";
  EXPECT_FALSE(DecodeTraceInfoV3(bad_state, nullptr).ok());
}

TEST(TraceJson, AssessmentNeedsExactlyOneValue) {
  EXPECT_FALSE(DecodeAssessment({{"assessment_name", "q"}}, "a").ok());
  EXPECT_FALSE(DecodeAssessment({{"assessment_name", "q"}, {"feedback", json::object()}, {"expectation", json::object()}},
                                "a")
                   .ok());
  auto a = DecodeAssessment({{"assessment_name", "q"},
                             {"source", {{"source_type", "LLM_JUDGE"}, {"source_id", "gpt"}}},
                             {"expectation", {{"value", {{"x", 1}}}}}},
                            "a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->source_type, "LLM_JUDGE");
  a->create_time_ms = a->last_update_time_ms = 5;
  json out = AssessmentJson(*a);
  EXPECT_EQ(out["expectation"]["value"]["x"], 1);
  EXPECT_EQ(out["valid"], true);
}

TEST(TraceOtlp, DecodesSpansAndRendersBothForms) {
  kiln::otlp::ExportTraceServiceRequest req;
  auto* ss = req.add_resource_spans()->add_scope_spans();
  auto* root = ss->add_spans();
  root->set_trace_id(std::string(16, '\x01'));
  root->set_span_id(std::string(8, '\x02'));
  root->set_name("root");
  root->set_start_time_unix_nano(1000000000);
  root->set_end_time_unix_nano(3000000000);
  root->mutable_status()->set_code(kiln::otlp::Status::STATUS_CODE_ERROR);
  auto* kv = root->add_attributes();
  kv->set_key("mlflow.spanType");
  kv->mutable_value()->set_string_value("\"LLM\"");
  kv = root->add_attributes();
  kv->set_key("mlflow.traceTag.team");
  kv->mutable_value()->set_string_value("ml");
  kv = root->add_attributes();
  kv->set_key("n");
  kv->mutable_value()->set_int_value(7);
  auto* child = ss->add_spans();
  *child = *root;
  child->set_span_id(std::string(8, '\x03'));
  child->set_parent_span_id(std::string(8, '\x02'));

  auto spans = DecodeOtlpTraces(req.SerializeAsString(), OtlpEncoding::kProtobuf, 10);
  ASSERT_TRUE(spans.ok()) << spans.status().ToString();
  ASSERT_EQ(spans->size(), 2u);
  const auto& s = (*spans)[0].span;
  EXPECT_EQ(s.trace_id, "tr-01010101010101010101010101010101");
  EXPECT_EQ(s.span_id, "0202020202020202");
  EXPECT_EQ(s.status_code, "ERROR");
  EXPECT_EQ(s.span_type, "LLM");
  EXPECT_EQ((*spans)[0].trace_tags.at("team"), "ml");
  EXPECT_TRUE((*spans)[1].trace_tags.empty());  // only root spans carry trace tags
  EXPECT_EQ((*spans)[1].span.parent_span_id, "0202020202020202");

  json proto = SpanProtoJson(s);
  EXPECT_EQ(proto["name"], "root");
  EXPECT_EQ(proto["status"]["code"], "STATUS_CODE_ERROR");
  json dict = SpanDict(s);
  EXPECT_EQ(dict["attributes"]["n"], "7");
  EXPECT_EQ(dict["attributes"]["mlflow.spanType"], "\"\\\"LLM\\\"\"");
  EXPECT_EQ(dict["attributes"]["mlflow.traceRequestId"], "\"" + s.trace_id + "\"");
  EXPECT_EQ(dict["parent_span_id"], nullptr);
  EXPECT_EQ(dict["start_time_unix_nano"], 1000000000);

  EXPECT_FALSE(DecodeOtlpTraces(req.SerializeAsString(), OtlpEncoding::kProtobuf, 1).ok());
  EXPECT_FALSE(DecodeOtlpTraces("garbage\xff", OtlpEncoding::kProtobuf, 10).ok());
  EXPECT_FALSE(DecodeOtlpTraces("", OtlpEncoding::kProtobuf, 10).ok());
  root->set_span_id("short");
  EXPECT_FALSE(DecodeOtlpTraces(req.SerializeAsString(), OtlpEncoding::kProtobuf, 10).ok());
}

TEST(TraceOtlp, JsonEncodingTakesHexIds) {
  std::string body = R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"000102030405060708090a0b0c0d0e0f",
    "spanId":"0001020304050607","name":"j","startTimeUnixNano":"5","endTimeUnixNano":"9"}]}]}]})";
  auto spans = DecodeOtlpTraces(body, OtlpEncoding::kJson, 10);
  ASSERT_TRUE(spans.ok()) << spans.status().ToString();
  EXPECT_EQ((*spans)[0].span.trace_id, "tr-000102030405060708090a0b0c0d0e0f");
  EXPECT_EQ((*spans)[0].span.end_time_ns, 9);
  EXPECT_FALSE(DecodeOtlpTraces(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]})",
                                OtlpEncoding::kJson, 10)
                   .ok());
}

}  // namespace
}  // namespace kiln::api::mlflow
