#include "tracking/search_filter_parser.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kiln::tracking {
namespace {

using storage::CompareOp;
using storage::FilterClause;
using storage::SearchEntity;

FilterClause One(std::string_view filter) {
  auto r = ParseRunFilter(filter);
  EXPECT_TRUE(r.ok()) << filter << ": " << r.status().ToString();
  if (!r.ok() || r->size() != 1) {
    ADD_FAILURE() << "expected one clause for " << filter;
    return {};
  }
  return (*r)[0];
}

std::string RunError(std::string_view filter) {
  auto r = ParseRunFilter(filter);
  EXPECT_FALSE(r.ok()) << filter;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

bool HasSubstr(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

TEST(RunFilter, EmptyAndWhitespace) {
  EXPECT_TRUE(ParseRunFilter("")->empty());
  EXPECT_TRUE(ParseRunFilter("  \t\n ")->empty());
}

TEST(RunFilter, MetricNumbers) {
  auto c = One("metrics.rmse < 0.5");
  EXPECT_EQ(c.entity, SearchEntity::kMetric);
  EXPECT_EQ(c.key, "rmse");
  EXPECT_EQ(c.op, CompareOp::kLt);
  EXPECT_DOUBLE_EQ(std::get<double>(c.value), 0.5);

  EXPECT_DOUBLE_EQ(std::get<double>(One("metric.acc >= -3").value), -3);
  EXPECT_DOUBLE_EQ(std::get<double>(One("metrics.a = 1e-3").value), 1e-3);
  EXPECT_DOUBLE_EQ(std::get<double>(One("metrics.a != 2.5E+2").value), 250);
  EXPECT_DOUBLE_EQ(std::get<double>(One("metrics.a > .5").value), 0.5);
  EXPECT_DOUBLE_EQ(std::get<double>(One("metrics.a<=-1.25").value), -1.25);
  EXPECT_TRUE(std::isinf(std::get<double>(One("metrics.a < 1e999").value)));
  EXPECT_EQ(One("metrics.a > 1").op, CompareOp::kGt);
  EXPECT_EQ(One("metrics.a >= 1").op, CompareOp::kGe);
  EXPECT_EQ(One("metrics.a <= 1").op, CompareOp::kLe);
  EXPECT_EQ(One("metrics.a != 1").op, CompareOp::kNe);
  EXPECT_EQ(One("metrics.a = 1").op, CompareOp::kEq);
}

TEST(RunFilter, MetricErrors) {
  EXPECT_EQ(RunError("metrics.a = 'x'"), "Expected numeric value type for metric. Found 'x'");
  EXPECT_TRUE(HasSubstr(RunError("metrics.a LIKE 1"), "Invalid comparator 'LIKE' not one of"));
  EXPECT_TRUE(HasSubstr(RunError("metrics.a == 1"), "Invalid comparator '=='"));
  EXPECT_TRUE(HasSubstr(RunError("metrics.a <> 1"), "Invalid comparator '<>'"));
}

TEST(RunFilter, ParamsAndTags) {
  auto c = One("params.lr = '0.01'");
  EXPECT_EQ(c.entity, SearchEntity::kParam);
  EXPECT_EQ(c.key, "lr");
  EXPECT_EQ(std::get<std::string>(c.value), "0.01");
  EXPECT_EQ(One("param.x = \"dq\"").entity, SearchEntity::kParam);
  EXPECT_EQ(std::get<std::string>(One("parameters.x = \"dq\"").value), "dq");
  EXPECT_EQ(One("parameter.x != 'a'").op, CompareOp::kNe);
  EXPECT_EQ(One("tags.t LIKE '%a%'").op, CompareOp::kLike);
  EXPECT_EQ(One("tag.t ilike 'A%'").op, CompareOp::kILike);
  EXPECT_EQ(One("tags.t like 'a'").entity, SearchEntity::kTag);
  // Strings are taken verbatim between the quotes, as MLflow does.
  EXPECT_EQ(std::get<std::string>(One("tags.t = 'it''s'").value), "it''s");
  EXPECT_EQ(std::get<std::string>(One("tags.t = 'a\\'b'").value), "a\\'b");
  EXPECT_EQ(std::get<std::string>(One("tags.t = ''").value), "");
  EXPECT_EQ(std::get<std::string>(One("tags.t = 'AND x OR y'").value), "AND x OR y");
}

TEST(RunFilter, ParamErrors) {
  EXPECT_EQ(RunError("params.a = 1"), "Expected a quoted string value for parameter (e.g. 'my-value'). Got value 1");
  EXPECT_EQ(RunError("tags.a = 1"), "Expected a quoted string value for tag (e.g. 'my-value'). Got value 1");
  EXPECT_TRUE(HasSubstr(RunError("params.a = abc"), "Parameter value is either not quoted"));
  EXPECT_TRUE(HasSubstr(RunError("params.a > 'x'"), "Invalid comparator '>' not one of"));
  EXPECT_EQ(RunError("tags.a IN ('x')"),
            "Expected a quoted string value for tag (e.g. 'my-value'). Got value ('x')");
}

TEST(RunFilter, QuotedKeys) {
  auto c = One("metrics.`my metric/x-1` > 0");
  EXPECT_EQ(c.key, "my metric/x-1");
  EXPECT_EQ(One("params.\"a b.c\" = 'v'").key, "a b.c");
  EXPECT_EQ(One("tags.'odd key' = 'v'").key, "odd key");
  EXPECT_EQ(One("`tags`.`k` = 'v'").entity, SearchEntity::kTag);
  // Unquoted dotted keys keep everything after the first dot.
  EXPECT_EQ(One("tags.mlflow.runName = 'v'").key, "mlflow.runName");
  EXPECT_EQ(One("metrics.1abc > 0").key, "1abc");
  EXPECT_EQ(One("metrics.5 > 0").key, "5");
}

TEST(RunFilter, Attributes) {
  auto c = One("attributes.status = 'FINISHED'");
  EXPECT_EQ(c.entity, SearchEntity::kAttribute);
  EXPECT_EQ(c.key, "status");
  EXPECT_EQ(One("status != 'RUNNING'").key, "status");  // no prefix: attribute
  EXPECT_EQ(One("attr.user_id LIKE 'a%'").key, "user_id");
  EXPECT_EQ(One("run.artifact_uri = 'x'").key, "artifact_uri");
  EXPECT_EQ(One("attribute.run_name ILIKE '%x%'").key, "run_name");
  EXPECT_EQ(One("`Run Name` = 'x'").key, "run_name");
  EXPECT_EQ(One("attributes.`run name` = 'x'").key, "run_name");
  auto t = One("attributes.start_time >= 1700000000000");
  EXPECT_EQ(t.key, "start_time");
  EXPECT_DOUBLE_EQ(std::get<double>(t.value), 1700000000000.0);
  EXPECT_EQ(One("created > 5").key, "start_time");
  EXPECT_EQ(One("end_time < 5").key, "end_time");
}

TEST(RunFilter, AttributeErrors) {
  EXPECT_TRUE(HasSubstr(RunError("attributes.foo = 'x'"), "Invalid attribute key 'foo' specified. Valid keys are"));
  EXPECT_TRUE(HasSubstr(RunError("lifecycle_stage = 'active'"), "Invalid attribute key 'lifecycle_stage'"));
  EXPECT_EQ(RunError("start_time > 'x'"), "Expected numeric value type for numeric attribute: start_time. Found 'x'");
  EXPECT_TRUE(HasSubstr(RunError("start_time LIKE 1"), "Invalid comparator 'LIKE'"));
  EXPECT_EQ(RunError("status = 1"), "Expected a quoted string value for attributes. Got value 1");
  EXPECT_TRUE(HasSubstr(RunError("status > 'x'"), "Invalid comparator '>'"));
  EXPECT_EQ(RunError("run_name IN ('a')"),
            "Only the 'run_id' attribute supports comparison with a list of quoted string values.");
  EXPECT_TRUE(HasSubstr(RunError("foo.bar = 'x'"), "Invalid entity type 'foo'. Valid values are"));
}

TEST(RunFilter, InLists) {
  auto c = One("attributes.run_id IN ('abc1', \"def2\", )");
  EXPECT_EQ(c.op, CompareOp::kIn);
  EXPECT_EQ(std::get<std::vector<std::string>>(c.value), (std::vector<std::string>{"abc1", "def2"}));
  auto n = One("run_id not in ('a')");
  EXPECT_EQ(n.op, CompareOp::kNotIn);
  // MLflow drops IDs that are not lower-case.
  EXPECT_EQ(std::get<std::vector<std::string>>(One("run_id IN ('ABC', 'abc', '123')").value),
            (std::vector<std::string>{"abc"}));
  EXPECT_TRUE(HasSubstr(RunError("run_id IN ()"), "but got empty list"));
  EXPECT_TRUE(HasSubstr(RunError("run_id IN (1, 'a')"), "but got different type in list: (1, 'a')"));
  EXPECT_TRUE(HasSubstr(RunError("run_id IN ('a' 'b')"), "ill-formed list"));
  EXPECT_TRUE(HasSubstr(RunError("run_id IN 'a'"), "Invalid clause(s) in filter string"));
  EXPECT_TRUE(HasSubstr(RunError("run_id = ('a')"), "Invalid clause(s) in filter string"));
  EXPECT_TRUE(HasSubstr(RunError("run_id IN ('a'"), "Invalid clause(s) in filter string"));
}

TEST(RunFilter, Datasets) {
  auto c = One("datasets.name IN ('MNIST', 'cifar')");
  EXPECT_EQ(c.entity, SearchEntity::kDataset);
  EXPECT_EQ(c.key, "name");
  EXPECT_EQ(std::get<std::vector<std::string>>(c.value), (std::vector<std::string>{"MNIST", "cifar"}));
  EXPECT_EQ(One("dataset.digest = 'abc'").op, CompareOp::kEq);
  EXPECT_EQ(One("dataset.context LIKE 'train%'").op, CompareOp::kLike);
  EXPECT_EQ(One("datasets.name NOT IN ('x')").op, CompareOp::kNotIn);
  EXPECT_TRUE(HasSubstr(RunError("datasets.size = 'x'"), "Invalid dataset key 'size' specified"));
  EXPECT_EQ(RunError("datasets.name = 1"), "Expected a quoted string value for dataset attributes. Got value 1");
  EXPECT_TRUE(HasSubstr(RunError("datasets.name > 'x'"), "Invalid comparator '>'"));
}

TEST(RunFilter, AndChains) {
  auto r = ParseRunFilter("metrics.a > 1 and params.b = 'x' AND tags.`c d` != 'y' And status = 'FINISHED'");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[1].entity, SearchEntity::kParam);
  EXPECT_EQ((*r)[2].key, "c d");
  EXPECT_EQ((*r)[3].key, "status");
}

TEST(RunFilter, StructuralErrors) {
  EXPECT_EQ(RunError("metrics.a > 1 OR metrics.b < 2"), "Invalid clause(s) in filter string: 'OR metrics.b < 2'");
  EXPECT_TRUE(HasSubstr(RunError("metrics.a > 1 AND"), "Invalid clause(s)"));
  EXPECT_TRUE(HasSubstr(RunError("metrics.a"), "Invalid clause(s)"));
  EXPECT_TRUE(HasSubstr(RunError("metrics.a >"), "Invalid clause(s)"));
  EXPECT_TRUE(HasSubstr(RunError("params.a = 'unterminated"), "Invalid clause(s)"));
  EXPECT_TRUE(HasSubstr(RunError("(metrics.a > 1)"), "Invalid clause(s)"));
  EXPECT_TRUE(HasSubstr(RunError("metrics.a > 1; drop"), "Invalid clause(s)"));
  EXPECT_TRUE(HasSubstr(RunError("params.a IS 'x'"), "Invalid clause(s)"));
  EXPECT_TRUE(HasSubstr(RunError("params.a NOT LIKE 'x'"), "Invalid clause(s)"));
  EXPECT_TRUE(HasSubstr(RunError("metrics.`a`.b > 1"), "Invalid identifier"));
}

TEST(RunOrderBy, Forms) {
  auto r = ParseRunOrderBy({"metrics.rmse ASC", "attributes.start_time DESC", "params.lr", "metrics.`my key` desc",
                            "start_time", "tags.\"a b\" Desc", "created", "run_name asc"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 8u);
  EXPECT_EQ((*r)[0].entity, SearchEntity::kMetric);
  EXPECT_EQ((*r)[0].key, "rmse");
  EXPECT_TRUE((*r)[0].ascending);
  EXPECT_EQ((*r)[1].entity, SearchEntity::kAttribute);
  EXPECT_EQ((*r)[1].key, "start_time");
  EXPECT_FALSE((*r)[1].ascending);
  EXPECT_EQ((*r)[2].entity, SearchEntity::kParam);
  EXPECT_TRUE((*r)[2].ascending);
  EXPECT_EQ((*r)[3].key, "my key");
  EXPECT_FALSE((*r)[3].ascending);
  EXPECT_EQ((*r)[4].key, "start_time");
  EXPECT_EQ((*r)[5].key, "a b");
  EXPECT_EQ((*r)[5].entity, SearchEntity::kTag);
  EXPECT_EQ((*r)[6].key, "start_time");
  EXPECT_EQ((*r)[7].key, "run_name");
  EXPECT_TRUE(ParseRunOrderBy({})->empty());
}

TEST(RunOrderBy, Errors) {
  auto err = [](std::string s) {
    auto r = ParseRunOrderBy({s});
    EXPECT_FALSE(r.ok()) << s;
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_EQ(err("metrics.a sideways"), "Invalid ordering key in order_by clause 'metrics.a sideways'.");
  EXPECT_EQ(err("metrics.a ASC NULLS"), "Invalid order_by clause 'metrics.a ASC NULLS'. Could not be parsed.");
  EXPECT_EQ(err(""), "Invalid order_by clause ''. Could not be parsed.");
  EXPECT_EQ(err("metrics.`a"), "Invalid order_by clause 'metrics.`a'. Could not be parsed.");
  EXPECT_TRUE(HasSubstr(err("attributes.bogus"), "Invalid attribute key 'bogus'"));
  EXPECT_TRUE(HasSubstr(err("lifecycle_stage"), "Invalid attribute key"));
  EXPECT_TRUE(HasSubstr(err("`Run name`"), "Invalid attribute key 'Run name'"));
  EXPECT_TRUE(HasSubstr(err("nope.x"), "Invalid entity type 'nope'"));
  EXPECT_TRUE(HasSubstr(err("datasets.name"), "Invalid identifier type 'dataset'"));
}

TEST(ExperimentFilter, Forms) {
  auto r = ParseExperimentFilter("name LIKE 'exp%' AND tags.team = 'ml' AND creation_time > 100 AND "
                                 "attribute.last_update_time <= 5 AND tag.`k k` ILIKE '%x'");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 5u);
  EXPECT_EQ((*r)[0].key, "name");
  EXPECT_EQ((*r)[0].op, CompareOp::kLike);
  EXPECT_EQ((*r)[1].entity, SearchEntity::kTag);
  EXPECT_DOUBLE_EQ(std::get<double>((*r)[2].value), 100);
  EXPECT_EQ((*r)[3].key, "last_update_time");
  EXPECT_EQ((*r)[4].key, "k k");
  EXPECT_EQ(ParseExperimentFilter("name = \"Default\"")->at(0).op, CompareOp::kEq);
  EXPECT_TRUE(ParseExperimentFilter("")->empty());
}

TEST(ExperimentFilter, Errors) {
  auto err = [](std::string_view s) {
    auto r = ParseExperimentFilter(s);
    EXPECT_FALSE(r.ok()) << s;
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_TRUE(HasSubstr(err("experiment_id = '1'"), "Invalid attribute key 'experiment_id'"));
  EXPECT_TRUE(HasSubstr(err("metrics.a > 1"), "Invalid entity type 'metrics'. Valid entity types are"));
  EXPECT_TRUE(HasSubstr(err("attributes.name = 'x'"), "Invalid entity type 'attributes'"));
  EXPECT_TRUE(HasSubstr(err("name IN ('a')"), "Only the 'run_id' attribute supports"));
  EXPECT_TRUE(HasSubstr(err("creation_time = 'x'"), "Expected numeric value type for numeric attribute"));
  EXPECT_TRUE(HasSubstr(err("name > 'x'"), "Invalid comparator '>'"));
  EXPECT_TRUE(HasSubstr(err("name = 'a' OR name = 'b'"), "Invalid clause(s)"));
}

TEST(ExperimentOrderBy, Forms) {
  auto r = ParseExperimentOrderBy({"name", "experiment_id DESC", "attribute.creation_time asc", "last_update_time"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[1].key, "experiment_id");
  EXPECT_FALSE((*r)[1].ascending);
  EXPECT_EQ((*r)[2].key, "creation_time");
  auto bad = ParseExperimentOrderBy({"tags.x"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "Invalid order_by entity: tag");
  EXPECT_FALSE(ParseExperimentOrderBy({"artifact_location"}).ok());
}

TEST(LoggedModelFilter, Forms) {
  auto r = ParseLoggedModelFilter(
      "name = 'model' AND source_run_id = 'abc' AND status IN ('LOGGED_MODEL_READY') AND "
      "creation_time > 5 AND metrics.acc >= 0.9 AND params.p = 'x' AND tags.`mlflow.user` != 'u' AND "
      "attributes.model_type LIKE '%' AND last_updated_timestamp < 9 AND model_id NOT IN ('m-1')");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 10u);
  EXPECT_EQ((*r)[0].key, "name");
  EXPECT_EQ(std::get<std::vector<std::string>>((*r)[2].value), (std::vector<std::string>{"LOGGED_MODEL_READY"}));
  EXPECT_EQ((*r)[3].key, "creation_timestamp");
  EXPECT_EQ((*r)[4].entity, SearchEntity::kMetric);
  EXPECT_EQ((*r)[6].key, "mlflow.user");
  EXPECT_EQ((*r)[8].key, "last_updated_timestamp");
  EXPECT_EQ((*r)[9].op, CompareOp::kNotIn);
}

TEST(LoggedModelFilter, Errors) {
  EXPECT_FALSE(ParseLoggedModelFilter("run_id = 'x'").ok());
  EXPECT_FALSE(ParseLoggedModelFilter("datasets.name = 'x'").ok());
  EXPECT_FALSE(ParseLoggedModelFilter("creation_timestamp IN ('1')").ok());
  EXPECT_FALSE(ParseLoggedModelFilter("metrics.a = 'x'").ok());
}

TEST(LoggedModelOrderBy, Forms) {
  auto r = ParseLoggedModelOrderBy({{"metrics.accuracy", false, "eval", ""},
                                    {"creation_time", true, "", ""},
                                    {" name ", true, "", ""},
                                    {"last_updated_timestamp", false, "", ""}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].entity, SearchEntity::kMetric);
  EXPECT_EQ((*r)[0].key, "accuracy");
  EXPECT_FALSE((*r)[0].ascending);
  EXPECT_EQ((*r)[1].key, "creation_timestamp");
  EXPECT_EQ((*r)[2].key, "name");
  EXPECT_EQ((*r)[3].entity, SearchEntity::kAttribute);

  auto bad = ParseLoggedModelOrderBy({{"params.x", true, "", ""}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "Invalid order by field name: params, only `metrics.<name>` is allowed.");
  EXPECT_FALSE(ParseLoggedModelOrderBy({{"bogus", true, "", ""}}).ok());
  EXPECT_FALSE(ParseLoggedModelOrderBy({{"", true, "", ""}}).ok());
  EXPECT_FALSE(ParseLoggedModelOrderBy({{"metrics.a", true, "", "digest"}}).ok());
}

}  // namespace
}  // namespace kiln::tracking
