#include "audit/audited_endpoint_store.h"

#include "core/access.h"
#include "core/log.h"

namespace kiln::audit {

void AuditedEndpointStore::Record(const storage::EndpointEvent& ev) {
  AuditEvent e;
  e.stage = "event";
  // The rollout controller acts as "kiln".
  const bool system = ev.actor.empty() || ev.actor == "kiln";
  e.actor = system ? "system" : ev.actor;
  e.actor_kind = system ? "system" : "";
  e.service = "platform";
  e.action = "platform.endpoint." + ev.action;
  e.object = ObjectRef{ObjectKind::kEndpoint, ev.endpoint}.ToString();
  e.objects = {e.object};
  e.decision = "allow";
  e.reason = ev.reason + (ev.revision > 0 ? ", revision " + std::to_string(ev.revision) : "");
  e.after_json = ev.detail_json;
  e.time_ms = ev.timestamp_ms;
  // The change is committed already: a lost record is logged, not refused
  // (requests that caused it were refused unless their own record was written).
  if (auto id = log_.Record(std::move(e)); !id.ok()) {
    log::Error("audit: endpoint event " + ev.action + " of " + ev.endpoint + " not recorded: " + id.status().message());
  }
}

StatusOr<storage::EndpointRecord> AuditedEndpointStore::CreateEndpoint(const storage::EndpointRecord& endpoint,
                                                                       const storage::EndpointRevision& first,
                                                                       const storage::EndpointEvent& event) {
  auto stored = inner_.CreateEndpoint(endpoint, first, event);
  if (stored.ok()) Record(event);
  return stored;
}

StatusOr<storage::EndpointRecord> AuditedEndpointStore::UpdateEndpoint(
    const storage::EndpointRecord& endpoint, int64_t expected_config_version,
    const std::optional<storage::EndpointRevision>& new_revision, const storage::EndpointEvent& event) {
  auto stored = inner_.UpdateEndpoint(endpoint, expected_config_version, new_revision, event);
  if (stored.ok()) Record(event);
  return stored;
}

Status AuditedEndpointStore::DeleteEndpoint(const std::string& name, const storage::EndpointEvent& event) {
  Status s = inner_.DeleteEndpoint(name, event);
  if (s.ok()) Record(event);
  return s;
}

}  // namespace kiln::audit
