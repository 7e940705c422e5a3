// EndpointService's public operations: endpoint CRUD, updates that roll out
// a new revision, rollback and promote, and the runbook's deploy/rollback
// of a registered version to a stage. Every stored change goes through
// Impl::Apply (conditional on config_version, retried on Aborted) and is
// followed by a new snapshot in the RouteTable.
#include "deploy/endpoint_service.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "deploy/endpoint_service_internal.h"

namespace kiln::deploy {
namespace {

constexpr int kMaxAttempts = 8;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Status RolloutBusy(const storage::EndpointRecord& rec) {
  const auto& ro = rec.state.rollout;
  return FailedPrecondition("endpoint '" + rec.name + "' has a rollout in progress (revision " +
                            std::to_string(ro.to_revision) + " at " + std::to_string(ro.percent) +
                            " %, " + ro.phase + "); wait for it to finish, or :promote or :rollback it first");
}

// `extra` (a JSON object's text, may be empty) merged into the traffic detail.
std::string Detail(const storage::EndpointState& st, const std::string& extra) {
  nlohmann::json d = nlohmann::json::parse(TrafficJson(st));
  if (!extra.empty()) {
    nlohmann::json e = nlohmann::json::parse(extra, nullptr, /*allow_exceptions=*/false);
    if (e.is_object()) {
      for (auto& [k, v] : e.items()) d[k] = v;
    } else if (!e.is_discarded()) {
      d["cause"] = e;
    }
  }
  return d.dump();
}

}  // namespace

std::string TrafficJson(const storage::EndpointState& st) {
  nlohmann::json traffic = nlohmann::json::array();
  for (const auto& t : st.traffic) traffic.push_back({{"revision", t.revision}, {"percent", t.percent}});
  nlohmann::json d = {{"traffic", traffic}};
  if (st.rollout.active) {
    d["rollout"] = {{"from_revision", st.rollout.from_revision}, {"to_revision", st.rollout.to_revision},
                    {"percent", st.rollout.percent}, {"phase", st.rollout.phase}};
  }
  return d.dump();
}

std::shared_ptr<std::mutex> EndpointService::Impl::LockFor(const std::string& name) {
  std::lock_guard lock(locks_mu);
  auto& slot = locks[name];
  if (!slot) slot = std::make_shared<std::mutex>();
  return slot;
}

StatusOr<storage::EndpointRecord> EndpointService::Impl::Apply(const std::string& name, const Change& change) {
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    KILN_ASSIGN_OR_RETURN(storage::EndpointRecord rec, store.GetEndpoint(name));
    const int64_t expected = rec.state.config_version;
    std::optional<storage::EndpointRevision> revision;
    storage::EndpointEvent ev;
    ev.endpoint = name;
    ev.timestamp_ms = clock.NowMillis();
    KILN_RETURN_IF_ERROR(change(rec, revision, ev));
    rec.updated_ms = ev.timestamp_ms;
    auto stored = store.UpdateEndpoint(rec, expected, revision, ev);
    if (!stored.ok() && stored.status().code() == StatusCode::kAborted) continue;  // someone else changed it: re-read
    if (!stored.ok()) return stored.status();
    if (revision) {
      std::lock_guard lock(mu);
      runtimes[name].revisions[revision->number] = *revision;
    }
    Publish(*stored);
    SweepUnused();
    return stored;
  }
  return Status(StatusCode::kAborted, "endpoint '" + name + "' kept changing concurrently; try again");
}

StatusOr<EndpointView> EndpointService::Impl::View(const storage::EndpointRecord& record) {
  EndpointView v;
  v.record = record;
  KILN_ASSIGN_OR_RETURN(v.revisions, store.ListRevisions(record.name));
  {
    std::lock_guard lock(mu);
    auto& rt = runtimes[record.name];
    for (const auto& r : v.revisions) rt.revisions.emplace(r.number, r);
  }
  v.routes = RouteStatuses(record);
  std::shared_ptr<DriftMonitor> drift;
  {
    std::lock_guard lock(mu);
    auto it = runtimes.find(record.name);
    if (it != runtimes.end()) {
      drift = it->second.drift;
      v.drift_error = it->second.drift_error;
    }
  }
  if (drift) v.drift = drift->Compute();
  return v;
}

