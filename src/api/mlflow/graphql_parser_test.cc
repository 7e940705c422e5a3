#include "api/mlflow/graphql_parser.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/mlflow/graphql_executor.h"

namespace kiln::api::mlflow::graphql {
namespace {

// The query MLflow 3's run page sends (from the UI bundle), as Apollo sends
// it: with __typename added to every selection set.
constexpr const char* kGetRun = R"(
  query GetRun($data: MlflowGetRunInput!) @component(name: "MLflow.ExperimentRunTracking") {
    mlflowGetRun(input: $data) {
      apiError { helpUrl code message __typename }
      run {
        info { runName status runUuid experimentId endTime startTime __typename }
        data { metrics { key value step timestamp __typename } params { key value } }
        __typename
      }
      __typename
    }
  })";

TEST(GraphqlParser, ParsesTheUiQuery) {
  auto doc = Parse(kGetRun);
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  ASSERT_EQ(doc->operations.size(), 1u);
  const Operation& op = doc->operations[0];
  EXPECT_EQ(op.kind, "query");
  EXPECT_EQ(op.name, "GetRun");
  ASSERT_EQ(op.variables.size(), 1u);
  EXPECT_EQ(op.variables[0].name, "data");
  EXPECT_EQ(op.variables[0].type.ToString(), "MlflowGetRunInput!");
  ASSERT_EQ(op.directives.size(), 1u);
  EXPECT_EQ(op.directives[0].name, "component");
  EXPECT_EQ(op.directives[0].arguments[0].second.text, "MLflow.ExperimentRunTracking");
  const Selection& root = op.selections[0];
  EXPECT_EQ(root.name, "mlflowGetRun");
  EXPECT_EQ(root.arguments[0].first, "input");
  EXPECT_EQ(root.arguments[0].second.kind, Value::Kind::kVariable);
  EXPECT_EQ(root.selections.size(), 3u);
}

TEST(GraphqlParser, ValuesAliasesFragmentsAndStrings) {
  auto doc = Parse(R"(
    # a comment
    query Q($ids: [String!]! = ["a", "b"]) {
      first: f(a: 1, b: -2.5e3, c: "x\n\u00e9\ud83d\ude00", d: true, e: null, f: ENUM_V, g: [1 2], h: {k: $ids}) {
        ...Frag @include(if: true)
        ... on T { y }
        ... { z }
      }
    }
    fragment Frag on T { x }
    { anonymous }
  )");
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  ASSERT_EQ(doc->operations.size(), 2u);
  ASSERT_EQ(doc->fragments.size(), 1u);
  const auto& op = doc->operations[0];
  EXPECT_EQ(op.variables[0].type.ToString(), "[String!]!");
  ASSERT_TRUE(op.variables[0].has_default);
  EXPECT_EQ(op.variables[0].default_value.items.size(), 2u);
  const Selection& f = op.selections[0];
  EXPECT_EQ(f.alias, "first");
  EXPECT_EQ(f.ResponseKey(), "first");
  ASSERT_EQ(f.arguments.size(), 8u);
  EXPECT_EQ(f.arguments[0].second.kind, Value::Kind::kInt);
  EXPECT_EQ(f.arguments[1].second.kind, Value::Kind::kFloat);
  EXPECT_EQ(f.arguments[2].second.text, "x\n\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(f.arguments[3].second.kind, Value::Kind::kBoolean);
  EXPECT_EQ(f.arguments[4].second.kind, Value::Kind::kNull);
  EXPECT_EQ(f.arguments[5].second.kind, Value::Kind::kEnum);
  EXPECT_EQ(f.arguments[6].second.items.size(), 2u);
  EXPECT_EQ(f.arguments[7].second.fields[0].second.kind, Value::Kind::kVariable);
  ASSERT_EQ(f.selections.size(), 3u);
  EXPECT_EQ(f.selections[0].kind, Selection::Kind::kFragmentSpread);
  EXPECT_EQ(f.selections[1].type_condition, "T");
  EXPECT_EQ(f.selections[2].kind, Selection::Kind::kInlineFragment);
  EXPECT_TRUE(f.selections[2].type_condition.empty());
}

TEST(GraphqlParser, BlockStringsDropCommonIndentation) {
  auto doc = Parse("{ f(s: \"\"\"\n    hello\n      world\n  \"\"\") }");
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  EXPECT_EQ(doc->operations[0].selections[0].arguments[0].second.text, "hello\n  world");
}

TEST(GraphqlParser, RefusesMalformedDocuments) {
  for (const char* bad : {"", "{", "{ }", "{ a(b: ) }", "query Q($x: Int { a }", "{ a(b: \"unterminated) }",
                          "{ a(b: 01) }", "{ a(b: 1.) }", "{ a(b: \"\\q\") }", "{ a(b: \"\\ud800\") }",
                          "type Query { a: Int }", "fragment on on T { a }", "{ a } }", "{ a(b: $) }",
                          "query Q($x: Int = $y) { a }", "{ a.b }", "{ a(b: 1x) }", "{ a(b: \"line\nbreak\") }"}) {
    auto doc = Parse(bad);
    EXPECT_FALSE(doc.ok()) << "accepted: " << bad;
    if (!doc.ok()) {
      EXPECT_NE(doc.status().message().find("Syntax Error"), std::string::npos) << bad;
    }
  }
}

TEST(GraphqlParser, ErrorsNameLineAndColumn) {
  auto doc = Parse("{\n  a(b: ]) }");
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.status().message().find("line 2, column 8"), std::string::npos) << doc.status().message();
}

TEST(GraphqlParser, BoundsNesting) {
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "{ a ";
  for (int i = 0; i < 200; ++i) deep += "} ";
  EXPECT_FALSE(Parse(deep).ok());
  std::string list = "{ a(b: ";
  for (int i = 0; i < 200; ++i) list += "[";
  EXPECT_FALSE(Parse(list).ok());
}

// --- executor ---------------------------------------------------------------

FieldDef F(const char* source, const char* type, bool list = false) {
  FieldDef f;
  f.source = source;
  f.type.name = type;
  f.type.list = list;
  return f;
}

InputField In(const char* source, const char* type) {
  InputField f;
  f.source = source;
  f.type.name = type;
  return f;
}

Schema TestSchema() {
  Schema s;
  s.AddEnum({"Status", {"RUNNING", "FINISHED"}, "RUNNING"});
  FieldDef value = F("value", "Float");
  value.nan_as_null = true;
  s.AddObject({"Metric", {F("key", "String"), value, F("step", "LongString")}});
  FieldDef api_error = F("apiError", "String");
  api_error.name = "apiError";
  api_error.backed = false;
  s.AddObject({"Info", {F("run_id", "String"), F("status", "Status"), F("end_time", "LongString")}});
  s.AddObject({"Run", {F("info", "Info"), F("metrics", "Metric", true), api_error}});
  s.AddInput({"RunInput", {In("run_id", "String"), In("max_results", "Int")}});
  FieldDef get_run = F("get_run", "Run");
  get_run.arguments = {In("input", "RunInput")};
  get_run.resolve = [](const nlohmann::json&, const nlohmann::json& args) -> StatusOr<nlohmann::json> {
    std::string id = args["input"].value("run_id", "");
    if (id == "missing") return NotFound("Run with id=missing not found");
    return nlohmann::json{{"info", {{"run_id", id}, {"status", "FINISHED"}}},
                          {"metrics", {{{"key", "loss"}, {"value", 0.5}, {"step", 3}},
                                       {{"key", "nan"}, {"value", "NaN"}, {"step", 4}}}}};
  };
  s.AddObject({"Query", {get_run}});
  s.SetRoots("Query", "");
  s.AcceptDirective("component");
  return s;
}

nlohmann::json Exec(const Schema& s, const std::string& query, nlohmann::json vars = nlohmann::json::object(),
                   const std::string& op = "") {
  Request r;
  r.query = query;
  r.variables = std::move(vars);
  r.operation_name = op;
  return nlohmann::json::parse(Execute(s, r).dump());
}

TEST(GraphqlExecutor, ResolvesWithProtobufDefaultsTypenamesAndAliases) {
  Schema s = TestSchema();
  auto out = Exec(s, R"(query Q($d: RunInput!) @component(name: "x") {
      r: getRun(input: $d) { __typename info { runId status endTime } metrics { key value step } apiError }
    })",
                 {{"d", {{"runId", "abc"}}}});
  ASSERT_TRUE(out["errors"].is_null()) << out.dump();
  const auto& r = out["data"]["r"];
  EXPECT_EQ(r["__typename"], "Run");
  EXPECT_EQ(r["info"]["runId"], "abc");
  EXPECT_EQ(r["info"]["status"], "FINISHED");
  EXPECT_EQ(r["info"]["endTime"], "0");  // unset int64: protobuf's default, as MLflow answers
  EXPECT_EQ(r["metrics"][0]["step"], "3");  // LongString
  EXPECT_EQ(r["metrics"][0]["value"], 0.5);
  EXPECT_TRUE(r["metrics"][1]["value"].is_null());  // NaN
  EXPECT_TRUE(r["apiError"].is_null());
}

