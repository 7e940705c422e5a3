#include "cli/config.h"

#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>

#include "api/mlflow/ui_routes.h"
#include "core/log.h"

namespace kiln::cli {
namespace {

// One row per setting: how to register it and how to read it from YAML.
struct Setting {
  const char* name;  // flag name without dashes; YAML key
  const char* env;
  const char* help;
  std::function<void(CLI::App&, const std::string&, const std::string&, const std::string&)> add;
  std::function<bool(const YAML::Node&)> from_yaml;
};

template <typename T>
Setting Make(const char* name, const char* env, const char* help, T& field) {
  return Setting{
      name, env, help,
      [&field](CLI::App& app, const std::string& flag, const std::string& env_name, const std::string& h) {
        app.add_option(flag, field, h)->envname(env_name)->capture_default_str();
      },
      [&field](const YAML::Node& node) {
        try {
          field = node.as<T>();
          return true;
        } catch (const std::exception&) {
          return false;
        }
      }};
}

// A boolean that also works as a bare flag (`--auth`, `--auth=false`).
Setting MakeFlag(const char* name, const char* env, const char* help, bool& field) {
  Setting s = Make(name, env, help, field);
  s.add = [&field](CLI::App& app, const std::string& flag, const std::string& env_name, const std::string& h) {
    app.add_flag(flag, field, h)->envname(env_name)->capture_default_str();
  };
  return s;
}

std::vector<Setting> Settings(Config& c) {
  return {
      Make("host", "KILN_HOST", "Address to listen on", c.host),
      Make("port", "KILN_PORT", "HTTP port (0 picks a free one and logs it)", c.port),
      Make("grpc-port", "KILN_GRPC_PORT",
           "gRPC port for the Open Inference Protocol (0 picks a free one and logs it; -1: no gRPC)", c.grpc_port),
      Make("data-dir", "KILN_DATA_DIR", "Directory for the embedded metadata database and artifacts", c.data_dir),
      Make("io-threads", "KILN_IO_THREADS", "HTTP I/O threads (0: one per core)", c.io_threads),
      Make("workers", "KILN_WORKERS", "Worker threads for blocking work (0: max(4, 2 x cores))", c.workers),
      Make("worker-queue", "KILN_WORKER_QUEUE", "Requests that may wait for a worker before 503", c.worker_queue),
      Make("max-body-bytes", "KILN_MAX_BODY_BYTES", "Largest API request body (413 above)", c.max_body_bytes),
      Make("max-upload-bytes", "KILN_MAX_UPLOAD_BYTES", "Largest artifact upload (413 above)", c.max_upload_bytes),
      Make("max-header-bytes", "KILN_MAX_HEADER_BYTES", "Largest request header block (431 above)", c.max_header_bytes),
      Make("read-timeout-ms", "KILN_READ_TIMEOUT_MS", "Time allowed to receive a request", c.read_timeout_ms),
      Make("idle-timeout-ms", "KILN_IDLE_TIMEOUT_MS", "Keep-alive connection idle time", c.idle_timeout_ms),
      Make("shutdown-grace-ms", "KILN_SHUTDOWN_GRACE_MS", "Time in-flight requests get on shutdown",
           c.shutdown_grace_ms),
      Make("shutdown-delay-ms", "KILN_SHUTDOWN_DELAY_MS",
           "On SIGTERM, keep serving this long with /health answering 503 (draining) before closing the listeners",
           c.shutdown_delay_ms),
      Make("log-level", "KILN_LOG_LEVEL", "debug, info, warn or error", c.log_level),
      Make("access-log", "KILN_ACCESS_LOG", "Log one line per request", c.access_log),
      Make("default-artifact-root", "KILN_DEFAULT_ARTIFACT_ROOT",
           "Artifact location given to new experiments", c.default_artifact_root),
      Make("health-interval-ms", "KILN_HEALTH_INTERVAL_MS", "How often /health probes the stores",
           c.health_interval_ms),
      Make("model-repository", "KILN_MODEL_REPOSITORY",
           "Directory of models to serve (Triton layout DIR/<model>/<version>/model.*)", c.model_repository),
      Make("max-batch-rows", "KILN_MAX_BATCH_ROWS", "Rows one inference execution may batch (1: no batching)",
           c.max_batch_rows),
      Make("max-queue-delay-us", "KILN_MAX_QUEUE_DELAY_US", "How long a request may wait for others to batch with",
           c.max_queue_delay_us),
      Make("model-queue", "KILN_MODEL_QUEUE", "Requests that may wait per model before 503", c.model_queue),
      Make("mlflow-ui", "KILN_MLFLOW_UI",
           "Serve MLflow's web UI at / from this folder (the mlflow wheel's mlflow/server/js/build)", c.mlflow_ui),
      Make("mlflow-ui-python", "KILN_MLFLOW_UI_PYTHON",
           "Serve MLflow's web UI from the mlflow package of this Python interpreter or environment",
           c.mlflow_ui_python),
      Make("ui-dir", "KILN_UI_DIR",
           "Serve kiln's web UI at /ui/ from this folder (a build of ui/) instead of the files built into the binary",
           c.ui_dir),
      Make("feature-project", "KILN_FEATURE_PROJECT",
           "Feast project for feature-server requests that name none (empty: the only project holding the object)",
           c.feature_project),
      Make("feature-max-rows", "KILN_FEATURE_MAX_ROWS", "Entity rows one online feature request may ask for",
           c.feature_max_rows),
      Make("duckdb-memory-limit", "KILN_DUCKDB_MEMORY_LIMIT",
           "Memory DuckDB may use for materialization and point-in-time retrieval (e.g. 4GB)", c.duckdb_memory_limit),
      Make("duckdb-threads", "KILN_DUCKDB_THREADS", "DuckDB threads (0: one per core)", c.duckdb_threads),
      Make("capture-max-bytes", "KILN_CAPTURE_MAX_BYTES",
           "Bytes of captured predictions kept per endpoint (oldest dropped first)", c.capture_max_bytes),
      Make("rollout-tick-ms", "KILN_ROLLOUT_TICK_MS",
           "How often the rollout controller advances rollouts and checks guardrails", c.rollout_tick_ms),
      MakeFlag("auth", "KILN_AUTH", "Require credentials (Basic, token or OIDC JWT) on every non-public route", c.auth),
      Make("admin-password-file", "KILN_ADMIN_PASSWORD_FILE",
           "File holding the password of the admin user created on the first start with --auth "
           "(or set KILN_ADMIN_PASSWORD)", c.admin_password_file),
      Make("default-role", "KILN_DEFAULT_ROLE",
           "Role of an authenticated caller on objects nobody granted them: viewer or none", c.default_role),
      Make("secret-key-file", "KILN_SECRET_KEY_FILE",
           "Server key for token and audit HMACs (shared by replicas); default <data-dir>/secret.key", c.secret_key_file),
      Make("oidc-issuer", "KILN_OIDC_ISSUER", "Accept OIDC JWTs from this issuer (its discovery document names the JWKS)",
           c.oidc_issuer),
      Make("oidc-audience", "KILN_OIDC_AUDIENCE", "Audience OIDC JWTs must name (required with --oidc-issuer)",
           c.oidc_audience),
      Make("oidc-jwks-uri", "KILN_OIDC_JWKS_URI", "JWKS URL (default: from the issuer's discovery document)",
           c.oidc_jwks_uri),
      Make("oidc-username-claim", "KILN_OIDC_USERNAME_CLAIM", "Claim naming the user (falls back to sub)",
           c.oidc_username_claim),
      Make("oidc-groups-claim", "KILN_OIDC_GROUPS_CLAIM", "Claim listing the user's groups", c.oidc_groups_claim),
      Make("oidc-roles-claim", "KILN_OIDC_ROLES_CLAIM",
           "Claim listing global roles (viewer, editor, manager, admin)", c.oidc_roles_claim),
      MakeFlag("audit", "KILN_AUDIT", "Record every mutation and denied request in the hash-chained audit log", c.audit),
      Make("audit-db", "KILN_AUDIT_DB", "Audit log database file (default <data-dir>/audit.db)", c.audit_db),
      Make("audit-key-file", "KILN_AUDIT_KEY_FILE",
           "Ed25519 key (PEM) signing audit checkpoints (default <data-dir>/audit_signing_key.pem)", c.audit_key_file),
      MakeFlag("audit-fail-open", "KILN_AUDIT_FAIL_OPEN",
               "Serve mutations even when their audit record cannot be written (default: refuse them)",
               c.audit_fail_open),
      Make("tls-cert-file", "KILN_TLS_CERT_FILE", "PEM certificate chain for HTTPS and gRPC TLS (reloaded on SIGHUP)",
           c.tls_cert_file),
      Make("tls-key-file", "KILN_TLS_KEY_FILE", "PEM private key for --tls-cert-file", c.tls_key_file),
      Make("tls-client-ca-file", "KILN_TLS_CLIENT_CA_FILE",
           "Require client certificates signed by this CA (mutual TLS)", c.tls_client_ca_file),
      Make("database-uri", "KILN_DATABASE_URI",
           "Metadata database: sqlite:///path or postgresql://user@host:port/db (default <data-dir>/kiln.db)",
           c.database_uri),
      Make("database-password-file", "KILN_DATABASE_PASSWORD_FILE",
           "File holding the PostgreSQL password (instead of putting it in --database-uri)", c.database_password_file),
      Make("database-pool", "KILN_DATABASE_POOL", "PostgreSQL connections this process keeps", c.database_pool),
      Make("replica-resync-ms", "KILN_REPLICA_RESYNC_MS",
           "Replicas on PostgreSQL re-read endpoints, grants and feature definitions at least this often (changes "
           "normally arrive within milliseconds over LISTEN/NOTIFY; this bounds a lost notification)",
           c.replica_resync_ms),
      Make("model-cache-dir", "KILN_MODEL_CACHE_DIR",
           "Where model files from a remote artifact store are cached (default <data-dir>/model_cache); replicas on "
           "one machine or volume may share it and then download each model once",
           c.model_cache_dir),
      Make("artifacts-uri", "KILN_ARTIFACTS_URI",
           "Artifact store: file:///path or s3://bucket/prefix (default <data-dir>/artifacts)", c.artifacts_uri),
      Make("online-store-uri", "KILN_ONLINE_STORE_URI",
           "Feature online store: redis://host:port/db or rediss://... (default: embedded under <data-dir>/online)",
           c.online_store_uri),
      Make("redis-password-file", "KILN_REDIS_PASSWORD_FILE", "File holding the Redis AUTH password",
           c.redis_password_file),
      Make("redis-ca-file", "KILN_REDIS_CA_FILE", "CA bundle that verifies a rediss:// server", c.redis_ca_file),
      Make("services", "KILN_SERVICES",
           "Services this process runs: all, or a comma list of tracking,registry,serving,features,platform",
           c.services),
  };
}

std::string FindConfigPath(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) return argv[i + 1];
    if (std::strncmp(argv[i], "--config=", 9) == 0) return argv[i] + 9;
  }
  if (const char* env = std::getenv("KILN_CONFIG")) return env;
  return "";
}

}  // namespace

