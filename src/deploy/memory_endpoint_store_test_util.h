// MemoryEndpointStore: an in-memory storage::EndpointStore for unit tests of
// the deploy services, with the interface's semantics (conditional updates on
// config_version, revision numbering, events outliving a deleted endpoint).
// Tests can make the next Update fail with Aborted to exercise retries.
//
// Thread-safety: thread-safe (one mutex).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "storage/endpoint_store.h"

namespace kiln::deploy::testing {

class MemoryEndpointStore final : public storage::EndpointStore {
 public:
  StatusOr<storage::EndpointRecord> CreateEndpoint(const storage::EndpointRecord& endpoint,
                                                   const storage::EndpointRevision& first,
                                                   const storage::EndpointEvent& event) override {
    std::lock_guard lock(mu_);
    if (endpoints_.count(endpoint.name)) return AlreadyExists("endpoint '" + endpoint.name + "' already exists");
    if (first.number != 1) return InvalidArgument("the first revision must be number 1");
    Entry e;
    e.record = endpoint;
    e.record.state.config_version = 1;
    e.revisions.push_back(first);
    endpoints_[endpoint.name] = e;
    Append(event);
    return e.record;
  }

  StatusOr<storage::EndpointRecord> GetEndpoint(const std::string& name) override {
    std::lock_guard lock(mu_);
    auto it = endpoints_.find(name);
    if (it == endpoints_.end()) return NotFound("endpoint '" + name + "' does not exist");
    return it->second.record;
  }

  StatusOr<std::vector<storage::EndpointRecord>> ListEndpoints() override {
    std::lock_guard lock(mu_);
    std::vector<storage::EndpointRecord> out;
    for (const auto& [n, e] : endpoints_) out.push_back(e.record);
    return out;
  }

  StatusOr<storage::EndpointRecord> UpdateEndpoint(const storage::EndpointRecord& endpoint,
                                                   int64_t expected_config_version,
                                                   const std::optional<storage::EndpointRevision>& new_revision,
                                                   const storage::EndpointEvent& event) override {
    std::lock_guard lock(mu_);
    auto it = endpoints_.find(endpoint.name);
    if (it == endpoints_.end()) return NotFound("endpoint '" + endpoint.name + "' does not exist");
    if (abort_next_ > 0) {
      --abort_next_;
      // What a concurrent writer would have done: bumped the version.
      it->second.record.state.config_version += 1;
      return Status(StatusCode::kAborted, "endpoint '" + endpoint.name + "' changed concurrently");
    }
    Entry& e = it->second;
    if (e.record.state.config_version != expected_config_version) {
      return Status(StatusCode::kAborted, "endpoint '" + endpoint.name + "' changed concurrently");
    }
    if (new_revision) {
      const int64_t latest = e.revisions.empty() ? 0 : e.revisions.back().number;
      if (new_revision->number != latest + 1) {
        return InvalidArgument("revision " + std::to_string(new_revision->number) + " is not " +
                               std::to_string(latest + 1));
      }
      e.revisions.push_back(*new_revision);
    }
    const int64_t next = expected_config_version + 1;
    e.record.settings = endpoint.settings;
    e.record.state = endpoint.state;
    e.record.updated_ms = endpoint.updated_ms;
    e.record.state.config_version = next;
    ++updates_;
    Append(event);
    return e.record;
  }

  Status DeleteEndpoint(const std::string& name, const storage::EndpointEvent& event) override {
    std::lock_guard lock(mu_);
    if (!endpoints_.erase(name)) return NotFound("endpoint '" + name + "' does not exist");
    Append(event);
    return Status::Ok();
  }

  StatusOr<std::vector<storage::EndpointRevision>> ListRevisions(const std::string& name) override {
    std::lock_guard lock(mu_);
    auto it = endpoints_.find(name);
    if (it == endpoints_.end()) return NotFound("endpoint '" + name + "' does not exist");
    return it->second.revisions;
  }

  StatusOr<storage::EndpointRevision> GetRevision(const std::string& name, int64_t number) override {
    std::lock_guard lock(mu_);
    auto it = endpoints_.find(name);
    if (it == endpoints_.end()) return NotFound("endpoint '" + name + "' does not exist");
    for (const auto& r : it->second.revisions) {
      if (r.number == number) return r;
    }
    return NotFound("endpoint '" + name + "' has no revision " + std::to_string(number));
  }

  StatusOr<std::vector<storage::EndpointEvent>> ListEvents(const std::string& name, int64_t after_id,
                                                           int64_t max_results) override {
    std::lock_guard lock(mu_);
    std::vector<storage::EndpointEvent> out;
    for (const auto& e : events_) {
      if (e.endpoint != name || e.id <= after_id) continue;
      if (static_cast<int64_t>(out.size()) >= max_results) break;
      out.push_back(e);
    }
    return out;
  }

  // The next `n` UpdateEndpoint calls fail with Aborted (after bumping the version).
  void AbortNextUpdates(int n) {
    std::lock_guard lock(mu_);
    abort_next_ = n;
  }
  int updates() {
    std::lock_guard lock(mu_);
    return updates_;
  }

 private:
  struct Entry {
    storage::EndpointRecord record;
    std::vector<storage::EndpointRevision> revisions;
  };
  void Append(storage::EndpointEvent event) {
    event.id = next_event_id_++;
    events_.push_back(std::move(event));
  }

  std::mutex mu_;
  std::map<std::string, Entry> endpoints_;
  std::vector<storage::EndpointEvent> events_;
  int64_t next_event_id_ = 1;
  int abort_next_ = 0;
  int updates_ = 0;
};

}  // namespace kiln::deploy::testing
