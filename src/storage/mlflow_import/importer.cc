#include "storage/mlflow_import/importer.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iterator>
#include <type_traits>
#include <map>
#include <set>

#include "storage/mlflow_import/canonical.h"
#include "storage/mlflow_import/kiln_writer.h"

namespace kiln::storage::mlflow_import {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kProgressDdl =
    "CREATE TABLE IF NOT EXISTS mlflow_import_progress (phase TEXT PRIMARY KEY, value TEXT NOT NULL)";
constexpr const char* kDigestDdl =
    "CREATE TABLE IF NOT EXISTS mlflow_import_digests (tbl TEXT PRIMARY KEY, row_count BIGINT NOT NULL, "
    "digest TEXT NOT NULL)";
constexpr const char* kDeletedInternal = "Deleted_Internal";  // MLflow's soft-deleted version rows

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

// The persisted state of an import into one target.
struct Progress {
  std::map<std::string, std::string> phases;
  Digests digests;
  bool Has(const std::string& p) const { return phases.count(p) > 0; }
  std::string Get(const std::string& p) const {
    auto it = phases.find(p);
    return it == phases.end() ? std::string() : it->second;
  }
};

Status LoadProgress(sql::Conn& c, Progress& p) {
  p = Progress();
  KILN_RETURN_IF_ERROR(c.Exec(kProgressDdl));
  KILN_RETURN_IF_ERROR(c.Exec(kDigestDdl));
  {
    KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare("SELECT phase, value FROM mlflow_import_progress"));
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      p.phases[st.Text(0)] = st.Text(1);
    }
  }
  KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare("SELECT tbl, row_count, digest FROM mlflow_import_digests"));
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    TableDigest& d = p.digests[st.Text(0)];
    d.rows = st.Int(1);
    d.sum = std::stoull(st.Text(2));
  }
  return Status::Ok();
}

// Persists the phase marker and the digests a chunk reached, inside the
// chunk's own transaction.
Status SaveProgress(sql::Conn& c, const std::string& phase, const std::string& value, const Digests& digests) {
  KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare("INSERT INTO mlflow_import_progress(phase, value) VALUES (?, ?) "
                                                "ON CONFLICT (phase) DO UPDATE SET value = excluded.value"));
  st.Args(phase, value);
  KILN_RETURN_IF_ERROR(st.Run());
  KILN_ASSIGN_OR_RETURN(sql::Stmt d, c.Prepare("INSERT INTO mlflow_import_digests(tbl, row_count, digest) "
                                               "VALUES (?, ?, ?) ON CONFLICT (tbl) DO UPDATE SET "
                                               "row_count = excluded.row_count, digest = excluded.digest"));
  for (const auto& [table, digest] : digests) {
    d.Args(table, digest.rows, std::to_string(digest.sum));
    KILN_RETURN_IF_ERROR(d.Run());
  }
  return Status::Ok();
}

class Run {
 public:
  Run(MlflowSource& source, const std::vector<UserRec>* users, sql::Database& target, const ImportOptions& o)
      : source_(source), users_(users), target_(&target), o_(o) {}
  Run(MlflowSource& source, const std::vector<UserRec>* users, const ImportOptions& o)
      : source_(source), users_(users), target_(nullptr), o_(o) {}

  StatusOr<ImportReport> Go() {
    const auto start = Clock::now();
    report_.source = source_.Describe();
    report_.dry_run = o_.dry_run;
    KILN_RETURN_IF_ERROR(Begin());
    bool stopped = false;
    KILN_RETURN_IF_ERROR(Experiments(stopped));
    if (!stopped) KILN_RETURN_IF_ERROR(Runs(stopped));
    if (!stopped) KILN_RETURN_IF_ERROR(LoggedModels(stopped));
    if (!stopped) KILN_RETURN_IF_ERROR(Registry(stopped));
    if (!stopped) KILN_RETURN_IF_ERROR(Users(stopped));
    report_.complete = !stopped;
    if (report_.complete && !o_.dry_run && !progress_.Has("complete")) {
      KILN_RETURN_IF_ERROR(Commit("complete", "1", digests_, [](sql::Conn&) { return Status::Ok(); }));
    }
    report_.import_seconds = Seconds(start);
    {
      char buf[200];
      std::snprintf(buf, sizeof buf,
                    "time in runs and logged models: reading the source %.2f s, converting and digesting %.2f s, "
                    "writing %.2f s",
                    read_seconds_, prepare_seconds_, write_seconds_);
      report_.notes.push_back(buf);
    }
    if (dropped_points_ > 0) {
      report_.notes.push_back(std::to_string(dropped_points_) +
                              " repeated metric points (same key, step, timestamp and value in one run) were "
                              "stored once, as kiln stores them");
    }
    Digests target;
    const bool verify = o_.verify && !o_.dry_run && report_.complete;
    if (verify) {
      const auto vstart = Clock::now();
      std::set<std::string> names;
      if (users_) {
        for (const auto& u : *users_) {
          if (!skipped_users_.count(u.name)) names.insert(u.name);
        }
      }
      KILN_RETURN_IF_ERROR(target_->Read([&](sql::Conn& c) {
        target.clear();
        return DigestTarget(c, names, target);
      }));
      report_.verify_seconds = Seconds(vstart);
    }
    for (const auto& t : ReportTables()) {
      TableReport tr;
      tr.table = t;
      tr.source_rows = digests_[t].rows;
      tr.source_digest = digests_[t].Hex();
      if (verify) {
        tr.target_rows = target[t].rows;
        tr.target_digest = target[t].Hex();
      }
      report_.tables.push_back(tr);
    }
    return report_;
  }

