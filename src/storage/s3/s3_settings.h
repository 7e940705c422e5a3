// S3 endpoint, region and credentials, found the way AWS SDKs find them:
//   credentials: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN),
//                else web identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE,
//                AWS_ROLE_SESSION_NAME; or the config profile's role_arn +
//                web_identity_token_file: EKS's IRSA), exchanged for temporary
//                keys by s3_web_identity.h,
//                else the shared credentials file (AWS_SHARED_CREDENTIALS_FILE,
//                default ~/.aws/credentials), profile AWS_PROFILE or "default";
//   endpoint:    AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, then the profile's
//                endpoint_url in the config file (AWS_CONFIG_FILE, default
//                ~/.aws/config); none = AWS's regional endpoint;
//   region:      AWS_REGION, then AWS_DEFAULT_REGION, then the profile's
//                region in the config file, then us-east-1.
// Not supported (refused nowhere, simply not consulted): credential_process,
// SSO, source_profile role chains, instance metadata. Pure functions;
// thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"

namespace kiln::storage::s3 {

struct S3Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty: long-term keys
  std::string source;         // for messages: "environment" or the file and profile
};

// AssumeRoleWithWebIdentity parameters; the token file is read at each call.
struct WebIdentityConfig {
  std::string role_arn;
  std::string token_file;
  std::string session_name;  // never empty: AWS_ROLE_SESSION_NAME or a generated one
  std::string sts_endpoint;  // scheme://host[:port][/path], no trailing '/'
};

class S3CredentialsProvider;  // s3_credentials_provider.h

struct S3Settings {
  std::string endpoint;  // "" = AWS
  std::string region;
  S3Credentials credentials;  // empty when web_identity is set
  std::optional<WebIdentityConfig> web_identity;
  // When set, used instead of `credentials`/`web_identity` (tests, embedders).
  std::shared_ptr<S3CredentialsProvider> provider;
};

// Looks up an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

// FailedPrecondition naming every place looked at when no credentials are
// found; InvalidArgument for a credentials file that names the profile but
// lacks a key, or for half a web identity (a role without a token file or
// the reverse), which AWS SDKs would silently skip.
StatusOr<S3Settings> LoadS3Settings(const EnvLookup& env);

// STS's endpoint as AWS SDKs choose it: AWS_ENDPOINT_URL_STS, then
// AWS_ENDPOINT_URL, then the profile's endpoint_url, else
// https://sts.<region>.amazonaws.com (.com.cn in China), or the global
// https://sts.amazonaws.com for the legacy regions when
// AWS_STS_REGIONAL_ENDPOINTS=legacy. `config_endpoint` is the profile's.
std::string StsEndpoint(const EnvLookup& env, const std::string& region, const std::string& config_endpoint);

}  // namespace kiln::storage::s3
