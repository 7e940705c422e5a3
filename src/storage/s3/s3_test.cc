// Unit tests of the S3 store's pure parts: URIs, addressing, URI encoding,
// settings discovery, XML documents, digests and retry policy. The store's
// requests against a real S3 server are tested in tests/compat/test_s3_*.py.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "storage/s3/s3_client.h"
#include "storage/s3/s3_location.h"
#include "storage/s3/s3_settings.h"
#include "storage/s3/s3_xml.h"

namespace kiln::storage::s3 {
namespace {

namespace fs = std::filesystem;

TEST(S3UriTest, BucketPrefixAndOptions) {
  auto u = ParseS3Uri("s3://my-bucket/a/b/?part_size=5242880&list_page_size=2&addressing=virtual");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->bucket, "my-bucket");
  EXPECT_EQ(u->prefix, "a/b");
  EXPECT_EQ(u->part_size, 5242880);
  EXPECT_EQ(u->list_page_size, 2);
  EXPECT_EQ(u->addressing, "virtual");
  auto bare = ParseS3Uri("s3://bkt");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->prefix, "");
}

TEST(S3UriTest, Refusals) {
  EXPECT_FALSE(ParseS3Uri("file:///x").ok());
  EXPECT_FALSE(ParseS3Uri("s3://").ok());
  EXPECT_FALSE(ParseS3Uri("s3://Upper/x").ok());
  EXPECT_FALSE(ParseS3Uri("s3://b/../x").ok());
  EXPECT_FALSE(ParseS3Uri("s3://bkt/a//b").ok());
  EXPECT_FALSE(ParseS3Uri("s3://bkt/x?part_size=1024").ok());      // below S3's 5 MiB
  EXPECT_FALSE(ParseS3Uri("s3://bkt/x?list_page_size=0").ok());
  EXPECT_FALSE(ParseS3Uri("s3://bkt/x?colour=blue").ok());
}

