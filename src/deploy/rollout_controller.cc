// The rollout controller: advances canary and linear rollouts step by step,
// watches the new revision's guardrails while it runs (stepping and baking,
// including the bake at 100 % of a linear rollout), rolls back on a breach,
// and turns registry alias moves into new revisions for endpoints that
// follow aliases. Runs on the service's thread every tick_ms; Tick() runs
// one pass on the caller's thread.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "deploy/endpoint_service_internal.h"

namespace kiln::deploy {
namespace {

// `to` takes all traffic and becomes the rolled-out revision.
void Finish(storage::EndpointState& st, int64_t to, int64_t from) {
  if (from > 0 && from != to) st.previous_rolled_out_revision = from;
  st.rolled_out_revision = to;
  st.traffic = {{to, 100}};
  st.rollout = storage::RolloutState{};
}

bool Compare(double value, const std::string& op, double threshold) {
  if (op == ">") return value > threshold;
  if (op == ">=") return value >= threshold;
  if (op == "<") return value < threshold;
  if (op == "<=") return value <= threshold;
  return false;
}

}  // namespace

void EndpointService::Impl::BeginRollout(storage::EndpointState& st, int64_t revision,
                                         const storage::RolloutPolicy& policy, int64_t now_ms) const {
  st.latest_revision = revision;
  // Models load before a revision is stored, so a stored revision is ready.
  st.latest_ready_revision = revision;
  const int64_t from = st.rolled_out_revision;
  if (from == 0 || policy.strategy == "all_at_once") {
    Finish(st, revision, from);
    return;
  }
  const int pct = std::clamp(policy.step_percent, 1, 99);
  st.traffic = {{from, 100 - pct}, {revision, pct}};
  st.rollout.active = true;
  st.rollout.from_revision = from;
  st.rollout.to_revision = revision;
  st.rollout.percent = pct;
  st.rollout.started_ms = now_ms;
  if (policy.strategy == "canary") {
    st.rollout.phase = "baking";
    st.rollout.next_step_ms = now_ms + policy.bake_s * 1000;
  } else {
    st.rollout.phase = "stepping";
    st.rollout.next_step_ms = now_ms + policy.interval_s * 1000;
  }
}

void EndpointService::Impl::TickEndpoint(const std::string& name) {
  auto lock_ptr = LockFor(name);
  std::unique_lock change(*lock_ptr, std::try_to_lock);
  if (!change.owns_lock()) return;  // a user's change runs; next tick
  auto rec = store.GetEndpoint(name);
  if (!rec.ok()) return;
  const storage::RolloutState ro = rec->state.rollout;
  if (!ro.active) {
    // Another replica finished it: publish what is stored.
    bool stale;
    {
      std::lock_guard lock(mu);
      stale = runtimes[name].rollout_active;
    }
    if (stale) Publish(*rec);
    return;
  }
  auto rev = Revision(name, ro.to_revision);
  if (!rev.ok()) return;
  const storage::RolloutPolicy& policy = rev->spec.rollout;

  // Guardrails: the new revision's own routes over each window.
  for (const storage::Guardrail& g : policy.rollback_on) {
    WindowReading total;
    double p99 = 0;
    {
      std::lock_guard lock(mu);
      auto& rt = runtimes[name];
      for (size_t i = 0; i < rev->spec.routes.size(); ++i) {
        auto it = rt.stats.find({ro.to_revision, static_cast<int>(i)});
        if (it == rt.stats.end()) continue;
        WindowReading r = it->second->Read(g.window_s);
        total.requests += r.requests;
        total.errors += r.errors;
        // The routes' histograms are not merged: the worst route's p99 speaks for the revision.
        p99 = std::max(p99, r.p99_ms);
      }
    }
    if (total.requests < static_cast<uint64_t>(std::max<int64_t>(g.min_requests, 1))) continue;
    total.error_rate = static_cast<double>(total.errors) / static_cast<double>(total.requests);
    total.p99_ms = p99;
    const double value = g.metric == "error_rate" ? total.error_rate : total.p99_ms;
    if (!Compare(value, g.op, g.threshold)) continue;
    nlohmann::json detail = {
        {"guardrail", {{"metric", g.metric}, {"op", g.op}, {"threshold", g.threshold}, {"window_s", g.window_s},
                       {"min_requests", g.min_requests}}},
        {"reading",
         {{"value", value}, {"requests", total.requests}, {"errors", total.errors}, {"error_rate", total.error_rate},
          {"p99_ms", total.p99_ms}}}};
    auto rolled = RollbackLocked(kControllerActor, name, "guardrail", detail.dump());
    if (!rolled.ok()) {
      log::Warn("endpoint '" + name + "': guardrail rollback failed: " + rolled.status().message());
    } else {
      log::Warn("endpoint '" + name + "': guardrail " + g.metric + " " + g.op + " " + std::to_string(g.threshold) +
                " crossed (" + std::to_string(value) + "), rolled back to revision " +
                std::to_string(ro.from_revision));
    }
    return;
  }

  if (clock.NowMillis() < ro.next_step_ms) return;
  auto stepped = Apply(name, [&](storage::EndpointRecord& r, std::optional<storage::EndpointRevision>&,
                                 storage::EndpointEvent& ev) -> Status {
    storage::EndpointState& st = r.state;
    if (!st.rollout.active || st.rollout.to_revision != ro.to_revision) {
      return Status(StatusCode::kAborted, "the rollout changed");
    }
    const int64_t now = clock.NowMillis();
    const int64_t from = st.rollout.from_revision, to = st.rollout.to_revision;
    ev.action = "rollout_step";
    if (policy.strategy == "canary" || st.rollout.phase == "baking") {
      Finish(st, to, from);
      ev.action = "rolled_out";
    } else {
      const int pct = std::min(100, st.rollout.percent + std::max(policy.step_percent, 1));
      if (pct < 100) {
        st.rollout.percent = pct;
        st.traffic = {{from, 100 - pct}, {to, pct}};
        st.rollout.next_step_ms = now + policy.interval_s * 1000;
      } else if (policy.bake_s > 0) {
        // At 100 % but still watched: the guardrails can send it back to `from`.
        st.rollout.percent = 100;
        st.rollout.phase = "baking";
        st.traffic = {{to, 100}};
        st.rollout.next_step_ms = now + policy.bake_s * 1000;
      } else {
        Finish(st, to, from);
        ev.action = "rolled_out";
      }
    }
    ev.actor = kControllerActor;
    ev.reason = "rollout";
    ev.revision = to;
    ev.detail_json = TrafficJson(st);
    return Status::Ok();
  });
  if (!stepped.ok() && stepped.status().code() != StatusCode::kAborted) {
    log::Warn("endpoint '" + name + "': rollout step failed: " + stepped.status().message());
  }
}

void EndpointService::Impl::HandleAliasMoves() {
  {
    std::lock_guard lock(alias_queue->mu);
    while (!alias_queue->models.empty()) {
      alias_pending.insert(alias_queue->models.front());
      alias_queue->models.pop_front();
    }
  }
  if (alias_pending.empty()) return;
  auto all = store.ListEndpoints();
  if (!all.ok()) return;
  std::set<std::string> retry;
  for (const std::string& model : alias_pending) {
    for (const storage::EndpointRecord& rec : *all) {
      if (!rec.settings.follow_aliases || rec.state.latest_revision <= 0) continue;
      auto latest = Revision(rec.name, rec.state.latest_revision);
      if (!latest.ok()) continue;
      bool follows = false;
      for (const auto& r : latest->spec.routes) follows = follows || (r.ref_kind == "alias" && r.model == model);
      if (!follows) continue;
      if (rec.state.rollout.active) {
        retry.insert(model);  // one change at a time: after this rollout
        continue;
      }
      auto lock_ptr = LockFor(rec.name);
      std::unique_lock change(*lock_ptr, std::try_to_lock);
      if (!change.owns_lock()) {
        retry.insert(model);
        continue;
      }
      // Re-resolve only this model's alias routes; everything else stays as it is.
      storage::RevisionSpec spec = latest->spec;
      nlohmann::json moved = nlohmann::json::array();
      bool failed = false;
      for (size_t i = 0; i < spec.routes.size(); ++i) {
        auto& r = spec.routes[i];
        if (r.ref_kind != "alias" || r.model != model) continue;
        const int64_t before = r.version;
        Status s = ResolveRoute(&r, "routes[" + std::to_string(i) + "]");
        if (!s.ok()) {
          log::Warn("endpoint '" + rec.name + "': alias @" + r.ref + " of '" + model + "' cannot be followed: " +
                    s.message());
          failed = true;
          break;
        }
        if (r.version != before) {
          moved.push_back({{"model", model}, {"alias", r.ref}, {"from_version", before}, {"to_version", r.version}});
        }
      }
      if (failed || moved.empty()) continue;
      auto created = NewRevision(kControllerActor, rec.name, spec, "alias_move", moved.dump());
      if (!created.ok()) {
        log::Warn("endpoint '" + rec.name + "': alias move of '" + model + "' not deployed: " +
                  created.status().message());
        if (created.status().code() == StatusCode::kFailedPrecondition ||
            created.status().code() == StatusCode::kAborted) {
          retry.insert(model);
        }
      }
    }
  }
  alias_pending = std::move(retry);
}

void EndpointService::Impl::TickOnce() {
  std::lock_guard tick(tick_mu);
  HandleResyncs();
  HandleAliasMoves();
  std::vector<std::string> active;
  {
    std::lock_guard lock(mu);
    for (const auto& [name, rt] : runtimes) {
      if (rt.rollout_active) active.push_back(name);
    }
  }
  for (const std::string& name : active) TickEndpoint(name);
}

void EndpointService::Impl::Loop() {
  std::unique_lock lock(run_mu);
  while (!stopping) {
    run_cv.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(options.tick_ms, 1)),
                    [this] { return stopping || wake; });
    if (stopping) break;
    wake = false;
    lock.unlock();
    TickOnce();
    lock.lock();
  }
}

}  // namespace kiln::deploy
