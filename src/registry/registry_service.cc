#include "registry/registry_service.h"

#include <algorithm>
#include <memory>

#include "core/ids.h"
#include "core/log.h"
#include "registry/model_uri.h"
#include "registry/registry_json.h"
#include "registry/source_rules.h"
#include "storage/artifact_copy.h"
#include "tracking/search_filter_parser.h"
#include "tracking/validation.h"

namespace kiln::registry {

using storage::EventContext;
using storage::ModelVersion;
using storage::RegisteredModel;
using storage::Tag;

namespace {

constexpr size_t kMaxPackageFileBytes = 1 << 20;  // MLmodel and requirements.txt

Status InvalidSource(const std::string& source, const std::string& id_name) {
  return InvalidArgument("Invalid model version source: '" + source + "'. The " + id_name +
                         " request parameter must identify the resource that contains the source.");
}

bool Within(const std::string& path, const std::string& root) {
  return path == root || root.empty() || path.starts_with(root + "/");
}

std::string Joined(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "/" + b;
}

bool IsSet(const std::optional<std::string>& s) { return s.has_value() && !s->empty(); }

// Shown through MLflow's own field, so MLflow clients see it too.
std::string ExternalStatusMessage(const std::string& location) {
  return "External reference: kiln holds no copy of this version; its files are at '" + location +
         "', which clients download from and kiln cannot read or serve.";
}

// Reads a small text file whole; NotFound when missing.
StatusOr<std::string> ReadSmallFile(storage::ArtifactStore& store, const std::string& path) {
  KILN_ASSIGN_OR_RETURN(auto reader, store.OpenReader(path));
  if (reader->size() > static_cast<int64_t>(kMaxPackageFileBytes)) {
    return InvalidArgument(path + " is larger than " + std::to_string(kMaxPackageFileBytes) + " bytes");
  }
  std::string out;
  out.resize(static_cast<size_t>(reader->size()));
  size_t got = 0;
  while (got < out.size()) {
    KILN_ASSIGN_OR_RETURN(size_t n, reader->Read(out.data() + got, out.size() - got));
    if (n == 0) break;
    got += n;
  }
  out.resize(got);
  return out;
}

Status ValidateTags(const std::vector<Tag>& tags) {
  for (const Tag& t : tags) KILN_RETURN_IF_ERROR(tracking::ValidateRegistryTag(t.key, t.value));
  return Status::Ok();
}

// Python's json.dumps with its default separators and ensure_ascii, keeping
// each object's key order (the tag is read and rewritten by MLflow clients).
std::string PyJsonDumps(const nlohmann::ordered_json& j) {
  if (j.is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < j.size(); ++i) out += (i ? ", " : "") + PyJsonDumps(j[i]);
    return out + "]";
  }
  if (j.is_object()) {
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : j.items()) {
      out += (first ? "" : ", ") + nlohmann::ordered_json(k).dump(-1, ' ', true) + ": " + PyJsonDumps(v);
      first = false;
    }
    return out + "}";
  }
  return j.dump(-1, ' ', true);
}

// MLflow's max_results rules for a registry search.
StatusOr<int64_t> MaxResults(const SearchRequest& req, int64_t default_value, int64_t threshold, int64_t min) {
  int64_t n = req.max_results.value_or(default_value);
  if (n < min) {
    return InvalidArgument("Invalid value for max_results. It must be a positive integer, but got " +
                           std::to_string(n));
  }
  if (n > threshold) {
    return InvalidArgument("Invalid value for request parameter max_results. It must be at most " +
                           std::to_string(threshold) + ", but got value " + std::to_string(n));
  }
  return n;
}

StatusOr<int64_t> Offset(const SearchRequest& req) {
  if (req.page_token.empty()) return int64_t{0};
  return tracking::DecodePageToken(req.page_token);
}

template <typename T>
PagedResult<T> Paged(storage::Page<T> page, int64_t offset, int64_t max_results) {
  PagedResult<T> out;
  out.items = std::move(page.items);
  if (page.has_more) out.next_page_token = tracking::EncodePageToken(offset + max_results);
  return out;
}

}  // namespace

