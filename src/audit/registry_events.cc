#include "audit/registry_events.h"

#include "core/access.h"
#include "core/log.h"

namespace kiln::audit {

AuditEvent FromRegistryEvent(const storage::RegistryEvent& ev) {
  AuditEvent e;
  e.stage = "event";
  e.actor = ev.actor.empty() ? "system" : ev.actor;
  e.actor_kind = ev.actor.empty() ? "system" : "";
  e.service = "registry";
  e.action = "registry." + ev.action;
  ObjectRef ref{ObjectKind::kRegisteredModel, ev.name};
  e.object = ref.ToString();
  e.objects = {e.object};
  e.decision = "allow";
  e.reason = "registry event " + std::to_string(ev.id) + (ev.version.empty() ? "" : ", version " + ev.version);
  e.before_json = ev.before_json;
  e.after_json = ev.after_json;
  e.time_ms = ev.timestamp;
  return e;
}

std::function<void(const storage::RegistryEvent&)> RegistryEventSubscriber(AuditLog& audit_log) {
  return [&audit_log](const storage::RegistryEvent& ev) {
    auto id = audit_log.Record(FromRegistryEvent(ev));
    if (!id.ok()) {
      log::Error("audit: registry event " + std::to_string(ev.id) + " (" + ev.action + " " + ev.name +
                 ") not recorded: " + id.status().message());
    }
  };
}

}  // namespace kiln::audit
