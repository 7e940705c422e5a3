// Web identity: STS's answer parsed, the refresh schedule driven by a fake
// clock, single flight under concurrent callers, error messages, and where
// it stands among the credential sources. STS itself is a function here
// (the transport); the compat test drives the real HTTP path.
#include "storage/s3/s3_web_identity.h"

#include <stdlib.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace kiln::storage::s3 {
namespace {

namespace fs = std::filesystem;

// From AWS's API reference for AssumeRoleWithWebIdentity (sample response).
constexpr const char* kAwsSample = R"(<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A</SubjectFromWebIdentityToken>
    <Audience>client.5498841531868486423.1548@apps.example.com</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1</Arn>
      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:app1</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <Expiration>2014-10-24T23:00:23Z</Expiration>
      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>
    </Credentials>
    <SourceIdentity>SourceIdentityValue</SourceIdentity>
    <Provider>www.amazon.com</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>)";

std::string Answer(const std::string& id, const std::string& token, const std::string& expiration) {
  return "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>" + id +
         "</AccessKeyId><SecretAccessKey>secret-" + id + "</SecretAccessKey><SessionToken>" + token +
         "</SessionToken><Expiration>" + expiration +
         "</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
}

std::string StsError(const std::string& code, const std::string& message) {
  return "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>" + code +
         "</Code><Message>" + message + "</Message></Error><RequestId>r</RequestId></ErrorResponse>";
}

TEST(StsXmlTest, AwsSampleResponse) {
  auto c = ParseAssumeRoleWithWebIdentity(kAwsSample);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->credentials.access_key_id, "ASgeIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(c->credentials.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
  EXPECT_EQ(c->credentials.session_token, "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE");
  EXPECT_EQ(c->expires_ms, int64_t{1414191623} * 1000);
}

TEST(StsXmlTest, EntitiesAndRefusals) {
  auto c = ParseAssumeRoleWithWebIdentity(Answer("AK", "a&amp;b&lt;c", "2026-12-02T01:00:00.250Z"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->credentials.session_token, "a&b<c");
  EXPECT_EQ(c->expires_ms % 1000, 250);
  EXPECT_EQ(ParseAssumeRoleWithWebIdentity(Answer("", "t", "2026-12-02T01:00:00Z")).status().code(),
            StatusCode::kInvalidArgument);
  auto no_token = ParseAssumeRoleWithWebIdentity(Answer("AK", "", "2026-12-02T01:00:00Z"));
  ASSERT_TRUE(no_token.ok());
  EXPECT_EQ(no_token->credentials.session_token, "");
  auto bad_time = ParseAssumeRoleWithWebIdentity(Answer("AK", "t", "tomorrow"));
  EXPECT_NE(bad_time.status().message().find("tomorrow"), std::string::npos);
  EXPECT_FALSE(ParseAssumeRoleWithWebIdentity(StsError("AccessDenied", "no")).ok());
  EXPECT_FALSE(ParseAssumeRoleWithWebIdentity("").ok());
}

TEST(StsXmlTest, Iso8601) {
  EXPECT_EQ(ParseIso8601Millis("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseIso8601Millis("2000-03-01T00:00:00Z"), int64_t{951868800} * 1000);
  EXPECT_EQ(ParseIso8601Millis("2026-12-02T01:02:03.5+00:00"), int64_t{1796173323} * 1000 + 500);
  EXPECT_FALSE(ParseIso8601Millis("2026-12-02T01:02:03"));       // no zone: local time is a guess
  EXPECT_FALSE(ParseIso8601Millis("2026-12-02T01:02:03+02:00"));  // STS answers in UTC only
  EXPECT_FALSE(ParseIso8601Millis("2026-13-02T01:02:03Z"));
  EXPECT_FALSE(ParseIso8601Millis("2026-12-02T01:02:03.Z"));
}

TEST(StsXmlTest, FormIsEncoded) {
  WebIdentityConfig c{"arn:aws:iam::123456789012:role/kiln", "/t", "kiln@pod=1", "https://sts"};
  EXPECT_EQ(AssumeRoleWithWebIdentityForm(c, "ey.J+/="),
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fkiln"
            "&RoleSessionName=kiln%40pod%3D1&WebIdentityToken=ey.J%2B%2F%3D");
}

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t ms) : ms_(ms) {}
  int64_t NowMillis() const override { return ms_.load(); }
  void Advance(std::chrono::milliseconds d) { ms_ += d.count(); }

 private:
  std::atomic<int64_t> ms_;
};

std::string Iso(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

constexpr int64_t kStart = int64_t{1796173323} * 1000;
constexpr std::chrono::minutes kLifetime{60};

// An STS whose answers the test scripts; records each form it was sent.
class ProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln-wi-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    WriteToken("token-1\n");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void WriteToken(const std::string& t) { std::ofstream(dir_ / "token") << t; }

  std::unique_ptr<WebIdentityProvider> Make() {
    WebIdentityConfig c{"arn:aws:iam::1:role/kiln", (dir_ / "token").string(), "kiln-test", "http://sts.test"};
    WebIdentityOptions o;
    o.clock = clock_;
    o.backoff_base = std::chrono::milliseconds(0);
    o.transport = [this](const std::string& url, const std::string& form) -> StatusOr<StsAnswer> {
      std::unique_lock<std::mutex> lock(mu_);
      urls_.push_back(url);
      forms_.push_back(form);
      const size_t n = forms_.size();
      lock.unlock();
      if (hold_) {
        entered_ = true;
        while (hold_) std::this_thread::yield();
      }
      if (script_) return script_(n);
      return StsAnswer{200, Answer("AK" + std::to_string(n), "tok" + std::to_string(n),
                                   Iso(clock_->NowMillis() + std::chrono::milliseconds(kLifetime).count()))};
    };
    auto p = WebIdentityProvider::Create(c, o);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return std::move(*p);
  }
  size_t Calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return forms_.size();
  }

  fs::path dir_;
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>(kStart);
  std::mutex mu_;
  std::vector<std::string> urls_, forms_;
  std::function<StatusOr<StsAnswer>(size_t)> script_;
  std::atomic<bool> hold_{false}, entered_{false};
};

