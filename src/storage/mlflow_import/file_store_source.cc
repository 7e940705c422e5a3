#include "storage/mlflow_import/file_store_source.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace kiln::storage::mlflow_import {
namespace {

namespace fs = std::filesystem;

StatusOr<std::string> ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return Unavailable("cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

StatusOr<YAML::Node> LoadYaml(const fs::path& p) {
  try {
    return YAML::LoadFile(p.string());
  } catch (const std::exception& e) {
    return FailedPrecondition("cannot parse " + p.string() + ": " + e.what());
  }
}

std::string Str(const YAML::Node& n, const char* key) {
  const YAML::Node v = n[key];
  if (!v || v.IsNull() || !v.IsScalar()) return {};
  return v.Scalar();
}

StatusOr<int64_t> ParseInt(const std::string& s, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || errno != 0 || *end != '\0') return FailedPrecondition("bad integer '" + s + "' in " + what);
  return static_cast<int64_t>(v);
}

std::optional<int64_t> OptInt(const YAML::Node& n, const char* key) {
  std::string s = Str(n, key);
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != '\0') return std::nullopt;
  return static_cast<int64_t>(v);
}

// Python's float() spellings as the file store writes them (repr).
StatusOr<double> ParseDouble(const std::string& s, const std::string& what) {
  if (s == "nan" || s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s == "inf" || s == "Infinity") return std::numeric_limits<double>::infinity();
  if (s == "-inf" || s == "-Infinity") return -std::numeric_limits<double>::infinity();
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0') return FailedPrecondition("bad metric value '" + s + "' in " + what);
  return v;
}

// Files under `dir` as (key, content), key = relative path with '/'.
StatusOr<std::vector<Kv>> ReadKvDir(const fs::path& dir) {
  std::vector<Kv> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    KILN_ASSIGN_OR_RETURN(std::string content, ReadFile(it->path()));
    out.push_back({fs::relative(it->path(), dir).generic_string(), std::move(content)});
  }
  if (ec) return Unavailable("cannot list " + dir.string() + ": " + ec.message());
  std::sort(out.begin(), out.end(), [](const Kv& a, const Kv& b) { return a.key < b.key; });
  return out;
}

std::vector<std::string> Fields(const std::string& line) {
  std::vector<std::string> f;
  std::istringstream ss(line);
  std::string w;
  while (ss >> w) f.push_back(w);
  return f;
}

std::string RunStatus(const std::string& s) {
  // mlflow.entities.RunStatus numbers, as run meta.yaml stores them.
  static const char* names[] = {"", "RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"};
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (*end == '\0' && v >= 1 && v <= 5) return names[v];
  return s.empty() ? "SCHEDULED" : s;
}

std::string LoggedModelStatus(const std::string& s) {
  if (s == "1") return "LOGGED_MODEL_PENDING";
  if (s == "2") return "LOGGED_MODEL_READY";
  if (s == "3") return "LOGGED_MODEL_UPLOAD_FAILED";
  if (s.rfind("LOGGED_MODEL_", 0) == 0) return s;
  return "LOGGED_MODEL_STATUS_UNSPECIFIED";
}

bool IsNumber(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

StatusOr<std::unique_ptr<FileStoreSource>> FileStoreSource::Open(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return NotFound("no MLflow file store at '" + root + "'");
  std::unique_ptr<FileStoreSource> s(new FileStoreSource(fs::absolute(root).lexically_normal().string()));
  KILN_RETURN_IF_ERROR(s->Index());
  if (s->experiment_dirs_.empty()) return FailedPrecondition("'" + root + "' holds no MLflow experiments");
  return s;
}

Status FileStoreSource::Index() {
  // Probes of optional entries use their own error codes: a missing models/
  // or .trash/ folder is normal, a failing directory listing is not.
  auto is_dir = [](const fs::path& p) {
    std::error_code ec;
    return fs::is_directory(p, ec);
  };
  auto has_meta = [](const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p / "meta.yaml", ec);
  };
  auto scan = [&](const fs::path& parent) -> Status {
    if (!is_dir(parent)) return Status::Ok();
    std::error_code ec;
    for (auto e = fs::directory_iterator(parent, ec); !ec && e != fs::directory_iterator(); e.increment(ec)) {
      const std::string name = e->path().filename().string();
      if (!is_dir(e->path()) || !IsNumber(name) || !has_meta(e->path())) continue;
      KILN_ASSIGN_OR_RETURN(int64_t id, ParseInt(name, e->path().string()));
      experiment_dirs_[id] = e->path().string();
      std::error_code rec;
      for (auto r = fs::directory_iterator(e->path(), rec); !rec && r != fs::directory_iterator(); r.increment(rec)) {
        const std::string rn = r->path().filename().string();
        if (rn == "tags" || rn == "datasets" || rn == "models" || rn == "traces") continue;
        if (is_dir(r->path()) && has_meta(r->path())) run_dirs_[rn] = {id, r->path().string()};
      }
      if (rec) return Unavailable("cannot list " + e->path().string() + ": " + rec.message());
      const fs::path models = e->path() / "models";
      if (!is_dir(models)) continue;
      std::error_code mec;
      for (auto m = fs::directory_iterator(models, mec); !mec && m != fs::directory_iterator(); m.increment(mec)) {
        if (is_dir(m->path()) && has_meta(m->path())) model_dirs_[m->path().filename().string()] = {id, m->path().string()};
      }
      if (mec) return Unavailable("cannot list " + models.string() + ": " + mec.message());
    }
    if (ec) return Unavailable("cannot list " + parent.string() + ": " + ec.message());
    return Status::Ok();
  };
  KILN_RETURN_IF_ERROR(scan(root_));
  return scan(fs::path(root_) / ".trash");
}