 private:
  Status Begin() {
    if (o_.dry_run && !target_) return Status::Ok();
    if (o_.dry_run) {
      // Say now whether the real import would be refused.
      Status s = target_->Read([&](sql::Conn& c) -> Status {
        KILN_ASSIGN_OR_RETURN(bool has, HasProgressTable(c));
        if (has) return FailedPrecondition("this kiln database already holds an MLflow import (see --resume)");
        return CheckTargetEmpty(c);
      });
      if (!s.ok()) report_.notes.push_back("the import itself would be refused: " + s.message());
      return Status::Ok();
    }
    KILN_RETURN_IF_ERROR(target_->Write([&](sql::Conn& c) { return LoadProgress(c, progress_); }));
    if (!progress_.Has("source")) {
      KILN_RETURN_IF_ERROR(target_->Read([](sql::Conn& c) { return CheckTargetEmpty(c); }));
      return Status::Ok();
    }
    if (!o_.resume) {
      return FailedPrecondition(progress_.Has("complete")
                                    ? "this kiln database already holds a finished MLflow import"
                                    : "an MLflow import into this kiln database is unfinished; run the same "
                                      "command with --resume to continue it");
    }
    if (progress_.Get("source") != o_.source_name) {
      return FailedPrecondition("the unfinished import read from '" + progress_.Get("source") +
                                "', not from '" + o_.source_name + "'");
    }
    digests_ = progress_.digests;
    return Status::Ok();
  }

  static StatusOr<bool> HasProgressTable(sql::Conn& c) {
    const std::string q = c.dialect() == sql::Dialect::kSqlite
                              ? "SELECT count(*) FROM sqlite_master WHERE name = 'mlflow_import_progress'"
                              : "SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                                "current_schema() AND table_name = 'mlflow_import_progress'";
    KILN_ASSIGN_OR_RETURN(int64_t n, c.QueryInt(q));
    if (n == 0) return false;
    KILN_ASSIGN_OR_RETURN(int64_t rows, c.QueryInt("SELECT count(*) FROM mlflow_import_progress"));
    return rows > 0;
  }

  // One chunk: its rows, the marker and the digests in one transaction;
  // `digests` becomes the committed state only when the commit succeeded.
  Status Commit(const std::string& phase, const std::string& value, const Digests& digests,
                const std::function<Status(sql::Conn&)>& write) {
    if (!o_.dry_run) {
      KILN_RETURN_IF_ERROR(target_->Write([&](sql::Conn& c) -> Status {
        KILN_RETURN_IF_ERROR(write(c));
        return SaveProgress(c, phase, value, digests);
      }));
    }
    digests_ = digests;
    ++report_.chunks;
    if (o_.progress) o_.progress(phase + ": " + value);
    return Status::Ok();
  }

  bool ChunkLimitReached() const { return o_.max_chunks > 0 && report_.chunks >= o_.max_chunks; }

  std::string Map(const std::string& uri) const { return MapArtifactUri(o_.artifact_root_map, uri); }

  Status Experiments(bool& stopped) {
    if (progress_.Has("experiments")) return Status::Ok();
    KILN_ASSIGN_OR_RETURN(std::vector<ExperimentRec> exps, source_.Experiments());
    KILN_ASSIGN_OR_RETURN(std::vector<DatasetRec> datasets, source_.Datasets());
    Digests d = digests_;
    for (auto& e : exps) {
      e.artifact_location = Map(e.artifact_location);
      DigestExperiment(e, d);
    }
    for (const auto& ds : datasets) DigestDataset(ds, d);
    report_.notes.push_back(std::to_string(exps.size()) + " experiments, " + std::to_string(datasets.size()) +
                            " datasets");
    KILN_RETURN_IF_ERROR(Commit("experiments", "done", d, [&](sql::Conn& c) -> Status {
      KILN_RETURN_IF_ERROR(SaveProgress(c, "source", o_.source_name, {}));
      KILN_RETURN_IF_ERROR(DropKilnDefaultExperiment(c, exps));
      return WriteExperiments(c, exps, datasets);
    }));
    stopped = ChunkLimitReached();
    return Status::Ok();
  }

