// AuditedEndpointStore: an EndpointStore that records each endpoint event it
// stores (create, update, rollout steps, guardrail rollbacks, promote,
// rollback, delete) as an audit record of stage "event" after the store
// accepted it. Requests already get request/response records from the gate;
// this adds what kiln does by itself -- the rollout controller's steps and
// automatic rollbacks -- with the reading that triggered them.
//
// Ownership: borrows the inner store and the audit log (both must outlive it).
// Thread-safety: as the inner store.
#pragma once

#include "audit/audit_log.h"
#include "storage/endpoint_store.h"

namespace kiln::audit {

class AuditedEndpointStore final : public storage::EndpointStore {
 public:
  AuditedEndpointStore(storage::EndpointStore& inner, AuditLog& log) : inner_(inner), log_(log) {}

  StatusOr<storage::EndpointRecord> CreateEndpoint(const storage::EndpointRecord& endpoint,
                                                   const storage::EndpointRevision& first,
                                                   const storage::EndpointEvent& event) override;
  StatusOr<storage::EndpointRecord> GetEndpoint(const std::string& name) override { return inner_.GetEndpoint(name); }
  StatusOr<std::vector<storage::EndpointRecord>> ListEndpoints() override { return inner_.ListEndpoints(); }
  StatusOr<storage::EndpointRecord> UpdateEndpoint(const storage::EndpointRecord& endpoint,
                                                   int64_t expected_config_version,
                                                   const std::optional<storage::EndpointRevision>& new_revision,
                                                   const storage::EndpointEvent& event) override;
  Status DeleteEndpoint(const std::string& name, const storage::EndpointEvent& event) override;
  StatusOr<std::vector<storage::EndpointRevision>> ListRevisions(const std::string& name) override {
    return inner_.ListRevisions(name);
  }
  StatusOr<storage::EndpointRevision> GetRevision(const std::string& name, int64_t number) override {
    return inner_.GetRevision(name, number);
  }
  StatusOr<std::vector<storage::EndpointEvent>> ListEvents(const std::string& name, int64_t after_id,
                                                           int64_t max_results) override {
    return inner_.ListEvents(name, after_id, max_results);
  }

 private:
  void Record(const storage::EndpointEvent& event);

  storage::EndpointStore& inner_;
  AuditLog& log_;
};

}  // namespace kiln::audit