StatusOr<storage::EndpointRecord> EndpointService::Impl::NewRevision(const std::string& actor,
                                                                     const std::string& name,
                                                                     storage::RevisionSpec spec,
                                                                     const std::string& reason,
                                                                     const std::string& cause) {
  KILN_ASSIGN_OR_RETURN(storage::EndpointRecord current, store.GetEndpoint(name));
  if (current.state.rollout.active) return RolloutBusy(current);
  KILN_RETURN_IF_ERROR(ResolveSpec(&spec));
  // Loaded before anything is stored: no snapshot ever routes to a model
  // that is not ready. The pin keeps them until the snapshot holds them.
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<void> pin, LoadSpec(spec));
  auto stored = Apply(name, [&](storage::EndpointRecord& rec, std::optional<storage::EndpointRevision>& revision,
                                storage::EndpointEvent& ev) -> Status {
    if (rec.state.rollout.active) return RolloutBusy(rec);
    const int64_t now = ev.timestamp_ms;
    storage::EndpointRevision rev;
    rev.number = rec.state.latest_revision + 1;
    rev.spec = spec;
    rev.created_ms = now;
    rev.created_by = actor;
    rev.reason = reason == "manual" ? "update" : reason;
    BeginRollout(rec.state, rev.number, spec.rollout, now);
    ev.actor = actor;
    ev.action = "update";
    ev.reason = reason;
    ev.revision = rev.number;
    nlohmann::json extra = {{"strategy", spec.rollout.strategy}};
    if (!cause.empty()) {
      nlohmann::json c = nlohmann::json::parse(cause, nullptr, /*allow_exceptions=*/false);
      if (!c.is_discarded()) extra["cause"] = c;
    }
    ev.detail_json = Detail(rec.state, extra.dump());
    revision = std::move(rev);
    return Status::Ok();
  });
  pin.reset();
  if (!stored.ok()) SweepUnused();  // what was loaded for nothing
  return stored;
}

StatusOr<storage::EndpointRecord> EndpointService::Impl::RollbackLocked(const std::string& actor,
                                                                        const std::string& name,
                                                                        const std::string& reason,
                                                                        const std::string& detail_json) {
  return Apply(name, [&](storage::EndpointRecord& rec, std::optional<storage::EndpointRevision>&,
                         storage::EndpointEvent& ev) -> Status {
    storage::EndpointState& st = rec.state;
    nlohmann::json extra = nlohmann::json::object();
    int64_t target = 0;
    if (st.rollout.active) {
      // Back to what had all the traffic when the rollout began; that
      // revision stays the rolled-out one.
      target = st.rollout.from_revision;
      extra["abandoned_revision"] = st.rollout.to_revision;
      st.traffic = {{target, 100}};
      st.rollout = storage::RolloutState{};
    } else {
      if (st.previous_rolled_out_revision <= 0 || st.previous_rolled_out_revision == st.rolled_out_revision) {
        return FailedPrecondition("endpoint '" + name + "' has no previous revision to roll back to");
      }
      target = st.previous_rolled_out_revision;
      extra["abandoned_revision"] = st.rolled_out_revision;
      st.previous_rolled_out_revision = st.rolled_out_revision;
      st.rolled_out_revision = target;
      st.traffic = {{target, 100}};
    }
    if (!detail_json.empty()) {
      nlohmann::json d = nlohmann::json::parse(detail_json, nullptr, /*allow_exceptions=*/false);
      if (d.is_object()) {
        for (auto& [k, v] : d.items()) extra[k] = v;
      }
    }
    ev.actor = actor;
    ev.action = "rollback";
    ev.reason = reason;
    ev.revision = target;
    ev.detail_json = Detail(st, extra.dump());
    return Status::Ok();
  });
}

// --- public API ---

EndpointService::EndpointService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EndpointService::~EndpointService() {
  Stop();
  std::lock_guard lock(impl_->alias_queue->mu);
  impl_->alias_queue->alive = false;
}

