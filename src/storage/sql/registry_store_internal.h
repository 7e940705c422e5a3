// Event recording shared by SqlRegistryStore's two source files.
//
// Stateless free functions; not synchronised.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/status.h"
#include "storage/registry_store.h"
#include "storage/sql/sql_conn.h"

namespace kiln::storage::sql {

// Stores one event for `name` (rendered through ev's callbacks) in the
// caller's transaction and appends it to ev.recorded. No-op without an action.
Status RecordModelEvent(sql::Conn& c, EventContext& ev, const std::string& name,
                        const std::optional<RegisteredModel>& before, const std::optional<RegisteredModel>& after);
Status RecordVersionEvent(sql::Conn& c, EventContext& ev, const std::string& name, int64_t version,
                          const std::optional<ModelVersion>& before, const std::optional<ModelVersion>& after);

}  // namespace kiln::storage::sql
