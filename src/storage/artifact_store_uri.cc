#include "storage/artifact_store_uri.h"

#include "storage/local/local_artifact_store.h"
#include "storage/s3/s3_artifact_store.h"
#include "storage/s3/s3_settings.h"

namespace kiln::storage {

StatusOr<std::unique_ptr<ArtifactStore>> OpenArtifactStore(const std::string& uri, const std::string& default_dir) {
  if (uri.empty()) {
    KILN_ASSIGN_OR_RETURN(auto local, LocalArtifactStore::Create(default_dir));
    return std::unique_ptr<ArtifactStore>(std::move(local));
  }
  if (uri.starts_with("file://")) {
    std::string path = uri.substr(7);
    if (path.empty() || path[0] != '/') {
      return InvalidArgument("artifacts URI '" + uri + "' must name an absolute path: file:///path (no host)");
    }
    if (path.find_first_of("?#%") != std::string::npos) {
      return InvalidArgument("artifacts URI '" + uri + "': '?', '#' and percent-escapes are not supported in file:// paths");
    }
    KILN_ASSIGN_OR_RETURN(auto local, LocalArtifactStore::Create(path));
    return std::unique_ptr<ArtifactStore>(std::move(local));
  }
  if (uri.starts_with("s3://")) {
    KILN_ASSIGN_OR_RETURN(s3::S3Settings settings, s3::LoadS3Settings(s3::ProcessEnv()));
    KILN_ASSIGN_OR_RETURN(auto store, s3::S3ArtifactStore::Create(uri, settings));
    KILN_RETURN_IF_ERROR(store->Ping());
    return std::unique_ptr<ArtifactStore>(std::move(store));
  }
  return InvalidArgument("artifacts URI '" + uri + "' is neither file:///path nor s3://bucket/prefix");
}

std::string LocalArtifactRoot(const ArtifactStore& store) {
  if (const auto* local = dynamic_cast<const LocalArtifactStore*>(&store)) return local->root();
  return "";
}

}  // namespace kiln::storage
