// FeatureRegistry: Feast's registry as a domain service. It stores Feast's
// registry objects (projects, entities, data sources, feature views of four
// kinds, feature services, saved datasets, validation references,
// permissions, infra) through a FeatureRegistryStore, stamps their
// creation/update times in their meta as Feast's SQL registry does, records
// every change as an event, and answers the typed questions the rest of
// features/ asks (ViewSchema, feature services, push sources,
// materialization intervals).
//
// Messages are Feast's own protobuf types (generated from proto/feast/),
// because its registry *is* those messages; no other domain code parses them.
//
// Writes are eager (Feast's `commit` flags and Commit/Refresh are no-ops
// here, as in Feast's SQL registry); reads see every committed write.
// Typed reads (GetViewSchema, ...) are cached in memory and the cache is
// dropped by every write through this instance and, with Follow(), by every
// write another replica announces on the change feed.
//
// Errors carry Feast's own message texts (feast/errors.py), so adapters can
// hand them on unchanged: NotFound "Feature view x does not exist in project p"
// etc. (see registry_kinds.h for the exception class per kind);
// InvalidArgument for malformed objects and name conflicts.
//
// Ownership: borrows the store and clock; they outlive it.
// Thread-safety: all methods are thread-safe (the store serializes writes).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/change_feed.h"
#include "core/clock.h"
#include "core/status.h"
#include "features/registry_kinds.h"
#include "features/view_schema.h"
#include "storage/feature_registry_store.h"

namespace feast::core {
class Infra;
class ProjectMetadata;
class Registry;
}  // namespace feast::core

namespace kiln::features {

// One stored object, parsed.
struct RegistryObject {
  ObjectKind kind = ObjectKind::kEntity;
  std::unique_ptr<google::protobuf::Message> message;
  int64_t created_us = 0;
  int64_t updated_us = 0;
};

struct RegistryListFilter {
  std::map<std::string, std::string> tags;  // Feast's has_all_tags
  int64_t updated_since_us = -1;            // < 0: no filter
};

// How a typed read treats a cache miss: read the store, or answer
// WouldBlock() (a caller on an I/O thread, which then retries on the pool).
enum class RegistryRead { kLoad, kCachedOnly };
Status WouldBlock();
bool IsWouldBlock(const Status& s);

class FeatureRegistry {
 public:
  FeatureRegistry(storage::FeatureRegistryStore& store, const Clock& clock);
  // Replicas: every write announces on `feed`, and another replica's
  // announcement drops this one's typed-read cache. Call once, before
  // serving; the feed must outlive this.
  void Follow(ChangeFeed& feed);

  // --- typed reads for serving, materialization and retrieval ---
  // project empty: resolved as described in ResolveProject.
  StatusOr<ViewSchema> GetViewSchema(const std::string& project, const std::string& view,
                                     RegistryRead read = RegistryRead::kLoad);
  StatusOr<std::vector<ViewSchema>> ListViewSchemas(const std::string& project);
  StatusOr<std::vector<ViewProjection>> GetFeatureServiceProjections(const std::string& project,
                                                                     const std::string& service,
                                                                     RegistryRead read = RegistryRead::kLoad);
  // The batch/stream views a push source feeds.
  StatusOr<std::vector<ViewSchema>> ViewsForPushSource(const std::string& project, const std::string& push_source);
  // Records a materialized window in the view's meta, as Feast's
  // ApplyMaterialization does (the SDK's incremental start reads it).
  Status RecordMaterialization(const std::string& project, const std::string& view, int64_t start_us,
                               int64_t end_us, const std::string& actor);
  // The feature server's requests carry no project: an explicit one wins;
  // else the only project whose registry holds an object named `object`
  // (view, feature service or push source; or the only project at all).
  // Ambiguity is InvalidArgument naming the candidates.
  StatusOr<std::string> ResolveProject(const std::string& explicit_project, const std::string& object,
                                       RegistryRead read = RegistryRead::kLoad);