TEST_F(ProviderTest, RefreshesAheadOfExpiryAndRereadsTheToken) {
  auto p = Make();
  auto c = p->Current();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AK1");
  EXPECT_EQ(c->session_token, "tok1");
  EXPECT_EQ(urls_.at(0), "http://sts.test/");
  EXPECT_NE(forms_.at(0).find("&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fkiln&"), std::string::npos);
  EXPECT_NE(forms_.at(0).find("&WebIdentityToken=token-1"), std::string::npos);  // the newline trimmed
  EXPECT_EQ(forms_.at(0).find("token-1%0A"), std::string::npos);

  clock_->Advance(std::chrono::minutes(54));  // 6 minutes left: still outside the refresh window
  EXPECT_EQ(p->Current()->access_key_id, "AK1");
  EXPECT_EQ(Calls(), 1u);

  WriteToken("token-2");  // kubelet rotated it
  clock_->Advance(std::chrono::minutes(2));  // 4 minutes left
  c = p->Current();
  EXPECT_EQ(c->access_key_id, "AK2");
  EXPECT_EQ(c->session_token, "tok2");
  EXPECT_NE(forms_.at(1).find("&WebIdentityToken=token-2"), std::string::npos);
  EXPECT_EQ(p->Current()->access_key_id, "AK2");
  EXPECT_EQ(p->fetches(), 2);

  p->Invalidate();  // S3 said ExpiredToken
  EXPECT_EQ(p->Current()->access_key_id, "AK3");
}

TEST_F(ProviderTest, StsRefusalNamesRoleAndCode) {
  script_ = [](size_t) {
    return StatusOr<StsAnswer>(StsAnswer{400, StsError("InvalidIdentityToken", "Incorrect token audience")});
  };
  auto p = Make();
  auto c = p->Current();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kPermissionDenied);
  const std::string m = c.status().message();
  EXPECT_NE(m.find("arn:aws:iam::1:role/kiln"), std::string::npos) << m;
  EXPECT_NE(m.find("InvalidIdentityToken: Incorrect token audience"), std::string::npos) << m;
  EXPECT_NE(m.find("http://sts.test"), std::string::npos) << m;
  EXPECT_EQ(Calls(), 1u);  // a refusal is an answer, not retried
}

