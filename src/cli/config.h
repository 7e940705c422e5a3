// Server configuration: defaults, then an optional YAML file, then KILN_*
// environment variables, then command-line flags (each overriding the one
// before). Every setting has one name used in all four places: the flag
// `--data-dir`, the variable `KILN_DATA_DIR`, the YAML key `data-dir`
// (or `data_dir`).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace CLI {
class App;
}

namespace kiln::cli {

struct Config {
  std::string config_file;
  std::string host = "127.0.0.1";
  int port = 5000;
  int grpc_port = -1;  // Open Inference Protocol over gRPC; -1: off, 0: a free port
  std::string data_dir = "./kiln-data";
  int io_threads = 0;    // 0: one per core
  int workers = 0;       // 0: max(4, 2 x cores)
  int worker_queue = 1024;
  uint64_t max_body_bytes = 32ull << 20;
  uint64_t max_upload_bytes = 64ull << 30;
  uint64_t max_header_bytes = 16 * 1024;
  int read_timeout_ms = 30000;
  int idle_timeout_ms = 60000;
  int shutdown_grace_ms = 30000;
  int shutdown_delay_ms = 0;
  std::string log_level = "info";
  bool access_log = true;
  std::string default_artifact_root = "mlflow-artifacts:";
  int health_interval_ms = 1000;
  std::string model_repository;  // empty: no model directory
  int max_batch_rows = 64;         // dynamic batching default per model
  int max_queue_delay_us = 200;
  int model_queue = 256;           // requests waiting per model; 503 above
  std::string mlflow_ui;         // MLflow's web UI build folder; empty: no UI at /
  std::string mlflow_ui_python;  // or the Python environment whose mlflow package holds it
  std::string ui_dir;            // kiln's own web UI at /ui/ from this folder instead of the embedded build
  // Feature store.
  std::string feature_project;          // project for feature-server requests that name none; empty: inferred
  int feature_max_rows = 10000;         // entity rows one online request may ask for (400 above)
  std::string duckdb_memory_limit = "4GB";  // DuckDB's memory_limit for materialization and retrieval
  int duckdb_threads = 0;               // 0: one per core
  // Deployment endpoints.
  uint64_t capture_max_bytes = 64ull << 20;  // per endpoint's prediction capture buffer
  int rollout_tick_ms = 200;                 // how often the rollout controller steps and checks guardrails
  // Security (docs/security.md).
  bool auth = false;                   // require credentials on every non-public route
  std::string admin_password_file;     // first start with --auth: the admin's password (or KILN_ADMIN_PASSWORD)
  std::string default_role = "viewer"; // role of an authenticated caller on objects nobody granted them: viewer|none
  std::string secret_key_file;         // server key for keyed hashes; empty: <data-dir>/secret.key
  std::string oidc_issuer;             // accept OIDC JWTs from this issuer (empty: off)
  std::string oidc_audience;
  std::string oidc_jwks_uri;           // empty: from the issuer's discovery document
  std::string oidc_username_claim = "preferred_username";
  std::string oidc_groups_claim = "groups";
  std::string oidc_roles_claim = "roles";
  bool audit = true;                   // the audit log of mutations and denials
  std::string audit_db;                // empty: <data-dir>/audit.db
  std::string audit_key_file;          // Ed25519 checkpoint signing key; empty: <data-dir>/audit_signing_key.pem
  bool audit_fail_open = false;        // serve mutations whose audit record cannot be written (not recommended)
  std::string tls_cert_file;           // PEM certificate chain: HTTPS and gRPC over TLS (reloaded on SIGHUP)
  std::string tls_key_file;
  std::string tls_client_ca_file;      // require client certificates signed by this CA (mTLS)
  // Production backends (docs/operations.md).
  std::string database_uri;            // empty: <data-dir>/kiln.db; sqlite:///path or postgresql://...
  std::string database_password_file;  // PostgreSQL password, kept out of the URI
  int database_pool = 16;              // PostgreSQL connections per process
  int replica_resync_ms = 30000;       // replicas re-read what others may have changed, at least this often
  std::string model_cache_dir;         // remote artifacts' model files (default <data-dir>/model_cache)
  std::string artifacts_uri;           // empty: <data-dir>/artifacts; file:///path or s3://bucket/prefix
  std::string online_store_uri;        // empty: embedded (<data-dir>/online); redis://... or rediss://...
  std::string redis_password_file;     // Redis AUTH password, kept out of the URI
  std::string redis_ca_file;           // CA bundle verifying a rediss:// server
  std::string services = "all";        // or a comma list: tracking,registry,serving,features,platform
};

// Which services a process mounts (--services). Stores are shared through the
// database, so a subset process still opens what its services read.
struct ServiceSet {
  bool tracking = true;
  bool registry = true;
  bool serving = true;
  bool features = true;
  bool platform = true;
};
StatusOr<ServiceSet> ParseServices(const std::string& list);

// The MLflow UI folder the settings name (--mlflow-ui, or found through
// --mlflow-ui-python); empty when neither is set.
StatusOr<std::string> MlflowUiDir(const Config& config);

// Registers every setting on `app` (flags with their env names and defaults).
void RegisterServeOptions(CLI::App& app, Config& config);
// Applies the YAML file named by --config/KILN_CONFIG (found in argv/env
// before CLI11 parses) to `config`. Unknown keys and bad values are errors
// naming the setting.
Status LoadYamlConfig(int argc, char** argv, Config& config);
// Checks ranges after parsing; errors name the setting.
Status ValidateConfig(const Config& config);

}  // namespace kiln::cli
