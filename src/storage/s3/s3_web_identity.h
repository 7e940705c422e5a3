// Web identity credentials (EKS's IRSA and any OIDC federation to AWS): the
// projected service-account token in the token file is exchanged at STS
// (AssumeRoleWithWebIdentity, an unsigned form POST) for temporary keys and
// a session token, which S3Client signs with and sends as
// x-amz-security-token.
//
// Refresh: keys are used until `refresh_ahead` (5 min) before they expire;
// from then on the first caller fetches new ones while the others keep using
// the current keys (single flight), and only once they are within
// `must_refresh` (1 min) of expiring do the others wait for that fetch. The
// token file is read again for every fetch because kubelet rotates it. When
// STS fails but the keys still have time left, they are kept (a warning is
// logged) and STS is asked again after `retry_after`; once they have run out
// the error is every caller's answer until a fetch succeeds.
// Errors name the role, the endpoint and STS's own code and message:
// PermissionDenied for STS's refusals (InvalidIdentityToken, AccessDenied,
// ExpiredTokenException), Unavailable when STS could not be reached or
// failed (5xx, Throttling, IDPCommunicationError: retried with backoff).
//
// Ownership: owns its configuration and the current keys. Thread-safety:
// Current() may be called from any number of (worker) threads; it blocks
// while it calls STS, so never on an I/O thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"
#include "storage/s3/s3_credentials_provider.h"
#include "storage/s3/s3_settings.h"

namespace kiln::storage::s3 {

struct TemporaryCredentials {
  S3Credentials credentials;
  int64_t expires_ms = 0;  // Unix epoch milliseconds
};

// An AssumeRoleWithWebIdentityResponse's credentials; InvalidArgument when
// AccessKeyId, SecretAccessKey or Expiration is missing or the Expiration is
// not an ISO 8601 UTC time. A missing SessionToken (AWS always sends one;
// some STS-compatible services do not) leaves session_token empty.
StatusOr<TemporaryCredentials> ParseAssumeRoleWithWebIdentity(std::string_view xml);
// "2026-12-02T01:02:03Z", with optional fractional seconds or a "+00:00"
// offset, to Unix epoch milliseconds; nullopt for anything else.
std::optional<int64_t> ParseIso8601Millis(std::string_view text);
// The application/x-www-form-urlencoded body of the STS call.
std::string AssumeRoleWithWebIdentityForm(const WebIdentityConfig& config, std::string_view token);

struct StsAnswer {
  long status = 0;
  std::string body;
};
// One HTTP POST of a form to `url`; Unavailable when no answer came.
using StsTransport = std::function<StatusOr<StsAnswer>(const std::string& url, const std::string& form)>;
// libcurl: connect timeout 10 s, whole call 30 s, TLS verified.
StsTransport CurlStsTransport();

struct WebIdentityOptions {
  std::chrono::milliseconds refresh_ahead{std::chrono::minutes(5)};
  std::chrono::milliseconds must_refresh{std::chrono::minutes(1)};
  std::chrono::milliseconds retry_after{std::chrono::seconds(10)};
  int max_attempts = 3;
  std::chrono::milliseconds backoff_base{200};
  std::shared_ptr<const Clock> clock;  // default: the system clock
  StsTransport transport;              // default: CurlStsTransport()
};

class WebIdentityProvider final : public S3CredentialsProvider {
 public:
  // Checks the configuration only; the first Current() calls STS.
  static StatusOr<std::unique_ptr<WebIdentityProvider>> Create(WebIdentityConfig config,
                                                               WebIdentityOptions options = {});

  StatusOr<S3Credentials> Current() override;
  void Invalidate() override;

  // STS calls made so far (each with its retries counted once).
  int64_t fetches() const;

 private:
  WebIdentityProvider(WebIdentityConfig config, WebIdentityOptions options);
  StatusOr<TemporaryCredentials> Fetch() const;
  std::string Describe() const;  // "role <arn> at <endpoint>"

  const WebIdentityConfig config_;
  const WebIdentityOptions options_;
  mutable std::mutex mu_;
  std::condition_variable done_;
  std::optional<TemporaryCredentials> current_;
  bool fetching_ = false;
  int64_t generation_ = 0;       // bumped when a fetch ends
  Status last_error_ = Status::Ok();
  int64_t next_try_ms_ = 0;      // after a failed fetch with keys left: not before this
  int64_t fetches_ = 0;
};

// The provider `settings` call for: settings.provider, else web identity,
// else the static keys (FailedPrecondition when they are incomplete).
StatusOr<std::shared_ptr<S3CredentialsProvider>> MakeCredentialsProvider(const S3Settings& settings);

}  // namespace kiln::storage::s3