RegistryService::RegistryService(storage::RegistryStore& store, tracking::TrackingService& tracking,
                                 storage::ArtifactStore& artifacts, const Clock& clock, EventRecorder& events,
                                 RegistryOptions options)
    : store_(store),
      tracking_(tracking),
      artifacts_(artifacts),
      clock_(clock),
      events_(events),
      options_(std::move(options)) {}

std::string RegistryService::StorageUri(const std::string& storage_path) {
  return "mlflow-artifacts:/" + storage_path;
}

EventContext RegistryService::Event(const std::string& actor, const std::string& action) const {
  EventContext ev;
  ev.timestamp = clock_.NowMillis();
  ev.actor = actor;
  ev.action = action;
  ev.model_json = [](const RegisteredModel& m) { return RegisteredModelJson(m).dump(); };
  ev.version_json = [](const ModelVersion& v) { return ModelVersionJson(v).dump(); };
  return ev;
}

void RegistryService::Publish(const EventContext& ev) { events_.Publish(ev.recorded); }

void RegistryService::DeleteCopies(const std::vector<std::string>& storage_paths) {
  // The rows are gone already; a copy that cannot be removed is only wasted space.
  for (const std::string& p : storage_paths) {
    if (p.empty()) continue;
    Status s = artifacts_.Delete(p);
    if (!s.ok() && s.code() != StatusCode::kNotFound) log::Warn("registry: cannot delete " + p + ": " + s.message());
  }
}

// --- registered models ---

StatusOr<RegisteredModel> RegistryService::CreateRegisteredModel(const std::string& actor, const std::string& name,
                                                                 const std::vector<Tag>& tags,
                                                                 const std::string& description) {
  KILN_RETURN_IF_ERROR(tracking::ValidateRegisteredModelName(name));
  KILN_RETURN_IF_ERROR(ValidateTags(tags));
  RegisteredModel m;
  m.name = name;
  m.creation_timestamp = m.last_updated_timestamp = clock_.NowMillis();
  m.description = description;
  m.tags = tags;
  m.user_id = actor;
  EventContext ev = Event(actor, "create_registered_model");
  KILN_ASSIGN_OR_RETURN(RegisteredModel out, store_.CreateRegisteredModel(m, ev));
  Publish(ev);
  return out;
}

StatusOr<RegisteredModel> RegistryService::GetRegisteredModel(const std::string& name) {
  KILN_RETURN_IF_ERROR(tracking::ValidateRegisteredModelName(name));
  return store_.GetRegisteredModel(name);
}

StatusOr<RegisteredModel> RegistryService::RenameRegisteredModel(const std::string& actor, const std::string& name,
                                                                 const std::string& new_name) {
  KILN_RETURN_IF_ERROR(tracking::ValidateRegisteredModelName(name));
  KILN_RETURN_IF_ERROR(tracking::ValidateRegisteredModelName(new_name, "new_name"));
  EventContext ev = Event(actor, "rename_registered_model");
  KILN_ASSIGN_OR_RETURN(RegisteredModel out, store_.RenameRegisteredModel(name, new_name, ev.timestamp, ev));
  Publish(ev);
  return out;
}

StatusOr<RegisteredModel> RegistryService::UpdateRegisteredModel(const std::string& actor, const std::string& name,
                                                                 const std::string& description) {
  KILN_RETURN_IF_ERROR(tracking::ValidateRegisteredModelName(name));
  EventContext ev = Event(actor, "update_registered_model");
  KILN_ASSIGN_OR_RETURN(RegisteredModel out, store_.UpdateRegisteredModel(name, description, ev.timestamp, ev));
  Publish(ev);
  return out;
}

Status RegistryService::DeleteRegisteredModel(const std::string& actor, const std::string& name) {
  KILN_RETURN_IF_ERROR(tracking::ValidateRegisteredModelName(name));
  EventContext ev = Event(actor, "delete_registered_model");
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> paths, store_.DeleteRegisteredModel(name, ev));
  Publish(ev);
  DeleteCopies(paths);
  return Status::Ok();
}

