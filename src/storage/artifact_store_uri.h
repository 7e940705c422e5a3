// Opens the artifact store an `--artifacts-uri` names:
//   ""                   -> LocalArtifactStore at `default_dir` (<data-dir>/artifacts)
//   file:///abs/path     -> LocalArtifactStore at /abs/path (e.g. a volume shared by replicas)
//   s3://bucket/prefix   -> S3ArtifactStore; endpoint, region and credentials
//                           from the environment as AWS SDKs read them
//                           (storage/s3/s3_settings.h), URI options in s3_location.h
// A remote store is pinged before it is returned, so a wrong bucket or
// refused credentials stop the server at startup with S3's own message
// rather than at the first upload. Blocking (file system or network).
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "storage/artifact_store.h"

namespace kiln::storage {

StatusOr<std::unique_ptr<ArtifactStore>> OpenArtifactStore(const std::string& uri, const std::string& default_dir);

// Where the store keeps its files on this machine: LocalArtifactStore's
// root, or empty for a remote store.
std::string LocalArtifactRoot(const ArtifactStore& store);

}  // namespace kiln::storage
