#include "deploy/live_endpoint.h"

#include <mutex>
#include <random>
#include <thread>

namespace kiln::deploy {

const LiveRoute& LiveEndpoint::Pick(uint64_t key) const {
  // Weights normally sum to 10000; when a route is missing (its model failed
  // to load) the others share its traffic in proportion.
  uint64_t total = 0;
  for (const LiveRoute& r : routes) total += static_cast<uint64_t>(r.weight_bp > 0 ? r.weight_bp : 0);
  if (total == 0) return routes.front();
  uint64_t x = key % total;
  for (const LiveRoute& r : routes) {
    const auto w = static_cast<uint64_t>(r.weight_bp > 0 ? r.weight_bp : 0);
    if (x < w) return r;
    x -= w;
  }
  return routes.back();
}

std::shared_ptr<const LiveEndpoint> RouteTable::Find(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = endpoints_.find(name);
  return it == endpoints_.end() ? nullptr : it->second;
}

void RouteTable::Publish(std::shared_ptr<const LiveEndpoint> endpoint) {
  if (!endpoint) return;
  std::shared_ptr<const LiveEndpoint> old;  // released outside the lock: it may hold the last model reference
  std::unique_lock lock(mu_);
  auto& slot = endpoints_[endpoint->name];
  old = std::move(slot);
  slot = std::move(endpoint);
  lock.unlock();
}

void RouteTable::Remove(const std::string& name) {
  std::shared_ptr<const LiveEndpoint> old;
  std::unique_lock lock(mu_);
  auto it = endpoints_.find(name);
  if (it == endpoints_.end()) return;
  old = std::move(it->second);
  endpoints_.erase(it);
  lock.unlock();
}

uint64_t StickyHash(std::string_view value) {
  // FNV-1a (fixed constants: the same value pins the same route on every
  // replica and after restarts), then splitmix64's finalizer so that the
  // modulo over the weights sees well-mixed low bits.
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : value) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

uint64_t RandomKey() {
  thread_local std::mt19937_64 gen([] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ std::hash<std::thread::id>{}(std::this_thread::get_id());
  }());
  return gen();
}

}  // namespace kiln::deploy