StatusOr<PagedResult<RegisteredModel>> RegistryService::SearchRegisteredModels(const SearchRequest& req) {
  storage::RegisteredModelQuery q;
  // MLflow accepts 0 here (an empty page), unlike for model versions.
  KILN_ASSIGN_OR_RETURN(q.max_results, MaxResults(req, tracking::kSearchRegisteredModelsMaxResultsDefault,
                                                  tracking::kSearchRegisteredModelsMaxResultsThreshold, 0));
  KILN_ASSIGN_OR_RETURN(q.offset, Offset(req));
  KILN_ASSIGN_OR_RETURN(q.filter, tracking::ParseRegisteredModelFilter(req.filter));
  q.filter.insert(q.filter.end(), req.scope.begin(), req.scope.end());
  KILN_ASSIGN_OR_RETURN(q.order_by, tracking::ParseRegisteredModelOrderBy(req.order_by));
  KILN_ASSIGN_OR_RETURN(auto page, store_.SearchRegisteredModels(q));
  return Paged(std::move(page), q.offset, q.max_results);
}

StatusOr<std::vector<ModelVersion>> RegistryService::GetLatestVersions(const std::string& name,
                                                                      const std::vector<std::string>& stages) {
  KILN_RETURN_IF_ERROR(tracking::ValidateRegisteredModelName(name));
  std::vector<std::string> canonical;
  for (const std::string& s : stages) {
    KILN_ASSIGN_OR_RETURN(std::string c, tracking::CanonicalStage(s));
    canonical.push_back(std::move(c));
  }
  return store_.GetLatestVersions(name, canonical);
}

Status RegistryService::SetRegisteredModelTag(const std::string& actor, const std::string& name,
                                              const std::string& key, const std::string& value) {
  KILN_RETURN_IF_ERROR(tracking::ValidateRegisteredModelName(name));
  KILN_RETURN_IF_ERROR(tracking::ValidateRegistryTag(key, value));
  EventContext ev = Event(actor, "set_registered_model_tag");
  KILN_RETURN_IF_ERROR(store_.SetRegisteredModelTag(name, {key, value}, ev));
  Publish(ev);
  return Status::Ok();
}

Status RegistryService::DeleteRegisteredModelTag(const std::string& actor, const std::string& name,
                                                 const std::string& key) {
  KILN_RETURN_IF_ERROR(tracking::ValidateRegisteredModelName(name));
  KILN_RETURN_IF_ERROR(tracking::ValidateTagName(key));
  EventContext ev = Event(actor, "delete_registered_model_tag");
  KILN_RETURN_IF_ERROR(store_.DeleteRegisteredModelTag(name, key, ev));
  Publish(ev);
  return Status::Ok();
}

Status RegistryService::SetAlias(const std::string& actor, const std::string& name, const std::string& alias,
                                 const std::string& version) {
  KILN_RETURN_IF_ERROR(tracking::ValidateRegisteredModelName(name));
  KILN_RETURN_IF_ERROR(tracking::ValidateAliasName(alias));
  KILN_RETURN_IF_ERROR(tracking::ValidateAliasNotReserved(alias));
  KILN_ASSIGN_OR_RETURN(int64_t v, tracking::ParseModelVersion(version));
  EventContext ev = Event(actor, "set_registered_model_alias");
  KILN_RETURN_IF_ERROR(store_.SetAlias(name, alias, v, ev));
  Publish(ev);
  return Status::Ok();
}

Status RegistryService::DeleteAlias(const std::string& actor, const std::string& name, const std::string& alias) {
  KILN_RETURN_IF_ERROR(tracking::ValidateRegisteredModelName(name));
  KILN_RETURN_IF_ERROR(tracking::ValidateAliasName(alias));
  EventContext ev = Event(actor, "delete_registered_model_alias");
  KILN_RETURN_IF_ERROR(store_.DeleteAlias(name, alias, ev));
  Publish(ev);
  return Status::Ok();
}

