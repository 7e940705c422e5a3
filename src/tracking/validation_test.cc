#include "tracking/validation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace kiln::tracking {
namespace {

std::string Msg(const Status& s) {
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  return s.message();
}

TEST(Utf8, LengthAndTruncate) {
  EXPECT_EQ(Utf8Length(""), 0u);
  EXPECT_EQ(Utf8Length("abc"), 3u);
  EXPECT_EQ(Utf8Length("h\xc3\xa9llo"), 5u);            // héllo
  EXPECT_EQ(Utf8Length("\xf0\x9f\x98\x80"), 1u);        // emoji
  EXPECT_EQ(TruncateUtf8("h\xc3\xa9llo", 2), "h\xc3\xa9");
  EXPECT_EQ(TruncateUtf8("abc", 10), "abc");
  EXPECT_EQ(TruncateUtf8("abc", 0), "");
}

TEST(KeyNames, Valid) {
  for (const char* name : {"loss", "val/loss", "a.b-c_d e", "x:y", "Metric 1", "a/..b", "a..b",
                           "m\xc3\xa9trique", " "}) {
    EXPECT_TRUE(ValidateMetricName(name).ok()) << name << ": " << ValidateMetricName(name).message();
    EXPECT_TRUE(ValidateParamName(name).ok()) << name;
    EXPECT_TRUE(ValidateTagName(name).ok()) << name;
  }
}

TEST(KeyNames, BadCharacters) {
  EXPECT_EQ(Msg(ValidateMetricName("a!b")),
            "Invalid value \"a!b\" for parameter 'name' supplied: Names may only contain alphanumerics, underscores "
            "(_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).");
  EXPECT_NE(Msg(ValidateParamName("a\"b")).find("Invalid value \"a\\\"b\" for parameter 'key' supplied"),
            std::string::npos);
  for (const char* name : {"a\\b", "a$", "tab\there", "new\nline", "q'uote", "a,b", "a*"}) {
    EXPECT_FALSE(ValidateTagName(name).ok()) << name;
  }
  EXPECT_FALSE(ValidateTagName("bad\xff").ok());  // invalid UTF-8
}

TEST(KeyNames, PathNormalisation) {
  EXPECT_EQ(Msg(ValidateMetricName("")),
            "Invalid value \"\" for parameter 'name' supplied: Names may be treated as files in certain cases, and "
            "must not resolve to other names when treated as such. This name would resolve to '.'");
  EXPECT_NE(Msg(ValidateParamName("a/../b")).find("would resolve to 'b'"), std::string::npos);
  EXPECT_NE(Msg(ValidateParamName("a//b")).find("would resolve to 'a/b'"), std::string::npos);
  EXPECT_NE(Msg(ValidateParamName("/abs")).find("would resolve to '/abs'"), std::string::npos);
  for (const char* name : {".", "..", "...", "../x", "..x", "a/", "a/.", "./a", "a/./b", "//a"}) {
    EXPECT_FALSE(ValidateMetricName(name).ok()) << name;
  }
}

TEST(KeyNames, CustomPath) {
  EXPECT_TRUE(ValidateTagName("k", "tags[2].key").ok());
  EXPECT_NE(Msg(ValidateTagName("k!", "tags[2].key")).find("for parameter 'tags[2].key'"), std::string::npos);
}

TEST(Metric, Rules) {
  EXPECT_TRUE(ValidateMetric("loss", 0.5, 0, 0).ok());
  EXPECT_TRUE(ValidateMetric("loss", std::nan(""), 1, -5).ok());
  EXPECT_TRUE(ValidateMetric("loss", std::numeric_limits<double>::infinity(), 1, 0).ok());
  EXPECT_EQ(Msg(ValidateMetric("loss", 1.0, -1, 0)),
            "Invalid value -1 for parameter 'timestamp' supplied: metric 'loss' (value=1.0). Timestamp must be a "
            "nonnegative long (64-bit integer) ");
  EXPECT_NE(Msg(ValidateMetric("l!", 1.0, 0, 0, "metrics[3]")).find("'metrics[3].name'"), std::string::npos);
  EXPECT_TRUE(ValidateMetric(std::string(250, 'm'), 1, 0, 0).ok());
  EXPECT_EQ(Msg(ValidateMetric(std::string(251, 'm'), 1, 0, 0)),
            "'Metric name' exceeds the maximum length of 250 characters");
}

TEST(Param, Rules) {
  EXPECT_TRUE(ValidateParam("lr", "0.1").ok());
  EXPECT_TRUE(ValidateParam("lr", "").ok());
  EXPECT_TRUE(ValidateParam(std::string(250, 'k'), "v").ok());
  EXPECT_EQ(Msg(ValidateParam(std::string(251, 'k'), "v")), "'Param key' exceeds the maximum length of 250 characters");
  EXPECT_TRUE(ValidateParamValue(std::string(6000, 'v')).ok());
  EXPECT_EQ(Msg(ValidateParamValue(std::string(6001, 'v'))),
            "'Param value' exceeds the maximum length of 6000 characters");
  EXPECT_FALSE(ValidateParam("lr", std::string(6001, 'v')).ok());
  // Length counts code points, not bytes: 6000 two-byte characters pass.
  std::string wide;
  for (int i = 0; i < 6000; ++i) wide += "\xc3\xa9";
  EXPECT_TRUE(ValidateParamValue(wide).ok());
  EXPECT_TRUE(ValidateParamValue(TruncateUtf8(wide + "x", kMaxParamValLength)).ok());
  EXPECT_NE(Msg(ValidateParam("a/../b", "v", "params[1]")).find("'params[1].key'"), std::string::npos);
}

TEST(Tag, Rules) {
  EXPECT_TRUE(ValidateTag("mlflow.runName", "x").ok());
  EXPECT_TRUE(ValidateTagValue(std::string(8000, 'v')).ok());
  EXPECT_EQ(Msg(ValidateTagValue(std::string(8001, 'v'))), "'value' exceeds the maximum length of 8000 characters");
  EXPECT_EQ(Msg(ValidateTag("k", std::string(8001, 'v'), "tags[0]")),
            "'tags[0].value' exceeds the maximum length of 8000 characters");
  EXPECT_TRUE(ValidateTag(std::string(250, 'k'), "v").ok());
  EXPECT_EQ(Msg(ValidateTag(std::string(251, 'k'), "v")), "'key' exceeds the maximum length of 250 characters");
}

TEST(ExperimentTag, Rules) {
  EXPECT_TRUE(ValidateExperimentTag("team", "ml").ok());
  EXPECT_TRUE(ValidateExperimentTag(std::string(250, 'k'), std::string(5000, 'v')).ok());
  EXPECT_EQ(Msg(ValidateExperimentTag(std::string(251, 'k'), "v")),
            "'key' exceeds the maximum length of 250 characters");
  EXPECT_EQ(Msg(ValidateExperimentTag("k", std::string(5001, 'v'))),
            "'value' exceeds the maximum length of 5000 characters");
  EXPECT_FALSE(ValidateExperimentTag("", "v").ok());
}

TEST(Batch, Limits) {
  EXPECT_TRUE(ValidateBatchLimits(0, 0, 0).ok());
  EXPECT_TRUE(ValidateBatchLimits(1000, 0, 0).ok());
  EXPECT_TRUE(ValidateBatchLimits(800, 100, 100).ok());
  EXPECT_EQ(Msg(ValidateBatchLimits(1001, 0, 0)),
            "A batch logging request can contain at most 1000 metrics. Got 1001 metrics. Please split up metrics "
            "across multiple requests and try again.");
  EXPECT_EQ(Msg(ValidateBatchLimits(0, 101, 0)),
            "A batch logging request can contain at most 100 params. Got 101 params. Please split up params across "
            "multiple requests and try again.");
  EXPECT_NE(Msg(ValidateBatchLimits(0, 0, 101)).find("at most 100 tags. Got 101 tags."), std::string::npos);
  EXPECT_NE(Msg(ValidateBatchLimits(900, 100, 1)).find("at most 1000 metrics, params, and tags. Got 1001"),
            std::string::npos);
  EXPECT_TRUE(ValidateBatchRequestSize(1000000).ok());
  EXPECT_EQ(Msg(ValidateBatchRequestSize(1000001)),
            "Batched logging API requests must be at most 1000000 bytes, got a request of size 1000001.");
}

TEST(Batch, DuplicateParamKeys) {
  EXPECT_TRUE(ValidateDuplicateParamKeys({}).ok());
  EXPECT_TRUE(ValidateDuplicateParamKeys({{"a", "1"}, {"b", "1"}}).ok());
  // Same key twice is rejected even with the same value.
  EXPECT_EQ(Msg(ValidateDuplicateParamKeys({{"a", "1"}, {"b", "2"}, {"a", "1"}, {"a", "3"}})),
            "Duplicate parameter keys have been submitted: ['a', 'a']. Please ensure the request contains only one "
            "param value per param key.");
}

TEST(Experiment, NameAndId) {
  EXPECT_TRUE(ValidateExperimentName("Default").ok());
  EXPECT_EQ(Msg(ValidateExperimentName("")), "Invalid experiment name: ''");
  EXPECT_TRUE(ValidateExperimentName(std::string(500, 'n')).ok());
  EXPECT_EQ(Msg(ValidateExperimentName(std::string(501, 'n'))), "'name' exceeds the maximum length of 500 characters");
  EXPECT_TRUE(ValidateExperimentName("any / chars! allowed").ok());

  EXPECT_TRUE(ValidateExperimentId("0").ok());
  EXPECT_TRUE(ValidateExperimentId("123456789").ok());
  EXPECT_TRUE(ValidateExperimentId("a" + std::string(63, '-')).ok());
  EXPECT_FALSE(ValidateExperimentId("a" + std::string(64, '-')).ok());
  EXPECT_EQ(Msg(ValidateExperimentId("")), "Invalid experiment ID: ''");
  EXPECT_FALSE(ValidateExperimentId("-1").ok());
  EXPECT_FALSE(ValidateExperimentId("1 2").ok());
}

TEST(RunId, Pattern) {
  EXPECT_TRUE(ValidateRunId("0123456789abcdef0123456789abcdef").ok());
  EXPECT_TRUE(ValidateRunId("a").ok());
  EXPECT_TRUE(ValidateRunId("A_b-c").ok());
  EXPECT_TRUE(ValidateRunId("a" + std::string(255, 'b')).ok());
  EXPECT_FALSE(ValidateRunId("a" + std::string(256, 'b')).ok());
  EXPECT_EQ(Msg(ValidateRunId("")), "Invalid value \"\" for parameter 'run_id' supplied.");
  EXPECT_FALSE(ValidateRunId("_abc").ok());
  EXPECT_FALSE(ValidateRunId("-abc").ok());
  EXPECT_FALSE(ValidateRunId("ab/c").ok());
  EXPECT_FALSE(ValidateRunId("ab.c").ok());
  EXPECT_EQ(Msg(ValidateRunId("a\xc3\xa9/", "run_uuid")), "Invalid value \"a\\u00e9/\" for parameter 'run_uuid' supplied.");
}

TEST(MaxResults, Bounds) {
  EXPECT_TRUE(ValidateMaxResults(1).ok());
  EXPECT_TRUE(ValidateMaxResults(50000).ok());
  EXPECT_EQ(Msg(ValidateMaxResults(50001)),
            "Invalid value 50001 for parameter 'max_results' supplied. It must be at most 50000");
  EXPECT_EQ(Msg(ValidateMaxResults(0)),
            "Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer");
  EXPECT_FALSE(ValidateMaxResults(-3).ok());
  EXPECT_TRUE(ValidateMaxResults(25000, kGetMetricHistoryMaxResults).ok());
  EXPECT_FALSE(ValidateMaxResults(25001, kGetMetricHistoryMaxResults).ok());
}

TEST(RunStatus, Names) {
  for (const char* s : {"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"}) {
    EXPECT_TRUE(ValidateRunStatus(s).ok()) << s;
    EXPECT_EQ(*NormalizeRunStatus(s), s);
  }
  EXPECT_EQ(*NormalizeRunStatus("3"), "FINISHED");
  EXPECT_EQ(*NormalizeRunStatus("5"), "KILLED");
  EXPECT_FALSE(ValidateRunStatus("finished").ok());
  EXPECT_FALSE(ValidateRunStatus("6").ok());
  EXPECT_NE(Msg(ValidateRunStatus("DONE")).find("Could not get run status corresponding to string DONE"),
            std::string::npos);
}

TEST(ViewType, Names) {
  EXPECT_EQ(*ParseViewType("ACTIVE_ONLY"), storage::ViewType::kActiveOnly);
  EXPECT_EQ(*ParseViewType("active_only"), storage::ViewType::kActiveOnly);
  EXPECT_EQ(*ParseViewType("DELETED_ONLY"), storage::ViewType::kDeletedOnly);
  EXPECT_EQ(*ParseViewType("ALL"), storage::ViewType::kAll);
  EXPECT_EQ(*ParseViewType("2"), storage::ViewType::kDeletedOnly);
  EXPECT_TRUE(ValidateViewType("all").ok());
  EXPECT_EQ(Msg(ValidateViewType("SOME")),
            "Could not get valid view type corresponding to string SOME. Valid view types are ['active_only', "
            "'deleted_only', 'all']");
}

TEST(ArtifactLocation, RelativeLocalPathsBecomeAbsoluteAsInMlflow) {
  EXPECT_EQ(ResolveLocalArtifactLocation("arts", "/srv/kiln"), "/srv/kiln/arts");
  EXPECT_EQ(ResolveLocalArtifactLocation("./a/./b/", "/srv/kiln/"), "/srv/kiln/a/b");
  EXPECT_EQ(ResolveLocalArtifactLocation("../up", "/srv/kiln"), "/srv/kiln/../up");
  EXPECT_EQ(ResolveLocalArtifactLocation("file:arts", "/srv/kiln"), "file:///srv/kiln/arts");
  EXPECT_EQ(ResolveLocalArtifactLocation("file:arts?x=1", "/srv"), "file:///srv/arts?x=1");
  EXPECT_EQ(ResolveLocalArtifactLocation("rel", "/"), "/rel");
  for (const char* kept : {"/abs/arts", "file:///abs/arts", "file://host/arts", "s3://bucket/rel",
                           "mlflow-artifacts:/1", "gs://b"}) {
    EXPECT_EQ(ResolveLocalArtifactLocation(kept, "/srv/kiln"), kept);
  }
  EXPECT_EQ(ValidateArtifactLocation("runs:/abc/x").message(),
            "Artifact location cannot be a runs:/ URI. Given: 'runs:/abc/x'");
  EXPECT_TRUE(ValidateArtifactLocation("s3://b").ok());
}

TEST(ArtifactLocation, HostAddressedSchemesAreRefused) {
  for (const char* uri : {"http://h/m", "HTTPS://h/m", "ftp://h/m", "sftp://h/m", "hdfs://h/m", "viewfs://h/m",
                          "r2://b@h/m", "b2://b@h/m", "abfss://f@a.dfs.core.windows.net/m",
                          "mlflow-artifacts://host:5000/1/m"}) {
    Status s = CheckHostAddressedScheme(uri, "source");
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << uri;
    EXPECT_TRUE(s.message().starts_with("'source' cannot use the '")) << s.message();
  }
  for (const char* uri : {"s3://b/m", "gs://b/m", "wasbs://c@a.blob.core.windows.net/m", "dbfs:/m", "runs:/r/m",
                          "models:/m/1", "mlflow-artifacts:/1/m", "/local", "file:///local"}) {
    EXPECT_TRUE(CheckHostAddressedScheme(uri, "source").ok()) << uri;
  }
}

TEST(ArtifactLocation, MlflowsLocationChecks) {
  EXPECT_EQ(ValidateArtifactLocation("s3://b/x#frag").message(),
            "'artifact_location' URL can't include fragments or params.");
  EXPECT_EQ(ValidateArtifactLocation("/tmp/a;b").message(), "'artifact_location' URL can't include fragments or params.");
  EXPECT_TRUE(ValidateArtifactLocation("s3://b/x;p").ok()) << "s3 takes no params in urlparse";
  EXPECT_EQ(ValidateArtifactLocation("s3://b/x?a=%2e%2e").message(), "Invalid query string");
  EXPECT_TRUE(ValidateArtifactLocation("s3://b/x?a=1").ok());
  EXPECT_TRUE(ValidateArtifactLocation("mlflow-artifacts:/x").ok());
  EXPECT_TRUE(ValidateArtifactLocation("").ok());
  EXPECT_TRUE(ValidateArtifactLocation("http://h/x").message().starts_with(
      "'artifact_location' cannot use the 'http' scheme:"));
}

}  // namespace
}  // namespace kiln::tracking
