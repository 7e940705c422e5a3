// Models and snapshots: loads what a revision serves into the service's own
// ModelRepository (served names "<model>/<version>", plus "#b<hash>" when the
// revision overrides batching, so one version can run with two batchers),
// builds the LiveEndpoint snapshot the request path reads, keeps the capture
// store and drift monitor per endpoint, and unloads models nothing keeps.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <tuple>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "deploy/endpoint_service_internal.h"

namespace kiln::deploy {
namespace {

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

bool DefaultBatching(const storage::EndpointBatching& b) {
  return b.max_batch_rows <= 0 && b.max_queue_delay_us < 0 && b.max_queue <= 0;
}

// A dataset source MLflow logged (e.g. {"uri": "/data/train.csv"}) as a local
// file path; empty when it names none.
std::string LocalPath(const std::string& source) {
  std::string uri = source;
  nlohmann::json j = nlohmann::json::parse(source, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    uri.clear();
    for (const char* key : {"uri", "path", "url"}) {
      auto it = j.find(key);
      if (it != j.end() && it->is_string()) {
        uri = it->get<std::string>();
        break;
      }
    }
  } else if (j.is_string()) {
    uri = j.get<std::string>();
  }
  if (uri.rfind("file://", 0) == 0) uri = uri.substr(7);
  if (uri.empty() || uri[0] != '/') return "";
  return uri;
}

}  // namespace

std::string EndpointService::Impl::ServedName(const std::string& model, int64_t version,
                                              const storage::EndpointBatching& batching) {
  std::string name = model + "/" + std::to_string(version);
  if (DefaultBatching(batching)) return name;
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx",
                static_cast<unsigned long long>(Fnv1a(std::to_string(batching.max_batch_rows) + "," +
                                                      std::to_string(batching.max_queue_delay_us) + "," +
                                                      std::to_string(batching.max_queue))));
  return name + "#b" + hex;
}

std::optional<serving::BatchingOptions> EndpointService::Impl::BatchingFor(
    const storage::EndpointBatching& b) const {
  if (DefaultBatching(b)) return std::nullopt;
  serving::BatchingOptions out = models.default_batching();
  if (b.max_batch_rows > 0) out.max_batch_rows = b.max_batch_rows;
  if (b.max_queue_delay_us >= 0) out.max_queue_delay = std::chrono::microseconds(b.max_queue_delay_us);
  if (b.max_queue > 0) out.max_queue = static_cast<size_t>(b.max_queue);
  return out;
}

StatusOr<std::shared_ptr<void>> EndpointService::Impl::LoadSpec(const storage::RevisionSpec& spec) {
  struct Item {
    std::string served, uri, where;
  };
  std::vector<Item> items;
  for (size_t i = 0; i < spec.routes.size(); ++i) {
    const auto& r = spec.routes[i];
    items.push_back({ServedName(r.model, r.version, spec.batching),
                     "models:/" + r.model + "/" + std::to_string(r.version), "routes[" + std::to_string(i) + "]"});
  }
  if (spec.mirror) {
    const auto& r = spec.mirror->route;
    items.push_back({ServedName(r.model, r.version, spec.batching),
                     "models:/" + r.model + "/" + std::to_string(r.version), "mirror"});
  }
  std::vector<std::string> names;
  {
    std::lock_guard lock(mu);
    for (const Item& it : items) {
      ++pinned[it.served];
      names.push_back(it.served);
    }
  }
  std::shared_ptr<void> pin(nullptr, [this, names](void*) {
    std::lock_guard lock(mu);
    for (const std::string& n : names) {
      if (--pinned[n] <= 0) pinned.erase(n);
    }
  });
  const auto batching = BatchingFor(spec.batching);
  for (size_t i = 0; i < items.size(); ++i) {
    const Item& it = items[i];
    if (models.Get(it.served).ok()) continue;
    Status s = models.LoadUri(it.served, it.uri, batching);
    if (!s.ok()) {
      return Status(s.code(), it.where + ": '" + it.uri + "' failed to load: " + s.message());
    }
    std::lock_guard lock(mu);
    loaded.insert(it.served);
  }
  return pin;
}

