#include "registry/event_recorder.h"

namespace kiln::registry {

void EventRecorder::Subscribe(Subscriber fn) {
  std::lock_guard lock(mu_);
  subscribers_.push_back(std::move(fn));
}

void EventRecorder::Publish(const std::vector<storage::RegistryEvent>& events) {
  std::lock_guard lock(mu_);  // serialises delivery so subscribers see commit order
  for (const auto& e : events) {
    for (const auto& fn : subscribers_) fn(e);
  }
}

}  // namespace kiln::registry
