// MemoryRegistryStore: an in-memory FeatureRegistryStore for the features/
// unit tests, keeping the interface's contract (one lock per call = one
// transaction; Apply all or nothing; events and generation), so the services'
// rules are tested without SQLite. Test-only.
#pragma once

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "storage/feature_registry_store.h"

namespace kiln::features::test_util {

class MemoryRegistryStore final : public storage::FeatureRegistryStore {
 public:
  using Key = std::tuple<std::string, std::string, std::string>;

  StatusOr<storage::FeatureObject> Put(const storage::FeatureObject& o, storage::FeatureEvent* e) override {
    std::lock_guard lock(mu_);
    return PutLocked(o, e);
  }
  Status Apply(std::vector<Mutation>& muts) override {
    std::lock_guard lock(mu_);
    auto saved = objects_;
    for (Mutation& m : muts) {
      if (m.op == Mutation::Op::kDelete) {
        if (objects_.erase({m.object.project, m.object.kind, m.object.name}) == 0) {
          objects_ = saved;
          return NotFound("absent");
        }
        if (!m.event.action.empty()) AddEvent(m.event);
      } else {
        auto stored = PutLocked(m.object, m.event.action.empty() ? nullptr : &m.event);
        m.object = *stored;
      }
    }
    ++generation_;
    return Status::Ok();
  }
  StatusOr<storage::FeatureObject> Get(const std::string& p, const std::string& k, const std::string& n) override {
    std::lock_guard lock(mu_);
    auto it = objects_.find({p, k, n});
    if (it == objects_.end()) return NotFound(k + " " + n + " absent");
    return it->second;
  }
  StatusOr<std::vector<storage::FeatureObject>> List(const storage::FeatureListQuery& q) override {
    std::lock_guard lock(mu_);
    std::vector<storage::FeatureObject> out;
    for (const auto& [key, o] : objects_) {
      if (!q.project.empty() && o.project != q.project) continue;
      if (!q.kind.empty() && o.kind != q.kind) continue;
      if (q.name_prefix && o.name.rfind(*q.name_prefix, 0) != 0) continue;
      out.push_back(o);
    }
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
  }
  Status Delete(const std::string& p, const std::string& k, const std::string& n, storage::FeatureEvent* e) override {
    std::lock_guard lock(mu_);
    if (objects_.erase({p, k, n}) == 0) return NotFound("absent");
    if (e) AddEvent(*e);
    ++generation_;
    return Status::Ok();
  }
  Status DeleteProject(const std::string& p, storage::FeatureEvent* e) override {
    std::lock_guard lock(mu_);
    std::erase_if(objects_, [&](const auto& kv) { return kv.second.project == p; });
    if (e) AddEvent(*e);
    ++generation_;
    return Status::Ok();
  }
  StatusOr<std::vector<storage::FeatureEvent>> ListEvents(const std::string& p, int64_t after, int limit) override {
    std::lock_guard lock(mu_);
    std::vector<storage::FeatureEvent> out;
    for (const auto& e : events_) {
      if ((p.empty() || e.project == p) && e.id > after) out.push_back(e);
      if (limit > 0 && static_cast<int>(out.size()) == limit) break;
    }
    return out;
  }
  StatusOr<int64_t> Generation() override {
    std::lock_guard lock(mu_);
    return generation_;
  }

 private:
  StatusOr<storage::FeatureObject> PutLocked(storage::FeatureObject o, storage::FeatureEvent* e) {
    auto it = objects_.find({o.project, o.kind, o.name});
    if (it != objects_.end()) o.created_us = it->second.created_us;
    objects_[{o.project, o.kind, o.name}] = o;
    if (e) AddEvent(*e);
    ++generation_;
    return o;
  }
  void AddEvent(storage::FeatureEvent& e) {
    e.id = static_cast<int64_t>(events_.size()) + 1;
    events_.push_back(e);
  }

  std::mutex mu_;
  std::map<Key, storage::FeatureObject> objects_;
  std::vector<storage::FeatureEvent> events_;
  int64_t generation_ = 0;
};

}  // namespace kiln::features::test_util