TEST_F(ProviderTest, UnreadableOrEmptyTokenFile) {
  auto p = Make();
  fs::remove(dir_ / "token");
  auto c = p->Current();
  EXPECT_EQ(c.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(c.status().message().find((dir_ / "token").string()), std::string::npos);
  WriteToken("\n");
  EXPECT_NE(p->Current().status().message().find("is empty"), std::string::npos);
  EXPECT_EQ(Calls(), 0u);
}

TEST_F(ProviderTest, RetriesUnavailableStsThenGivesUp) {
  script_ = [this](size_t n) -> StatusOr<StsAnswer> {
    if (n == 1) return Unavailable("Couldn't connect to server");
    if (n == 2) return StsAnswer{400, StsError("IDPCommunicationError", "idp down")};
    if (n == 3) return StsAnswer{200, Answer("AK", "t", Iso(clock_->NowMillis() + 3600000))};
    return StsAnswer{503, ""};
  };
  auto p = Make();
  auto c = p->Current();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(Calls(), 3u);
  clock_->Advance(std::chrono::minutes(61));  // expired; STS keeps failing
  c = p->Current();
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(c.status().message().find("after 3 attempts: HTTP 503"), std::string::npos) << c.status().message();
}

TEST_F(ProviderTest, KeepsValidKeysWhenRefreshFails) {
  bool fail = false;
  script_ = [&](size_t n) -> StatusOr<StsAnswer> {
    if (fail) return StsAnswer{400, StsError("AccessDenied", "Not authorized")};
    return StsAnswer{200, Answer("AK" + std::to_string(n), "t", Iso(clock_->NowMillis() + 3600000))};
  };
  auto p = Make();
  ASSERT_TRUE(p->Current().ok());
  fail = true;
  clock_->Advance(std::chrono::minutes(57));  // 3 minutes left: refresh, which fails
  EXPECT_EQ(p->Current()->access_key_id, "AK1");
  EXPECT_EQ(Calls(), 2u);
  EXPECT_EQ(p->Current()->access_key_id, "AK1");  // within retry_after: STS not asked again
  EXPECT_EQ(Calls(), 2u);
  clock_->Advance(std::chrono::seconds(11));
  EXPECT_EQ(p->Current()->access_key_id, "AK1");
  EXPECT_EQ(Calls(), 3u);
  clock_->Advance(std::chrono::minutes(2));  // under a minute left: the refusal is the answer
  auto c = p->Current();
  EXPECT_EQ(c.status().code(), StatusCode::kPermissionDenied);
  fail = false;
  EXPECT_TRUE(p->Current().ok());
}

TEST_F(ProviderTest, SingleFlightWhileKeysRemain) {
  auto p = Make();
  ASSERT_TRUE(p->Current().ok());
  clock_->Advance(std::chrono::minutes(57));
  hold_ = true;
  std::thread refresher([&] { EXPECT_EQ(p->Current()->access_key_id, "AK2"); });
  while (!entered_) std::this_thread::yield();
  // The refresh is under way: others keep the current keys without waiting.
  for (int i = 0; i < 8; ++i) EXPECT_EQ(p->Current()->access_key_id, "AK1");
  hold_ = false;
  refresher.join();
  EXPECT_EQ(Calls(), 2u);
}

TEST_F(ProviderTest, SingleFlightWhenExpired) {
  auto p = Make();
  hold_ = true;
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 6; ++i) {
    callers.emplace_back([&] {
      auto c = p->Current();
      if (c.ok() && c->access_key_id == "AK1") ++ok;
    });
  }
  while (!entered_) std::this_thread::yield();
  hold_ = false;
  for (auto& t : callers) t.join();
  EXPECT_EQ(ok.load(), 6);
  EXPECT_EQ(Calls(), 1u);
}

// --- where web identity stands among the sources -------------------------

class CredentialSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln-wi-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ / "credentials") << "[default]\naws_access_key_id = FILE\naws_secret_access_key = FILES\n";
    env_ = {{"HOME", dir_.string()}, {"AWS_SHARED_CREDENTIALS_FILE", (dir_ / "credentials").string()},
            {"AWS_ROLE_ARN", "arn:aws:iam::1:role/kiln"}, {"AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"}};
  }
  void TearDown() override { fs::remove_all(dir_); }
  EnvLookup Env() {
    return [this](const std::string& k) -> std::optional<std::string> {
      auto it = env_.find(k);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
  }
  fs::path dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(CredentialSourceTest, StaticKeysThenWebIdentityThenSharedFile) {
  env_["AWS_ACCESS_KEY_ID"] = "ENV";
  env_["AWS_SECRET_ACCESS_KEY"] = "ENVS";
  env_["AWS_SESSION_TOKEN"] = "ENVT";
  auto s = LoadS3Settings(Env());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->credentials.access_key_id, "ENV");
  EXPECT_EQ(s->credentials.session_token, "ENVT");
  EXPECT_FALSE(s->web_identity);

  env_.erase("AWS_ACCESS_KEY_ID");
  env_.erase("AWS_SECRET_ACCESS_KEY");
  s = LoadS3Settings(Env());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_TRUE(s->web_identity);
  EXPECT_EQ(s->web_identity->role_arn, "arn:aws:iam::1:role/kiln");
  EXPECT_EQ(s->web_identity->token_file, "/var/run/token");
  EXPECT_TRUE(s->web_identity->session_name.starts_with("kiln-"));
  EXPECT_EQ(s->web_identity->sts_endpoint, "https://sts.us-east-1.amazonaws.com");
  EXPECT_TRUE(s->credentials.access_key_id.empty());

  env_.erase("AWS_ROLE_ARN");
  env_.erase("AWS_WEB_IDENTITY_TOKEN_FILE");
  s = LoadS3Settings(Env());
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->web_identity);
  EXPECT_EQ(s->credentials.access_key_id, "FILE");
}

