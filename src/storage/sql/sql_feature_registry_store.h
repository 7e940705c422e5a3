// SqlFeatureRegistryStore: FeatureRegistryStore over any sql::Database. It
// lives in kiln's metadata database (schema v6: feature_objects,
// feature_events, feature_registry_generation) and shares the tracking
// store's database, so on SQLite a feature-registry write joins the same
// group commit as every other metadata write. Protos are bytes: a BLOB on
// SQLite, a BYTEA on PostgreSQL.
//
// Conventions beyond the interface's contract:
// - List: an empty project or kind matches every project or kind (listing
//   all projects is a List of kind "project" across projects); results are
//   ordered by name, then project and kind.
// - ListEvents: an empty project lists every project's events; limit <= 0
//   means no limit.
// - An event whose project/kind/name are empty takes them from the object it
//   accompanies; its timestamp_us, when 0, takes the object's updated_us.
// - Apply: a kDelete of an absent object fails the whole Apply with NotFound
//   (nothing of it is stored); on success each mutation's object carries the
//   stored created_us and each stored event its id.
// - Generation is bumped once per committed call that changed something.
//
// Ownership: borrows the Database, which must outlive the store.
// Thread-safety: every method is thread-safe (see sql::Database).
#pragma once

#include "storage/sql/sql_conn.h"
#include "storage/feature_registry_store.h"

namespace kiln::storage {

class SqlFeatureRegistryStore final : public FeatureRegistryStore {
 public:
  explicit SqlFeatureRegistryStore(sql::Database& db) : db_(db) {}

  StatusOr<FeatureObject> Put(const FeatureObject& object, FeatureEvent* event) override;
  Status Apply(std::vector<Mutation>& mutations) override;
  StatusOr<FeatureObject> Get(const std::string& project, const std::string& kind,
                              const std::string& name) override;
  StatusOr<std::vector<FeatureObject>> List(const FeatureListQuery& query) override;
  Status Delete(const std::string& project, const std::string& kind, const std::string& name,
                FeatureEvent* event) override;
  Status DeleteProject(const std::string& project, FeatureEvent* event) override;
  StatusOr<std::vector<FeatureEvent>> ListEvents(const std::string& project, int64_t after_id, int limit) override;
  StatusOr<int64_t> Generation() override;

 private:
  sql::Database& db_;
};

}  // namespace kiln::storage