std::set<int64_t> EndpointService::Impl::RevisionsInUse(const storage::EndpointState& state) {
  std::set<int64_t> out;
  for (const auto& t : state.traffic) out.insert(t.revision);
  if (state.rolled_out_revision > 0) out.insert(state.rolled_out_revision);
  if (state.previous_rolled_out_revision > 0) out.insert(state.previous_rolled_out_revision);
  if (state.rollout.active) {
    if (state.rollout.from_revision > 0) out.insert(state.rollout.from_revision);
    if (state.rollout.to_revision > 0) out.insert(state.rollout.to_revision);
  }
  out.erase(0);
  return out;
}

StatusOr<storage::EndpointRevision> EndpointService::Impl::Revision(const std::string& name, int64_t number) {
  {
    std::lock_guard lock(mu);
    auto it = runtimes.find(name);
    if (it != runtimes.end()) {
      auto r = it->second.revisions.find(number);
      if (r != it->second.revisions.end()) return r->second;
    }
  }
  KILN_ASSIGN_OR_RETURN(storage::EndpointRevision rev, store.GetRevision(name, number));
  std::lock_guard lock(mu);
  runtimes[name].revisions[number] = rev;
  return rev;
}

void EndpointService::Impl::Publish(const storage::EndpointRecord& record) {
  const std::string& name = record.name;
  const storage::EndpointState& st = record.state;
  std::map<int64_t, storage::EndpointRevision> revs;
  std::set<std::string> served;
  std::vector<std::shared_ptr<void>> pins;
  for (int64_t n : RevisionsInUse(st)) {
    auto rev = Revision(name, n);
    if (!rev.ok()) {
      log::Warn("endpoint '" + name + "': revision " + std::to_string(n) + ": " + rev.status().message());
      continue;
    }
    // Normally a no-op: changes load before they are stored. After a restart
    // or a failed load this is where a model gets its next chance.
    auto pin = LoadSpec(rev->spec);
    if (pin.ok()) {
      pins.push_back(*pin);
    } else {
      log::Warn("endpoint '" + name + "' revision " + std::to_string(n) + ": " + pin.status().message());
    }
    for (const auto& r : rev->spec.routes) served.insert(ServedName(r.model, r.version, rev->spec.batching));
    if (rev->spec.mirror) {
      served.insert(ServedName(rev->spec.mirror->route.model, rev->spec.mirror->route.version, rev->spec.batching));
    }
    revs[n] = std::move(*rev);
  }
  int64_t primary_n = st.rollout.active ? st.rollout.to_revision : st.rolled_out_revision;
  if (!revs.count(primary_n) && !revs.empty()) primary_n = revs.rbegin()->first;
  const storage::EndpointRevision* primary = revs.count(primary_n) ? &revs[primary_n] : nullptr;
  RefreshObservers(record, primary);

  auto live = std::make_shared<LiveEndpoint>();
  live->name = name;
  live->config_version = st.config_version;
  live->capture_percent = record.settings.capture_percent;
  auto stats_for = [&](int64_t revision, int index) {
    std::lock_guard lock(mu);
    auto& slot = runtimes[name].stats[{revision, index}];
    if (!slot) slot = std::make_shared<RouteStats>();
    return slot;
  };
  auto make_route = [&](const storage::EndpointRevision& rev, const storage::EndpointRoute& r, int index,
                        int weight) -> std::optional<LiveRoute> {
    auto model = models.Get(ServedName(r.model, r.version, rev.spec.batching));
    if (!model.ok()) return std::nullopt;
    LiveRoute out;
    out.revision = rev.number;
    out.model = r.model;
    out.version = r.version;
    out.weight_bp = weight;
    out.served = *model;
    auto cols = InputColumns(r.model, r.version);
    if (cols.ok()) out.input_columns = *cols;
    out.stats = stats_for(rev.number, index);
    endpoint_metrics.Track(name, out);
    return out;
  };
  for (const auto& share : st.traffic) {
    if (share.percent <= 0 || !revs.count(share.revision)) continue;
    const storage::EndpointRevision& rev = revs[share.revision];
    for (size_t i = 0; i < rev.spec.routes.size(); ++i) {
      auto route = make_route(rev, rev.spec.routes[i], static_cast<int>(i), share.percent * rev.spec.routes[i].percent);
      if (route) live->routes.push_back(std::move(*route));
    }
  }
  if (primary) {
    live->sticky_header = primary->spec.sticky_header;
    live->features = primary->spec.features;
    if (primary->spec.mirror) {
      live->mirror = make_route(*primary, primary->spec.mirror->route, -1, 0);
      if (live->mirror) live->mirror_percent = primary->spec.mirror->percent;
    }
  }
  {
    std::lock_guard lock(mu);
    Runtime& rt = runtimes[name];
    // A revision out of use never gets traffic again (rollback targets only
    // the revisions in use): its statistics go (snapshots in flight keep theirs).
    const std::set<int64_t> in_use = RevisionsInUse(st);
    for (auto it = rt.stats.begin(); it != rt.stats.end();) {
      it = in_use.count(it->first.first) ? std::next(it) : rt.stats.erase(it);
    }
    live->capture = rt.capture;
    live->drift = rt.drift;
    rt.served = std::move(served);
    rt.rollout_active = st.rollout.active;
  }
  std::shared_ptr<const LiveEndpoint> snapshot = live;
  routes.Publish(snapshot);
  endpoint_metrics.Update(snapshot, st.rollout.active);
}

