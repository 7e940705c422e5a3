#include "cli/serve_components.h"

#include <nlohmann/json.hpp>

#include "cli/backends.h"
#include "storage/postgres/pg_change_feed.h"

namespace kiln::cli {
namespace {

using api::ComponentCheck;
using api::ComponentResult;
using nlohmann::json;

ComponentResult Off(std::string why) {
  ComponentResult r;
  r.status = "off";
  r.message = std::move(why);
  return r;
}

// The scheme of a store URI ("s3", "redis"), never the rest: URIs may carry
// hosts and user names an operator did not mean to show.
std::string Scheme(const std::string& uri, const char* fallback) {
  const size_t colon = uri.find("://");
  return colon == std::string::npos ? fallback : uri.substr(0, colon);
}

ComponentResult Models(const serving::ModelRepository& repo) {
  ComponentResult r;
  json models = json::array();
  int ready = 0;
  int broken = 0;
  for (const serving::ModelState& m : repo.Index()) {
    models.push_back({{"name", m.name}, {"version", m.version}, {"state", m.state}, {"reason", m.reason}});
    if (m.state == "READY") {
      ++ready;
    } else if (m.state == "UNAVAILABLE") {
      ++broken;  // a load failed; UNLOADED was asked for
    }
  }
  r.detail = {{"models", std::move(models)}, {"ready", ready}};
  if (broken > 0) {
    r.status = "degraded";
    r.message = std::to_string(broken) + (broken == 1 ? " model is" : " models are") + " not loaded";
  }
  return r;
}

}  // namespace

std::vector<ComponentCheck> ComponentChecks(const ServeComponents& in) {
  std::vector<ComponentCheck> out;
  const Config& config = *in.config;
  const std::string database = DescribeDatabase(config);
  out.push_back({"metadata_store", "store",
                 [store = in.metadata, database] {
                   ComponentResult r = api::FromStatus(store->Ping());
                   r.detail = {{"database", database}};
                   return r;
                 },
                 {}});
  const std::string artifacts = Scheme(config.artifacts_uri, "local");
  out.push_back({"artifact_store", "store",
                 [store = in.artifacts, artifacts] {
                   ComponentResult r = api::FromStatus(store->Ping());
                   r.detail = {{"backend", artifacts}};
                   return r;
                 },
                 {}});
  const std::string online = Scheme(config.online_store_uri, "embedded");
  out.push_back({"online_store", "store",
                 [store = in.online, online] {
                   ComponentResult r = api::FromStatus(store->Ping());
                   r.detail = {{"backend", online}};
                   return r;
                 },
                 {}});
  out.push_back({"audit_log", "log",
                 [store = in.audit]() -> ComponentResult {
                   if (store == nullptr) return Off("the audit log is turned off (--audit=false)");
                   auto last = store->Last();
                   if (!last.ok()) return api::FromStatus(last.status());
                   ComponentResult r;
                   r.detail = {{"last_seq", last->seq}, {"last_time_ms", last->time_ms}};
                   return r;
                 },
                 {}});
  out.push_back({"model_repository", "models",
                 [repo = in.models, configured = !config.model_repository.empty(),
                  serving = in.services.serving]() -> ComponentResult {
                   if (!serving) return Off("the serving service is not mounted (--services)");
                   if (!configured || repo == nullptr) return Off("no --model-repository");
                   return Models(*repo);
                 },
                 {}});
  out.push_back({"endpoint_models", "models",
                 [repo = in.endpoint_models, mounted = in.services.platform || in.services.serving]()
                     -> ComponentResult {
                   if (!mounted || repo == nullptr) return Off("deployment endpoints are not served here (--services)");
                   return Models(*repo);
                 },
                 {}});
  out.push_back({"change_feed", "feed",
                 [feed = in.feed]() -> ComponentResult {
                   auto* pg = dynamic_cast<storage::postgres::PgChangeFeed*>(feed);
                   if (pg == nullptr) return Off("one process on embedded storage: no other replica to hear");
                   ComponentResult r;
                   r.detail = {{"transport", "postgresql LISTEN/NOTIFY"}, {"received", pg->received()}};
                   if (pg->listener_pid() <= 0) {
                     r.status = "degraded";
                     r.message = "not listening: other replicas' changes arrive at the next resync";
                   }
                   return r;
                 },
                 {}});
  // Each mounted service, as healthy as the stores it reads.
  const ServiceSet& s = in.services;
  if (s.tracking) out.push_back({"tracking", "service", nullptr, {"metadata_store", "artifact_store", "audit_log"}});
  if (s.registry) out.push_back({"registry", "service", nullptr, {"metadata_store", "artifact_store", "audit_log"}});
  if (s.serving) out.push_back({"serving", "service", nullptr, {"model_repository", "endpoint_models", "artifact_store"}});
  if (s.features) out.push_back({"features", "service", nullptr, {"metadata_store", "online_store", "audit_log"}});
  if (s.platform) out.push_back({"platform", "service", nullptr, {"metadata_store", "endpoint_models", "audit_log"}});
  return out;
}

}  // namespace kiln::cli
