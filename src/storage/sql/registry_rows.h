// Row-level reads and writes shared by SqlRegistryStore's methods: loading
// a registered model or version with its tags and aliases, and recording an
// event. Every function runs on a connection the caller holds inside a
// transaction.
//
// Stateless free functions; not synchronised.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/registry_entities.h"
#include "storage/sql/sql_conn.h"

namespace kiln::storage::sql {

// NotFound "Registered Model with name=<name> not found".
StatusOr<int64_t> RegisteredModelPk(sql::Conn& c, const std::string& name);
StatusOr<RegisteredModel> LoadRegisteredModel(sql::Conn& c, int64_t pk);
// nullopt when the version does not exist.
StatusOr<std::optional<ModelVersion>> LoadModelVersion(sql::Conn& c, int64_t pk, const std::string& name,
                                                       int64_t version);
// NotFound "Model Version (name=<name>, version=<v>) not found".
StatusOr<ModelVersion> RequireModelVersion(sql::Conn& c, int64_t pk, const std::string& name, int64_t version);
// Latest version per stage, ordered by version; all stages when `stages` is empty.
StatusOr<std::vector<ModelVersion>> LatestVersions(sql::Conn& c, int64_t pk, const std::string& name,
                                                   const std::vector<std::string>& stages);
Status TouchRegisteredModel(sql::Conn& c, int64_t pk, int64_t now_ms);
// Returns the new event id.
StatusOr<int64_t> InsertEvent(sql::Conn& c, const RegistryEvent& e);

}  // namespace kiln::storage::sql
