// Following other replicas: an endpoint another replica changed is re-read
// from the store and published here, on the controller thread, so model
// loading never runs on the change feed's thread and never races a local
// change (the endpoint's change lock is held).
#include "core/log.h"
#include "deploy/endpoint_service_internal.h"

namespace kiln::deploy {

void EndpointService::OnStoreChanged(const std::string& name) {
  Impl& m = *impl_;
  std::lock_guard lock(m.alias_queue->mu);
  if (!m.alias_queue->alive) return;
  if (name.empty()) {
    m.alias_queue->resync_all = true;
  } else {
    m.alias_queue->resync.insert(name);
  }
  if (m.alias_queue->wake) m.alias_queue->wake();
}

void EndpointService::Impl::HandleResyncs() {
  std::set<std::string> names;
  bool all = false;
  {
    std::lock_guard lock(alias_queue->mu);
    names.swap(alias_queue->resync);
    all = alias_queue->resync_all;
    alias_queue->resync_all = false;
  }
  if (all) {
    auto stored = store.ListEndpoints();
    if (!stored.ok()) {
      log::Warn("endpoints: cannot re-read the store (retrying): " + stored.status().message());
      std::lock_guard lock(alias_queue->mu);
      alias_queue->resync_all = true;
      return;
    }
    for (const auto& rec : *stored) names.insert(rec.name);
    std::lock_guard lock(mu);
    for (const auto& [name, rt] : runtimes) names.insert(name);  // deleted elsewhere
  }
  for (const std::string& name : names) Resync(name);
}

void EndpointService::Impl::Resync(const std::string& name) {
  auto lock_ptr = LockFor(name);
  std::lock_guard change(*lock_ptr);
  auto rec = store.GetEndpoint(name);
  if (!rec.ok()) {
    if (rec.status().code() == StatusCode::kNotFound) {
      Unpublish(name);
      return;
    }
    log::Warn("endpoint '" + name + "': cannot re-read it (retrying): " + rec.status().message());
    std::lock_guard lock(alias_queue->mu);
    alias_queue->resync.insert(name);
    return;
  }
  auto live = routes.Find(name);
  bool known;
  {
    std::lock_guard lock(mu);
    known = runtimes.count(name) > 0;
  }
  if (known && live && live->config_version == rec->state.config_version) return;
  Publish(*rec);
  SweepUnused();
}

void EndpointService::Impl::Unpublish(const std::string& name) {
  // Calls that already took the snapshot finish on it.
  routes.Remove(name);
  endpoint_metrics.Remove(name);
  {
    std::lock_guard lock(mu);
    if (runtimes.erase(name) == 0) return;
  }
  SweepUnused();
}

}  // namespace kiln::deploy
