// EndpointStore: where deployment endpoints, their revisions and their events
// persist. Every mutation writes its event in the same transaction, and
// Update() is conditional on the stored config_version, so two replicas (or
// the rollout controller and a user) cannot both apply a change computed from
// the same state: the second gets Aborted and re-reads.
//
// Implementation: sql/sql_endpoint_store.h, over SQLite or PostgreSQL.
//
// Thread-safety: implementations are thread-safe. Calls block on I/O: call
// them from the worker pool or the rollout controller's thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/endpoint_entities.h"

namespace kiln::storage {

class EndpointStore {
 public:
  virtual ~EndpointStore() = default;

  // Stores a new endpoint with its first revision (number 1) and `event`.
  // AlreadyExists when the name is taken. The stored record has
  // state.config_version 1.
  virtual StatusOr<EndpointRecord> CreateEndpoint(const EndpointRecord& endpoint, const EndpointRevision& first,
                                                  const EndpointEvent& event) = 0;
  // NotFound("endpoint 'x' does not exist").
  virtual StatusOr<EndpointRecord> GetEndpoint(const std::string& name) = 0;
  // Every endpoint, by name.
  virtual StatusOr<std::vector<EndpointRecord>> ListEndpoints() = 0;
  // Replaces the endpoint's settings, state and updated_ms with `endpoint`'s
  // when the stored state.config_version equals `expected_config_version`
  // (the stored one becomes expected + 1, whatever `endpoint` says), appends
  // `new_revision` when given (its number must be the stored latest + 1,
  // else InvalidArgument), and appends `event`. Aborted when the version
  // differs; NotFound when the endpoint does not exist. Returns the stored record.
  virtual StatusOr<EndpointRecord> UpdateEndpoint(const EndpointRecord& endpoint, int64_t expected_config_version,
                                                  const std::optional<EndpointRevision>& new_revision,
                                                  const EndpointEvent& event) = 0;
  // Removes the endpoint and its revisions; its events stay (an audit trail
  // outlives what it audits) and `event` is appended. NotFound when absent.
  virtual Status DeleteEndpoint(const std::string& name, const EndpointEvent& event) = 0;

  // Revisions ascending by number. NotFound for an unknown endpoint.
  virtual StatusOr<std::vector<EndpointRevision>> ListRevisions(const std::string& name) = 0;
  virtual StatusOr<EndpointRevision> GetRevision(const std::string& name, int64_t number) = 0;

  // Events of `name` (including those of a deleted endpoint of that name)
  // with id > after_id, oldest first, at most max_results.
  virtual StatusOr<std::vector<EndpointEvent>> ListEvents(const std::string& name, int64_t after_id,
                                                          int64_t max_results) = 0;
};

}  // namespace kiln::storage