StatusOr<std::unique_ptr<EndpointService>> EndpointService::Create(
    storage::EndpointStore& store, registry::RegistryService& registry, registry::EventRecorder& registry_events,
    tracking::TrackingService& tracking, serving::ModelRepository& models, RouteTable& routes,
    features::FeatureRegistry* feature_registry, MetricsRegistry& metrics, const Clock& clock,
    EndpointServiceOptions options) {
  if (options.tick_ms < 1) return InvalidArgument("the rollout controller's tick must be at least 1 ms");
  if (options.capture_max_bytes < 1024) return InvalidArgument("the capture store needs at least 1024 bytes");
  auto impl = std::make_unique<Impl>(store, registry, registry_events, tracking, models, routes, feature_registry,
                                     metrics, clock, std::move(options));
  std::shared_ptr<AliasQueue> queue = impl->alias_queue;
  // Only queues: the callback runs on the registry's thread inside its
  // Publish and must not call back into the registry.
  registry_events.Subscribe([queue](const storage::RegistryEvent& e) {
    if (e.action != "set_registered_model_alias") return;
    std::lock_guard lock(queue->mu);
    if (!queue->alive) return;
    queue->models.push_back(e.name);
    if (queue->wake) queue->wake();
  });
  return std::unique_ptr<EndpointService>(new EndpointService(std::move(impl)));
}

Status EndpointService::Start() {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.run_mu);
    if (m.started) return FailedPrecondition("the endpoint service is already started");
  }
  KILN_ASSIGN_OR_RETURN(std::vector<storage::EndpointRecord> all, m.store.ListEndpoints());
  for (const auto& rec : all) {
    auto lock_ptr = m.LockFor(rec.name);
    std::lock_guard change(*lock_ptr);
    m.Publish(rec);  // loads what it serves; a failed model leaves its route out, logged
    size_t ready = 0;
    if (auto live = m.routes.Find(rec.name)) ready = live->routes.size();
    if (ready == 0) log::Warn("endpoint '" + rec.name + "' has no route ready: its predictions are unavailable");
  }
  {
    std::lock_guard lock(m.run_mu);
    m.started = true;
    m.stopping = false;
  }
  {
    std::lock_guard lock(m.alias_queue->mu);
    m.alias_queue->wake = [&m] {
      std::lock_guard l(m.run_mu);
      m.wake = true;
      m.run_cv.notify_all();
    };
  }
  m.thread = std::thread([&m] { m.Loop(); });
  return Status::Ok();
}

void EndpointService::Stop() {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.alias_queue->mu);
    m.alias_queue->wake = nullptr;
  }
  {
    std::lock_guard lock(m.run_mu);
    if (!m.started) return;
    m.stopping = true;
    m.started = false;
    m.run_cv.notify_all();
  }
  if (m.thread.joinable()) m.thread.join();
}

StatusOr<EndpointView> EndpointService::CreateEndpoint(const std::string& actor, const EndpointCreate& request) {
  Impl& m = *impl_;
  KILN_RETURN_IF_ERROR(ValidateEndpointName(request.name));
  KILN_RETURN_IF_ERROR(ValidateSettings(request.settings));
  auto lock_ptr = m.LockFor(request.name);
  std::lock_guard change(*lock_ptr);
  if (m.store.GetEndpoint(request.name).ok()) {
    return AlreadyExists("endpoint '" + request.name + "' already exists");
  }
  storage::RevisionSpec spec = request.spec;
  KILN_RETURN_IF_ERROR(m.ResolveSpec(&spec));
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<void> pin, m.LoadSpec(spec));
  auto stored = m.CreateStored(actor, request.name, request.settings, spec, "manual", "");
  pin.reset();
  m.SweepUnused();
  if (!stored.ok()) return stored.status();
  return m.View(*stored);
}

