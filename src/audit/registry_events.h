// Registry events (registry/event_recorder.h) as audit records: the registry
// announces each mutation after its commit, with before/after state, and the
// audit log keeps them (stage "event") beside the request records, so the
// trail shows what changed even for mutations made by kiln itself (alias
// following, rollouts).
//
// Free functions; the subscriber borrows the log, which must outlive the
// registry's EventRecorder.
#pragma once

#include <functional>

#include "audit/audit_log.h"
#include "storage/registry_entities.h"

namespace kiln::audit {

AuditEvent FromRegistryEvent(const storage::RegistryEvent& event);

// For EventRecorder::Subscribe. The mutation is committed already, so a
// record that cannot be written is logged, not refused.
std::function<void(const storage::RegistryEvent&)> RegistryEventSubscriber(AuditLog& log);

}  // namespace kiln::audit