StatusOr<ModelVersion> RegistryService::GetModelVersionByAlias(const std::string& name, const std::string& alias) {
  KILN_RETURN_IF_ERROR(tracking::ValidateRegisteredModelName(name));
  KILN_RETURN_IF_ERROR(tracking::ValidateAliasName(alias));
  if (tracking::IsLatestAlias(alias)) {
    // "latest" (any case) is the highest version, whatever its stage.
    KILN_ASSIGN_OR_RETURN(auto versions, store_.GetLatestVersions(name, {}));
    if (versions.empty()) return NotFound("Latest version not found for model " + name + ".");
    return *std::max_element(versions.begin(), versions.end(),
                             [](const ModelVersion& a, const ModelVersion& b) { return a.version < b.version; });
  }
  return store_.GetModelVersionByAlias(name, alias);
}

// --- model versions ---

StatusOr<RegistryService::ResolvedSource> RegistryService::ResolveSource(const CreateModelVersionRequest& req) {
  const std::string& src = req.source;
  ResolvedSource out;
  out.source = src;
  out.run_id = req.run_id.value_or("");
  out.model_id = req.model_id.value_or("");
  KILN_RETURN_IF_ERROR(tracking::CheckHostAddressedScheme(src, "source"));
  if (IsModelsUri(src)) {
    KILN_ASSIGN_OR_RETURN(ModelUri uri, ParseModelsUri(src));
    if (uri.kind == ModelUri::Kind::kLoggedModel) {
      if (!IsSet(req.model_id) || *req.model_id != uri.model_id) return InvalidSource(src, "model_id");
      auto lm = tracking_.GetLoggedModel(uri.model_id, /*allow_deleted=*/false);
      if (lm.status().code() == StatusCode::kNotFound) return InvalidSource(src, "model_id");
      KILN_RETURN_IF_ERROR(lm.status());
      if (out.run_id.empty()) out.run_id = lm->source_run_id;
      // A logged model whose experiment keeps artifacts elsewhere (s3://...).
      auto path = ArtifactStorePath(lm->artifact_uri);
      if (!path.ok()) {
        out.external_location = lm->artifact_uri;
        return out;
      }
      out.store_path = std::move(*path);
      return out;
    }
    KILN_ASSIGN_OR_RETURN(ModelVersion mv, ResolveModelUri(src));
    if ((req.run_id && *req.run_id != mv.run_id) || (req.model_id && *req.model_id != mv.model_id)) {
      return InvalidArgument("Invalid model version source: '" + src +
                             "'. The run_id and model_id request parameters must match the referenced model "
                             "version.");
    }
    out.source = "models:/" + mv.name + "/" + std::to_string(mv.version);
    out.store_path = mv.storage_path;
    out.external_location = mv.external_location;
    out.run_id = mv.run_id;
    out.model_id = mv.model_id;
    return out;
  }
  if (IsRunsUri(src)) {
    if (IsSet(req.model_id)) return InvalidSource(src, "model_id");
    KILN_ASSIGN_OR_RETURN(RunsUri ru, ParseRunsUri(src));
    if (!IsSet(req.run_id) || *req.run_id != ru.run_id) return InvalidSource(src, "run_id");
    auto run = tracking_.GetRun(ru.run_id);
    // MLflow accepts a runs:/ URI of a run it does not hold, and one whose
    // artifacts live outside its store; clients resolve it themselves.
    if (run.status().code() == StatusCode::kNotFound) {
      out.external_location = src;
      return out;
    }
    KILN_RETURN_IF_ERROR(run.status());
    auto base = ArtifactStorePath(run->info.artifact_uri);
    if (!base.ok()) {
      out.external_location = src;
      return out;
    }
    out.store_path = Joined(*base, ru.path);
    return out;
  }
  if (SplitSourceUri(src).scheme != "mlflow-artifacts") return ResolveExternalSource(req, std::move(out));
  KILN_ASSIGN_OR_RETURN(out.store_path, ArtifactStorePath(src));
  if (IsSet(req.model_id)) {
    auto lm = tracking_.GetLoggedModel(*req.model_id, /*allow_deleted=*/false);
    if (lm.status().code() == StatusCode::kNotFound) return InvalidSource(src, "model_id");
    KILN_RETURN_IF_ERROR(lm.status());
    auto root = ArtifactStorePath(lm->artifact_uri);
    if (!root.ok() || !Within(out.store_path, *root)) return InvalidSource(src, "model_id");
    return out;
  }
  if (!IsSet(req.run_id)) return InvalidSource(src, "run_id");
  auto run = tracking_.GetRun(*req.run_id);
  if (run.status().code() == StatusCode::kNotFound) return InvalidSource(src, "run_id");
  KILN_RETURN_IF_ERROR(run.status());
  auto root = ArtifactStorePath(run->info.artifact_uri);
  if (!root.ok() || !Within(out.store_path, *root)) return InvalidSource(src, "run_id");
  return out;
}