TEST(GraphqlExecutor, FragmentsAndSkip) {
  Schema s = TestSchema();
  auto out = Exec(s, R"({ getRun(input: {runId: "a"}) { ...F info @skip(if: true) { runId } } }
                      fragment F on Run { metrics { ... on Metric { key } } })");
  ASSERT_TRUE(out["errors"].is_null()) << out.dump();
  EXPECT_FALSE(out["data"]["getRun"].contains("info"));
  EXPECT_EQ(out["data"]["getRun"]["metrics"][0]["key"], "loss");
}

TEST(GraphqlExecutor, ResolverErrorsNullTheFieldWithAPath) {
  Schema s = TestSchema();
  auto out = Exec(s, R"({ getRun(input: {runId: "missing"}) { info { runId } } })");
  EXPECT_TRUE(out["data"]["getRun"].is_null());
  ASSERT_EQ(out["errors"].size(), 1u);
  EXPECT_EQ(out["errors"][0]["message"], "Run with id=missing not found");
  EXPECT_EQ(out["errors"][0]["path"], nlohmann::json::array({"getRun"}));
}

TEST(GraphqlExecutor, RefusesWhatTheSchemaDoesNotHave) {
  Schema s = TestSchema();
  struct Case {
    std::string query;
    nlohmann::json vars;
    std::string expect;
  };
  std::vector<Case> cases = {
      {"{ getRun { nope } }", {}, "Cannot query field 'nope' on type 'Run'."},
      {"{ getRun(other: 1) { info { runId } } }", {}, "Unknown argument 'other' on field 'Query.getRun'."},
      {"{ getRun }", {}, "must have a selection of subfields"},
      {"{ getRun { info { runId { x } } } }", {}, "must not have a selection"},
      {"{ __schema { types { name } } }", {}, "Introspection"},
      {"{ getRun @secret { info { runId } } }", {}, "Unknown directive '@secret'."},
      {"{ getRun { ...Missing } }", {}, "Unknown fragment 'Missing'."},
      {"{ getRun { ...A } } fragment A on Run { ...A }", {}, "within itself"},
      {"{ getRun { info { runId } } } fragment U on Run { info { runId } }", {}, "is never used"},
      {"query Q($d: RunInput!) { getRun(input: $d) { info { runId } } }", {}, "was not provided"},
      {"query Q($d: RunInput!) { getRun(input: $d) { info { runId } } }", {{"d", {{"bogus", 1}}}},
       "Field 'bogus' is not defined by type 'RunInput'."},
      {"query Q($d: RunInput!) { getRun(input: $d) { info { runId } } }", {{"d", {{"maxResults", "many"}}}},
       "Int cannot represent non-integer value"},
      {"query Q($d: String) { getRun(input: $d) { info { runId } } }", {}, "used in position expecting type"},
      {"{ getRun(input: {runId: $nope}) { info { runId } } }", {}, "Variable '$nope' is not defined"},
      {"{ getRun(input: {runId: 5}) { info { runId } } }", {}, "String cannot represent value: 5"},
      {"subscription { getRun { info { runId } } }", {}, "Subscriptions are not supported"},
      {"query A { getRun { info { runId } } } query B { getRun { info { runId } } }", {}, "Must provide operation name"},
      {"{ getRun(", {}, "Syntax Error"},
  };
  for (const auto& c : cases) {
    auto out = Exec(s, c.query, c.vars.is_null() ? nlohmann::json::object() : c.vars);
    ASSERT_TRUE(out["errors"].is_array()) << c.query << " -> " << out.dump();
    EXPECT_TRUE(out["data"].is_null()) << c.query << " -> " << out.dump();
    EXPECT_NE(out["errors"][0]["message"].get<std::string>().find(c.expect), std::string::npos)
        << c.query << " -> " << out.dump();
  }
}