void EndpointService::Impl::SweepUnused() {
  // Under mu throughout, so a LoadSpec that pins a name either sees it gone
  // (and loads it again) or keeps it.
  std::lock_guard lock(mu);
  std::set<std::string> keep;
  for (const auto& [n, rt] : runtimes) keep.insert(rt.served.begin(), rt.served.end());
  for (const auto& [n, count] : pinned) keep.insert(n);
  for (auto it = loaded.begin(); it != loaded.end();) {
    if (keep.count(*it)) {
      ++it;
      continue;
    }
    // Calls in flight hold the model's shared_ptr and finish on it.
    (void)models.Unload(*it);
    it = loaded.erase(it);
  }
}

StatusOr<Baseline> EndpointService::Impl::LoadBaseline(const std::string& baseline, const std::string& model,
                                                       int64_t version, const std::vector<std::string>& cols) {
  if (baseline != "run") return ReadBaselineFile(baseline, cols);
  KILN_ASSIGN_OR_RETURN(storage::ModelVersion mv, registry.GetModelVersion(model, std::to_string(version)));
  const std::string what = "model '" + model + "' version " + std::to_string(version);
  if (mv.run_id.empty()) return FailedPrecondition(what + " has no run, so there is no training dataset to use as baseline");
  KILN_ASSIGN_OR_RETURN(storage::Run run, tracking.GetRun(mv.run_id));
  std::string tried;
  for (const auto& input : run.dataset_inputs) {
    const std::string path = LocalPath(input.dataset.source);
    std::error_code ec;
    if (path.empty() || !std::filesystem::is_regular_file(path, ec)) {
      tried += (tried.empty() ? "" : ", ") + ("'" + input.dataset.name + "' (" + input.dataset.source + ")");
      continue;
    }
    return ReadBaselineFile(path, cols);
  }
  return FailedPrecondition(what + "'s run " + mv.run_id + " logged no dataset whose source is a local file kiln can read" +
                            (tried.empty() ? std::string(" (it logged no dataset inputs)") : ": " + tried));
}

