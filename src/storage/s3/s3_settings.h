// S3 endpoint, region and credentials, found the way AWS SDKs find them:
//   credentials: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN),
//                else the shared credentials file (AWS_SHARED_CREDENTIALS_FILE,
//                default ~/.aws/credentials), profile AWS_PROFILE or "default";
//   endpoint:    AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, then the profile's
//                endpoint_url in the config file (AWS_CONFIG_FILE, default
//                ~/.aws/config); none = AWS's regional endpoint;
//   region:      AWS_REGION, then AWS_DEFAULT_REGION, then the profile's
//                region in the config file, then us-east-1.
// Not supported (refused nowhere, simply not consulted): credential_process,
// SSO, web identity, instance metadata. Pure functions; thread-safe.
#pragma once

#include <functional>
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

struct S3Settings {
  std::string endpoint;  // "" = AWS
  std::string region;
  S3Credentials credentials;
};

// Looks up an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

// FailedPrecondition naming every place looked at when no credentials are
// found; InvalidArgument for a credentials file that names the profile but
// lacks a key.
StatusOr<S3Settings> LoadS3Settings(const EnvLookup& env);

}  // namespace kiln::storage::s3
