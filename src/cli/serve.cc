#include "cli/serve.h"

#include "cli/backends.h"

#include <filesystem>
#include <thread>

#include "api/grpc/grpc_server.h"
#include "api/grpc/inference_service.h"
#include "api/feast/feast_access.h"
#include "api/feast/feature_server_routes.h"
#include "api/feast/feature_ui_routes.h"
#include "api/feast/historical_routes.h"
#include "api/feast/registry_grpc_service.h"
#include "api/feast/serving_grpc_service.h"
#include "api/mlflow/mlflow_routes.h"
#include "api/mlflow/ui_routes.h"
#include "api/ui_data/ui_data_routes.h"
#include "storage/sql/sql_ui_queries.h"
#include "tracking/run_analytics.h"
#include "api/v1/v1_routes.h"
#include "api/webui/webui_routes.h"
#include "api/v2/v2_access.h"
#include "api/v2/v2_routes.h"
#include "api/ops/ops_routes.h"
#include "api/platform/platform_access.h"
#include "api/platform/platform_routes.h"
#include "api/admin/audit_routes.h"
#include "api/admin/grant_routes.h"
#include "api/admin/user_routes.h"
#include "api/gate/route_listing.h"
#include "api/mlflow/mlflow_access.h"
#include "audit/audited_endpoint_store.h"
#include "cli/serve_security.h"
#include "cli/serve_components.h"
#include "core/health_monitor.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/worker_pool.h"
#include "deploy/announced_endpoint_store.h"
#include "deploy/endpoint_inference_router.h"
#include "deploy/endpoint_service.h"
#include "deploy/predict_service.h"
#include "features/feature_registry.h"
#include "features/materializer.h"
#include "features/online_service.h"
#include "net/http_server.h"
#include "storage/instrumented_tracking_store.h"
#include "storage/duckdb/duckdb_offline_engine.h"
#include "storage/embedded/embedded_online_store.h"
#include "storage/online_store_factory.h"
#include "storage/artifact_file_cache.h"
#include "storage/artifact_store_uri.h"
#include "storage/postgres/pg_migrations.h"
#include "storage/sql/sql_endpoint_store.h"
#include "storage/sql/sql_feature_registry_store.h"
#include "storage/sql/sql_registry_store.h"
#include "storage/sql/sql_trace_store.h"
#include "storage/sql/sql_tracking_store.h"
#include "storage/sqlite/sqlite_database.h"
#include "registry/registry_service.h"
#include "serving/inference_metrics.h"
#include "serving/model_repository.h"
#include "tracking/tracking_service.h"
#include "tracking/trace_service.h"

