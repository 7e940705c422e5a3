// S3ArtifactStore: ArtifactStore over one S3 bucket and key prefix
// (`s3://bucket/prefix`), for any S3-compatible server (requests in s3_client.h).
//
// Mapping: the artifact path "a/b.txt" is the object "<prefix>/a/b.txt";
// directories are key prefixes (no marker objects are written; an object
// whose key ends in '/' is hidden). Paths follow LocalArtifactStore's rules
// (relative, no "..", ".", empty segments, NUL or backslash); keys longer than
// S3's 1024 bytes are refused.
//
// Writes: bytes are buffered up to the part size (8 MiB unless the URI's
// part_size says otherwise). Commit() of an artifact up to one part is one PUT;
// anything larger goes out as a multipart upload whose parts are sent as they
// fill, completed on Commit() (so nothing is visible before) and aborted when
// the writer is destroyed uncommitted. Memory per writer: one part.
// Reads: a HEAD for size and ETag, then one GET streamed into the caller's
// buffer (s3_client.h), resumed with ranged GETs pinned to the ETag.
// List: ListObjectsV2 with delimiter '/', every page (continuation tokens).
// Delete: the object and everything under "<key>/", in DeleteObjects batches.
// Not checked (S3 has no such rule, and checking would cost requests on every
// write): that no parent of a written path is itself a file.
//
// Ownership: shares its S3Client with its readers and writers, which may
// outlive the store. Thread-safety: the store is immutable after Create() and
// may be used by any number of threads; readers and writers are single-owner.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/artifact_store.h"
#include "storage/s3/s3_client.h"
#include "storage/s3/s3_location.h"
#include "storage/s3/s3_settings.h"
#include "storage/s3/s3_xml.h"

namespace kiln::storage::s3 {

class S3ArtifactStore final : public ArtifactStore {
 public:
  static constexpr int64_t kDefaultPartSize = int64_t{8} << 20;

  // Parses `uri` (s3_location.h) and builds the client from `settings`; no
  // request is made (Ping() checks the bucket).
  static StatusOr<std::unique_ptr<S3ArtifactStore>> Create(const std::string& uri, const S3Settings& settings,
                                                           S3ClientOptions options = {});

  // "s3://bucket/prefix" for messages.
  const std::string& uri() const { return uri_; }

  // Lists one key under the prefix: the bucket exists and the credentials
  // are accepted (PermissionDenied with S3's message when they are not).
  Status Ping() override;
  StatusOr<std::unique_ptr<ArtifactWriter>> OpenWriter(const std::string& path) override;
  StatusOr<std::unique_ptr<ArtifactReader>> OpenReader(const std::string& path) override;
  StatusOr<std::vector<ArtifactEntry>> List(const std::string& path) override;
  Status Delete(const std::string& path) override;

 private:
  S3ArtifactStore(std::shared_ptr<S3Client> client, S3Uri location, std::string uri);
  StatusOr<std::string> KeyFor(const std::string& path, bool allow_root) const;
  // One page of ListObjectsV2.
  // `keep_refusal`: S3's 403 stays PermissionDenied (Ping); elsewhere it is
  // Internal, the server's misconfiguration rather than the caller's fault.
  StatusOr<ListPage> ListPageOf(const std::string& prefix, bool delimited, const std::string& token, int max_keys,
                                bool keep_refusal = false) const;
  // Whether any object lives under "<key>/".
  StatusOr<bool> HasChildren(const std::string& key) const;

  const std::shared_ptr<S3Client> client_;
  const S3Uri location_;
  const std::string uri_;
};

}  // namespace kiln::storage::s3