void EndpointService::Impl::RefreshObservers(const storage::EndpointRecord& record,
                                             const storage::EndpointRevision* primary) {
  const std::string& name = record.name;
  const storage::EndpointSettings& s = record.settings;
  std::string model;
  int64_t version = 0;
  if (primary && !primary->spec.routes.empty()) {
    model = primary->spec.routes.front().model;
    version = primary->spec.routes.front().version;
  }
  // A file baseline does not depend on the version; "run" does.
  std::string key;
  if (!s.drift_baseline.empty()) {
    key = s.drift_baseline + "|" + std::to_string(s.drift_threshold);
    if (s.drift_baseline == "run") key += "|" + model + "/" + std::to_string(version);
  }
  {
    std::lock_guard lock(mu);
    Runtime& rt = runtimes[name];
    if (!rt.capture) rt.capture = std::make_shared<CaptureStore>(options.capture_max_bytes);
    if (rt.drift_key == key && (rt.drift || key.empty())) return;  // a failed baseline is retried
    if (!rt.drift_key.empty() && rt.drift) rt.drift_cache[rt.drift_key] = {rt.drift, rt.drift_error};
    auto cached = rt.drift_cache.find(key);
    if (cached != rt.drift_cache.end()) {
      std::tie(rt.drift, rt.drift_error) = cached->second;
      rt.drift_key = key;
      return;
    }
  }
  std::shared_ptr<DriftMonitor> drift;
  std::string error;
  if (!key.empty()) {
    std::vector<std::string> cols;
    if (!model.empty()) {
      auto c = InputColumns(model, version);
      if (c.ok()) cols = *c;
    }
    auto baseline = model.empty() && s.drift_baseline == "run"
                        ? StatusOr<Baseline>(FailedPrecondition("the endpoint serves no version yet"))
                        : LoadBaseline(s.drift_baseline, model, version, cols);
    if (baseline.ok()) {
      DriftOptions opts;
      opts.threshold = s.drift_threshold;
      auto monitor = DriftMonitor::Create(std::move(*baseline), opts);
      if (monitor.ok()) {
        drift = *monitor;
      } else {
        error = monitor.status().message();
      }
    } else {
      error = baseline.status().message();
    }
    if (!error.empty()) log::Warn("endpoint '" + name + "': drift baseline '" + s.drift_baseline + "': " + error);
  }
  std::lock_guard lock(mu);
  Runtime& rt = runtimes[name];
  rt.drift = drift;
  rt.drift_error = error;
  rt.drift_key = key;
  // Bounded: the versions an endpoint swaps between are few.
  if (rt.drift_cache.size() > 4) rt.drift_cache.erase(rt.drift_cache.begin());
  // A failure is not cached for good: the file may appear later.
  if (!error.empty()) rt.drift_cache.erase(key);
}

std::vector<RouteStatus> EndpointService::Impl::RouteStatuses(const storage::EndpointRecord& record) {
  std::vector<RouteStatus> out;
  for (const auto& share : record.state.traffic) {
    if (share.percent <= 0) continue;
    auto rev = Revision(record.name, share.revision);
    if (!rev.ok()) continue;
    for (size_t i = 0; i < rev->spec.routes.size(); ++i) {
      const auto& r = rev->spec.routes[i];
      RouteStatus rs;
      rs.revision = rev->number;
      rs.model = r.model;
      rs.version = r.version;
      rs.percent = static_cast<int>(std::lround(share.percent * r.percent / 100.0));
      auto model = models.Get(ServedName(r.model, r.version, rev->spec.batching));
      rs.ready = model.ok();
      if (!model.ok()) rs.reason = model.status().message();
      std::shared_ptr<RouteStats> stats;
      {
        std::lock_guard lock(mu);
        auto rt = runtimes.find(record.name);
        if (rt != runtimes.end()) {
          auto it = rt->second.stats.find({rev->number, static_cast<int>(i)});
          if (it != rt->second.stats.end()) stats = it->second;
        }
      }
      if (stats) rs.last_minute = stats->Read(60);
      out.push_back(std::move(rs));
    }
  }
  return out;
}

}  // namespace kiln::deploy
