// The endpoint store's own JSON documents for what it keeps as text columns:
// endpoint settings, endpoint state (without config_version, which is a
// column of its own) and revision specs. Absent keys read as the entity's
// defaults, so rows written before a field existed still load; a key of the
// wrong type is an error (a corrupt row is never read as something else).
// Non-finite doubles (JSON has none) are written as "NaN" / "Infinity" /
// "-Infinity" strings.
//
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "core/status.h"
#include "storage/endpoint_entities.h"

namespace kiln::storage::sql {

std::string SettingsToJson(const EndpointSettings& settings);
StatusOr<EndpointSettings> SettingsFromJson(const std::string& json);

std::string StateToJson(const EndpointState& state);
// config_version is left 0; the caller sets it from its column.
StatusOr<EndpointState> StateFromJson(const std::string& json);

std::string SpecToJson(const RevisionSpec& spec);
StatusOr<RevisionSpec> SpecFromJson(const std::string& json);

}  // namespace kiln::storage::sql