TEST(S3EncodingTest, AwsUriEncoding) {
  EXPECT_EQ(AwsUriEncode("a b/c+d~e.f_g-h", true), "a%20b/c%2Bd~e.f_g-h");
  EXPECT_EQ(AwsUriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(AwsUriEncode("\xc3\xa9", true), "%C3%A9");
  EXPECT_EQ(AwsUriEncode("=&?#%", true), "%3D%26%3F%23%25");
}

TEST(S3EncodingTest, CanonicalQuerySortsAndAlwaysHasEquals) {
  EXPECT_EQ(CanonicalQuery({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(CanonicalQuery({{"prefix", "a b/"}, {"list-type", "2"}, {"delimiter", "/"}}),
            "delimiter=%2F&list-type=2&prefix=a%20b%2F");
  EXPECT_EQ(CanonicalQuery({{"uploadId", "x+y="}, {"partNumber", "3"}}), "partNumber=3&uploadId=x%2By%3D");
}

TEST(S3AddressingTest, PathStyleForCustomEndpoints) {
  auto a = S3Addressing::Create("http://127.0.0.1:7070", "us-east-1", "bkt", "");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(a->path_style());
  EXPECT_EQ(a->Url("p/a b.txt"), "http://127.0.0.1:7070/bkt/p/a%20b.txt");
  EXPECT_EQ(a->Url("", "list-type=2"), "http://127.0.0.1:7070/bkt?list-type=2");
  auto v = S3Addressing::Create("http://s3.local:9000/base/", "us-east-1", "bkt", "virtual");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->Url("k"), "http://bkt.s3.local:9000/base/k");
}

TEST(S3AddressingTest, VirtualHostedOnAws) {
  auto a = S3Addressing::Create("", "eu-west-1", "bkt", "");
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->path_style());
  EXPECT_EQ(a->Url("k/x"), "https://bkt.s3.eu-west-1.amazonaws.com/k/x");
  EXPECT_EQ(a->Url(""), "https://bkt.s3.eu-west-1.amazonaws.com/");
  // Dots would break the wildcard certificate: path-style.
  auto dotted = S3Addressing::Create("", "eu-west-1", "my.bkt", "");
  ASSERT_TRUE(dotted.ok());
  EXPECT_EQ(dotted->Url("k"), "https://s3.eu-west-1.amazonaws.com/my.bkt/k");
  EXPECT_FALSE(S3Addressing::Create("ftp://x", "us-east-1", "bkt", "").ok());
}

class S3SettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln-s3-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  EnvLookup Env() {
    return [this](const std::string& k) -> std::optional<std::string> {
      auto it = env_.find(k);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
  }
  std::string Write(const std::string& name, const std::string& text) {
    std::string p = (dir_ / name).string();
    std::ofstream(p) << text;
    return p;
  }
  fs::path dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(S3SettingsTest, EnvironmentWins) {
  env_ = {{"AWS_ACCESS_KEY_ID", "AK"}, {"AWS_SECRET_ACCESS_KEY", "SK"}, {"AWS_SESSION_TOKEN", "TOK"},
          {"AWS_ENDPOINT_URL", "http://generic:1"}, {"AWS_ENDPOINT_URL_S3", "http://s3only:2/"},
          {"AWS_DEFAULT_REGION", "eu-north-1"}, {"AWS_REGION", "ap-south-1"}, {"HOME", dir_.string()}};
  auto s = LoadS3Settings(Env());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->credentials.access_key_id, "AK");
  EXPECT_EQ(s->credentials.secret_access_key, "SK");
  EXPECT_EQ(s->credentials.session_token, "TOK");
  EXPECT_EQ(s->endpoint, "http://s3only:2");
  EXPECT_EQ(s->region, "ap-south-1");
}

TEST_F(S3SettingsTest, SharedFilesAndProfiles) {
  std::string creds = Write("credentials",
                            "[default]\naws_access_key_id = DEF\naws_secret_access_key = DEFS\n"
                            "# comment\n[ci]\naws_access_key_id=CI\naws_secret_access_key=CIS\naws_session_token=T\n");
  std::string config = Write("config", "[profile ci]\nregion = eu-central-1\nendpoint_url = http://ci:9\n"
                                       "s3 =\n  addressing_style = path\n");
  env_ = {{"AWS_SHARED_CREDENTIALS_FILE", creds}, {"AWS_CONFIG_FILE", config}, {"AWS_PROFILE", "ci"}};
  auto s = LoadS3Settings(Env());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->credentials.access_key_id, "CI");
  EXPECT_EQ(s->credentials.session_token, "T");
  EXPECT_EQ(s->region, "eu-central-1");
  EXPECT_EQ(s->endpoint, "http://ci:9");
  env_.erase("AWS_PROFILE");
  s = LoadS3Settings(Env());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->credentials.access_key_id, "DEF");
  EXPECT_EQ(s->region, "us-east-1");  // no [default] in the config file
  EXPECT_EQ(s->endpoint, "");
}

TEST_F(S3SettingsTest, MissingCredentialsNameWhereLooked) {
  env_ = {{"HOME", dir_.string()}, {"AWS_ACCESS_KEY_ID", "only-the-id"}};
  auto s = LoadS3Settings(Env());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find(".aws/credentials"), std::string::npos);
  std::string creds = Write("credentials", "[default]\naws_access_key_id = X\n");
  env_["AWS_SHARED_CREDENTIALS_FILE"] = creds;
  EXPECT_EQ(LoadS3Settings(Env()).status().code(), StatusCode::kInvalidArgument);
}

TEST(S3XmlTest, ListObjectsV2Page) {
  const std::string xml =
      R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bkt</Name><Prefix>p%2F</Prefix>
<KeyCount>3</KeyCount><MaxKeys>2</MaxKeys><Delimiter>%2F</Delimiter><EncodingType>url</EncodingType>
<IsTruncated>true</IsTruncated><NextContinuationToken>tok&amp;1</NextContinuationToken>
<Contents><Key>p%2Fa+b.txt</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;x&quot;</ETag><Size>12</Size></Contents>
<Contents><Key>p%2F%C3%A9%26.bin</Key><Size>0</Size></Contents>
<CommonPrefixes><Prefix>p%2Fdir%2F</Prefix></CommonPrefixes></ListBucketResult>)";
  auto page = ParseListObjectsV2(xml);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "p/a b.txt");
  EXPECT_EQ(page->objects[0].size, 12);
  EXPECT_EQ(page->objects[1].key, "p/\xc3\xa9&.bin");
  ASSERT_EQ(page->common_prefixes.size(), 1u);
  EXPECT_EQ(page->common_prefixes[0], "p/dir/");
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_continuation_token, "tok&1");
}