void RegisterServeOptions(CLI::App& app, Config& config) {
  app.add_option("--config", config.config_file, "YAML file with settings (keys as the flag names)")
      ->envname("KILN_CONFIG");
  for (auto& s : Settings(config)) s.add(app, std::string("--") + s.name, s.env, s.help);
}

Status LoadYamlConfig(int argc, char** argv, Config& config) {
  std::string path = FindConfigPath(argc, argv);
  if (path.empty()) return Status::Ok();
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const std::exception& e) {
    return InvalidArgument("config: cannot read YAML file '" + path + "': " + e.what());
  }
  if (!root.IsMap()) return InvalidArgument("config: '" + path + "' must hold a mapping of settings");
  auto settings = Settings(config);
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>();
    for (char& ch : key) {
      if (ch == '_') ch = '-';
    }
    bool found = false;
    for (auto& s : settings) {
      if (key != s.name) continue;
      found = true;
      if (!s.from_yaml(kv.second)) return InvalidArgument("config: invalid value for setting '" + key + "'");
    }
    if (!found) return InvalidArgument("config: unknown setting '" + key + "' in " + path);
  }
  return Status::Ok();
}

StatusOr<ServiceSet> ParseServices(const std::string& list) {
  if (list == "all" || list.empty()) return ServiceSet{};
  ServiceSet set{false, false, false, false, false};
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    const std::string name = list.substr(start, end - start);
    if (name == "tracking") {
      set.tracking = true;
    } else if (name == "registry") {
      set.registry = true;
    } else if (name == "serving") {
      set.serving = true;
    } else if (name == "features") {
      set.features = true;
    } else if (name == "platform") {
      set.platform = true;
    } else {
      return InvalidArgument("invalid --services: unknown service '" + name +
                             "' (all, or a comma list of tracking,registry,serving,features,platform)");
    }
    start = end + 1;
  }
  return set;
}