TEST_F(CredentialSourceTest, SessionNameEndpointAndHalfConfigurations) {
  env_["AWS_ROLE_SESSION_NAME"] = "kiln-pod-0";
  env_["AWS_REGION"] = "eu-west-1";
  env_["AWS_ENDPOINT_URL_S3"] = "http://s3.local:9000";
  auto s = LoadS3Settings(Env());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->web_identity->session_name, "kiln-pod-0");
  EXPECT_EQ(s->web_identity->sts_endpoint, "https://sts.eu-west-1.amazonaws.com");
  env_["AWS_ENDPOINT_URL"] = "http://all.local:1/";
  EXPECT_EQ(LoadS3Settings(Env())->web_identity->sts_endpoint, "http://all.local:1");
  env_["AWS_ENDPOINT_URL_STS"] = "http://127.0.0.1:4566/";
  EXPECT_EQ(LoadS3Settings(Env())->web_identity->sts_endpoint, "http://127.0.0.1:4566");
  EXPECT_EQ(LoadS3Settings(Env())->endpoint, "http://s3.local:9000");

  env_.erase("AWS_WEB_IDENTITY_TOKEN_FILE");
  auto half = LoadS3Settings(Env());
  EXPECT_EQ(half.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(half.status().message().find("AWS_WEB_IDENTITY_TOKEN_FILE"), std::string::npos);
}

TEST_F(CredentialSourceTest, WebIdentityFromTheConfigProfile) {
  env_.erase("AWS_ROLE_ARN");
  env_.erase("AWS_WEB_IDENTITY_TOKEN_FILE");
  std::ofstream(dir_ / "config") << "[profile eks]\nregion = cn-north-1\nrole_arn = arn:aws-cn:iam::2:role/k\n"
                                    "web_identity_token_file = /tok\nrole_session_name = s1\n"
                                    "[profile chain]\nrole_arn = arn:aws:iam::2:role/k\nsource_profile = default\n";
  env_["AWS_CONFIG_FILE"] = (dir_ / "config").string();
  env_["AWS_PROFILE"] = "eks";
  std::ofstream(dir_ / "credentials") << "[eks]\n[chain]\naws_access_key_id = C\naws_secret_access_key = CS\n";
  auto s = LoadS3Settings(Env());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_TRUE(s->web_identity);
  EXPECT_EQ(s->web_identity->role_arn, "arn:aws-cn:iam::2:role/k");
  EXPECT_EQ(s->web_identity->token_file, "/tok");
  EXPECT_EQ(s->web_identity->session_name, "s1");
  EXPECT_EQ(s->web_identity->sts_endpoint, "https://sts.cn-north-1.amazonaws.com.cn");
  env_["AWS_PROFILE"] = "chain";  // a role chain is not web identity: the profile's keys
  s = LoadS3Settings(Env());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_FALSE(s->web_identity);
  EXPECT_EQ(s->credentials.access_key_id, "C");
}

TEST(StsEndpointTest, RegionalAndLegacy) {
  std::map<std::string, std::string> env;
  EnvLookup lookup = [&](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  EXPECT_EQ(StsEndpoint(lookup, "us-east-1", ""), "https://sts.us-east-1.amazonaws.com");
  EXPECT_EQ(StsEndpoint(lookup, "us-east-1", "http://cfg:1/"), "http://cfg:1");
  env["AWS_STS_REGIONAL_ENDPOINTS"] = "legacy";
  EXPECT_EQ(StsEndpoint(lookup, "us-east-1", ""), "https://sts.amazonaws.com");
  EXPECT_EQ(StsEndpoint(lookup, "af-south-1", ""), "https://sts.af-south-1.amazonaws.com");  // never global
}

TEST(CredentialsProviderTest, ProviderChoice) {
  S3Settings s;
  EXPECT_EQ(MakeCredentialsProvider(s).status().code(), StatusCode::kFailedPrecondition);
  s.credentials = {"AK", "SK", "T", "test"};
  auto p = MakeCredentialsProvider(s);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->Current()->session_token, "T");
  s.web_identity = WebIdentityConfig{"arn:r", "/t", "n", "ftp://x"};
  EXPECT_EQ(MakeCredentialsProvider(s).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::storage::s3