StatusOr<std::vector<ExperimentRec>> FileStoreSource::Experiments() {
  std::vector<ExperimentRec> out;
  for (const auto& [id, dir] : experiment_dirs_) {
    KILN_ASSIGN_OR_RETURN(YAML::Node meta, LoadYaml(fs::path(dir) / "meta.yaml"));
    ExperimentRec e;
    e.id = id;
    e.name = Str(meta, "name");
    e.artifact_location = Str(meta, "artifact_location");
    e.lifecycle_stage = Str(meta, "lifecycle_stage");
    if (e.lifecycle_stage.empty()) e.lifecycle_stage = "active";
    e.creation_time = OptInt(meta, "creation_time").value_or(0);
    e.last_update_time = OptInt(meta, "last_update_time").value_or(e.creation_time);
    KILN_ASSIGN_OR_RETURN(e.tags, ReadKvDir(fs::path(dir) / "tags"));
    out.push_back(std::move(e));
  }
  return out;
}

StatusOr<std::vector<DatasetRec>> FileStoreSource::Datasets() {
  std::vector<DatasetRec> out;
  std::error_code ec;
  for (const auto& [id, dir] : experiment_dirs_) {
    const fs::path parent = fs::path(dir) / "datasets";
    if (!fs::is_directory(parent, ec)) continue;
    for (const auto& d : fs::directory_iterator(parent, ec)) {
      if (!fs::exists(d.path() / "meta.yaml")) continue;
      KILN_ASSIGN_OR_RETURN(YAML::Node m, LoadYaml(d.path() / "meta.yaml"));
      out.push_back({id, Str(m, "name"), Str(m, "digest"), Str(m, "source_type"), Str(m, "source"), Str(m, "schema"),
                     Str(m, "profile")});
    }
  }
  std::sort(out.begin(), out.end(), [](const DatasetRec& a, const DatasetRec& b) {
    return std::tie(a.experiment_id, a.name, a.digest) < std::tie(b.experiment_id, b.name, b.digest);
  });
  return out;
}

StatusOr<std::vector<std::string>> FileStoreSource::RunIds() {
  std::vector<std::string> out;
  for (const auto& [id, _] : run_dirs_) out.push_back(id);
  return out;
}