StatusOr<storage::EndpointRecord> EndpointService::Impl::CreateStored(const std::string& actor,
                                                                      const std::string& name,
                                                                      const storage::EndpointSettings& settings,
                                                                      const storage::RevisionSpec& spec,
                                                                      const std::string& reason,
                                                                      const std::string& detail_json) {
  const int64_t now = clock.NowMillis();
  storage::EndpointRecord rec;
  rec.name = name;
  rec.created_ms = now;
  rec.updated_ms = now;
  rec.created_by = actor;
  rec.settings = settings;
  BeginRollout(rec.state, 1, spec.rollout, now);
  storage::EndpointRevision first;
  first.number = 1;
  first.spec = spec;
  first.created_ms = now;
  first.created_by = actor;
  first.reason = reason == "manual" ? "create" : reason;
  storage::EndpointEvent ev;
  ev.endpoint = name;
  ev.timestamp_ms = now;
  ev.actor = actor;
  ev.action = "create";
  ev.reason = reason;
  ev.revision = 1;
  ev.detail_json = Detail(rec.state, detail_json);
  KILN_ASSIGN_OR_RETURN(storage::EndpointRecord stored, store.CreateEndpoint(rec, first, ev));
  {
    std::lock_guard lock(mu);
    auto& rt = runtimes[name];
    rt = Runtime{};  // nothing of an earlier endpoint of that name carries over
    rt.revisions[1] = first;
  }
  Publish(stored);
  return stored;
}

StatusOr<EndpointView> EndpointService::GetEndpoint(const std::string& name) {
  KILN_ASSIGN_OR_RETURN(storage::EndpointRecord rec, impl_->store.GetEndpoint(name));
  return impl_->View(rec);
}

StatusOr<std::vector<EndpointView>> EndpointService::ListEndpoints() {
  KILN_ASSIGN_OR_RETURN(std::vector<storage::EndpointRecord> all, impl_->store.ListEndpoints());
  std::vector<EndpointView> out;
  for (const auto& rec : all) {
    auto v = impl_->View(rec);
    if (v.ok()) out.push_back(std::move(*v));  // deleted meanwhile: skip
  }
  return out;
}

StatusOr<EndpointView> EndpointService::UpdateEndpoint(const std::string& actor, const std::string& name,
                                                       const storage::RevisionSpec& spec, const std::string& reason) {
  Impl& m = *impl_;
  auto lock_ptr = m.LockFor(name);
  std::lock_guard change(*lock_ptr);
  KILN_ASSIGN_OR_RETURN(storage::EndpointRecord rec, m.NewRevision(actor, name, spec, reason, ""));
  return m.View(rec);
}

StatusOr<EndpointView> EndpointService::UpdateSettings(const std::string& actor, const std::string& name,
                                                       const storage::EndpointSettings& settings) {
  Impl& m = *impl_;
  KILN_RETURN_IF_ERROR(ValidateSettings(settings));
  auto lock_ptr = m.LockFor(name);
  std::lock_guard change(*lock_ptr);
  KILN_ASSIGN_OR_RETURN(storage::EndpointRecord rec,
                        m.Apply(name, [&](storage::EndpointRecord& r, std::optional<storage::EndpointRevision>&,
                                          storage::EndpointEvent& ev) -> Status {
                          nlohmann::json d = {{"description", settings.description},
                                              {"follow_aliases", settings.follow_aliases},
                                              {"capture_percent", settings.capture_percent},
                                              {"drift_baseline", settings.drift_baseline},
                                              {"drift_threshold", settings.drift_threshold}};
                          r.settings = settings;
                          ev.actor = actor;
                          ev.action = "settings";
                          ev.reason = "manual";
                          ev.revision = r.state.latest_revision;
                          ev.detail_json = d.dump();
                          return Status::Ok();
                        }));
  return m.View(rec);
}

Status EndpointService::DeleteEndpoint(const std::string& actor, const std::string& name) {
  Impl& m = *impl_;
  auto lock_ptr = m.LockFor(name);
  std::lock_guard change(*lock_ptr);
  storage::EndpointEvent ev;
  ev.endpoint = name;
  ev.timestamp_ms = m.clock.NowMillis();
  ev.actor = actor;
  ev.action = "delete";
  ev.reason = "manual";
  if (auto rec = m.store.GetEndpoint(name); rec.ok()) {
    ev.revision = rec->state.rolled_out_revision;
    ev.detail_json = TrafficJson(rec->state);
  }
  KILN_RETURN_IF_ERROR(m.store.DeleteEndpoint(name, ev));
  m.Unpublish(name);
  return Status::Ok();
}

