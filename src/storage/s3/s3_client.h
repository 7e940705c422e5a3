// S3Client: signed S3 requests over libcurl for one bucket. Signing is
// libcurl's SigV4 (CURLOPT_AWS_SIGV4 "aws:amz:<region>:s3"); kiln adds
// x-amz-content-sha256 itself (the SHA-256 of the body, which kiln always
// holds: parts are buffered) and x-amz-security-token for session
// credentials. The keys come from an S3CredentialsProvider asked at every
// request (s3_credentials_provider.h), so temporary ones are replaced as they
// expire; an ExpiredToken answer makes it fetch new ones and retry once. Queries are sent in canonical form so that the signer and the
// server agree on them.
//
// Retries: transport errors, 5xx, 429 and S3's retryable 400 codes
// (RequestTimeout) are retried with full-jitter exponential backoff (base
// 100 ms, cap 5 s, 5 attempts); other 4xx are answers, never retried.
// Timeouts: connect 10 s; a transfer is abandoned when it moves less than one
// byte per second for 60 s (no total timeout, since parts and objects are large).
//
// Ownership: owns a pool of curl easy handles (reused so connections stay
// alive). Thread-safety: Call() may be used from any number of threads; each
// call leases its own handle. Downloads own their own handles.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "storage/s3/s3_credentials_provider.h"
#include "storage/s3/s3_location.h"
#include "storage/s3/s3_settings.h"

namespace kiln::storage::s3 {

struct S3Request {
  std::string method = "GET";  // GET | HEAD | PUT | POST | DELETE
  std::string key;             // full object key; empty = the bucket
  std::map<std::string, std::string> query;
  std::vector<std::pair<std::string, std::string>> headers;  // signed like every header
  std::string_view body;       // PUT/POST payload (held by the caller for the whole call)
};

struct S3Response {
  long status = 0;
  std::string body;                            // at most 1 MiB kept (S3's own documents are small)
  std::map<std::string, std::string> headers;  // lower-cased names
};

struct S3ClientOptions {
  int max_attempts = 5;
  std::chrono::milliseconds backoff_base{100};
  std::chrono::milliseconds backoff_cap{5000};
  std::chrono::milliseconds connect_timeout{10000};
  int low_speed_seconds = 60;
};

// Lower-case hex SHA-256 / base64 MD5 of `data`.
std::string Sha256Hex(std::string_view data);
std::string Md5Base64(std::string_view data);

// Whether an answer (or a transport error, status 0) is worth retrying.
bool RetryableAnswer(long status, std::string_view s3_code);
// Full-jitter backoff before retry number `attempt` (1-based): uniform in
// [0, min(cap, base * 2^(attempt-1))].
std::chrono::milliseconds BackoffDelay(int attempt, std::chrono::milliseconds base, std::chrono::milliseconds cap);

class S3Client {
 public:
  static StatusOr<std::unique_ptr<S3Client>> Create(const S3Settings& settings, const std::string& bucket,
                                                    const std::string& addressing, S3ClientOptions options = {});
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  // One request with retries. Unavailable (with curl's reason) when no answer
  // came after the last attempt; any HTTP status is returned as an answer.
  StatusOr<S3Response> Call(const S3Request& request);

  // Maps a non-2xx answer to a Status: 403 -> PermissionDenied, 404 ->
  // NotFound, 5xx/429 -> Unavailable, 400/416 -> InvalidArgument, 409/412 ->
  // Aborted/FailedPrecondition; the message carries S3's code and message.
  static Status AnswerStatus(const S3Response& r, const std::string& what);

  // A GET of `key` from byte `offset` on, streamed: Read() fills the caller's
  // buffer straight from the socket (curl's transfer is paused while the
  // buffer is full, so at most one network chunk is held here). A broken
  // transfer resumes with a ranged GET at the current offset, pinned to
  // `etag` with If-Match so the bytes cannot come from a newer object.
  class Download {
   public:
    virtual ~Download() = default;
    virtual StatusOr<size_t> Read(char* buffer, size_t capacity) = 0;
  };
  std::unique_ptr<Download> OpenDownload(const std::string& key, int64_t offset, int64_t size,
                                         const std::string& etag, const std::string& what);

  const S3Addressing& addressing() const { return addressing_; }
  const S3ClientOptions& options() const { return options_; }

 private:
  friend class CurlDownload;
  S3Client(S3Settings settings, S3Addressing addressing, S3ClientOptions options,
           std::shared_ptr<S3CredentialsProvider> credentials);
  void* AcquireHandle();  // CURL*
  void ReleaseHandle(void* handle);
  // Sets URL, signing, credentials and timeouts on `curl` for `key`/`query`.
  void Prepare(void* curl, const std::string& method, const std::string& url, const S3Credentials& creds) const;
  // Headers every request carries (content hash, session token) plus `extra`.
  void* HeaderList(const std::vector<std::pair<std::string, std::string>>& extra, std::string_view body_sha,
                   const S3Credentials& creds) const;  // curl_slist*

  const S3Settings settings_;
  const S3Addressing addressing_;
  const S3ClientOptions options_;
  const std::string sigv4_;  // "aws:amz:<region>:s3"
  const std::shared_ptr<S3CredentialsProvider> credentials_;
  std::mutex mu_;
  std::vector<void*> idle_;  // CURL* handles with live connections
};

}  // namespace kiln::storage::s3
