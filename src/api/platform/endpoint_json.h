// The platform API's JSON: request bodies of /api/v1/endpoints (create and
// PATCH) decoded into the deploy domain's types, and endpoints, events,
// deploy outcomes and captured predictions rendered back. The shapes are
// the ones src/api/platform/openapi.json documents.
//
// Decoding is strict: an unknown field, a wrong type or a value out of range
// is InvalidArgument naming the field ("routes[1].percent must be ..."), so a
// typo is never silently ignored. PATCH is a merge patch (RFC 7386) over the
// endpoint's latest revision and its settings: absent fields keep their
// value, null resets one to its default.
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "deploy/capture_store.h"
#include "deploy/endpoint_service.h"
#include "storage/endpoint_entities.h"

namespace kiln::api::platform {

// POST /api/v1/endpoints: name and routes required.
StatusOr<deploy::EndpointCreate> ParseCreateEndpoint(std::string_view body);

struct EndpointPatch {
  std::optional<storage::RevisionSpec> spec;          // set when a revision field was given
  std::optional<storage::EndpointSettings> settings;  // set when a settings field was given
};

// PATCH /api/v1/endpoints/{name} over the current spec and settings. A body
// with neither revision nor settings fields is InvalidArgument.
StatusOr<EndpointPatch> ParsePatchEndpoint(std::string_view body, const std::string& name,
                                           const storage::RevisionSpec& current_spec,
                                           const storage::EndpointSettings& current_settings);

// The optional {"reason"} of :rollback and :promote, recorded with the event
// (an empty body is an empty object).
StatusOr<std::string> ParseActionBody(std::string_view body);

// POST /api/v1/models/deploy and /api/v1/models/rollback.
struct ModelDeployRequest {
  std::string model_name;
  std::string model_version;  // empty for rollback
  std::string target_stage;
};
StatusOr<ModelDeployRequest> ParseModelDeploy(std::string_view body, bool need_version);

nlohmann::json RevisionJson(const storage::EndpointRevision& revision);
nlohmann::json EndpointJson(const deploy::EndpointView& view);
nlohmann::json EventJson(const storage::EndpointEvent& event);
nlohmann::json DeployOutcomeJson(const deploy::DeployOutcome& outcome);
nlohmann::json CaptureJson(const deploy::CapturedPrediction& record);

// Bounded non-negative integer query parameter (after_id, max_results);
// `fallback` when absent.
StatusOr<int64_t> QueryInt(std::string_view text, std::string_view name, int64_t fallback, int64_t lo, int64_t hi);

// Serializes without throwing on invalid UTF-8 (replaced).
std::string Dump(const nlohmann::json& j);

}  // namespace kiln::api::platform