StatusOr<std::vector<RunRec>> FileStoreSource::Runs(const std::vector<std::string>& ids) {
  std::vector<RunRec> out;
  std::error_code ec;
  for (const auto& run_id : ids) {
    auto it = run_dirs_.find(run_id);
    if (it == run_dirs_.end()) return NotFound("run " + run_id + " vanished from the file store");
    const fs::path dir = it->second.second;
    KILN_ASSIGN_OR_RETURN(YAML::Node meta, LoadYaml(dir / "meta.yaml"));
    RunRec r;
    r.run_uuid = run_id;
    r.experiment_id = it->second.first;
    r.name = Str(meta, "run_name");
    r.user_id = Str(meta, "user_id");
    r.status = RunStatus(Str(meta, "status"));
    r.start_time = OptInt(meta, "start_time").value_or(0);
    r.end_time = OptInt(meta, "end_time");
    r.deleted_time = OptInt(meta, "deleted_time");
    r.artifact_uri = Str(meta, "artifact_uri");
    r.lifecycle_stage = Str(meta, "lifecycle_stage");
    if (r.lifecycle_stage.empty()) r.lifecycle_stage = "active";
    KILN_ASSIGN_OR_RETURN(r.params, ReadKvDir(dir / "params"));
    KILN_ASSIGN_OR_RETURN(r.tags, ReadKvDir(dir / "tags"));
    KILN_ASSIGN_OR_RETURN(std::vector<Kv> files, ReadKvDir(dir / "metrics"));
    for (const auto& f : files) {
      std::istringstream lines(f.value);
      std::string line;
      while (std::getline(lines, line)) {
        std::vector<std::string> p = Fields(line);
        if (p.empty()) continue;
        const std::string what = (dir / "metrics" / f.key).string();
        if (p.size() < 2) return FailedPrecondition("malformed metric line '" + line + "' in " + what);
        MetricRec m;
        m.key = f.key;
        KILN_ASSIGN_OR_RETURN(m.timestamp, ParseInt(p[0], what));
        KILN_ASSIGN_OR_RETURN(m.value, ParseDouble(p[1], what));
        if (p.size() >= 3) {
          KILN_ASSIGN_OR_RETURN(m.step, ParseInt(p[2], what));
        }
        r.metrics.push_back(std::move(m));
      }
    }
    const fs::path inputs = dir / "inputs";
    if (fs::is_directory(inputs, ec)) {
      const fs::path datasets = fs::path(experiment_dirs_[r.experiment_id]) / "datasets";
      for (const auto& in : fs::directory_iterator(inputs, ec)) {
        if (!fs::exists(in.path() / "meta.yaml")) continue;
        KILN_ASSIGN_OR_RETURN(YAML::Node m, LoadYaml(in.path() / "meta.yaml"));
        const std::string type = Str(m, "source_type");
        if (type == "MODEL") {
          r.model_inputs.push_back(Str(m, "source_id"));
          continue;
        }
        if (type != "DATASET") continue;
        const fs::path ds = datasets / Str(m, "source_id") / "meta.yaml";
        if (!fs::exists(ds)) continue;  // MLflow skips a dangling input the same way
        KILN_ASSIGN_OR_RETURN(YAML::Node dm, LoadYaml(ds));
        DatasetInputRec rec{Str(dm, "name"), Str(dm, "digest"), {}};
        if (m["tags"] && m["tags"].IsMap()) {
          for (const auto& t : m["tags"]) {
            rec.tags.push_back({t.first.Scalar(), t.second.IsNull() ? std::string() : t.second.Scalar()});
          }
        }
        std::sort(rec.tags.begin(), rec.tags.end(), [](const Kv& a, const Kv& b) { return a.key < b.key; });
        r.inputs.push_back(std::move(rec));
      }
      std::sort(r.inputs.begin(), r.inputs.end(), [](const DatasetInputRec& a, const DatasetInputRec& b) {
        return std::tie(a.name, a.digest) < std::tie(b.name, b.digest);
      });
      std::sort(r.model_inputs.begin(), r.model_inputs.end());
    }
    const fs::path outputs = dir / "outputs";
    if (fs::is_directory(outputs, ec)) {
      for (const auto& o : fs::directory_iterator(outputs, ec)) {
        if (!fs::exists(o.path() / "meta.yaml")) continue;
        KILN_ASSIGN_OR_RETURN(YAML::Node m, LoadYaml(o.path() / "meta.yaml"));
        if (Str(m, "destination_type") != "MODEL_OUTPUT") continue;
        r.model_outputs.push_back({Str(m, "source_id"), OptInt(m, "step").value_or(0)});
      }
      std::sort(r.model_outputs.begin(), r.model_outputs.end(),
                [](const ModelOutputRec& a, const ModelOutputRec& b) { return a.model_id < b.model_id; });
    }
    out.push_back(std::move(r));
  }
  return out;
}

StatusOr<std::vector<std::string>> FileStoreSource::LoggedModelIds() {
  std::vector<std::string> out;
  for (const auto& [id, _] : model_dirs_) out.push_back(id);
  return out;
}