namespace kiln::cli {
namespace {

std::string DbPath(const Config& c) { return (std::filesystem::path(c.data_dir) / "kiln.db").string(); }
std::string ArtifactsPath(const Config& c) { return (std::filesystem::path(c.data_dir) / "artifacts").string(); }

Status EnsureDataDir(const Config& c) {
  std::error_code ec;
  std::filesystem::create_directories(c.data_dir, ec);
  if (ec) return InvalidArgument("invalid --data-dir '" + c.data_dir + "': " + ec.message());
  return Status::Ok();
}

void AddPoolCollector(MetricsRegistry& metrics, const WorkerPool& pool) {
  auto& depth = metrics.Gauge("kiln_worker_pool_queue_depth", "Jobs waiting for a worker thread");
  auto& busy = metrics.Gauge("kiln_worker_pool_busy_threads", "Worker threads running a job");
  auto& threads = metrics.Gauge("kiln_worker_pool_threads", "Worker threads");
  auto& capacity = metrics.Gauge("kiln_worker_pool_queue_capacity", "Jobs that may wait before requests are refused");
  metrics.AddCollector([&depth, &busy, &threads, &capacity, &pool] {
    depth.Set(static_cast<double>(pool.queue_depth()));
    busy.Set(static_cast<double>(pool.busy()));
    threads.Set(static_cast<double>(pool.threads()));
    capacity.Set(static_cast<double>(pool.max_queue()));
  });
}

// Downloads from the artifact store into the model cache (not cache hits):
// with replicas sharing a cache folder, one per deploy between them.
void AddModelCacheCollector(MetricsRegistry& metrics, const storage::ArtifactFiles& files) {
  auto& downloads = metrics.Counter("kiln_model_cache_downloads_total",
                                    "Model directories downloaded from the artifact store into the local cache");
  auto last = std::make_shared<int64_t>(0);
  metrics.AddCollector([&downloads, &files, last] {
    const int64_t now = files.downloads();
    if (now > *last) downloads.Increment(static_cast<double>(now - *last));
    *last = now;
  });
}

}  // namespace

int Serve(const Config& config) {
  log::Level level = log::Level::kInfo;
  log::ParseLevel(config.log_level, &level);
  log::SetLevel(level);
  if (Status s = EnsureDataDir(config); !s.ok()) {
    log::Error(s.message());
    return 2;
  }

  MetricsRegistry metrics;
  api::AddProcessCollector(metrics);

  // The metadata database all stores share: opened here only (the engine is chosen here).
  auto database = OpenMetadataDatabase(config);
  if (!database.ok()) {
    log::Error("cannot open metadata store " + DescribeDatabase(config) + ": " + database.status().message());
    return 1;
  }
  log::Info("metadata store: " + DescribeDatabase(config));
  const ServiceSet services = *ParseServices(config.services);  // validated with the config
  // Replicas on one database hear each other's changes through it.
  auto feed = OpenChangeFeed(config, **database);
  if (!feed.ok()) {
    log::Error("cannot listen for other replicas' changes on " + DescribeDatabase(config) + ": " +
               feed.status().message());
    return 1;
  }
  if (UsesPostgres(config) && (config.artifacts_uri.empty() || config.online_store_uri.empty())) {
    log::Warn(std::string("metadata on PostgreSQL but ") +
              (config.artifacts_uri.empty() ? "artifacts" : "the feature online store") +
              " under this process's --data-dir: replicas must share them (--artifacts-uri s3://... or a shared "
              "file:// volume, --online-store-uri redis://...), or each serves only what it stored itself");
  }
  auto sqlite = storage::SqlTrackingStore::Create(**database, config.default_artifact_root);
  if (!sqlite.ok()) {
    log::Error("cannot open metadata store " + DescribeDatabase(config) + ": " + sqlite.status().message());
    return 1;
  }
  storage::InstrumentedTrackingStore store(**sqlite, metrics, UsesPostgres(config) ? "postgres" : "sqlite");
  auto artifacts = storage::OpenArtifactStore(config.artifacts_uri, ArtifactsPath(config));
  if (!artifacts.ok()) {
    log::Error("cannot open artifact store " + (config.artifacts_uri.empty() ? ArtifactsPath(config) : config.artifacts_uri) +
               ": " + artifacts.status().message());
    return 1;
  }
  // The runtimes open local files: a remote store's model files are fetched into a cache first.
  const std::string model_cache_dir = config.model_cache_dir.empty()
                                          ? (std::filesystem::path(config.data_dir) / "model_cache").string()
                                          : config.model_cache_dir;
  auto artifact_files = storage::ArtifactFiles::Create(**artifacts, model_cache_dir);
  if (!artifact_files.ok()) {
    log::Error(artifact_files.status().message());
    return 1;
  }

  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const size_t workers = config.workers > 0 ? static_cast<size_t>(config.workers) : std::max<size_t>(4, 2 * cores);
  WorkerPool pool(workers, static_cast<size_t>(config.worker_queue));
  AddPoolCollector(metrics, pool);

  // Feast's online store and offline engine (opened before the health
  // monitor, which probes the online store).
  storage::OnlineStoreConfig online_config;
  online_config.uri = config.online_store_uri;
  online_config.embedded_dir = (std::filesystem::path(config.data_dir) / "online").string();
  online_config.redis_password_file = config.redis_password_file;
  online_config.redis_ca_file = config.redis_ca_file;
  auto online_store = storage::OpenOnlineStore(online_config);
  if (!online_store.ok()) {
    log::Error("cannot open the online store " + storage::DescribeOnlineStore(online_config) + ": " +
               online_store.status().message());
    return 1;
  }
  if (config.online_store_uri.empty()) {
    uint64_t rows = 0;
    const auto tables = (*online_store)->Stats();
    for (const auto& t : tables) rows += t.rows;
    log::Info("online store: " + std::to_string(rows) + " rows in " + std::to_string(tables.size()) +
              " feature views");
  } else {
    log::Info("online store: " + storage::DescribeOnlineStore(online_config));
  }
  storage::DuckDbOptions duckdb_options;
  duckdb_options.memory_limit = config.duckdb_memory_limit;
  duckdb_options.threads = config.duckdb_threads > 0 ? config.duckdb_threads : static_cast<int>(cores);
  duckdb_options.temp_dir = (std::filesystem::path(config.data_dir) / "duckdb_tmp").string();
  auto offline_engine = storage::DuckDbOfflineEngine::Create(duckdb_options);
  if (!offline_engine.ok()) {
    log::Error("cannot start the offline engine: " + offline_engine.status().message());
    return 1;
  }
  storage::TrackingStore* store_ptr = &store;
  storage::ArtifactStore* artifacts_ptr = artifacts->get();
  storage::OnlineStore* online_ptr = online_store->get();
  HealthMonitor health({{"metadata_store", [store_ptr] { return store_ptr->Ping(); }},
                        {"artifact_store", [artifacts_ptr] { return artifacts_ptr->Ping(); }},
                        {"online_store", [online_ptr] { return online_ptr->Ping(); }}},
                       std::chrono::milliseconds(config.health_interval_ms));

  SystemClock clock;
  tracking::TrackingService tracking(store, clock);
  // The registry shares the tracking store's database file and write path.
  storage::SqlRegistryStore registry_store(**database);
  registry::EventRecorder registry_events;
  // Identities, grants, the audit log and the request gate (docs/security.md).
  auto security = SecurityStack::Build(config, **database, clock, &metrics);
  if (!security.ok()) {
    log::Error(security.status().message());
    return 2;
  }
  (*security)->AuditRegistryEvents(registry_events);
  if (Status s = (*security)->AuditStartup(config); !s.ok()) {
    log::Error("cannot write the audit log: " + s.message());
    return 1;
  }
  api::gate::RequestGate* gate = (*security)->gate.get();
  (*security)->authorizer->Follow(**feed);
  (*security)->authenticator->Follow(**feed);
  registry::RegistryService registry(registry_store, tracking, **artifacts, clock, registry_events);
  // Traces share the database and its group commit too.
  storage::SqlTraceStore trace_store(**database);
  tracking::TraceService traces(trace_store, tracking, clock);
  // Feast's registry: its objects share the metadata database too.
  auto reg_store = std::make_unique<storage::SqlFeatureRegistryStore>(**database);
  features::FeatureRegistry feature_registry(*reg_store, clock);
  feature_registry.Follow(**feed);
  api::feast::RegistryGrpcService registry_grpc(feature_registry, pool, gate);
  std::unique_ptr<features::Materializer> materializer =
      features::CreateMaterializer(feature_registry, **offline_engine, **online_store, clock, pool);
  features::OnlineLimits online_limits;
  online_limits.max_entity_rows = static_cast<size_t>(config.feature_max_rows);
  online_limits.default_project = config.feature_project;
  features::OnlineService online_service(feature_registry, **online_store, clock, online_limits);
  api::feast::ServingGrpcService serving_grpc(online_service, pool, gate, &feature_registry, config.feature_project);

  net::Router router;
  // Set by the HTTP server when SIGTERM starts the shutdown delay; /health reads it.
  net::DrainState drain;
  api::AddOpsRoutes(router, health, metrics, &drain);
  AddModelCacheCollector(metrics, **artifact_files);
  // Point-in-time retrieval and materialization job progress: kiln's own routes.
  features::HistoricalService historical(feature_registry, **offline_engine);
  if (services.features) {
    api::feast::AddFeatureServerRoutes(router, online_service, *materializer);
    api::feast::AddHistoricalRoutes(router, historical);
    api::feast::AddMaterializeJobRoutes(router, *materializer);
    api::feast::AddFeatureUiRoutes(router, feature_registry, **online_store, *materializer, clock);
  }
  api::mlflow::MlflowApiOptions mlflow_options;
  mlflow_options.default_artifact_root = config.default_artifact_root;
  mlflow_options.max_upload_bytes = config.max_upload_bytes;
  if (services.tracking) {
    api::mlflow::AddMlflowRoutes(router, tracking, **artifacts, mlflow_options);
    api::mlflow::AddTraceRoutes(router, traces, **artifacts);
    api::mlflow::AddMlflowUiApiRoutes(router, tracking, registry, **artifacts);
  }
  // kiln's UI data endpoints (/api/2.0/kiln/ui/...): aggregates computed in the metadata database.
  storage::SqlUiQueryStore ui_queries(**database);
  tracking::RunAnalytics run_analytics(ui_queries, tracking);
  if (services.tracking) api::ui_data::AddUiDataRoutes(router, run_analytics, tracking, registry);
  if (services.registry) api::mlflow::AddRegistryRoutes(router, registry);
  // MLflow's web UI at / (before KServe's GET / liveness route, which then
  // answers only clients that do not ask for HTML).
  auto ui_dir = MlflowUiDir(config);
  if (!ui_dir.ok()) {
    log::Error(ui_dir.status().message());
    return 2;
  }
  if (!ui_dir->empty() && services.tracking) {
    api::mlflow::MlflowUiOptions ui;
    ui.build_dir = *ui_dir;
    ui.root_fallback = [](net::HttpRequest&) {
      return net::HttpResponse::Json(200, R"({"status": "alive"})");
    };
    if (Status s = api::mlflow::AddMlflowUiStaticRoutes(router, ui); !s.ok()) {
      log::Error("invalid --mlflow-ui: " + s.message());
      return 2;
    }
    log::Info("serving MLflow's web UI from " + *ui_dir);
  }
  // kiln's own web UI at /ui/ (docs/ui.md): its pages read the tracking API.
  if (services.tracking) {
    api::webui::WebUiOptions webui;
    webui.ui_dir = config.ui_dir;
    if (Status s = api::webui::AddWebUiRoutes(router, webui); !s.ok()) {
      log::Error("invalid --ui-dir: " + s.message());
      return 2;
    }
  }
  // Serving reads registered versions from the registry's own copies.
  storage::ArtifactFiles* files_ptr = artifact_files->get();
  const serving::ModelUriResolver model_resolver =
      [&registry, files_ptr](const std::string& uri) -> StatusOr<serving::ResolvedModel> {
        KILN_ASSIGN_OR_RETURN(storage::ModelVersion mv, registry.ResolveModelUri(uri));
        KILN_ASSIGN_OR_RETURN(auto pkg, registry.GetPackage(mv.name, std::to_string(mv.version)));
        if (!pkg.package.servable) {
          return InvalidArgument("'" + uri + "' (version " + std::to_string(mv.version) +
                                 ") cannot be served: " + pkg.package.reason);
        }
        KILN_ASSIGN_OR_RETURN(std::string dir, files_ptr->LocalDir(mv.storage_path));
        return serving::ResolvedModel{mv.version, pkg.package.runtime, dir + "/" + pkg.package.model_file};
      };
  const serving::BatchingOptions batching{config.max_batch_rows, std::chrono::microseconds(config.max_queue_delay_us),
                                          static_cast<size_t>(config.model_queue)};
  serving::ModelRepository models(services.serving ? config.model_repository : "", model_resolver, batching);
  models.LoadAll();
  for (const auto& m : models.Index()) {
    if (m.state == "READY") {
      log::Info("serving model " + m.name + " version " + m.version);
    } else {
      log::Warn("model " + m.name + " is not served: " + m.reason);
    }
  }
  serving::InferenceMetrics inference_metrics(metrics, models);

  // Deployment endpoints: their models live in a repository of their own
  // (not listed by /v2/repository/index), loaded from the registry's copies.
  serving::ModelRepository endpoint_models("", model_resolver, batching);
  storage::SqlEndpointStore sql_endpoint_store(**database);
  // What the rollout controller does by itself (steps, guardrail rollbacks) is audited too.
  std::unique_ptr<audit::AuditedEndpointStore> audited_endpoint_store;
  if ((*security)->audit) {
    audited_endpoint_store = std::make_unique<audit::AuditedEndpointStore>(sql_endpoint_store, *(*security)->audit);
  }
  // ... and announced to the other replicas, whoever made it.
  deploy::AnnouncedEndpointStore endpoint_store(
      audited_endpoint_store ? static_cast<storage::EndpointStore&>(*audited_endpoint_store) : sql_endpoint_store,
      **feed);
  deploy::RouteTable route_table;
  deploy::EndpointServiceOptions endpoint_options;
  endpoint_options.tick_ms = config.rollout_tick_ms;
  endpoint_options.capture_max_bytes = static_cast<size_t>(config.capture_max_bytes);
  endpoint_options.default_feature_project = config.feature_project;
  auto endpoints = deploy::EndpointService::Create(endpoint_store, registry, registry_events, tracking, endpoint_models,
                                                   route_table, &feature_registry, metrics, clock, endpoint_options);
  if (!endpoints.ok()) {
    log::Error("cannot start deployment endpoints: " + endpoints.status().message());
    return 1;
  }
  // Endpoints are served by the platform API and by KServe's routes.
  if (services.platform || services.serving) {
    if (Status s = (*endpoints)->Start(); !s.ok()) {
      log::Error("cannot start deployment endpoints: " + s.message());
      return 1;
    }
    deploy::EndpointService* endpoints_ptr = endpoints->get();
    (*feed)->Subscribe(change_topics::kEndpoints,
                       [endpoints_ptr](const std::string& name) { endpoints_ptr->OnStoreChanged(name); });
  }
  // The feed's handlers use the services above: it stops before they go.
  struct StopFeedFirst {
    std::unique_ptr<ChangeFeed>& feed;
    ~StopFeedFirst() { feed.reset(); }
  } stop_feed_first{*feed};
  deploy::PredictService predict(route_table, &online_service);
  deploy::EndpointInferenceRouter endpoint_router(route_table);
  if (services.platform) api::platform::AddPlatformRoutes(router, **endpoints, predict, route_table);
  if (services.serving) {
    api::v2::AddV2Routes(router, models, KILN_VERSION, &inference_metrics, &endpoint_router);
    api::v1::AddV1Routes(router, models, &inference_metrics);
  }

  // Security routes, then every route's access decision, then the gate in
  // front of all of them.
  api::admin::AddUserRoutes(router, *(*security)->identities, *(*security)->authenticator);
  api::admin::AddGrantRoutes(router, *(*security)->authorizer);
  if ((*security)->audit != nullptr) {
    api::admin::AddAuditRoutes(router, *(*security)->audit_store, *(*security)->audit);
  }
  // Every store's and service's health, checked on request (admins; the UI's Health page).
  api::AddComponentHealthRoute(router, ComponentChecks({&config, services, store_ptr, artifacts_ptr, online_ptr,
                                                        (*security)->audit_store.get(), &models, &endpoint_models,
                                                        feed->get()}));
  api::gate::AddRouteListing(router);
  if (services.platform) api::platform::ApplyPlatformAccess(router, **endpoints);
  if (services.serving) {
    api::v2::ApplyV2Access(router, &endpoint_router);
    api::v1::ApplyV1Access(router);
  }
  if (services.features) api::feast::ApplyFeastAccess(router, feature_registry, *materializer, config.feature_project);
  // A route without a decision is a programming error: the server does not
  // start, with auth on or off, so no route can ship fail-open.
  if (Status s = api::mlflow::ApplyMlflowAccess(router, tracking, registry, traces); !s.ok()) {
    log::Error(s.message());
    return 1;
  }
  if (Status s = gate->Install(router); !s.ok()) {
    log::Error(s.message());
    return 1;
  }

  net::HttpServerOptions http;
  http.host = config.host;
  http.port = static_cast<uint16_t>(config.port);
  http.io_threads = config.io_threads > 0 ? static_cast<size_t>(config.io_threads) : cores;
  http.max_header_bytes = config.max_header_bytes;
  http.max_body_bytes = config.max_body_bytes;
  http.read_timeout = std::chrono::milliseconds(config.read_timeout_ms);
  http.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  http.shutdown_grace = std::chrono::milliseconds(config.shutdown_grace_ms);
  http.shutdown_delay = std::chrono::milliseconds(config.shutdown_delay_ms);
  http.drain_state = &drain;
  http.access_log = config.access_log;
  http.tls_cert_file = config.tls_cert_file;
  http.tls_key_file = config.tls_key_file;
  http.tls_client_ca_file = config.tls_client_ca_file;
  auto server = net::HttpServer::Create(http, router, pool, metrics);
  if (!server.ok()) {
    log::Error(server.status().message());
    return 1;
  }
  // The Open Inference Protocol over gRPC, on its own port; the same
  // repository, batchers, metrics and worker pool as the REST routes.
  api::grpcv2::InferenceService grpc_service(models, &inference_metrics, pool, KILN_VERSION, &endpoint_router, gate,
                                             &drain);
  std::unique_ptr<api::grpcv2::GrpcServer> grpc_server;
  std::vector<::grpc::Service*> grpc_services;
  if (services.serving) grpc_services.push_back(&grpc_service);
  if (services.features) {
    grpc_services.push_back(&registry_grpc);
    grpc_services.push_back(&serving_grpc);
  }
  if (config.grpc_port >= 0 && grpc_services.empty()) {
    log::Warn("--grpc-port is ignored: none of the services " + config.services + " speaks gRPC");
  }
  if (config.grpc_port >= 0 && !grpc_services.empty()) {
    api::grpcv2::GrpcServerOptions grpc_options;
    grpc_options.host = config.host;
    grpc_options.port = config.grpc_port;
    grpc_options.max_message_bytes = config.max_body_bytes;
    grpc_options.tls_cert_file = config.tls_cert_file;
    grpc_options.tls_key_file = config.tls_key_file;
    grpc_options.tls_client_ca_file = config.tls_client_ca_file;
    auto started = api::grpcv2::GrpcServer::Start(grpc_options, grpc_services);
    if (!started.ok()) {
      log::Error(started.status().message());
      return 1;
    }
    grpc_server = std::move(*started);
    // Logged before the HTTP line: whoever waits for that line knows both ports then.
    log::Info(std::string("kiln gRPC (Open Inference Protocol) listening on ") +
              (grpc_server->tls() ? "grpcs://" : "grpc://") + config.host + ":" +
              std::to_string(grpc_server->port()));
  }
  log::Info(std::string("kiln ") + KILN_VERSION + " listening on " +
            ((*server)->tls_enabled() ? "https://" : "http://") + config.host + ":" +
            std::to_string((*server)->port()) + " (data: " + config.data_dir + ", workers: " +
            std::to_string(workers) + ", io threads: " + std::to_string(http.io_threads) +
            ", services: " + config.services + ")");
  Status run = (*server)->Run();
  // HTTP has drained; gRPC calls in flight get the same grace, while the
  // batchers and the worker pool that finish them are still running.
  if (grpc_server) grpc_server->Shutdown(std::chrono::milliseconds(config.shutdown_grace_ms));
  // In-flight requests have finished; let queued work drain before the stores close.
  pool.Shutdown();
  (*endpoints)->Stop();
  log::Info("kiln stopped");
  return run.ok() ? 0 : 1;
}

int Migrate(const Config& config) {
  if (Status s = EnsureDataDir(config); !s.ok()) {
    log::Error(s.message());
    return 2;
  }
  if (UsesPostgres(config)) {
    // Opening migrates, under an advisory lock (replicas may start meanwhile).
    auto db = OpenMetadataDatabase(config, /*migrate=*/true);
    if (!db.ok()) {
      log::Error("migration failed: " + db.status().message());
      return 1;
    }
    int version = 0;
    Status read = (*db)->Read([&](storage::sql::Conn& c) -> Status {
      KILN_ASSIGN_OR_RETURN(version, storage::postgres::ReadSchemaVersion(c));
      return Status::Ok();
    });
    if (!read.ok()) {
      log::Error("cannot read the schema version: " + read.message());
      return 1;
    }
    const int mine = storage::LatestSqliteSchemaVersion();
    log::Info("metadata schema at " + DescribeDatabase(config) + " is at version " + std::to_string(version) +
              (version > mine ? " (newer than this kiln's " + std::to_string(mine) +
                                    " and still compatible with it: left as it is)"
                              : ""));
    return 0;
  }
  auto before = storage::SqliteSchemaVersion(DbPath(config));
  if (!before.ok()) {
    log::Error("cannot read schema version: " + before.status().message());
    return 1;
  }
  Status s = storage::MigrateSqlite(DbPath(config));
  if (!s.ok()) {
    log::Error("migration failed: " + s.message());
    return 1;
  }
  log::Info("metadata schema at " + DbPath(config) + " migrated from version " + std::to_string(*before) + " to " +
            std::to_string(storage::LatestSqliteSchemaVersion()));
  return 0;
}

}  // namespace kiln::cli
