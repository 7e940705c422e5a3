#include "storage/s3/s3_settings.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

namespace kiln::storage::s3 {
namespace {

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

using Ini = std::map<std::string, std::map<std::string, std::string>>;

// AWS's INI dialect: [section], key = value, '#' or ';' comments. Nested
// (indented) sub-sections such as "s3 =" blocks are skipped.
std::optional<Ini> ReadIni(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  Ini out;
  std::string section;
  std::string line;
  while (std::getline(in, line)) {
    bool indented = !line.empty() && (line[0] == ' ' || line[0] == '\t');
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = Trim(line.substr(1, line.size() - 2));
      out[section];
      continue;
    }
    if (indented || section.empty()) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    out[section][Trim(line.substr(0, eq))] = Trim(line.substr(eq + 1));
  }
  return out;
}

std::optional<std::string> NonEmpty(const EnvLookup& env, const std::string& name) {
  auto v = env(name);
  if (v && !v->empty()) return v;
  return std::nullopt;
}

std::string HomeFile(const EnvLookup& env, const std::string& rel) {
  auto home = NonEmpty(env, "HOME");
  return home ? *home + "/" + rel : "";
}

const std::string* Get(const Ini& ini, const std::string& section, const std::string& key) {
  auto s = ini.find(section);
  if (s == ini.end()) return nullptr;
  auto k = s->second.find(key);
  if (k == s->second.end() || k->second.empty()) return nullptr;
  return &k->second;
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

StatusOr<S3Settings> LoadS3Settings(const EnvLookup& env) {
  S3Settings out;
  const std::string profile = NonEmpty(env, "AWS_PROFILE").value_or("default");

  // The config file names its sections "[profile NAME]" except "[default]".
  std::string config_path = NonEmpty(env, "AWS_CONFIG_FILE").value_or(HomeFile(env, ".aws/config"));
  std::optional<Ini> config = config_path.empty() ? std::nullopt : ReadIni(config_path);
  const std::string config_section = profile == "default" ? "default" : "profile " + profile;

  auto from_config = [&](const std::string& key) -> std::optional<std::string> {
    const std::string* v = config ? Get(*config, config_section, key) : nullptr;
    if (v == nullptr) return std::nullopt;
    return *v;
  };
  const std::string config_endpoint = from_config("endpoint_url").value_or("");
  if (auto e = NonEmpty(env, "AWS_ENDPOINT_URL_S3")) {
    out.endpoint = *e;
  } else if (auto e2 = NonEmpty(env, "AWS_ENDPOINT_URL")) {
    out.endpoint = *e2;
  } else {
    out.endpoint = config_endpoint;
  }
  while (!out.endpoint.empty() && out.endpoint.back() == '/') out.endpoint.pop_back();

  if (auto r = NonEmpty(env, "AWS_REGION")) {
    out.region = *r;
  } else if (auto r2 = NonEmpty(env, "AWS_DEFAULT_REGION")) {
    out.region = *r2;
  } else if (const std::string* v = config ? Get(*config, config_section, "region") : nullptr) {
    out.region = *v;
  } else {
    out.region = "us-east-1";
  }

  auto id = NonEmpty(env, "AWS_ACCESS_KEY_ID");
  auto secret = NonEmpty(env, "AWS_SECRET_ACCESS_KEY");
  if (id && secret) {
    out.credentials = {*id, *secret, NonEmpty(env, "AWS_SESSION_TOKEN").value_or(""), "environment"};
    return out;
  }
  // Web identity: the environment's pair, else the profile's (botocore and
  // the Java SDK take the pair from one place, never one half from each).
  std::optional<std::string> role = NonEmpty(env, "AWS_ROLE_ARN");
  std::optional<std::string> token_file = NonEmpty(env, "AWS_WEB_IDENTITY_TOKEN_FILE");
  std::optional<std::string> session = NonEmpty(env, "AWS_ROLE_SESSION_NAME");
  std::string where = "AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE";
  if (!role && !token_file) {
    role = from_config("role_arn");
    token_file = from_config("web_identity_token_file");
    if (!session) session = from_config("role_session_name");
    where = "role_arn and web_identity_token_file in " + config_path + " [" + config_section + "]";
    // role_arn with source_profile is a role chain, not web identity.
    if (role && !token_file) role.reset();
  }
  if (role.has_value() != token_file.has_value()) {
    return InvalidArgument("web identity needs both " + where + "; only " +
                           (role ? "the role" : "the token file") + " is set");
  }
  if (role) {
    WebIdentityConfig wi;
    wi.role_arn = *role;
    wi.token_file = *token_file;
    if (session) {
      wi.session_name = *session;
    } else {
      // STS wants 2-64 of [\w+=,.@-]; AWS SDKs generate one the same way.
      wi.session_name = "kiln-" + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                     std::chrono::system_clock::now().time_since_epoch())
                                                     .count());
    }
    wi.sts_endpoint = StsEndpoint(env, out.region, config_endpoint);
    out.credentials.source = "web identity (role " + wi.role_arn + ")";
    out.web_identity = std::move(wi);
    return out;
  }
  std::string cred_path = NonEmpty(env, "AWS_SHARED_CREDENTIALS_FILE").value_or(HomeFile(env, ".aws/credentials"));
  std::optional<Ini> creds = cred_path.empty() ? std::nullopt : ReadIni(cred_path);
  if (creds && creds->count(profile)) {
    const std::string* fid = Get(*creds, profile, "aws_access_key_id");
    const std::string* fsecret = Get(*creds, profile, "aws_secret_access_key");
    if (fid == nullptr || fsecret == nullptr) {
      return InvalidArgument("profile '" + profile + "' in " + cred_path +
                             " lacks aws_access_key_id or aws_secret_access_key");
    }
    const std::string* token = Get(*creds, profile, "aws_session_token");
    out.credentials = {*fid, *fsecret, token ? *token : "", cred_path + " [" + profile + "]"};
    return out;
  }
  return FailedPrecondition(
      "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_ROLE_ARN and "
      "AWS_WEB_IDENTITY_TOKEN_FILE, or put profile '" + profile + "' in " +
      (cred_path.empty() ? std::string("~/.aws/credentials") : cred_path) +
      " (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE)");
}

std::string StsEndpoint(const EnvLookup& env, const std::string& region, const std::string& config_endpoint) {
  std::string e;
  if (auto v = NonEmpty(env, "AWS_ENDPOINT_URL_STS")) {
    e = *v;
  } else if (auto v2 = NonEmpty(env, "AWS_ENDPOINT_URL")) {
    e = *v2;
  } else if (!config_endpoint.empty()) {
    e = config_endpoint;
  } else {
    // The regions STS served only from its global endpoint before regional
    // endpoints existed; "legacy" keeps them there.
    static const std::set<std::string> kLegacy = {
        "ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "aws-global", "ca-central-1",
        "eu-central-1",   "eu-north-1", "eu-west-1",      "eu-west-2",      "eu-west-3",  "sa-east-1",
        "us-east-1",      "us-east-2",  "us-west-1",      "us-west-2"};
    const bool legacy = NonEmpty(env, "AWS_STS_REGIONAL_ENDPOINTS").value_or("regional") == "legacy";
    if (region == "aws-global" || (legacy && kLegacy.count(region))) {
      e = "https://sts.amazonaws.com";
    } else {
      e = "https://sts." + region + (region.starts_with("cn-") ? ".amazonaws.com.cn" : ".amazonaws.com");
    }
  }
  while (!e.empty() && e.back() == '/') e.pop_back();
  return e;
}

}  // namespace kiln::storage::s3
