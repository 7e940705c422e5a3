// FeatureRegistryStore: the metadata store behind the feature registry
// (Feast's registry objects). Objects are opaque serialized protobuf messages
// to the store, indexed by (project, kind, name) with their creation and
// update times; the features/ service owns their meaning. SQLite implements
// it today (sharing kiln's metadata database), PostgreSQL follows.
//
// Contract for every implementation:
// - each call is one transaction; a mutation's event is stored in the same
//   transaction as the change, so the event log never disagrees with the data;
// - thread-safe; any number of callers concurrently;
// - errors: NotFound when the object (or project) does not exist, with the
//   message the caller passes in `what` when given; AlreadyExists only where
//   documented. Validation of names is the service's job.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace kiln::storage {

// Object kinds, stored as their string value.
namespace feature_kind {
inline constexpr const char* kProject = "project";
inline constexpr const char* kEntity = "entity";
inline constexpr const char* kDataSource = "data_source";
inline constexpr const char* kFeatureView = "feature_view";
inline constexpr const char* kStreamFeatureView = "stream_feature_view";
inline constexpr const char* kOnDemandFeatureView = "on_demand_feature_view";
inline constexpr const char* kFeatureService = "feature_service";
inline constexpr const char* kSavedDataset = "saved_dataset";
inline constexpr const char* kValidationReference = "validation_reference";
inline constexpr const char* kPermission = "permission";
inline constexpr const char* kInfra = "infra";  // one per project, name ""
}  // namespace feature_kind

struct FeatureObject {
  std::string project;
  std::string kind;
  std::string name;
  std::string proto;  // serialized message, owned by the service
  int64_t created_us = 0;
  int64_t updated_us = 0;
};

// An audit-style record of one change, stored with it.
struct FeatureEvent {
  int64_t id = 0;  // assigned by the store
  int64_t timestamp_us = 0;
  std::string actor;
  std::string action;  // "apply", "delete", "materialize", ...
  std::string project;
  std::string kind;
  std::string name;
  std::string detail_json;  // what changed (service-defined)
};

struct FeatureListQuery {
  std::string project;
  std::string kind;
  std::optional<std::string> name_prefix;
};

class FeatureRegistryStore {
 public:
  virtual ~FeatureRegistryStore() = default;

  // Inserts or replaces the object; keeps created_us of an existing object
  // (the stored value wins) and returns the stored object. When `event` is
  // non-null it is stored in the same transaction (its id is filled in).
  virtual StatusOr<FeatureObject> Put(const FeatureObject& object, FeatureEvent* event) = 0;
  // Several puts/deletes in one transaction (Feast's apply of a whole repo).
  struct Mutation {
    enum class Op { kPut, kDelete } op = Op::kPut;
    FeatureObject object;  // for kDelete only project/kind/name are read
    FeatureEvent event;    // stored when action is non-empty
  };
  virtual Status Apply(std::vector<Mutation>& mutations) = 0;

  virtual StatusOr<FeatureObject> Get(const std::string& project, const std::string& kind,
                                      const std::string& name) = 0;
  // Ordered by name.
  virtual StatusOr<std::vector<FeatureObject>> List(const FeatureListQuery& query) = 0;
  // NotFound when absent.
  virtual Status Delete(const std::string& project, const std::string& kind, const std::string& name,
                        FeatureEvent* event) = 0;
  // Deletes every object of the project, the project included.
  virtual Status DeleteProject(const std::string& project, FeatureEvent* event) = 0;

  // Events, newest last, after `after_id`, at most `limit`.
  virtual StatusOr<std::vector<FeatureEvent>> ListEvents(const std::string& project, int64_t after_id,
                                                         int limit) = 0;
  // Bumped by every committed mutation; Refresh/caches compare it.
  virtual StatusOr<int64_t> Generation() = 0;
};

}  // namespace kiln::storage
