// AnnouncedEndpointStore: an EndpointStore that announces every change it
// stored (create, revision or state update -- including the rollout
// controller's steps -- and delete) on the ChangeFeed, so the other replicas
// re-read that endpoint and serve what is stored (EndpointService::
// OnStoreChanged). Announces only after the inner store succeeded.
//
// Ownership: borrows the inner store and the feed (both outlive it).
// Thread-safety: as the inner store.
#pragma once

#include "core/change_feed.h"
#include "storage/endpoint_store.h"

namespace kiln::deploy {

class AnnouncedEndpointStore final : public storage::EndpointStore {
 public:
  AnnouncedEndpointStore(storage::EndpointStore& inner, ChangeFeed& feed) : inner_(inner), feed_(feed) {}

  StatusOr<storage::EndpointRecord> CreateEndpoint(const storage::EndpointRecord& endpoint,
                                                   const storage::EndpointRevision& first,
                                                   const storage::EndpointEvent& event) override {
    auto r = inner_.CreateEndpoint(endpoint, first, event);
    if (r.ok()) feed_.Announce(change_topics::kEndpoints, endpoint.name);
    return r;
  }
  StatusOr<storage::EndpointRecord> GetEndpoint(const std::string& name) override { return inner_.GetEndpoint(name); }
  StatusOr<std::vector<storage::EndpointRecord>> ListEndpoints() override { return inner_.ListEndpoints(); }
  StatusOr<storage::EndpointRecord> UpdateEndpoint(const storage::EndpointRecord& endpoint,
                                                   int64_t expected_config_version,
                                                   const std::optional<storage::EndpointRevision>& new_revision,
                                                   const storage::EndpointEvent& event) override {
    auto r = inner_.UpdateEndpoint(endpoint, expected_config_version, new_revision, event);
    if (r.ok()) feed_.Announce(change_topics::kEndpoints, endpoint.name);
    return r;
  }
  Status DeleteEndpoint(const std::string& name, const storage::EndpointEvent& event) override {
    Status s = inner_.DeleteEndpoint(name, event);
    if (s.ok()) feed_.Announce(change_topics::kEndpoints, name);
    return s;
  }
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
  storage::EndpointStore& inner_;
  ChangeFeed& feed_;
};

}  // namespace kiln::deploy
