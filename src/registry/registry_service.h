// RegistryService: the model registry's domain logic behind MLflow's registry
// protocol and kiln's own registry endpoints. Validates input with MLflow's
// rules, resolves model sources (runs:/, models:/, mlflow-artifacts:/),
// copies a new version's files into registry-owned storage so the version
// survives whatever happens to its source (sources kiln cannot read, e.g.
// s3://..., are registered by reference as MLflow does), records every mutation as an event
// (stored with the mutation, then published to subscribers), and reads model
// packages (MLmodel) for serving.
//
// No HTTP and no SQL here: the API adapter maps requests in and entities out;
// the RegistryStore persists.
//
// Ownership: borrows the stores, the tracking service, the clock and the
// recorder; all must outlive the service.
// Thread-safety: every method is thread-safe. Methods block on storage I/O;
// call them from the worker pool.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "model_format/mlflow_model.h"
#include "registry/event_recorder.h"
#include "storage/artifact_store.h"
#include "storage/registry_store.h"
#include "tracking/tracking_service.h"

namespace kiln::registry {

template <typename T>
using PagedResult = tracking::PagedResult<T>;

struct RegistryOptions {
  // Folder of the artifact store that holds the registry's copies. The
  // artifact API refuses writes beneath it.
  std::string storage_prefix = "_registry";
};

struct CreateModelVersionRequest {
  std::string name;
  std::string source;
  std::optional<std::string> run_id;
  std::optional<std::string> model_id;
  std::vector<storage::Tag> tags;
  std::string run_link;
  std::string description;
};

struct SearchRequest {
  std::string filter;
  std::optional<int64_t> max_results;
  std::vector<std::string> order_by;
  std::string page_token;
  // ANDed to the parsed filter inside the query (authorization: only the
  // models the caller may see), so pages and tokens count only those.
  std::vector<storage::FilterClause> scope;
};

struct VersionPackage {
  model_format::ModelPackage package;
  std::string artifact_uri;
  // The version is a reference to files kiln holds no copy of (see
  // ModelVersion::external_location): `package` says only that it cannot be
  // read or served.
  bool external = false;
};

class RegistryService {
 public:
  RegistryService(storage::RegistryStore& store, tracking::TrackingService& tracking,
                  storage::ArtifactStore& artifacts, const Clock& clock, EventRecorder& events,
                  RegistryOptions options = {});

  // `actor` names who asks (recorded with the event); empty when unknown.
  StatusOr<storage::RegisteredModel> CreateRegisteredModel(const std::string& actor, const std::string& name,
                                                           const std::vector<storage::Tag>& tags,
                                                           const std::string& description);
  StatusOr<storage::RegisteredModel> GetRegisteredModel(const std::string& name);
  StatusOr<storage::RegisteredModel> RenameRegisteredModel(const std::string& actor, const std::string& name,
                                                           const std::string& new_name);
  StatusOr<storage::RegisteredModel> UpdateRegisteredModel(const std::string& actor, const std::string& name,
                                                           const std::string& description);
  Status DeleteRegisteredModel(const std::string& actor, const std::string& name);
  StatusOr<PagedResult<storage::RegisteredModel>> SearchRegisteredModels(const SearchRequest& req);
  StatusOr<std::vector<storage::ModelVersion>> GetLatestVersions(const std::string& name,
                                                                 const std::vector<std::string>& stages);
  Status SetRegisteredModelTag(const std::string& actor, const std::string& name, const std::string& key,
                               const std::string& value);
  Status DeleteRegisteredModelTag(const std::string& actor, const std::string& name, const std::string& key);
  Status SetAlias(const std::string& actor, const std::string& name, const std::string& alias,
                  const std::string& version);
  Status DeleteAlias(const std::string& actor, const std::string& name, const std::string& alias);
  StatusOr<storage::ModelVersion> GetModelVersionByAlias(const std::string& name, const std::string& alias);

  StatusOr<storage::ModelVersion> CreateModelVersion(const std::string& actor, const CreateModelVersionRequest& req);
  StatusOr<storage::ModelVersion> GetModelVersion(const std::string& name, const std::string& version);
  StatusOr<storage::ModelVersion> UpdateModelVersion(const std::string& actor, const std::string& name,
                                                     const std::string& version, const std::string& description);
  StatusOr<storage::ModelVersion> TransitionStage(const std::string& actor, const std::string& name,
                                                  const std::string& version, const std::string& stage,
                                                  bool archive_existing);
  Status DeleteModelVersion(const std::string& actor, const std::string& name, const std::string& version);
  StatusOr<PagedResult<storage::ModelVersion>> SearchModelVersions(const SearchRequest& req);
  // The URI clients download the version's files from: the registry's copy,
  // or for an external version where its files are.
  StatusOr<std::string> GetDownloadUri(const std::string& name, const std::string& version);
  Status SetModelVersionTag(const std::string& actor, const std::string& name, const std::string& version,
                            const std::string& key, const std::string& value);
  Status DeleteModelVersionTag(const std::string& actor, const std::string& name, const std::string& version,
                               const std::string& key);

  // What kiln found in the version's files (MLmodel, model file, signature).
  StatusOr<VersionPackage> GetPackage(const std::string& name, const std::string& version);
  // Resolves models:/<name>/<version|stage|latest> and models:/<name>@<alias>.
  StatusOr<storage::ModelVersion> ResolveModelUri(const std::string& uri);
  // Events oldest first; the page token is opaque.
  StatusOr<PagedResult<storage::RegistryEvent>> ListEvents(const std::string& name,
                                                           std::optional<int64_t> max_results,
                                                           const std::string& page_token);

  // mlflow-artifacts:/ URI of a storage path.
  static std::string StorageUri(const std::string& storage_path);

 private:
  struct ResolvedSource {
    std::string source;             // as stored (MLflow pins models:/name@alias to models:/name/<version>)
    std::string store_path;         // files to copy, relative to the artifact store root
    std::string external_location;  // instead of store_path when kiln cannot read the files
    std::string run_id;
    std::string model_id;
  };
  // Sources outside kiln's artifact store that MLflow accepts: local paths
  // inside the run's (or logged model's) local artifact directory, and any
  // other scheme that does not address a host.
  StatusOr<ResolvedSource> ResolveExternalSource(const CreateModelVersionRequest& req, ResolvedSource out);
  StatusOr<ResolvedSource> ResolveSource(const CreateModelVersionRequest& req);
  storage::EventContext Event(const std::string& actor, const std::string& action) const;
  void Publish(const storage::EventContext& ev);
  // Removes the registry's copies of deleted versions (best effort).
  void DeleteCopies(const std::vector<std::string>& storage_paths);
  void LinkLoggedModel(const std::string& model_id, const std::string& name, int64_t version);

  storage::RegistryStore& store_;
  tracking::TrackingService& tracking_;
  storage::ArtifactStore& artifacts_;
  const Clock& clock_;
  EventRecorder& events_;
  RegistryOptions options_;
};

}  // namespace kiln::registry
