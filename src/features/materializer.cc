// Materialization as Feast's local engine does it (pull the latest row per
// entity key in the window, convert by the declared types, write in
// batches, then record the window with ApplyMaterialization), with jobs,
// progress and per-view exclusion added.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "core/ids.h"
#include "core/log.h"
#include "features/column_values.h"
#include "features/entity_key.h"
#include "features/materializer_impl.h"

namespace kiln::features {
namespace {

constexpr int64_t kWeekUs = 7LL * 24 * 3600 * 1000000;
// Feast's join key for a view without entities, with its value "".
constexpr const char* kDummyEntityId = "__dummy_id";

struct ViewPlan {
  ViewSchema schema;
  int64_t start_us = 0;
  int64_t end_us = 0;
  uint64_t max_rows_per_second = 0;
};

struct Plan {
  std::string project;
  std::vector<ViewPlan> views;
  std::vector<std::string> skipped;
};

// Progress of one run; written by the thread doing the work, read by
// GetJob/ListJobs from any thread.
class Tracker {
 public:
  explicit Tracker(MaterializeProgress initial) : p_(std::move(initial)), start_(std::chrono::steady_clock::now()) {}

  MaterializeProgress Snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    return p_;
  }
  void SetTotal(uint64_t total) {
    std::lock_guard<std::mutex> lock(mu_);
    p_.rows_total = total;
  }
  void SetView(const std::string& view) {
    std::lock_guard<std::mutex> lock(mu_);
    p_.view = view;
  }
  MaterializeProgress AddRows(uint64_t rows) {
    std::lock_guard<std::mutex> lock(mu_);
    p_.rows_done += rows;
    // A stale count (the source grew since CountLatest) must not show more
    // done than total.
    p_.rows_total = std::max(p_.rows_total, p_.rows_done);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    p_.rows_per_second = secs > 0 ? static_cast<double>(p_.rows_done) / secs : 0;
    p_.eta_seconds = p_.rows_per_second > 0
                         ? static_cast<double>(p_.rows_total - p_.rows_done) / p_.rows_per_second
                         : 0;
    return p_;
  }
  MaterializeProgress Finish(const Status& status, int64_t now_us) {
    std::lock_guard<std::mutex> lock(mu_);
    p_.state = status.ok() ? "succeeded" : "failed";
    p_.error = status.ok() ? "" : status.message();
    p_.eta_seconds = 0;
    p_.view.clear();
    p_.finished_us = now_us;
    return p_;
  }

 private:
  mutable std::mutex mu_;
  MaterializeProgress p_;  // GUARDED_BY(mu_)
  const std::chrono::steady_clock::time_point start_;
};

struct Job {
  explicit Job(MaterializeProgress p) : tracker(std::move(p)) {}
  Tracker tracker;
  std::thread thread;
  std::atomic<bool> done{false};
};

class MaterializerImpl final : public Materializer {
 public:
  MaterializerImpl(std::unique_ptr<FeatureCatalog> catalog, storage::OfflineEngine& engine,
                   storage::OnlineStore& online, const Clock& clock, MaterializerOptions options)
      : catalog_(std::move(catalog)), engine_(engine), online_(online), clock_(clock), options_(options) {
    if (options_.batch_rows == 0) options_.batch_rows = 1;
  }

  ~MaterializerImpl() override {
    cancel_.store(true);
    std::deque<std::shared_ptr<Job>> jobs;
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs = jobs_;
    }
    for (auto& j : jobs) {
      if (j->thread.joinable()) j->thread.join();
    }
  }

  StatusOr<MaterializeProgress> Run(const MaterializeRequest& request, const ProgressFn& progress) override {
    KILN_ASSIGN_OR_RETURN(Plan plan, MakePlan(request));
    KILN_RETURN_IF_ERROR(Claim(plan, /*job=*/false));
    Tracker tracker(Initial(plan, ""));
    Status s = Execute(plan, request.actor, tracker, progress);
    Release(plan);
    MaterializeProgress final_progress = tracker.Finish(s, NowUs());
    if (progress) progress(final_progress);
    if (!s.ok()) return s;
    return final_progress;
  }