Status ValidateConfig(const Config& c) {
  if (auto s = ParseServices(c.services); !s.ok()) return s.status();
  boost::system::error_code ec;
  boost::asio::ip::make_address(c.host, ec);
  if (ec) return InvalidArgument("invalid --host '" + c.host + "': not an IP address");
  if (c.port < 0 || c.port > 65535) return InvalidArgument("invalid --port " + std::to_string(c.port));
  if (c.grpc_port < -1 || c.grpc_port > 65535) {
    return InvalidArgument("invalid --grpc-port " + std::to_string(c.grpc_port));
  }
  if (c.data_dir.empty()) return InvalidArgument("invalid --data-dir: empty");
  if (c.max_batch_rows < 1 || c.max_batch_rows > (1 << 20)) return InvalidArgument("invalid --max-batch-rows");
  if (c.max_queue_delay_us < 0 || c.max_queue_delay_us > 10'000'000) {
    return InvalidArgument("invalid --max-queue-delay-us");
  }
  if (c.model_queue < 1 || c.model_queue > (1 << 20)) return InvalidArgument("invalid --model-queue");
  if (!c.model_repository.empty()) {
    std::error_code fs_ec;
    if (!std::filesystem::is_directory(c.model_repository, fs_ec)) {
      return InvalidArgument("invalid --model-repository '" + c.model_repository + "': not a directory");
    }
  }
  if (c.io_threads < 0 || c.io_threads > 256) return InvalidArgument("invalid --io-threads");
  if (c.workers < 0 || c.workers > 1024) return InvalidArgument("invalid --workers");
  if (c.worker_queue < 1) return InvalidArgument("invalid --worker-queue: must be at least 1");
  if (c.max_body_bytes < 1024) return InvalidArgument("invalid --max-body-bytes: must be at least 1024");
  if (c.max_header_bytes < 1024) return InvalidArgument("invalid --max-header-bytes: must be at least 1024");
  if (c.read_timeout_ms < 1 || c.idle_timeout_ms < 1) return InvalidArgument("invalid --read-timeout-ms/--idle-timeout-ms");
  if (c.health_interval_ms < 10) return InvalidArgument("invalid --health-interval-ms: must be at least 10");
  if (c.feature_max_rows < 1 || c.feature_max_rows > 1'000'000) {
    return InvalidArgument("invalid --feature-max-rows: must be between 1 and 1000000");
  }
  if (c.duckdb_threads < 0 || c.duckdb_threads > 256) return InvalidArgument("invalid --duckdb-threads");
  if (c.default_role != "viewer" && c.default_role != "none") {
    return InvalidArgument("invalid --default-role '" + c.default_role + "': must be viewer or none");
  }
  if (!c.oidc_issuer.empty() && c.oidc_audience.empty()) {
    return InvalidArgument("invalid --oidc-issuer: --oidc-audience is required with it");
  }
  if (!c.oidc_issuer.empty() && !c.auth) return InvalidArgument("invalid --oidc-issuer: needs --auth");
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    return InvalidArgument("invalid TLS settings: --tls-cert-file and --tls-key-file go together");
  }
  if (!c.database_uri.empty() && c.database_uri.rfind("sqlite://", 0) != 0 &&
      c.database_uri.rfind("postgresql://", 0) != 0 && c.database_uri.rfind("postgres://", 0) != 0) {
    return InvalidArgument("invalid --database-uri '" + c.database_uri +
                           "': must start with sqlite:// or postgresql://");
  }
  if (c.database_pool < 1 || c.database_pool > 1024) return InvalidArgument("invalid --database-pool");
  if (c.replica_resync_ms < 100) return InvalidArgument("invalid --replica-resync-ms: at least 100");
  if (!c.artifacts_uri.empty() && c.artifacts_uri.rfind("file://", 0) != 0 && c.artifacts_uri.rfind("s3://", 0) != 0) {
    return InvalidArgument("invalid --artifacts-uri '" + c.artifacts_uri + "': must start with file:// or s3://");
  }
  if (!c.online_store_uri.empty() && c.online_store_uri.rfind("redis://", 0) != 0 &&
      c.online_store_uri.rfind("rediss://", 0) != 0) {
    return InvalidArgument("invalid --online-store-uri '" + c.online_store_uri +
                           "': must start with redis:// or rediss://");
  }
  if (!c.tls_client_ca_file.empty() && c.tls_cert_file.empty()) {
    return InvalidArgument("invalid --tls-client-ca-file: needs --tls-cert-file and --tls-key-file");
  }
  if (c.capture_max_bytes < 1024) return InvalidArgument("invalid --capture-max-bytes: must be at least 1024");
  if (c.rollout_tick_ms < 10 || c.rollout_tick_ms > 60000) {
    return InvalidArgument("invalid --rollout-tick-ms: must be between 10 and 60000");
  }
  if (c.duckdb_memory_limit.empty()) return InvalidArgument("invalid --duckdb-memory-limit: empty");
  log::Level level;
  if (!log::ParseLevel(c.log_level, &level)) return InvalidArgument("invalid --log-level '" + c.log_level + "'");
  KILN_RETURN_IF_ERROR(MlflowUiDir(c).status());
  return Status::Ok();
}

StatusOr<std::string> MlflowUiDir(const Config& c) {
  if (!c.mlflow_ui.empty() && !c.mlflow_ui_python.empty()) {
    return InvalidArgument("invalid --mlflow-ui-python: set either --mlflow-ui or --mlflow-ui-python, not both");
  }
  if (!c.mlflow_ui_python.empty()) {
    auto found = api::mlflow::FindMlflowUiBuild(c.mlflow_ui_python);
    if (!found.ok()) return InvalidArgument("invalid --mlflow-ui-python '" + c.mlflow_ui_python + "': " + found.status().message());
    return *found;
  }
  if (c.mlflow_ui.empty()) return std::string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(std::filesystem::path(c.mlflow_ui) / "index.html", ec)) {
    return InvalidArgument("invalid --mlflow-ui '" + c.mlflow_ui +
                           "': not a folder with MLflow's UI (no index.html; expected mlflow/server/js/build)");
  }
  return c.mlflow_ui;
}

}  // namespace kiln::cli
