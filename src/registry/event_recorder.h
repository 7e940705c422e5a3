// EventRecorder: the one place registry mutations are announced. The store
// persists every event in the mutation's own transaction; after the commit
// the registry service hands the events here, and subscribers (the audit log,
// deployment hooks, serving's model watcher) receive them in commit order
// without any handler knowing about them.
//
// Ownership: owns the subscriber callbacks.
// Thread-safety: Subscribe and Publish may be called from any thread.
// Callbacks run synchronously on the publishing (worker) thread, one at a
// time; they must be quick and must not call back into the registry.
#pragma once

#include <functional>
#include <mutex>
#include <vector>

#include "storage/registry_entities.h"

namespace kiln::registry {

class EventRecorder {
 public:
  using Subscriber = std::function<void(const storage::RegistryEvent&)>;

  void Subscribe(Subscriber fn);
  void Publish(const std::vector<storage::RegistryEvent>& events);

 private:
  std::mutex mu_;
  std::vector<Subscriber> subscribers_;  // guarded by mu_
};

}  // namespace kiln::registry