StatusOr<EndpointView> EndpointService::Rollback(const std::string& actor, const std::string& name,
                                                 const std::string& reason) {
  Impl& m = *impl_;
  auto lock_ptr = m.LockFor(name);
  std::lock_guard change(*lock_ptr);
  KILN_ASSIGN_OR_RETURN(storage::EndpointRecord rec, m.RollbackLocked(actor, name, reason, ""));
  return m.View(rec);
}

StatusOr<EndpointView> EndpointService::Promote(const std::string& actor, const std::string& name,
                                                const std::string& reason) {
  Impl& m = *impl_;
  auto lock_ptr = m.LockFor(name);
  std::lock_guard change(*lock_ptr);
  KILN_ASSIGN_OR_RETURN(storage::EndpointRecord rec,
                        m.Apply(name, [&](storage::EndpointRecord& r, std::optional<storage::EndpointRevision>&,
                                          storage::EndpointEvent& ev) -> Status {
                          storage::EndpointState& st = r.state;
                          if (!st.rollout.active) {
                            return FailedPrecondition("endpoint '" + name + "' has no rollout in progress to promote");
                          }
                          const int64_t to = st.rollout.to_revision, from = st.rollout.from_revision;
                          if (from > 0 && from != to) st.previous_rolled_out_revision = from;
                          st.rolled_out_revision = to;
                          st.traffic = {{to, 100}};
                          st.rollout = storage::RolloutState{};
                          ev.actor = actor;
                          ev.action = "promote";
                          ev.reason = reason;
                          ev.revision = to;
                          ev.detail_json = TrafficJson(st);
                          return Status::Ok();
                        }));
  return m.View(rec);
}

StatusOr<std::vector<storage::EndpointEvent>> EndpointService::ListEvents(const std::string& name, int64_t after_id,
                                                                          int64_t max_results) {
  if (max_results <= 0) max_results = 100;
  if (max_results > 10000) return InvalidArgument("max_results must be at most 10000");
  if (after_id < 0) return InvalidArgument("after_id must not be negative");
  KILN_ASSIGN_OR_RETURN(auto events, impl_->store.ListEvents(name, after_id, max_results));
  if (events.empty() && after_id == 0 && !impl_->store.GetEndpoint(name).ok()) {
    return NotFound("endpoint '" + name + "' does not exist and has no events");
  }
  return events;
}

StatusOr<DeployOutcome> EndpointService::DeployModel(const std::string& actor, const std::string& model,
                                                     const std::string& version, const std::string& stage) {
  Impl& m = *impl_;
  if (model.empty()) return InvalidArgument("'model_name' is required");
  if (version.empty()) return InvalidArgument("'model_version' is required");
  KILN_ASSIGN_OR_RETURN(std::string stage_name, NormalizeDeployStage(stage));
  DeployOutcome out;
  out.endpoint = model + "-" + Lower(stage_name);
  out.model = model;
  out.stage = stage_name;
  if (Status s = ValidateEndpointName(out.endpoint); !s.ok()) {
    return InvalidArgument("model '" + model + "' cannot name its stage endpoint: " + s.message());
  }
  auto lock_ptr = m.LockFor(out.endpoint);
  std::lock_guard change(*lock_ptr);
  auto existing = m.store.GetEndpoint(out.endpoint);
  if (!existing.ok() && existing.status().code() != StatusCode::kNotFound) return existing.status();
  if (existing.ok() && existing->state.rollout.active) return RolloutBusy(*existing);

  storage::RevisionSpec spec;
  if (existing.ok()) {
    // The stage endpoint keeps its settings (batching, rollout policy,
    // features, mirror) and gets this version as its single route.
    KILN_ASSIGN_OR_RETURN(storage::EndpointRevision latest,
                          m.Revision(out.endpoint, existing->state.latest_revision));
    spec = latest.spec;
  }
  storage::EndpointRoute route;
  route.model = model;
  route.ref_kind = "version";
  route.ref = version;
  route.percent = 100;
  spec.routes = {route};
  if (Status s = m.ResolveSpec(&spec); !s.ok()) {
    // The caller named no routes: the registry's or the package reader's words alone.
    std::string msg = s.message();
    if (msg.rfind("routes[0]: ", 0) == 0) msg.erase(0, 11);
    return Status(s.code(), msg);
  }
  out.version = spec.routes.front().version;
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<void> pin, m.LoadSpec(spec));
  // However this ends, what was loaded for nothing is unloaded (the pin is
  // released first: members go in reverse order).
  struct SweepAtExit {
    Impl& m;
    ~SweepAtExit() { m.SweepUnused(); }
  } sweep{m};
  std::shared_ptr<void> held = std::move(pin);

  KILN_RETURN_IF_ERROR(
      m.registry.TransitionStage(actor, model, std::to_string(out.version), stage_name, /*archive_existing=*/true)
          .status());

  if (existing.ok()) {
    // Already serving exactly this: nothing to roll out.
    auto latest = m.Revision(out.endpoint, existing->state.latest_revision);
    if (latest.ok() && existing->state.rolled_out_revision == latest->number && latest->spec.routes.size() == 1 &&
        latest->spec.routes[0].model == model && latest->spec.routes[0].version == out.version) {
      out.revision = latest->number;
      return out;
    }
    KILN_ASSIGN_OR_RETURN(storage::EndpointRecord rec, m.NewRevision(actor, out.endpoint, spec, "deploy", ""));
    out.revision = rec.state.latest_revision;
    return out;
  }
  KILN_RETURN_IF_ERROR(m.CreateStored(actor, out.endpoint, storage::EndpointSettings{}, spec, "deploy",
                                      nlohmann::json{{"model", model}, {"version", out.version}, {"stage", stage_name}}
                                          .dump())
                           .status());
  out.revision = 1;
  out.created = true;
  return out;
}

