#include "features/feature_registry.h"

#include <algorithm>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "feast/core/Entity.pb.h"
#include "feast/core/FeatureService.pb.h"
#include "feast/core/FeatureView.pb.h"
#include "feast/core/InfraObject.pb.h"
#include "feast/core/OnDemandFeatureView.pb.h"
#include "feast/core/Project.pb.h"
#include "feast/core/Registry.pb.h"
#include "feast/core/StreamFeatureView.pb.h"
#include "features/registry_message.h"
#include "features/registry_view_schema.h"

namespace kiln::features {

namespace fk = storage::feature_kind;
using Mutation = storage::FeatureRegistryStore::Mutation;

namespace {

// Not a registry object kind of Feast's: where kiln keeps a project's uuid
// (Feast's feast_metadata table), one per project, name "".
constexpr const char* kProjectMetadataKind = "project_metadata";

std::string NewUuid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buf[37];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

storage::FeatureEvent MakeEvent(int64_t now_us, const std::string& actor, const std::string& action,
                                const std::string& project, const std::string& kind, const std::string& name,
                                nlohmann::json detail) {
  storage::FeatureEvent e;
  e.timestamp_us = now_us;
  e.actor = actor;
  e.action = action;
  e.project = project;
  e.kind = kind;
  e.name = name;
  e.detail_json = detail.dump();
  return e;
}

std::string CacheKey(const std::string& project, const std::string& name) { return project + '\0' + name; }

bool SameInterval(const feast::core::MaterializationInterval& a, const feast::core::MaterializationInterval& b) {
  return a.start_time().seconds() == b.start_time().seconds() && a.start_time().nanos() == b.start_time().nanos() &&
         a.end_time().seconds() == b.end_time().seconds() && a.end_time().nanos() == b.end_time().nanos();
}

// Feast's update_materialization_intervals: the stored intervals survive a
// re-apply; ones the client sent that are not stored yet are added.
void KeepIntervals(const feast::core::FeatureViewMeta& stored, feast::core::FeatureViewMeta* incoming) {
  google::protobuf::RepeatedPtrField<feast::core::MaterializationInterval> merged = stored.materialization_intervals();
  for (const auto& iv : incoming->materialization_intervals()) {
    bool seen = std::any_of(merged.begin(), merged.end(), [&](const auto& m) { return SameInterval(m, iv); });
    if (!seen) *merged.Add() = iv;
  }
  *incoming->mutable_materialization_intervals() = std::move(merged);
  if (incoming->state() == feast::core::STATE_UNSPECIFIED) incoming->set_state(stored.state());
}

feast::core::FeatureViewMeta* ViewMeta(ObjectKind kind, google::protobuf::Message& m) {
  if (kind == ObjectKind::kFeatureView) return static_cast<feast::core::FeatureView&>(m).mutable_meta();
  if (kind == ObjectKind::kStreamFeatureView) return static_cast<feast::core::StreamFeatureView&>(m).mutable_meta();
  return nullptr;
}

Status ParseInto(const std::string& bytes, google::protobuf::Message* out, const std::string& what) {
  if (!out->ParseFromString(bytes)) return Internal("the stored " + what + " is not a valid message");
  return Status::Ok();
}

}  // namespace

FeatureRegistry::FeatureRegistry(storage::FeatureRegistryStore& store, const Clock& clock)
    : store_(store), clock_(clock) {}

int64_t FeatureRegistry::NowUs() const { return clock_.NowMillis() * 1000; }

void FeatureRegistry::InvalidateCaches() {
  std::unique_lock lock(cache_mu_);
  ++generation_;
  schema_cache_.clear();
  project_cache_.clear();
  projection_cache_.clear();
}

void FeatureRegistry::Changed() {
  InvalidateCaches();
  // Also after a failed write: it may have committed (a lost reply), and a
  // needless cache drop elsewhere costs only a re-read.
  if (feed_ != nullptr) feed_->Announce(change_topics::kFeatureRegistry, "");
}

void FeatureRegistry::Follow(ChangeFeed& feed) {
  feed_ = &feed;
  feed.Subscribe(change_topics::kFeatureRegistry, [this](const std::string&) { InvalidateCaches(); });
}

StatusOr<RegistryObject> FeatureRegistry::Parse(const storage::FeatureObject& o) const {
  std::optional<ObjectKind> kind = KindFromStore(o.kind);
  if (!kind) return Internal("unknown feature object kind " + o.kind);
  RegistryObject r;
  r.kind = *kind;
  r.message = NewMessage(*kind);
  r.created_us = o.created_us;
  r.updated_us = o.updated_us;
  if (Status s = ParseInto(o.proto, r.message.get(), o.kind + " " + o.name); !s.ok()) return s;
  return r;
}

Status FeatureRegistry::PutMutations(std::vector<Mutation>& muts) {
  if (muts.empty()) return Status::Ok();
  Status s = store_.Apply(muts);
  Changed();
  return s;
}

Status FeatureRegistry::EnsureProject(const std::string& project, int64_t now_us, const std::string& actor,
                                      std::vector<Mutation>& muts) {
  StatusOr<storage::FeatureObject> existing = store_.Get(project, fk::kProject, project);
  if (existing.ok()) return Status::Ok();
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  // Feast's _initialize_project_if_not_exists: a bare project named after the key.
  feast::core::Project p;
  p.mutable_spec()->set_name(project);
  SetMetaTimestampUs(p, kCreated, now_us);
  SetMetaTimestampUs(p, kLastUpdated, now_us);
  Mutation m;
  m.object = {project, fk::kProject, project, p.SerializeAsString(), now_us, now_us};
  m.event = MakeEvent(now_us, actor, "apply", project, fk::kProject, project, {{"change", "create"}});
  muts.push_back(std::move(m));
  feast::core::ProjectMetadata meta;
  meta.set_project(project);
  meta.set_project_uuid(NewUuid());
  Mutation mm;
  mm.object = {project, kProjectMetadataKind, "", meta.SerializeAsString(), now_us, now_us};
  muts.push_back(std::move(mm));
  return Status::Ok();
}

Status FeatureRegistry::Apply(ObjectKind kind, const std::string& project_in, const google::protobuf::Message& object,
                              const std::string& actor) {
  std::unique_ptr<google::protobuf::Message> m = NewMessage(kind);
  if (object.GetDescriptor() != m->GetDescriptor()) {
    return InvalidArgument(std::string("expected a ") + m->GetDescriptor()->full_name() + ", got " +
                           object.GetDescriptor()->full_name());
  }
  m->CopyFrom(object);
  const std::string name = MessageName(*m);
  const std::string project = kind == ObjectKind::kProject ? name : project_in;
  if (name.empty()) return InvalidArgument(std::string(FeastTypeName(kind)) + " has no name");
  if (project.empty()) return InvalidArgument("a project name is required");
  if (kind != ObjectKind::kProject) SetMessageProject(*m, project);

  if (IsFeatureViewKind(kind)) {
    // Feast keeps one name space for all view kinds (ConflictingFeatureViewNames).
    for (ObjectKind other : kFeatureViewKinds) {
      if (other == kind) continue;
      StatusOr<storage::FeatureObject> clash = store_.Get(project, StoreKind(other), name);
      if (clash.ok()) {
        return InvalidArgument("Feature view name '" + name + "' is already used by a " + FeastTypeName(other) +
                               ". Cannot register a " + FeastTypeName(kind) +
                               " with the same name. Feature view names must be unique across FeatureView, "
                               "StreamFeatureView, and OnDemandFeatureView.");
      }
      if (clash.status().code() != StatusCode::kNotFound) return clash.status();
    }
  }

  const int64_t now = NowUs();
  std::vector<Mutation> muts;
  StatusOr<storage::FeatureObject> existing = store_.Get(project, StoreKind(kind), name);
  std::string change;
  int64_t created = now;
  if (existing.ok()) {
    std::unique_ptr<google::protobuf::Message> old = NewMessage(kind);
    if (Status s = ParseInto(existing->proto, old.get(), existing->kind + " " + name); !s.ok()) return s;
    if (DefinitionBytes(*old) == DefinitionBytes(*m)) return Status::Ok();  // Feast: unchanged, no write
    created = MetaTimestampUs(*old, kCreated);
    if (created == 0) created = existing->created_us;
    if (feast::core::FeatureViewMeta* meta = ViewMeta(kind, *m)) KeepIntervals(*ViewMeta(kind, *old), meta);
    change = "update";
  } else if (existing.status().code() == StatusCode::kNotFound) {
    change = "create";
    if (kind != ObjectKind::kProject) {
      if (Status s = EnsureProject(project, now, actor, muts); !s.ok()) return s;
    }
  } else {
    return existing.status();
  }
  SetMetaTimestampUs(*m, kCreated, created);
  SetMetaTimestampUs(*m, kLastUpdated, now);
  Mutation put;
  put.object = {project, StoreKind(kind), name, m->SerializeAsString(), created, now};
  put.event = MakeEvent(now, actor, "apply", project, StoreKind(kind), name, {{"change", change}});
  muts.push_back(std::move(put));
  if (kind == ObjectKind::kProject && change == "create") {
    feast::core::ProjectMetadata meta;
    meta.set_project(project);
    meta.set_project_uuid(NewUuid());
    Mutation mm;
    mm.object = {project, kProjectMetadataKind, "", meta.SerializeAsString(), now, now};
    muts.push_back(std::move(mm));
  }
  return PutMutations(muts);
}

StatusOr<RegistryObject> FeatureRegistry::Get(ObjectKind kind, const std::string& project, const std::string& name) {
  const std::string key_project = kind == ObjectKind::kProject ? name : project;
  StatusOr<storage::FeatureObject> o = store_.Get(key_project, StoreKind(kind), name);
  if (!o.ok()) {
    if (o.status().code() == StatusCode::kNotFound) return NotFound(NotFoundError(kind, name, project).message);
    return o.status();
  }
  return Parse(*o);
}

StatusOr<RegistryObject> FeatureRegistry::GetAnyFeatureView(const std::string& project, const std::string& name) {
  for (ObjectKind kind : kFeatureViewKinds) {
    StatusOr<RegistryObject> o = Get(kind, project, name);
    if (o.ok() || o.status().code() != StatusCode::kNotFound) return o;
  }
  return NotFound(NotFoundError(ObjectKind::kFeatureView, name, project).message);
}

StatusOr<std::vector<RegistryObject>> FeatureRegistry::List(ObjectKind kind, const std::string& project,
                                                            const RegistryListFilter& filter) {
  storage::FeatureListQuery q;
  q.project = kind == ObjectKind::kProject ? "" : project;
  q.kind = StoreKind(kind);
  std::vector<RegistryObject> out;
  if (kind != ObjectKind::kProject && project.empty()) return out;
  StatusOr<std::vector<storage::FeatureObject>> rows = store_.List(q);
  if (!rows.ok()) return rows.status();
  for (const storage::FeatureObject& row : *rows) {
    // Feast's SQL registry compares whole seconds.
    if (filter.updated_since_us >= 0 && row.updated_us / 1000000 < filter.updated_since_us / 1000000) continue;
    StatusOr<RegistryObject> o = Parse(row);
    if (!o.ok()) return o.status();
    if (!HasAllTags(*o->message, filter.tags)) continue;
    out.push_back(std::move(*o));
  }
  return out;
}

StatusOr<std::vector<RegistryObject>> FeatureRegistry::ListAllFeatureViews(const std::string& project,
                                                                           const RegistryListFilter& filter,
                                                                           bool include_label_views) {
  std::vector<RegistryObject> out;
  for (ObjectKind kind : kFeatureViewKinds) {
    if (kind == ObjectKind::kLabelView && !include_label_views) continue;
    StatusOr<std::vector<RegistryObject>> part = List(kind, project, filter);
    if (!part.ok()) return part.status();
    for (RegistryObject& o : *part) out.push_back(std::move(o));
  }
  return out;
}

Status FeatureRegistry::DeleteOne(ObjectKind kind, const std::string& project, const std::string& name,
                                  const std::string& actor) {
  storage::FeatureEvent ev = MakeEvent(NowUs(), actor, "delete", project, StoreKind(kind), name, nlohmann::json::object());
  Status s = store_.Delete(project, StoreKind(kind), name, &ev);
  Changed();
  return s;
}

Status FeatureRegistry::Delete(ObjectKind kind, const std::string& project, const std::string& name,
                               const std::string& actor) {
  if (kind == ObjectKind::kProject) return DeleteProject(name, actor);
  Status s = DeleteOne(kind, project, name, actor);
  if (s.code() == StatusCode::kNotFound) return NotFound(NotFoundError(kind, name, project).message);
  return s;
}

Status FeatureRegistry::DeleteFeatureView(const std::string& project, const std::string& name,
                                          const std::string& actor) {
  for (ObjectKind kind : kFeatureViewKinds) {
    Status s = DeleteOne(kind, project, name, actor);
    if (s.code() != StatusCode::kNotFound) return s;
  }
  return NotFound(NotFoundError(ObjectKind::kFeatureView, name, project).message);
}

Status FeatureRegistry::DeleteProject(const std::string& name, const std::string& actor) {
  StatusOr<RegistryObject> p = Get(ObjectKind::kProject, name, name);
  if (!p.ok()) return p.status();
  storage::FeatureEvent ev = MakeEvent(NowUs(), actor, "delete", name, fk::kProject, name, nlohmann::json::object());
  Status s = store_.DeleteProject(name, &ev);
  Changed();
  return s;
}

Status FeatureRegistry::RecordMaterialization(const std::string& project, const std::string& view, int64_t start_us,
                                              int64_t end_us, const std::string& actor) {
  if (end_us < start_us) return InvalidArgument("materialization end precedes its start for feature view " + view);
  StatusOr<RegistryObject> o = GetAnyFeatureView(project, view);
  if (!o.ok()) return o.status();
  feast::core::FeatureViewMeta* meta = ViewMeta(o->kind, *o->message);
  if (meta == nullptr) {
    return InvalidArgument("Cannot apply materialization for feature " + view + " of type " +
                           FeastTypeName(o->kind));
  }
  const int64_t now = NowUs();
  auto* iv = meta->add_materialization_intervals();
  iv->mutable_start_time()->set_seconds(start_us / 1000000);
  iv->mutable_start_time()->set_nanos(static_cast<int32_t>(start_us % 1000000) * 1000);
  iv->mutable_end_time()->set_seconds(end_us / 1000000);
  iv->mutable_end_time()->set_nanos(static_cast<int32_t>(end_us % 1000000) * 1000);
  meta->set_state(feast::core::AVAILABLE_ONLINE);
  SetMetaTimestampUs(*o->message, kLastUpdated, now);
  std::vector<Mutation> muts(1);
  muts[0].object = {project, StoreKind(o->kind), view, o->message->SerializeAsString(), o->created_us, now};
  muts[0].event = MakeEvent(now, actor, "materialize", project, StoreKind(o->kind), view,
                            {{"start_us", start_us}, {"end_us", end_us}});
  return PutMutations(muts);
}

Status FeatureRegistry::UpdateInfra(const std::string& project, const feast::core::Infra& infra,
                                    const std::string& actor) {
  if (project.empty()) return InvalidArgument("a project name is required");
  const int64_t now = NowUs();
  std::vector<Mutation> muts;
  if (Status s = EnsureProject(project, now, actor, muts); !s.ok()) return s;
  Mutation m;
  m.object = {project, fk::kInfra, "", infra.SerializeAsString(), now, now};
  m.event = MakeEvent(now, actor, "apply", project, fk::kInfra, "", {{"infra_objects", infra.infra_objects_size()}});
  muts.push_back(std::move(m));
  return PutMutations(muts);
}

Status FeatureRegistry::GetInfra(const std::string& project, feast::core::Infra* out) {
  out->Clear();
  StatusOr<storage::FeatureObject> o = store_.Get(project, fk::kInfra, "");
  if (!o.ok()) return o.status().code() == StatusCode::kNotFound ? Status::Ok() : o.status();
  return ParseInto(o->proto, out, "infra of project " + project);
}

StatusOr<std::vector<feast::core::ProjectMetadata>> FeatureRegistry::ListProjectMetadata(const std::string& project) {
  std::vector<feast::core::ProjectMetadata> out;
  StatusOr<storage::FeatureObject> o = store_.Get(project, kProjectMetadataKind, "");
  if (!o.ok()) {
    if (o.status().code() == StatusCode::kNotFound) return out;
    return o.status();
  }
  feast::core::ProjectMetadata pm;
  if (Status s = ParseInto(o->proto, &pm, "metadata of project " + project); !s.ok()) return s;
  out.push_back(std::move(pm));
  return out;
}

Status FeatureRegistry::BuildRegistryProto(feast::core::Registry* out) {
  out->Clear();
  StatusOr<std::vector<RegistryObject>> projects = List(ObjectKind::kProject, "", {});
  if (!projects.ok()) return projects.status();
  int64_t newest = 0;
  for (const RegistryObject& p : *projects) {
    const std::string name = MessageName(*p.message);
    newest = std::max(newest, p.updated_us);
    out->add_projects()->CopyFrom(*p.message);
    for (ObjectKind kind : kAllKinds) {
      if (kind == ObjectKind::kProject) continue;
      StatusOr<std::vector<RegistryObject>> objs = List(kind, name, {});
      if (!objs.ok()) return objs.status();
      for (const RegistryObject& o : *objs) {
        newest = std::max(newest, o.updated_us);
        google::protobuf::Message* dst = nullptr;
        switch (kind) {
          case ObjectKind::kEntity: dst = out->add_entities(); break;
          case ObjectKind::kDataSource: dst = out->add_data_sources(); break;
          case ObjectKind::kFeatureView: dst = out->add_feature_views(); break;
          case ObjectKind::kStreamFeatureView: dst = out->add_stream_feature_views(); break;
          case ObjectKind::kOnDemandFeatureView: dst = out->add_on_demand_feature_views(); break;
          case ObjectKind::kLabelView: dst = out->add_label_views(); break;
          case ObjectKind::kFeatureService: dst = out->add_feature_services(); break;
          case ObjectKind::kSavedDataset: dst = out->add_saved_datasets(); break;
          case ObjectKind::kValidationReference: dst = out->add_validation_references(); break;
          case ObjectKind::kPermission: dst = out->add_permissions(); break;
          case ObjectKind::kProject: break;
        }
        if (dst != nullptr) dst->CopyFrom(*o.message);
      }
    }
    // Feast's Registry has one infra field: the last project's, as Feast fills it.
    if (Status s = GetInfra(name, out->mutable_infra()); !s.ok()) return s;
  }
  if (newest > 0) {
    out->mutable_last_updated()->set_seconds(newest / 1000000);
    out->mutable_last_updated()->set_nanos(static_cast<int32_t>(newest % 1000000) * 1000);
  }
  return Status::Ok();
}

StatusOr<std::vector<storage::FeatureEvent>> FeatureRegistry::ListEvents(const std::string& project, int64_t after_id,
                                                                         int limit) {
  return store_.ListEvents(project, after_id, limit);
}

// --- typed reads ---

namespace {
constexpr const char* kWouldBlock = "the feature registry's cache does not hold this; it needs a store read";
}  // namespace

Status WouldBlock() { return Unavailable(kWouldBlock); }
bool IsWouldBlock(const Status& s) { return s.code() == StatusCode::kUnavailable && s.message() == kWouldBlock; }

StatusOr<std::string> FeatureRegistry::ResolveProject(const std::string& explicit_project, const std::string& object,
                                                      RegistryRead read) {
  if (!explicit_project.empty()) return explicit_project;
  const std::string name = object.substr(0, object.find(':'));
  {
    std::shared_lock lock(cache_mu_);
    if (auto it = project_cache_.find(name); it != project_cache_.end()) return it->second;
  }
  if (read == RegistryRead::kCachedOnly) return WouldBlock();
  uint64_t gen;
  {
    std::shared_lock lock(cache_mu_);
    gen = generation_;
  }
  std::set<std::string> holders;
  if (!name.empty()) {
    storage::FeatureListQuery q;
    q.name_prefix = name;
    StatusOr<std::vector<storage::FeatureObject>> rows = store_.List(q);
    if (!rows.ok()) return rows.status();
    for (const storage::FeatureObject& o : *rows) {
      if (o.name != name) continue;
      if (o.kind == fk::kFeatureView || o.kind == fk::kStreamFeatureView || o.kind == fk::kOnDemandFeatureView ||
          o.kind == fk::kFeatureService || o.kind == fk::kDataSource) {
        holders.insert(o.project);
      }
    }
  }
  std::string resolved;
  if (holders.size() == 1) {
    resolved = *holders.begin();
  } else if (holders.size() > 1) {
    std::string list;
    for (const std::string& p : holders) list += (list.empty() ? "" : ", ") + p;
    return InvalidArgument("'" + name + "' exists in several projects (" + list +
                           "); name the project in the request's \"project\" field");
  } else {
    storage::FeatureListQuery q;
    q.kind = fk::kProject;
    StatusOr<std::vector<storage::FeatureObject>> projects = store_.List(q);
    if (!projects.ok()) return projects.status();
    if (projects->empty()) return NotFound("no Feast project has been applied to this registry");
    if (projects->size() > 1) {
      std::string list;
      for (const auto& p : *projects) list += (list.empty() ? "" : ", ") + p.name;
      return NotFound("no project (of " + list + ") holds a feature view, feature service or data source named '" +
                      name + "'");
    }
    resolved = projects->front().name;
  }
  std::unique_lock lock(cache_mu_);
  if (gen == generation_) project_cache_[name] = resolved;
  return resolved;
}

StatusOr<ViewSchema> FeatureRegistry::SchemaOf(const std::string& project, const RegistryObject& view) {
  EntityLookup lookup = [&](const std::string& entity) -> StatusOr<feast::core::Entity> {
    StatusOr<RegistryObject> e = Get(ObjectKind::kEntity, project, entity);
    if (!e.ok()) return e.status();
    return static_cast<const feast::core::Entity&>(*e->message);
  };
  switch (view.kind) {
    case ObjectKind::kFeatureView:
      return SchemaFromFeatureView(static_cast<const feast::core::FeatureView&>(*view.message), lookup);
    case ObjectKind::kStreamFeatureView:
      return SchemaFromStreamFeatureView(static_cast<const feast::core::StreamFeatureView&>(*view.message), lookup);
    case ObjectKind::kOnDemandFeatureView:
      return SchemaFromOnDemandView(static_cast<const feast::core::OnDemandFeatureView&>(*view.message));
    default: break;
  }
  return NotFound(NotFoundError(ObjectKind::kFeatureView, MessageName(*view.message), project).message);
}

StatusOr<ViewSchema> FeatureRegistry::LoadViewSchema(const std::string& project, const std::string& view) {
  for (ObjectKind kind :
       {ObjectKind::kFeatureView, ObjectKind::kStreamFeatureView, ObjectKind::kOnDemandFeatureView}) {
    StatusOr<RegistryObject> o = Get(kind, project, view);
    if (o.ok()) return SchemaOf(project, *o);
    if (o.status().code() != StatusCode::kNotFound) return o.status();
  }
  return NotFound(NotFoundError(ObjectKind::kFeatureView, view, project).message);
}

StatusOr<ViewSchema> FeatureRegistry::GetViewSchema(const std::string& project_in, const std::string& view,
                                                    RegistryRead read) {
  StatusOr<std::string> project = ResolveProject(project_in, view, read);
  if (!project.ok()) return project.status();
  const std::string key = CacheKey(*project, view);
  uint64_t gen;
  {
    std::shared_lock lock(cache_mu_);
    if (auto it = schema_cache_.find(key); it != schema_cache_.end()) return it->second;
    gen = generation_;
  }
  if (read == RegistryRead::kCachedOnly) return WouldBlock();
  StatusOr<ViewSchema> schema = LoadViewSchema(*project, view);
  if (!schema.ok()) return schema;
  std::unique_lock lock(cache_mu_);
  if (gen == generation_) schema_cache_.emplace(key, *schema);
  return schema;
}

StatusOr<std::vector<ViewSchema>> FeatureRegistry::ListViewSchemas(const std::string& project_in) {
  StatusOr<std::string> project = ResolveProject(project_in, "");
  if (!project.ok()) return project.status();
  StatusOr<std::vector<RegistryObject>> views = ListAllFeatureViews(*project, {}, false);
  if (!views.ok()) return views.status();
  std::vector<ViewSchema> out;
  for (const RegistryObject& v : *views) {
    StatusOr<ViewSchema> s = SchemaOf(*project, v);
    if (!s.ok()) return s.status();
    out.push_back(std::move(*s));
  }
  return out;
}

StatusOr<std::vector<ViewProjection>> FeatureRegistry::GetFeatureServiceProjections(const std::string& project_in,
                                                                                    const std::string& service,
                                                                                    RegistryRead read) {
  StatusOr<std::string> project = ResolveProject(project_in, service, read);
  if (!project.ok()) return project.status();
  // Online reads by feature service ask this on every request: cached like
  // the view schemas, dropped on every write.
  const std::string key = CacheKey(*project, service);
  uint64_t gen;
  {
    std::shared_lock lock(cache_mu_);
    if (auto it = projection_cache_.find(key); it != projection_cache_.end()) return it->second;
    gen = generation_;
  }
  if (read == RegistryRead::kCachedOnly) return WouldBlock();
  StatusOr<RegistryObject> o = Get(ObjectKind::kFeatureService, *project, service);
  if (!o.ok()) return o.status();
  const auto& fs = static_cast<const feast::core::FeatureService&>(*o->message);
  std::vector<ViewProjection> out;
  for (const auto& p : fs.spec().features()) {
    ViewProjection vp;
    vp.view = p.feature_view_name();
    vp.alias = p.feature_view_name_alias();
    for (const auto& f : p.feature_columns()) vp.features.push_back(f.name());
    std::vector<std::pair<std::string, std::string>> jk(p.join_key_map().begin(), p.join_key_map().end());
    std::sort(jk.begin(), jk.end());
    vp.join_key_map = std::move(jk);
    out.push_back(std::move(vp));
  }
  std::unique_lock lock(cache_mu_);
  if (gen == generation_) projection_cache_.emplace(key, out);
  return out;
}

StatusOr<std::vector<ViewSchema>> FeatureRegistry::ViewsForPushSource(const std::string& project_in,
                                                                      const std::string& push_source) {
  StatusOr<std::string> project = ResolveProject(project_in, push_source);
  if (!project.ok()) return project.status();
  StatusOr<std::vector<ViewSchema>> all = ListViewSchemas(*project);
  if (!all.ok()) return all.status();
  std::vector<ViewSchema> out;
  for (ViewSchema& s : *all) {
    if (s.kind != ViewKind::kOnDemand && s.push_source_name == push_source) out.push_back(std::move(s));
  }
  if (out.empty()) {
    // Feast's PushSourceNotFoundException text.
    return NotFound("Unable to find push source '" + push_source + "'.");
  }
  return out;
}

}  // namespace kiln::features