StatusOr<RegistryService::ResolvedSource> RegistryService::ResolveExternalSource(const CreateModelVersionRequest& req,
                                                                                  ResolvedSource out) {
  const std::string& src = req.source;
  KILN_ASSIGN_OR_RETURN(bool local, IsLocalSource(src));
  out.external_location = src;
  if (!local) {
    KILN_RETURN_IF_ERROR(CheckNoRelativeReferences(src));
    if (IsSet(req.model_id)) {
      auto lm = tracking_.GetLoggedModel(*req.model_id, /*allow_deleted=*/false);
      if (lm.status().code() == StatusCode::kNotFound) return InvalidSource(src, "model_id");
      KILN_RETURN_IF_ERROR(lm.status());
      if (out.run_id.empty()) out.run_id = lm->source_run_id;
    }
    return out;
  }
  // A local path is only accepted inside the local artifact directory of
  // the run or logged model it names (an experiment created with a file:
  // artifact_location), as MLflow does.
  auto within = [&src](const std::string& root_uri) {
    auto root_local = IsLocalSource(root_uri);
    return root_local.ok() && *root_local && LocalPathWithin(LocalSourcePath(src), LocalSourcePath(root_uri));
  };
  if (IsSet(req.model_id)) {
    auto lm = tracking_.GetLoggedModel(*req.model_id, /*allow_deleted=*/false);
    if (lm.status().code() == StatusCode::kNotFound) return InvalidSource(src, "model_id");
    KILN_RETURN_IF_ERROR(lm.status());
    if (!within(lm->artifact_uri)) return InvalidLocalSource(src, "model_id");
    if (out.run_id.empty()) out.run_id = lm->source_run_id;
    return out;
  }
  if (!IsSet(req.run_id)) return InvalidLocalSource(src, "run_id");
  auto run = tracking_.GetRun(*req.run_id);
  if (run.status().code() == StatusCode::kNotFound) return InvalidSource(src, "run_id");
  KILN_RETURN_IF_ERROR(run.status());
  if (!within(run->info.artifact_uri)) return InvalidLocalSource(src, "run_id");
  return out;
}

void RegistryService::LinkLoggedModel(const std::string& model_id, const std::string& name, int64_t version) {
  // MLflow tags the logged model with the versions registered from it
  // (mlflow.modelVersions); the UI shows the link. Best effort, as in MLflow.
  auto lm = tracking_.GetLoggedModel(model_id, /*allow_deleted=*/false);
  if (!lm.ok()) return;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const Tag& t : lm->tags) {
    if (t.key != "mlflow.modelVersions") continue;
    auto parsed = nlohmann::ordered_json::parse(t.value, nullptr, false);
    if (parsed.is_array()) list = std::move(parsed);
  }
  // The server writes the version as a number (MLflow's store holds it as an
  // integer); the fluent client then appends its own entry with a string.
  nlohmann::ordered_json entry = {{"name", name}, {"version", version}};
  if (std::find(list.begin(), list.end(), entry) == list.end()) list.push_back(entry);
  Status s = tracking_.SetLoggedModelTags(model_id, {{"mlflow.modelVersions", PyJsonDumps(list)}});
  if (!s.ok()) log::Warn("registry: cannot tag logged model " + model_id + ": " + s.message());
}