StatusOr<DeployOutcome> EndpointService::RollbackModel(const std::string& actor, const std::string& model,
                                                       const std::string& stage) {
  Impl& m = *impl_;
  if (model.empty()) return InvalidArgument("'model_name' is required");
  KILN_ASSIGN_OR_RETURN(std::string stage_name, NormalizeDeployStage(stage));
  DeployOutcome out;
  out.endpoint = model + "-" + Lower(stage_name);
  out.model = model;
  out.stage = stage_name;
  auto lock_ptr = m.LockFor(out.endpoint);
  std::lock_guard change(*lock_ptr);
  auto existing = m.store.GetEndpoint(out.endpoint);
  if (!existing.ok()) {
    if (existing.status().code() != StatusCode::kNotFound) return existing.status();
    return NotFound("model '" + model + "' has no " + stage_name + " endpoint ('" + out.endpoint +
                    "'): it was never deployed to " + stage_name);
  }
  KILN_ASSIGN_OR_RETURN(storage::EndpointRecord rec, m.RollbackLocked(actor, out.endpoint, "manual", ""));
  out.revision = rec.state.rolled_out_revision;
  KILN_ASSIGN_OR_RETURN(storage::EndpointRevision rev, m.Revision(out.endpoint, out.revision));
  for (const auto& r : rev.spec.routes) {
    if (r.model != model) continue;
    out.version = r.version;
    break;
  }
  if (out.version == 0 && !rev.spec.routes.empty()) out.version = rev.spec.routes.front().version;
  // The stage follows the traffic: the version now served is the stage's again.
  if (!rev.spec.routes.empty()) {
    const std::string& m_name = rev.spec.routes.front().model == model ? model : rev.spec.routes.front().model;
    Status s = m.registry
                   .TransitionStage(actor, m_name, std::to_string(out.version), stage_name, /*archive_existing=*/true)
                   .status();
    if (!s.ok()) {
      return Status(s.code(), "endpoint '" + out.endpoint + "' is back at revision " + std::to_string(out.revision) +
                                  ", but the registry stage was not moved: " + s.message());
    }
  }
  return out;
}

std::shared_ptr<CaptureStore> EndpointService::Capture(const std::string& name) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->runtimes.find(name);
  return it == impl_->runtimes.end() ? nullptr : it->second.capture;
}

void EndpointService::Tick() { impl_->TickOnce(); }

}  // namespace kiln::deploy
