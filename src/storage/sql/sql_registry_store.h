// SqlRegistryStore: RegistryStore over any sql::Database (SQLite or
// PostgreSQL), sharing the tracking store's database. A model version's
// number is taken by incrementing registered_models.next_version with
// UPDATE ... RETURNING, which locks the model's row, so writers in several
// processes on one PostgreSQL database never take the same number.
//
// Ownership: borrows the Database, which must outlive the store.
// Thread-safety: every method is thread-safe (see sql::Database).
#pragma once

#include <memory>

#include "storage/sql/sql_conn.h"
#include "storage/registry_store.h"

namespace kiln::storage {

class SqlRegistryStore final : public RegistryStore {
 public:
  explicit SqlRegistryStore(sql::Database& db) : db_(db) {}

  StatusOr<RegisteredModel> CreateRegisteredModel(const RegisteredModel& model, EventContext& ev) override;
  StatusOr<RegisteredModel> GetRegisteredModel(const std::string& name) override;
  StatusOr<RegisteredModel> RenameRegisteredModel(const std::string& name, const std::string& new_name,
                                                  int64_t now_ms, EventContext& ev) override;
  StatusOr<RegisteredModel> UpdateRegisteredModel(const std::string& name, const std::string& description,
                                                  int64_t now_ms, EventContext& ev) override;
  StatusOr<std::vector<std::string>> DeleteRegisteredModel(const std::string& name, EventContext& ev) override;
  StatusOr<Page<RegisteredModel>> SearchRegisteredModels(const RegisteredModelQuery& query) override;
  Status SetRegisteredModelTag(const std::string& name, const Tag& tag, EventContext& ev) override;
  Status DeleteRegisteredModelTag(const std::string& name, const std::string& key, EventContext& ev) override;
  Status SetAlias(const std::string& name, const std::string& alias, int64_t version, EventContext& ev) override;
  Status DeleteAlias(const std::string& name, const std::string& alias, EventContext& ev) override;

  StatusOr<ModelVersion> CreateModelVersion(const ModelVersion& version, EventContext& ev) override;
  StatusOr<ModelVersion> GetModelVersion(const std::string& name, int64_t version) override;
  StatusOr<ModelVersion> GetModelVersionByAlias(const std::string& name, const std::string& alias) override;
  StatusOr<ModelVersion> UpdateModelVersion(const std::string& name, int64_t version,
                                            const std::string& description, int64_t now_ms,
                                            EventContext& ev) override;
  StatusOr<ModelVersion> TransitionStage(const std::string& name, int64_t version, const std::string& stage,
                                         bool archive_existing, int64_t now_ms, EventContext& ev) override;
  StatusOr<std::string> DeleteModelVersion(const std::string& name, int64_t version, EventContext& ev) override;
  StatusOr<Page<ModelVersion>> SearchModelVersions(const ModelVersionQuery& query) override;
  StatusOr<std::vector<ModelVersion>> GetLatestVersions(const std::string& name,
                                                        const std::vector<std::string>& stages) override;
  Status SetModelVersionTag(const std::string& name, int64_t version, const Tag& tag, EventContext& ev) override;
  Status DeleteModelVersionTag(const std::string& name, int64_t version, const std::string& key,
                               EventContext& ev) override;

  StatusOr<std::vector<RegistryEvent>> ListEvents(const RegistryEventQuery& query) override;

 private:
  sql::Database& db_;
};

}  // namespace kiln::storage