StatusOr<std::vector<LoggedModelRec>> FileStoreSource::LoggedModels(const std::vector<std::string>& ids) {
  std::vector<LoggedModelRec> out;
  for (const auto& model_id : ids) {
    auto it = model_dirs_.find(model_id);
    if (it == model_dirs_.end()) return NotFound("logged model " + model_id + " vanished from the file store");
    const fs::path dir = it->second.second;
    KILN_ASSIGN_OR_RETURN(YAML::Node meta, LoadYaml(dir / "meta.yaml"));
    LoggedModelRec m;
    m.model_id = model_id;
    m.experiment_id = it->second.first;
    m.name = Str(meta, "name");
    m.artifact_location = Str(meta, "artifact_location");
    m.creation_timestamp = OptInt(meta, "creation_timestamp").value_or(0);
    m.last_updated_timestamp = OptInt(meta, "last_updated_timestamp").value_or(m.creation_timestamp);
    m.status = LoggedModelStatus(Str(meta, "status"));
    m.status_message = Str(meta, "status_message");
    m.lifecycle_stage = Str(meta, "lifecycle_stage");
    if (m.lifecycle_stage.empty()) m.lifecycle_stage = "active";
    m.model_type = Str(meta, "model_type");
    m.source_run_id = Str(meta, "source_run_id");
    KILN_ASSIGN_OR_RETURN(m.params, ReadKvDir(dir / "params"));
    KILN_ASSIGN_OR_RETURN(m.tags, ReadKvDir(dir / "tags"));
    KILN_ASSIGN_OR_RETURN(std::vector<Kv> files, ReadKvDir(dir / "metrics"));
    for (const auto& f : files) {
      std::istringstream lines(f.value);
      std::string line;
      while (std::getline(lines, line)) {
        std::vector<std::string> p = Fields(line);
        if (p.empty()) continue;
        const std::string what = (dir / "metrics" / f.key).string();
        if (p.size() < 4) return FailedPrecondition("malformed logged-model metric line '" + line + "' in " + what);
        ModelMetricRec x;
        x.key = f.key;
        KILN_ASSIGN_OR_RETURN(x.timestamp, ParseInt(p[0], what));
        KILN_ASSIGN_OR_RETURN(x.value, ParseDouble(p[1], what));
        KILN_ASSIGN_OR_RETURN(x.step, ParseInt(p[2], what));
        x.run_id = p[3];
        if (p.size() >= 6) {
          x.dataset_name = p[4] == "None" ? "" : p[4];
          x.dataset_digest = p[5] == "None" ? "" : p[5];
        }
        m.metrics.push_back(std::move(x));
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

StatusOr<std::vector<RegisteredModelRec>> FileStoreSource::RegisteredModels() {
  std::vector<RegisteredModelRec> out;
  std::error_code ec;
  const fs::path parent = fs::path(root_) / "models";
  if (!fs::is_directory(parent, ec)) return out;
  for (const auto& d : fs::directory_iterator(parent, ec)) {
    if (!d.is_directory() || !fs::exists(d.path() / "meta.yaml")) continue;
    KILN_ASSIGN_OR_RETURN(YAML::Node meta, LoadYaml(d.path() / "meta.yaml"));
    RegisteredModelRec m;
    m.name = Str(meta, "name");
    m.creation_time = OptInt(meta, "creation_timestamp").value_or(0);
    m.last_updated_time = OptInt(meta, "last_updated_timestamp").value_or(m.creation_time);
    m.description = Str(meta, "description");
    KILN_ASSIGN_OR_RETURN(m.tags, ReadKvDir(d.path() / "tags"));
    KILN_ASSIGN_OR_RETURN(m.aliases, ReadKvDir(d.path() / "aliases"));
    for (auto& a : m.aliases) {
      while (!a.value.empty() && std::isspace(static_cast<unsigned char>(a.value.back()))) a.value.pop_back();
    }
    for (const auto& v : fs::directory_iterator(d.path(), ec)) {
      const std::string vn = v.path().filename().string();
      if (!v.is_directory() || vn.rfind("version-", 0) != 0 || !fs::exists(v.path() / "meta.yaml")) continue;
      KILN_ASSIGN_OR_RETURN(YAML::Node vm, LoadYaml(v.path() / "meta.yaml"));
      ModelVersionRec mv;
      KILN_ASSIGN_OR_RETURN(mv.version, ParseInt(Str(vm, "version"), (v.path() / "meta.yaml").string()));
      mv.creation_time = OptInt(vm, "creation_timestamp").value_or(0);
      mv.last_updated_time = OptInt(vm, "last_updated_timestamp").value_or(mv.creation_time);
      mv.description = Str(vm, "description");
      mv.user_id = Str(vm, "user_id");
      mv.current_stage = Str(vm, "current_stage");
      if (mv.current_stage.empty()) mv.current_stage = "None";
      mv.source = Str(vm, "source");
      mv.run_id = Str(vm, "run_id");
      mv.status = Str(vm, "status");
      if (mv.status.empty()) mv.status = "READY";
      mv.status_message = Str(vm, "status_message");
      mv.run_link = Str(vm, "run_link");
      mv.storage_location = Str(vm, "storage_location");
      mv.model_id = Str(vm, "model_id");
      KILN_ASSIGN_OR_RETURN(mv.tags, ReadKvDir(v.path() / "tags"));
      m.versions.push_back(std::move(mv));
    }
    std::sort(m.versions.begin(), m.versions.end(),
              [](const ModelVersionRec& a, const ModelVersionRec& b) { return a.version < b.version; });
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(),
            [](const RegisteredModelRec& a, const RegisteredModelRec& b) { return a.name < b.name; });
  return out;
}

}  // namespace kiln::storage::mlflow_import
