// Where S3Client gets the keys it signs with, asked again for every request
// so that temporary credentials (web identity) can be replaced while the
// client lives. Implementations may block (a refresh calls STS), so Current()
// is only called on worker threads, as every S3 request already is.
// Thread-safety: implementations are safe for concurrent use.
#pragma once

#include <utility>

#include "core/status.h"
#include "storage/s3/s3_settings.h"

namespace kiln::storage::s3 {

class S3CredentialsProvider {
 public:
  virtual ~S3CredentialsProvider() = default;
  // Keys valid now; an error (naming the source) when none can be had.
  virtual StatusOr<S3Credentials> Current() = 0;
  // S3 said the keys it was given have expired (clock skew, revocation):
  // the next Current() must fetch new ones. Long-term keys ignore this.
  virtual void Invalidate() {}
};

// Long-term or caller-managed keys that never change.
class StaticCredentialsProvider final : public S3CredentialsProvider {
 public:
  explicit StaticCredentialsProvider(S3Credentials credentials) : credentials_(std::move(credentials)) {}
  StatusOr<S3Credentials> Current() override { return credentials_; }

 private:
  const S3Credentials credentials_;
};

}  // namespace kiln::storage::s3