TEST(GraphqlExecutor, AppliesMlflowsSafetyLimits) {
  Schema s = TestSchema();
  std::string many = "{";
  for (int i = 0; i < 11; ++i) many += " a" + std::to_string(i) + ": getRun { info { runId } }";
  many += " }";
  auto out = Exec(s, many);
  ASSERT_TRUE(out["errors"].is_array()) << out.dump();
  EXPECT_NE(out["errors"][0]["message"].get<std::string>().find("at most 10 root fields"), std::string::npos)
      << out.dump();
}

TEST(GraphqlExecutor, PicksTheNamedOperation) {
  Schema s = TestSchema();
  auto out = Exec(s, "query A { getRun(input: {runId: \"a\"}) { info { runId } } } query B { b: getRun(input: {runId: \"b\"}) { info { runId } } }",
                 nlohmann::json::object(), "B");
  ASSERT_TRUE(out["errors"].is_null()) << out.dump();
  EXPECT_EQ(out["data"]["b"]["info"]["runId"], "b");
}

TEST(GraphqlExecutor, CamelCaseMatchesGraphene) {
  EXPECT_EQ(CamelCase("run_uuid"), "runUuid");
  EXPECT_EQ(CamelCase("effective_trace_archival_retention"), "effectiveTraceArchivalRetention");
  EXPECT_EQ(CamelCase("key"), "key");
}

}  // namespace
}  // namespace kiln::api::mlflow::graphql