StatusOr<ModelVersion> RegistryService::CreateModelVersion(const std::string& actor,
                                                           const CreateModelVersionRequest& req) {
  KILN_RETURN_IF_ERROR(tracking::ValidateRegisteredModelName(req.name));
  if (req.source.empty()) return InvalidArgument("Missing value for required parameter 'source'.");
  KILN_RETURN_IF_ERROR(ValidateTags(req.tags));
  // Fail before copying anything when the model is missing.
  KILN_RETURN_IF_ERROR(store_.GetRegisteredModel(req.name).status());
  KILN_ASSIGN_OR_RETURN(ResolvedSource source, ResolveSource(req));

  ModelVersion v;
  v.name = req.name;
  v.source = source.source;
  v.run_id = source.run_id;
  v.model_id = source.model_id;
  v.run_link = req.run_link;
  v.description = req.description;
  v.tags = req.tags;
  v.user_id = actor;
  v.status = "READY";
  if (!source.external_location.empty()) {
    // Registered by reference, as MLflow registers every version: READY, and
    // clients download from the location itself.
    v.external_location = source.external_location;
    v.status_message = ExternalStatusMessage(v.external_location);
  } else {
    // The registry's own copy: deleting or rewriting the source later cannot
    // change what this version serves.
    v.storage_path = options_.storage_prefix + "/" + NewHexId();
    auto copied = storage::CopyArtifactTree(artifacts_, source.store_path, v.storage_path);
    if (!copied.ok()) {
      (void)artifacts_.Delete(v.storage_path);
      return Status(copied.status().code(),
                    "cannot copy model files from '" + req.source + "': " + copied.status().message());
    }
  }
  v.creation_timestamp = v.last_updated_timestamp = clock_.NowMillis();
  EventContext ev = Event(actor, "create_model_version");
  auto created = store_.CreateModelVersion(v, ev);
  if (!created.ok()) {
    if (!v.storage_path.empty()) (void)artifacts_.Delete(v.storage_path);
    return created.status();
  }
  Publish(ev);
  if (!created->model_id.empty()) LinkLoggedModel(created->model_id, created->name, created->version);
  return created;
}

StatusOr<ModelVersion> RegistryService::GetModelVersion(const std::string& name, const std::string& version) {
  KILN_RETURN_IF_ERROR(tracking::ValidateRegisteredModelName(name));
  KILN_ASSIGN_OR_RETURN(int64_t v, tracking::ParseModelVersion(version));
  return store_.GetModelVersion(name, v);
}

StatusOr<ModelVersion> RegistryService::UpdateModelVersion(const std::string& actor, const std::string& name,
                                                           const std::string& version,
                                                           const std::string& description) {
  KILN_RETURN_IF_ERROR(tracking::ValidateRegisteredModelName(name));
  KILN_ASSIGN_OR_RETURN(int64_t v, tracking::ParseModelVersion(version));
  EventContext ev = Event(actor, "update_model_version");
  KILN_ASSIGN_OR_RETURN(ModelVersion out, store_.UpdateModelVersion(name, v, description, ev.timestamp, ev));
  Publish(ev);
  return out;
}

StatusOr<ModelVersion> RegistryService::TransitionStage(const std::string& actor, const std::string& name,
                                                        const std::string& version, const std::string& stage,
                                                        bool archive_existing) {
  KILN_RETURN_IF_ERROR(tracking::ValidateRegisteredModelName(name));
  KILN_ASSIGN_OR_RETURN(int64_t v, tracking::ParseModelVersion(version));
  KILN_ASSIGN_OR_RETURN(std::string canonical, tracking::CanonicalStage(stage));
  if (archive_existing && canonical != storage::kStageStaging && canonical != storage::kStageProduction) {
    return InvalidArgument("Model version transition cannot archive existing model versions because '" + stage +
                           "' is not an Active stage. Valid stages are ['Staging', 'Production']");
  }
  EventContext ev = Event(actor, "transition_model_version_stage");
  KILN_ASSIGN_OR_RETURN(ModelVersion out,
                        store_.TransitionStage(name, v, canonical, archive_existing, ev.timestamp, ev));
  Publish(ev);
  return out;
}