  // Slices `ids` after `after` into chunks of at most chunk_runs ids and
  // chunk_points points. Records read beyond a chunk's point budget are kept
  // for the next chunk, not read again (a source may hand a run's points out
  // only once).
  template <typename ReadFn, typename PrepareFn, typename WriteFn>
  Status Chunked(const std::string& phase, std::vector<std::string> ids, bool& stopped, ReadFn read,
                 PrepareFn prepare, WriteFn write) {
    if (progress_.Has(phase + "_done")) return Status::Ok();
    const std::string after = progress_.Get(phase);
    size_t next = static_cast<size_t>(
        (after.empty() ? ids.begin() : std::upper_bound(ids.begin(), ids.end(), after)) - ids.begin());
    const size_t chunk = static_cast<size_t>(std::max<int64_t>(1, o_.chunk_runs));
    using Rec = typename std::remove_cvref_t<decltype(read(ids).value())>::value_type;
    std::vector<Rec> pending;
    std::vector<std::string> pending_ids;
    while (next < ids.size() || !pending.empty()) {
      if (pending.size() < chunk && next < ids.size()) {
        const size_t want = std::min(chunk - pending.size(), ids.size() - next);
        std::vector<std::string> slice(ids.begin() + static_cast<std::ptrdiff_t>(next),
                                       ids.begin() + static_cast<std::ptrdiff_t>(next + want));
        const auto t0 = Clock::now();
        KILN_ASSIGN_OR_RETURN(auto recs, read(slice));
        read_seconds_ += Seconds(t0);
        if (recs.size() != slice.size()) return Internal("the source returned another number of records than asked");
        for (auto& r : recs) pending.push_back(std::move(r));
        for (auto& id : slice) pending_ids.push_back(std::move(id));
        next += want;
      }
      const auto t1 = Clock::now();
      Digests d = digests_;
      int64_t points = 0;
      size_t kept = 0;
      // Large runs shrink the chunk: stop taking runs once the point budget is spent.
      while (kept < pending.size()) {
        points += prepare(pending[kept], d);
        ++kept;
        if (points >= o_.chunk_points) break;
      }
      std::vector<Rec> recs(std::make_move_iterator(pending.begin()),
                            std::make_move_iterator(pending.begin() + static_cast<std::ptrdiff_t>(kept)));
      pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(kept));
      const std::string marker = pending_ids[kept - 1];
      pending_ids.erase(pending_ids.begin(), pending_ids.begin() + static_cast<std::ptrdiff_t>(kept));
      prepare_seconds_ += Seconds(t1);
      const auto t2 = Clock::now();
      KILN_RETURN_IF_ERROR(Commit(phase, marker, d, [&](sql::Conn& c) { return write(c, recs); }));
      write_seconds_ += Seconds(t2);
      if (ChunkLimitReached() && (next < ids.size() || !pending.empty())) {
        stopped = true;
        return Status::Ok();
      }
    }
    Digests d = digests_;
    return Commit(phase + "_done", "1", d, [](sql::Conn&) { return Status::Ok(); });
  }

  Status Runs(bool& stopped) {
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> ids, source_.RunIds());
    std::sort(ids.begin(), ids.end());
    return Chunked(
        "runs", std::move(ids), stopped, [&](const std::vector<std::string>& s) { return source_.Runs(s); },
        [&](RunRec& r, Digests& d) -> int64_t {
          if (r.name.empty()) {
            for (const auto& t : r.tags) {
              if (t.key == "mlflow.runName") r.name = t.value;
            }
          }
          r.artifact_uri = Map(r.artifact_uri);
          dropped_points_ += NormalizeMetrics(r.metrics);
          DigestRun(r, d);
          return static_cast<int64_t>(r.metrics.size()) + 1;
        },
        [](sql::Conn& c, const std::vector<RunRec>& recs) { return WriteRuns(c, recs); });
  }

  Status LoggedModels(bool& stopped) {
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> ids, source_.LoggedModelIds());
    std::sort(ids.begin(), ids.end());
    return Chunked(
        "logged_models", std::move(ids), stopped,
        [&](const std::vector<std::string>& s) { return source_.LoggedModels(s); },
        [&](LoggedModelRec& m, Digests& d) -> int64_t {
          m.artifact_location = Map(m.artifact_location);
          DigestLoggedModel(m, d);
          return static_cast<int64_t>(m.metrics.size()) + 1;
        },
        [](sql::Conn& c, const std::vector<LoggedModelRec>& recs) { return WriteLoggedModels(c, recs); });
  }

  Status Registry(bool& stopped) {
    if (progress_.Has("registry")) return Status::Ok();
    KILN_ASSIGN_OR_RETURN(std::vector<RegisteredModelRec> models, source_.RegisteredModels());
    std::vector<int64_t> next;
    Digests d = digests_;
    int64_t deleted = 0;
    for (auto& m : models) {
      int64_t max_version = 0;
      std::set<std::string> kept;
      std::vector<ModelVersionRec> versions;
      for (auto& v : m.versions) {
        max_version = std::max(max_version, v.version);
        if (v.current_stage == kDeletedInternal) {
          ++deleted;
          continue;
        }
        v.source = Map(v.source);
        // Clients download a version from its storage location; kiln serves
        // it as an external reference to the same place.
        v.storage_location = Map(v.storage_location.empty() ? v.source : v.storage_location);
        kept.insert(std::to_string(v.version));
        versions.push_back(std::move(v));
      }
      m.versions = std::move(versions);
      std::erase_if(m.aliases, [&](const Kv& a) { return !kept.count(a.value); });
      next.push_back(max_version + 1);
      DigestRegisteredModel(m, d);
    }
    if (deleted > 0) {
      report_.notes.push_back(std::to_string(deleted) +
                              " deleted model versions (MLflow's Deleted_Internal rows) were not imported; their "
                              "numbers stay used");
    }
    KILN_RETURN_IF_ERROR(
        Commit("registry", "done", d, [&](sql::Conn& c) { return WriteRegistry(c, models, next); }));
    stopped = ChunkLimitReached();
    return Status::Ok();
  }

  Status Users(bool& stopped) {
    if (!users_ || progress_.Has("users")) return Status::Ok();
    if (!target_) return UsersInto({}, stopped);
    std::set<std::string> existing;
    // Which names kiln already has decides what is written and what the
    // digests cover, so read them first.
    KILN_RETURN_IF_ERROR(target_->Read([&](sql::Conn& c) -> Status {
      existing.clear();
      KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare("SELECT name FROM users"));
      while (true) {
        KILN_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) return Status::Ok();
        existing.insert(st.Text(0));
      }
    }));
    return UsersInto(existing, stopped);
  }

  Status UsersInto(const std::set<std::string>& existing, bool& stopped) {
    std::vector<UserRec> fresh;
    Digests d = digests_;
    for (const auto& u : *users_) {
      if (existing.count(u.name) && !o_.dry_run) {
        skipped_users_.insert(u.name);
        continue;
      }
      DigestUser(u, d);
      fresh.push_back(u);
    }
    if (!skipped_users_.empty()) {
      std::string names;
      for (const auto& n : skipped_users_) names += (names.empty() ? "" : ", ") + n;
      report_.notes.push_back("MLflow users already present in kiln were left unchanged, with their MLflow "
                              "permissions not imported: " + names);
    }
    report_.notes.push_back(std::to_string(fresh.size()) +
                            " MLflow users imported without a password (MLflow's password hashes are not kiln's "
                            "scrypt): an admin sets each one with `kiln users` or MLflow's update-password before "
                            "they can sign in");
    const int64_t now = NowMs();
    KILN_RETURN_IF_ERROR(Commit("users", "done", d, [&](sql::Conn& c) -> Status {
      return WriteUsers(c, fresh, now).status();
    }));
    stopped = ChunkLimitReached();
    return Status::Ok();
  }

  MlflowSource& source_;
  const std::vector<UserRec>* users_;
  sql::Database* target_;  // null: a dry run with no target yet
  const ImportOptions& o_;
  Progress progress_;
  Digests digests_;
  ImportReport report_;
  int64_t dropped_points_ = 0;
  std::set<std::string> skipped_users_;
  double read_seconds_ = 0, prepare_seconds_ = 0, write_seconds_ = 0;  // runs and logged models
};

}  // namespace

bool ImportReport::Verified() const {
  for (const auto& t : tables) {
    if (t.target_rows != t.source_rows || t.target_digest != t.source_digest) return false;
  }
  return !tables.empty();
}

std::string MapArtifactUri(const std::vector<std::pair<std::string, std::string>>& map, const std::string& uri) {
  const std::pair<std::string, std::string>* best = nullptr;
  for (const auto& m : map) {
    if (uri.compare(0, m.first.size(), m.first) == 0 && (!best || m.first.size() > best->first.size())) best = &m;
  }
  if (!best) return uri;
  return best->second + uri.substr(best->first.size());
}

StatusOr<ImportReport> ImportMlflow(MlflowSource& source, const std::vector<UserRec>* users, sql::Database* target,
                                    const ImportOptions& options) {
  if (!target && !options.dry_run) return InvalidArgument("an import needs a target database");
  if (!target) {
    Run run(source, users, options);
    return run.Go();
  }
  Run run(source, users, *target, options);
  return run.Go();
}

}  // namespace kiln::storage::mlflow_import
