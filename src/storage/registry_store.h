// RegistryStore: the metadata store behind the model registry. The registry
// service depends only on this interface; SQLite implements it today.
//
// Contract for every implementation:
// - each call is one transaction: it applies completely or not at all, and a
//   mutation's event (when one is passed) is stored in the same transaction,
//   so the event log never disagrees with the data;
// - thread-safe: any number of threads may call concurrently; version numbers
//   are assigned without gaps or duplicates under concurrent creates;
// - errors: NotFound names what is missing the way MLflow does ("Registered
//   Model with name=x not found", "Model Version (name=x, version=3) not
//   found"), AlreadyExists for a duplicate model name.
// Validation of names, stages and lengths is the service's job.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/registry_entities.h"
#include "storage/tracking_store.h"

namespace kiln::storage {

// How a mutation is recorded. The caller says who, when and what; the store
// renders the entity before and after the change (through the callbacks, so
// the JSON shape stays the service's choice), stores the event in the
// mutation's transaction and appends it to `recorded`. An empty action
// records nothing.
struct EventContext {
  int64_t timestamp = 0;
  std::string actor;
  std::string action;
  std::function<std::string(const RegisteredModel&)> model_json;
  std::function<std::string(const ModelVersion&)> version_json;
  std::vector<RegistryEvent> recorded;  // out: the events stored, in order
};

class RegistryStore {
 public:
  virtual ~RegistryStore() = default;

  // --- registered models ---
  virtual StatusOr<RegisteredModel> CreateRegisteredModel(const RegisteredModel& model,
                                                          EventContext& ev) = 0;
  virtual StatusOr<RegisteredModel> GetRegisteredModel(const std::string& name) = 0;
  // Versions, tags and aliases follow the model to its new name.
  virtual StatusOr<RegisteredModel> RenameRegisteredModel(const std::string& name,
                                                          const std::string& new_name,
                                                          int64_t now_ms, EventContext& ev) = 0;
  virtual StatusOr<RegisteredModel> UpdateRegisteredModel(const std::string& name,
                                                          const std::string& description,
                                                          int64_t now_ms, EventContext& ev) = 0;
  // Deletes the model with its versions, tags and aliases. Returns the
  // storage paths of the deleted versions so the caller can remove the files.
  virtual StatusOr<std::vector<std::string>> DeleteRegisteredModel(const std::string& name,
                                                                   EventContext& ev) = 0;
  virtual StatusOr<Page<RegisteredModel>> SearchRegisteredModels(
      const RegisteredModelQuery& query) = 0;
  virtual Status SetRegisteredModelTag(const std::string& name, const Tag& tag, EventContext& ev) = 0;
  virtual Status DeleteRegisteredModelTag(const std::string& name, const std::string& key,
                                          EventContext& ev) = 0;
  // NotFound when the version does not exist.
  virtual Status SetAlias(const std::string& name, const std::string& alias, int64_t version,
                          EventContext& ev) = 0;
  // NotFound when the model does not exist; deleting a missing alias is fine.
  virtual Status DeleteAlias(const std::string& name, const std::string& alias,
                             EventContext& ev) = 0;

  // --- model versions ---
  // Assigns the next version number (never reused within one registered
  // model's life, as in MLflow) and returns the stored version. The caller
  // has already copied the files to version.storage_path.
  virtual StatusOr<ModelVersion> CreateModelVersion(const ModelVersion& version, EventContext& ev) = 0;
  virtual StatusOr<ModelVersion> GetModelVersion(const std::string& name, int64_t version) = 0;
  virtual StatusOr<ModelVersion> GetModelVersionByAlias(const std::string& name,
                                                        const std::string& alias) = 0;
  virtual StatusOr<ModelVersion> UpdateModelVersion(const std::string& name, int64_t version,
                                                    const std::string& description,
                                                    int64_t now_ms, EventContext& ev) = 0;
  // Moves a version to `stage`; with archive_existing, other versions in
  // the same stage (Staging or Production) move to Archived, each with its
  // own event.
  virtual StatusOr<ModelVersion> TransitionStage(const std::string& name, int64_t version,
                                                 const std::string& stage, bool archive_existing,
                                                 int64_t now_ms, EventContext& ev) = 0;
  // Deletes the version, its tags and aliases; returns its storage path.
  virtual StatusOr<std::string> DeleteModelVersion(const std::string& name, int64_t version,
                                                   EventContext& ev) = 0;
  virtual StatusOr<Page<ModelVersion>> SearchModelVersions(const ModelVersionQuery& query) = 0;
  // Latest version per stage; all stages when `stages` is empty.
  virtual StatusOr<std::vector<ModelVersion>> GetLatestVersions(
      const std::string& name, const std::vector<std::string>& stages) = 0;
  virtual Status SetModelVersionTag(const std::string& name, int64_t version, const Tag& tag,
                                    EventContext& ev) = 0;
  virtual Status DeleteModelVersionTag(const std::string& name, int64_t version,
                                       const std::string& key, EventContext& ev) = 0;

  // --- events ---
  virtual StatusOr<std::vector<RegistryEvent>> ListEvents(const RegistryEventQuery& query) = 0;
};

}  // namespace kiln::storage