Status RegistryService::DeleteModelVersion(const std::string& actor, const std::string& name,
                                           const std::string& version) {
  KILN_RETURN_IF_ERROR(tracking::ValidateRegisteredModelName(name));
  KILN_ASSIGN_OR_RETURN(int64_t v, tracking::ParseModelVersion(version));
  EventContext ev = Event(actor, "delete_model_version");
  KILN_ASSIGN_OR_RETURN(std::string path, store_.DeleteModelVersion(name, v, ev));
  Publish(ev);
  DeleteCopies({path});
  return Status::Ok();
}

StatusOr<PagedResult<ModelVersion>> RegistryService::SearchModelVersions(const SearchRequest& req) {
  storage::ModelVersionQuery q;
  KILN_ASSIGN_OR_RETURN(q.max_results, MaxResults(req, tracking::kSearchModelVersionsMaxResultsDefault,
                                                  tracking::kSearchModelVersionsMaxResultsThreshold, 1));
  KILN_ASSIGN_OR_RETURN(q.offset, Offset(req));
  KILN_ASSIGN_OR_RETURN(q.filter, tracking::ParseModelVersionFilter(req.filter));
  q.filter.insert(q.filter.end(), req.scope.begin(), req.scope.end());
  KILN_ASSIGN_OR_RETURN(q.order_by, tracking::ParseModelVersionOrderBy(req.order_by));
  KILN_ASSIGN_OR_RETURN(auto page, store_.SearchModelVersions(q));
  return Paged(std::move(page), q.offset, q.max_results);
}

StatusOr<std::string> RegistryService::GetDownloadUri(const std::string& name, const std::string& version) {
  KILN_ASSIGN_OR_RETURN(ModelVersion v, GetModelVersion(name, version));
  if (!v.external_location.empty()) return v.external_location;
  return StorageUri(v.storage_path);
}

Status RegistryService::SetModelVersionTag(const std::string& actor, const std::string& name,
                                           const std::string& version, const std::string& key,
                                           const std::string& value) {
  KILN_RETURN_IF_ERROR(tracking::ValidateRegisteredModelName(name));
  KILN_ASSIGN_OR_RETURN(int64_t v, tracking::ParseModelVersion(version));
  KILN_RETURN_IF_ERROR(tracking::ValidateRegistryTag(key, value));
  EventContext ev = Event(actor, "set_model_version_tag");
  KILN_RETURN_IF_ERROR(store_.SetModelVersionTag(name, v, {key, value}, ev));
  Publish(ev);
  return Status::Ok();
}

Status RegistryService::DeleteModelVersionTag(const std::string& actor, const std::string& name,
                                              const std::string& version, const std::string& key) {
  KILN_RETURN_IF_ERROR(tracking::ValidateRegisteredModelName(name));
  KILN_ASSIGN_OR_RETURN(int64_t v, tracking::ParseModelVersion(version));
  KILN_RETURN_IF_ERROR(tracking::ValidateTagName(key));
  EventContext ev = Event(actor, "delete_model_version_tag");
  KILN_RETURN_IF_ERROR(store_.DeleteModelVersionTag(name, v, key, ev));
  Publish(ev);
  return Status::Ok();
}

// --- packages, URIs, events ---