TEST(S3XmlTest, UnencodedListingAndMalformed) {
  auto page = ParseListObjectsV2(
      "<ListBucketResult><Contents><Key>a%20b&lt;</Key><Size>3</Size></Contents><IsTruncated>false</IsTruncated>"
      "</ListBucketResult>");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->objects[0].key, "a%20b<");  // not url-encoded: taken literally
  EXPECT_FALSE(page->truncated);
  EXPECT_FALSE(ParseListObjectsV2("<Error/>").ok());
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>").ok());
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents>"
                                  "</ListBucketResult>").ok());
}

TEST(S3XmlTest, ErrorsAndRequests) {
  S3Error e = ParseError(
      "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature &amp; "
      "more</Message><StringToSign>AWS4&#xA;x</StringToSign></Error>");
  EXPECT_EQ(e.code, "SignatureDoesNotMatch");
  EXPECT_EQ(e.message, "The request signature & more");
  EXPECT_TRUE(ParseError("").code.empty());
  EXPECT_EQ(XmlUnescape("&#65;&#x42;&#xe9;&bogus;"), "AB\xc3\xa9&bogus;");
  EXPECT_EQ(CompleteMultipartXml({"\"e1\"", "\"e2\""}),
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Part><PartNumber>1"
            "</PartNumber><ETag>&quot;e1&quot;</ETag></Part><Part><PartNumber>2</PartNumber><ETag>&quot;e2&quot;"
            "</ETag></Part></CompleteMultipartUpload>");
  EXPECT_NE(DeleteObjectsXml({"a<b\n"}).find("<Key>a&lt;b&#10;</Key>"), std::string::npos);
  auto errs = ParseDeleteErrors(
      "<DeleteResult><Deleted><Key>ok</Key></Deleted><Error><Key>k1</Key><Code>AccessDenied</Code>"
      "<Message>no</Message></Error></DeleteResult>");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0], "k1: AccessDenied: no");
}

TEST(S3DigestTest, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Md5Base64(""), "1B2M2Y8AsgTpgAmY7PhCfg==");
}

TEST(S3RetryTest, PolicyAndBackoff) {
  EXPECT_TRUE(RetryableAnswer(0, ""));
  EXPECT_TRUE(RetryableAnswer(500, "InternalError"));
  EXPECT_TRUE(RetryableAnswer(503, "SlowDown"));
  EXPECT_TRUE(RetryableAnswer(429, ""));
  EXPECT_TRUE(RetryableAnswer(400, "RequestTimeout"));
  EXPECT_FALSE(RetryableAnswer(501, "NotImplemented"));
  EXPECT_FALSE(RetryableAnswer(403, "SignatureDoesNotMatch"));
  EXPECT_FALSE(RetryableAnswer(404, "NoSuchKey"));
  EXPECT_FALSE(RetryableAnswer(400, "InvalidArgument"));
  using std::chrono::milliseconds;
  for (int attempt = 1; attempt <= 10; ++attempt) {
    for (int i = 0; i < 50; ++i) {
      auto d = BackoffDelay(attempt, milliseconds(100), milliseconds(5000));
      EXPECT_GE(d.count(), 0);
      EXPECT_LE(d.count(), std::min<int64_t>(5000, int64_t{100} << (attempt - 1)));
    }
  }
}

TEST(S3ClientTest, StatusMapping) {
  S3Response r;
  r.status = 403;
  r.body = "<Error><Code>InvalidAccessKeyId</Code><Message>The key does not exist.</Message></Error>";
  Status s = S3Client::AnswerStatus(r, "a listing");
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("InvalidAccessKeyId: The key does not exist."), std::string::npos);
  r.status = 404;
  r.body = "<Error><Code>XAdminUserNotFound</Code><Message>No user exists</Message></Error>";
  EXPECT_EQ(S3Client::AnswerStatus(r, "x").code(), StatusCode::kPermissionDenied);
  r.body = "";
  EXPECT_EQ(S3Client::AnswerStatus(r, "x").code(), StatusCode::kNotFound);
  r.status = 503;
  EXPECT_EQ(S3Client::AnswerStatus(r, "x").code(), StatusCode::kUnavailable);
  r.status = 400;
  EXPECT_EQ(S3Client::AnswerStatus(r, "x").code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::storage::s3