  StatusOr<MaterializeProgress> Start(const MaterializeRequest& request) override {
    KILN_ASSIGN_OR_RETURN(Plan plan, MakePlan(request));
    KILN_RETURN_IF_ERROR(Claim(plan, /*job=*/true));
    auto job = std::make_shared<Job>(Initial(plan, NewHexId()));
    MaterializeProgress first = job->tracker.Snapshot();
    {
      std::lock_guard<std::mutex> lock(mu_);
      PruneLocked();
      jobs_.push_back(job);
      // Started under the lock so the destructor, which copies jobs_ under
      // it, always sees a joinable thread.
      job->thread = std::thread([this, job, plan = std::move(plan), actor = request.actor]() {
        Status s = Execute(plan, actor, job->tracker, nullptr);
        MaterializeProgress p = job->tracker.Finish(s, NowUs());
        if (s.ok()) {
          log::Info("materialization job " + p.job_id + " finished: " + std::to_string(p.rows_done) + " rows");
        } else {
          log::Warn("materialization job " + p.job_id + " failed: " + s.message());
        }
        Release(plan);
        job->done.store(true);
      });
    }
    return first;
  }

  StatusOr<MaterializeProgress> GetJob(const std::string& job_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& j : jobs_) {
      MaterializeProgress p = j->tracker.Snapshot();
      if (p.job_id == job_id) return p;
    }
    return NotFound("materialization job '" + job_id + "' does not exist");
  }

  std::vector<MaterializeProgress> ListJobs() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<MaterializeProgress> out;
    out.reserve(jobs_.size());
    for (const auto& j : jobs_) out.push_back(j->tracker.Snapshot());
    return out;
  }

 private:
  int64_t NowUs() const { return clock_.NowMillis() * 1000; }

  MaterializeProgress Initial(const Plan& plan, std::string job_id) const {
    MaterializeProgress p;
    p.job_id = std::move(job_id);
    p.state = "running";
    p.project = plan.project;
    p.skipped = plan.skipped;
    for (const auto& v : plan.views) {
      p.views.push_back(v.schema.name);
      p.windows.emplace_back(v.start_us, v.end_us);
    }
    p.started_us = NowUs();
    return p;
  }

  StatusOr<Plan> MakePlan(const MaterializeRequest& request) {
    Plan plan;
    KILN_ASSIGN_OR_RETURN(plan.project,
                          catalog_->ResolveProject(request.project, request.views.empty() ? "" : request.views[0]));
    if (!request.incremental && request.start_us > request.end_us) {
      return InvalidArgument("The given start_date is greater than the given end_date.");
    }
    std::vector<ViewSchema> views;
    if (request.views.empty()) {
      KILN_ASSIGN_OR_RETURN(std::vector<ViewSchema> all, catalog_->ListViewSchemas(plan.project));
      for (auto& v : all) {
        // Feast's listing: online batch and stream views; on-demand views
        // would need their Python UDFs, which kiln does not run.
        if (v.kind == ViewKind::kOnDemand) {
          plan.skipped.push_back(v.name + ": on-demand feature view (its Python transformation is not run by kiln)");
        } else if (!v.online) {
          plan.skipped.push_back(v.name + ": not online");
        } else {
          views.push_back(std::move(v));
        }
      }
    } else {
      std::set<std::string> seen;
      for (const auto& name : request.views) {
        if (!seen.insert(name).second) continue;
        KILN_ASSIGN_OR_RETURN(ViewSchema v, catalog_->GetViewSchema(plan.project, name));
        if (v.kind == ViewKind::kOnDemand) {
          return InvalidArgument("On demand feature view " + name +
                                 " cannot be materialized by kiln: it needs its Python transformation run");
        }
        if (!v.online) return InvalidArgument("FeatureView " + name + " is not configured to be served online.");
        views.push_back(std::move(v));
      }
    }
    const int64_t now_us = NowUs();
    for (auto& v : views) {
      if (!v.batch_source) {
        return FailedPrecondition("feature view " + v.name + " cannot be materialized: " +
                                  (v.batch_source_error.empty() ? "it has no batch source" : v.batch_source_error));
      }
      ViewPlan vp;
      vp.start_us = request.incremental ? IncrementalStartUs(v, now_us) : request.start_us;
      vp.end_us = request.end_us;
      vp.max_rows_per_second = request.max_rows_per_second;
      vp.schema = std::move(v);
      plan.views.push_back(std::move(vp));
    }
    return plan;
  }

  static std::string Key(const std::string& project, const std::string& view) { return project + '\x1f' + view; }

  Status Claim(const Plan& plan, bool job) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> busy;
    for (const auto& v : plan.views) {
      if (busy_.count(Key(plan.project, v.schema.name))) busy.push_back(v.schema.name);
    }
    if (!busy.empty()) {
      std::string names;
      for (const auto& b : busy) names += (names.empty() ? "" : ", ") + b;
      return AlreadyExists("feature views already materializing: " + names);
    }
    if (job) {
      size_t running = 0;
      for (const auto& j : jobs_) running += j->done.load() ? 0 : 1;
      if (running >= options_.max_running_jobs) {
        return ResourceExhausted(std::to_string(running) + " materialization jobs are running; try again when one finishes");
      }
    }
    for (const auto& v : plan.views) busy_.insert(Key(plan.project, v.schema.name));
    return Status::Ok();
  }

  void Release(const Plan& plan) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& v : plan.views) busy_.erase(Key(plan.project, v.schema.name));
  }

  // Joins and forgets the oldest finished jobs beyond the limit.
  void PruneLocked() {
    size_t finished = 0;
    for (const auto& j : jobs_) finished += j->done.load() ? 1 : 0;
    for (auto it = jobs_.begin(); it != jobs_.end() && finished > options_.max_finished_jobs;) {
      if ((*it)->done.load()) {
        if ((*it)->thread.joinable()) (*it)->thread.join();
        it = jobs_.erase(it);
        --finished;
      } else {
        ++it;
      }
    }
  }

  static storage::LatestScanRequest ScanRequest(const ViewPlan& vp) {
    storage::LatestScanRequest req;
    req.source = *vp.schema.batch_source;
    for (const auto& e : vp.schema.entities) req.join_keys.push_back(e.join_key);
    for (const auto& f : vp.schema.features) req.features.push_back(f.name);
    req.start_us = vp.start_us;
    // Feast's file offline store includes rows at exactly end_date
    // (between(start, end, inclusive="both")); the engine's end is exclusive.
    req.end_us = vp.end_us == INT64_MAX ? vp.end_us : vp.end_us + 1;
    return req;
  }

  Status Execute(const Plan& plan, const std::string& actor, Tracker& tracker, const ProgressFn& progress) {
    uint64_t total = 0;
    for (const auto& vp : plan.views) {
      if (vp.start_us > vp.end_us) continue;
      StatusOr<uint64_t> n = engine_.CountLatest(ScanRequest(vp));
      if (!n.ok()) return Status(n.status().code(), "feature view " + vp.schema.name + ": " + n.status().message());
      total += *n;
    }
    tracker.SetTotal(total);
    if (progress) progress(tracker.Snapshot());
    for (const auto& vp : plan.views) {
      // An incremental window that is already past its end has nothing to
      // copy and nothing to record.
      if (vp.start_us > vp.end_us) continue;
      tracker.SetView(vp.schema.name);
      Status s = CopyView(plan.project, vp, tracker, progress);
      if (!s.ok()) return Status(s.code(), "feature view " + vp.schema.name + ": " + s.message());
      // Every batch of the window is durable now: only then does the
      // registry say it was materialized.
      KILN_RETURN_IF_ERROR(
          catalog_->RecordMaterialization(plan.project, vp.schema.name, vp.start_us, vp.end_us, actor));
    }
    return Status::Ok();
  }

  Status CopyView(const std::string& project, const ViewPlan& vp, Tracker& tracker, const ProgressFn& progress) {
    const ViewSchema& view = vp.schema;
    const size_t nkeys = view.entities.size();
    const size_t nfeat = view.features.size();
    const storage::OnlineTable table{project, view.name};
    std::optional<std::vector<ValueEncoder>> encoders;
    storage::OnlineWriteBatch batch;
    for (const auto& f : view.features) batch.features.push_back(f.name);
    batch.rows.reserve(options_.batch_rows);
    std::vector<EntityKeyValue> key_values(nkeys == 0 ? 1 : nkeys);
    if (nkeys == 0) {
      key_values[0].join_key = kDummyEntityId;
      key_values[0].type = ValueType::kString;
    }

    // The write of one batch (its fdatasync) overlaps the scan and encoding
    // of the next; at most one write is in flight, so memory stays at two
    // batches.
    std::future<StatusOr<storage::OnlineWriteResult>> in_flight;
    size_t in_flight_rows = 0;
    const auto throttle_start = std::chrono::steady_clock::now();
    uint64_t submitted = 0;
    auto wait_write = [&]() -> Status {
      if (!in_flight.valid()) return Status::Ok();
      StatusOr<storage::OnlineWriteResult> r = in_flight.get();
      if (!r.ok()) return r.status();
      MaterializeProgress p = tracker.AddRows(in_flight_rows);
      if (progress) progress(p);
      return Status::Ok();
    };
    auto flush = [&]() -> Status {
      KILN_RETURN_IF_ERROR(wait_write());
      if (batch.rows.empty()) return Status::Ok();
      auto owned = std::make_shared<storage::OnlineWriteBatch>(std::move(batch));
      batch = storage::OnlineWriteBatch();
      batch.features = owned->features;
      batch.rows.reserve(options_.batch_rows);
      in_flight_rows = owned->rows.size();
      in_flight = std::async(std::launch::async, [this, table, owned]() { return online_.Write(table, *owned); });
      submitted += in_flight_rows;
      if (vp.max_rows_per_second > 0) {
        const auto due = throttle_start + std::chrono::microseconds(static_cast<int64_t>(
                                              static_cast<double>(submitted) * 1e6 /
                                              static_cast<double>(vp.max_rows_per_second)));
        while (!cancel_.load() && std::chrono::steady_clock::now() < due) {
          std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
              due - std::chrono::steady_clock::now(), std::chrono::milliseconds(50)));
        }
      }
      return Status::Ok();
    };

    auto on_chunk = [&](const storage::Chunk& chunk) -> Status {
      if (cancel_.load()) return Status(StatusCode::kAborted, "materialization stopped (server shutting down)");
      if (chunk.columns.size() != nkeys + nfeat + 2) {
        return Internal("offline engine returned " + std::to_string(chunk.columns.size()) + " columns, expected " +
                        std::to_string(nkeys + nfeat + 2));
      }
      if (!encoders) {
        for (size_t k = 0; k < nkeys; ++k) {
          KILN_RETURN_IF_ERROR(CheckEntityColumn(chunk.columns[k].type, view.entities[k]));
        }
        std::vector<ValueEncoder> made;
        made.reserve(nfeat);
        for (size_t f = 0; f < nfeat; ++f) {
          KILN_ASSIGN_OR_RETURN(ValueEncoder e, ValueEncoder::Create(chunk.columns[nkeys + f],
                                                                     view.features[f].type, view.features[f].name));
          made.push_back(std::move(e));
        }
        encoders = std::move(made);
      }
      const storage::Column& event_ts = chunk.columns[nkeys + nfeat];
      const storage::Column& created_ts = chunk.columns[nkeys + nfeat + 1];
      for (size_t r = 0; r < chunk.rows; ++r) {
        storage::OnlineWriteBatch::Row row;
        for (size_t k = 0; k < nkeys; ++k) {
          KILN_RETURN_IF_ERROR(EntityValueFromColumn(chunk.columns[k], r, view.entities[k], &key_values[k]));
        }
        KILN_ASSIGN_OR_RETURN(row.entity_key, SerializeEntityKey(key_values));
        if (!event_ts.valid[r]) {
          return InvalidArgument("a row has a null event timestamp (" + view.batch_source->timestamp_field + ")");
        }
        row.event_ts_us = event_ts.i64[r];
        row.created_ts_us = created_ts.valid[r] ? created_ts.i64[r] : 0;
        row.values.resize(nfeat);
        for (size_t f = 0; f < nfeat; ++f) {
          KILN_RETURN_IF_ERROR((*encoders)[f].Encode(chunk.columns[nkeys + f], r, &row.values[f]));
        }
        batch.rows.push_back(std::move(row));
        if (batch.rows.size() >= options_.batch_rows) KILN_RETURN_IF_ERROR(flush());
      }
      return Status::Ok();
    };
    Status scanned = engine_.ScanLatest(ScanRequest(vp), on_chunk);
    if (!scanned.ok()) {
      (void)wait_write();  // never leave a write running past this frame
      return scanned;
    }
    KILN_RETURN_IF_ERROR(flush());
    return wait_write();
  }

  std::unique_ptr<FeatureCatalog> catalog_;
  storage::OfflineEngine& engine_;
  storage::OnlineStore& online_;
  const Clock& clock_;
  MaterializerOptions options_;
  std::atomic<bool> cancel_{false};

  std::mutex mu_;
  std::set<std::string> busy_;               // GUARDED_BY(mu_): project\x1fview being copied
  std::deque<std::shared_ptr<Job>> jobs_;    // GUARDED_BY(mu_): oldest first
};

}  // namespace

int64_t IncrementalStartUs(const ViewSchema& view, int64_t now_us) {
  if (!view.materialization_intervals.empty()) {
    int64_t latest = view.materialization_intervals.front().second;
    for (const auto& [start, end] : view.materialization_intervals) latest = std::max(latest, end);
    return latest;
  }
  return view.ttl_us > 0 ? now_us - view.ttl_us : now_us - 52 * kWeekUs;
}

std::unique_ptr<Materializer> NewMaterializer(std::unique_ptr<FeatureCatalog> catalog, storage::OfflineEngine& engine,
                                              storage::OnlineStore& online, const Clock& clock,
                                              MaterializerOptions options) {
  return std::make_unique<MaterializerImpl>(std::move(catalog), engine, online, clock, options);
}

}  // namespace kiln::features