StatusOr<VersionPackage> RegistryService::GetPackage(const std::string& name, const std::string& version) {
  KILN_ASSIGN_OR_RETURN(ModelVersion v, GetModelVersion(name, version));
  if (!v.external_location.empty()) {
    VersionPackage out;
    out.external = true;
    out.artifact_uri = v.external_location;
    out.package.servable = false;
    out.package.reason = "kiln holds no copy of this version's files: it was registered by reference to '" +
                         v.external_location + "', which is outside kiln's artifact store, so kiln cannot read "
                         "or serve it; register a copy from a run or logged model in kiln to serve it";
    return out;
  }
  KILN_ASSIGN_OR_RETURN(auto entries, storage::ListArtifactTree(artifacts_, v.storage_path));
  std::vector<model_format::PackageFile> files;
  bool has_mlmodel = false;
  bool has_requirements = false;
  for (const auto& e : entries) {
    files.push_back({e.path, e.size});
    has_mlmodel = has_mlmodel || e.path == model_format::kMlModelFile;
    has_requirements = has_requirements || e.path == model_format::kRequirementsFile;
  }
  VersionPackage out;
  out.artifact_uri = StorageUri(v.storage_path);
  if (!has_mlmodel) {
    out.package = model_format::PackageWithoutMlModel(std::move(files));
    return out;
  }
  KILN_ASSIGN_OR_RETURN(std::string mlmodel, ReadSmallFile(artifacts_, Joined(v.storage_path, "MLmodel")));
  std::string requirements;
  if (has_requirements) {
    auto text = ReadSmallFile(artifacts_, Joined(v.storage_path, model_format::kRequirementsFile));
    if (text.ok()) requirements = std::move(*text);
  }
  auto package = model_format::ReadMlflowModel(mlmodel, files, requirements);
  if (!package.ok()) {
    out.package = model_format::PackageWithoutMlModel(std::move(files));
    out.package.reason = package.status().message();
    return out;
  }
  out.package = std::move(*package);
  return out;
}

StatusOr<ModelVersion> RegistryService::ResolveModelUri(const std::string& uri) {
  KILN_ASSIGN_OR_RETURN(ModelUri parsed, ParseModelsUri(uri));
  switch (parsed.kind) {
    case ModelUri::Kind::kLoggedModel:
      return InvalidArgument("'" + uri + "' names a logged model, not a registered model version");
    case ModelUri::Kind::kVersion:
      return GetModelVersion(parsed.name, std::to_string(parsed.version));
    case ModelUri::Kind::kAlias:
      return GetModelVersionByAlias(parsed.name, parsed.alias);
    case ModelUri::Kind::kLatest:
    case ModelUri::Kind::kStage: {
      std::vector<std::string> stages;
      if (parsed.kind == ModelUri::Kind::kStage) stages.push_back(parsed.stage);
      KILN_ASSIGN_OR_RETURN(auto versions, GetLatestVersions(parsed.name, stages));
      if (versions.empty()) {
        return NotFound("No versions of model with name '" + parsed.name + "'" +
                        (stages.empty() ? "" : " and stage '" + parsed.stage + "'") + " found");
      }
      return *std::max_element(versions.begin(), versions.end(),
                               [](const ModelVersion& a, const ModelVersion& b) { return a.version < b.version; });
    }
  }
  return InvalidArgument("unsupported model URI '" + uri + "'");
}

StatusOr<PagedResult<storage::RegistryEvent>> RegistryService::ListEvents(const std::string& name,
                                                                         std::optional<int64_t> max_results,
                                                                         const std::string& page_token) {
  storage::RegistryEventQuery q;
  q.name = name;
  q.max_results = max_results.value_or(100);
  if (q.max_results < 1 || q.max_results > 1000) {
    return InvalidArgument("Invalid value for max_results. It must be between 1 and 1000, but got " +
                           std::to_string(q.max_results));
  }
  if (!page_token.empty()) {
    KILN_ASSIGN_OR_RETURN(q.after_id, tracking::DecodePageToken(page_token));
  }
  ++q.max_results;  // one more tells whether another page exists
  KILN_ASSIGN_OR_RETURN(auto events, store_.ListEvents(q));
  PagedResult<storage::RegistryEvent> out;
  if (static_cast<int64_t>(events.size()) == q.max_results) {
    events.pop_back();
    out.next_page_token = tracking::EncodePageToken(events.back().id);
  }
  out.items = std::move(events);
  return out;
}

}  // namespace kiln::registry