  // --- Feast's registry operations (the RegistryServer adapter's calls) ---
  // Creates or updates `object` (a message of the kind's type) in `project`
  // (for kProject the project is the object's own name). A re-apply of an
  // unchanged definition changes nothing; a changed one keeps the stored
  // created timestamp (and a view's materialization intervals) and stamps
  // last_updated. Applying into a project that does not exist creates it.
  Status Apply(ObjectKind kind, const std::string& project, const google::protobuf::Message& object,
               const std::string& actor);
  StatusOr<RegistryObject> Get(ObjectKind kind, const std::string& project, const std::string& name);
  // A feature view of any of the four kinds.
  StatusOr<RegistryObject> GetAnyFeatureView(const std::string& project, const std::string& name);
  // Ordered by name. For kProject `project` is ignored (all projects).
  StatusOr<std::vector<RegistryObject>> List(ObjectKind kind, const std::string& project,
                                             const RegistryListFilter& filter);
  // Feature views, stream and on-demand views (and label views when asked),
  // in that order, as Feast's list_all_feature_views.
  StatusOr<std::vector<RegistryObject>> ListAllFeatureViews(const std::string& project,
                                                            const RegistryListFilter& filter,
                                                            bool include_label_views);
  Status Delete(ObjectKind kind, const std::string& project, const std::string& name, const std::string& actor);
  // Deletes the view whatever its kind (Feast's delete_feature_view).
  Status DeleteFeatureView(const std::string& project, const std::string& name, const std::string& actor);
  // Deletes the project and everything in it.
  Status DeleteProject(const std::string& name, const std::string& actor);

  Status UpdateInfra(const std::string& project, const feast::core::Infra& infra, const std::string& actor);
  // An empty Infra when none was stored (as Feast).
  Status GetInfra(const std::string& project, feast::core::Infra* out);
  // [] when the project has never been applied, else one entry with its uuid.
  StatusOr<std::vector<feast::core::ProjectMetadata>> ListProjectMetadata(const std::string& project);
  // The whole registry as one message (Feast's Registry proto): every
  // project's objects; last_updated is the newest object update.
  Status BuildRegistryProto(feast::core::Registry* out);

  // The change log (newest last), as the store keeps it.
  StatusOr<std::vector<storage::FeatureEvent>> ListEvents(const std::string& project, int64_t after_id, int limit);

 private:
  int64_t NowUs() const;
  StatusOr<RegistryObject> Parse(const storage::FeatureObject& o) const;
  // Puts the project (and its metadata) into `muts` when it does not exist yet.
  Status EnsureProject(const std::string& project, int64_t now_us, const std::string& actor,
                       std::vector<storage::FeatureRegistryStore::Mutation>& muts);
  Status PutMutations(std::vector<storage::FeatureRegistryStore::Mutation>& muts);
  Status DeleteOne(ObjectKind kind, const std::string& project, const std::string& name, const std::string& actor);
  StatusOr<ViewSchema> LoadViewSchema(const std::string& project, const std::string& view);
  StatusOr<ViewSchema> SchemaOf(const std::string& project, const RegistryObject& view);
  void InvalidateCaches();
  // After a write: drops the cache here and announces it to other replicas.
  void Changed();

  storage::FeatureRegistryStore& store_;
  ChangeFeed* feed_ = nullptr;  // set by Follow before serving
  const Clock& clock_;

  // Typed-read cache, dropped on every write; `generation_` lets a reader
  // that raced a write skip inserting its (possibly stale) result.
  std::shared_mutex cache_mu_;
  uint64_t generation_ = 0;                                    // GUARDED_BY(cache_mu_)
  std::unordered_map<std::string, ViewSchema> schema_cache_;   // GUARDED_BY(cache_mu_) key project\0view
  std::unordered_map<std::string, std::string> project_cache_;  // GUARDED_BY(cache_mu_) object -> project
  std::unordered_map<std::string, std::vector<ViewProjection>> projection_cache_;  // GUARDED_BY(cache_mu_) project\0service
};

}  // namespace kiln::features
