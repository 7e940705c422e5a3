#include "storage/sqlite/migrations.h"

#include <string>
#include <vector>

namespace kiln::storage::sqlite {
namespace {

// v1: experiments, runs and their params/tags/metrics, datasets and inputs.
constexpr const char* kV1 = R"sql(
CREATE TABLE experiments (
  experiment_id     INTEGER PRIMARY KEY,
  name              TEXT NOT NULL UNIQUE,
  artifact_location TEXT NOT NULL,
  lifecycle_stage   TEXT NOT NULL DEFAULT 'active',
  creation_time     INTEGER NOT NULL,
  last_update_time  INTEGER NOT NULL
);
CREATE TABLE experiment_tags (
  experiment_id INTEGER NOT NULL REFERENCES experiments(experiment_id),
  key           TEXT NOT NULL,
  value         TEXT NOT NULL,
  PRIMARY KEY (experiment_id, key)
) WITHOUT ROWID;
CREATE TABLE runs (
  id              INTEGER PRIMARY KEY,
  run_id          TEXT NOT NULL UNIQUE,
  experiment_id   INTEGER NOT NULL REFERENCES experiments(experiment_id),
  name            TEXT NOT NULL DEFAULT '',
  user_id         TEXT NOT NULL DEFAULT '',
  status          TEXT NOT NULL,
  start_time      INTEGER NOT NULL,
  end_time        INTEGER,
  artifact_uri    TEXT NOT NULL,
  lifecycle_stage TEXT NOT NULL DEFAULT 'active',
  deleted_time    INTEGER
);
CREATE INDEX runs_experiment ON runs(experiment_id);
CREATE TABLE params (
  run_pk INTEGER NOT NULL REFERENCES runs(id),
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (run_pk, key)
) WITHOUT ROWID;
CREATE TABLE tags (
  run_pk INTEGER NOT NULL REFERENCES runs(id),
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (run_pk, key)
) WITHOUT ROWID;
-- value is 0 when is_nan = 1 (SQLite turns NaN into NULL); +-Inf stored as REAL inf.
CREATE TABLE metrics (
  run_pk    INTEGER NOT NULL REFERENCES runs(id),
  key       TEXT NOT NULL,
  step      INTEGER NOT NULL,
  timestamp INTEGER NOT NULL,
  value     REAL NOT NULL,
  is_nan    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_pk, key, step, timestamp, value, is_nan)
) WITHOUT ROWID;
CREATE TABLE latest_metrics (
  run_pk    INTEGER NOT NULL REFERENCES runs(id),
  key       TEXT NOT NULL,
  step      INTEGER NOT NULL,
  timestamp INTEGER NOT NULL,
  value     REAL NOT NULL,
  is_nan    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_pk, key)
) WITHOUT ROWID;
CREATE TABLE datasets (
  id            INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments(experiment_id),
  name          TEXT NOT NULL,
  digest        TEXT NOT NULL,
  source_type   TEXT NOT NULL DEFAULT '',
  source        TEXT NOT NULL DEFAULT '',
  schema        TEXT NOT NULL DEFAULT '',
  profile       TEXT NOT NULL DEFAULT '',
  UNIQUE (experiment_id, name, digest)
);
CREATE TABLE dataset_inputs (
  id         INTEGER PRIMARY KEY,
  run_pk     INTEGER NOT NULL REFERENCES runs(id),
  dataset_id INTEGER NOT NULL REFERENCES datasets(id),
  UNIQUE (run_pk, dataset_id)
);
CREATE TABLE input_tags (
  input_id INTEGER NOT NULL REFERENCES dataset_inputs(id),
  key      TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (input_id, key)
) WITHOUT ROWID;
)sql";

// v2: MLflow 3 logged models, run <-> model links, model linkage on metric
// points, and the indexes that keep SearchRuns fast at 10k+ runs.
constexpr const char* kV2 = R"sql(
CREATE TABLE logged_models (
  model_id               TEXT PRIMARY KEY,
  experiment_id          INTEGER NOT NULL REFERENCES experiments(experiment_id),
  name                   TEXT NOT NULL,
  artifact_uri           TEXT NOT NULL,
  creation_timestamp     INTEGER NOT NULL,
  last_updated_timestamp INTEGER NOT NULL,
  status                 TEXT NOT NULL,
  status_message         TEXT NOT NULL DEFAULT '',
  lifecycle_stage        TEXT NOT NULL DEFAULT 'active',
  model_type             TEXT NOT NULL DEFAULT '',
  source_run_id          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX logged_models_experiment
  ON logged_models(experiment_id, creation_timestamp DESC, model_id);
CREATE TABLE logged_model_tags (
  model_id TEXT NOT NULL REFERENCES logged_models(model_id),
  key      TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (model_id, key)
) WITHOUT ROWID;
CREATE TABLE logged_model_params (
  model_id TEXT NOT NULL REFERENCES logged_models(model_id),
  key      TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (model_id, key)
) WITHOUT ROWID;
CREATE TABLE logged_model_metrics (
  model_id  TEXT NOT NULL,
  key       TEXT NOT NULL,
  step      INTEGER NOT NULL,
  timestamp INTEGER NOT NULL,
  value     REAL NOT NULL,
  is_nan    INTEGER NOT NULL DEFAULT 0,
  run_id    TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (model_id, key, step, timestamp, value, is_nan, run_id)
) WITHOUT ROWID;
CREATE TABLE run_model_inputs (
  run_pk   INTEGER NOT NULL REFERENCES runs(id),
  model_id TEXT NOT NULL,
  PRIMARY KEY (run_pk, model_id)
) WITHOUT ROWID;
CREATE TABLE run_model_outputs (
  run_pk   INTEGER NOT NULL REFERENCES runs(id),
  model_id TEXT NOT NULL,
  step     INTEGER NOT NULL,
  PRIMARY KEY (run_pk, model_id, step)
) WITHOUT ROWID;
ALTER TABLE metrics ADD COLUMN model_id TEXT NOT NULL DEFAULT '';
CREATE INDEX runs_experiment_order
  ON runs(experiment_id, lifecycle_stage, start_time DESC, run_id);
CREATE INDEX latest_metrics_key_value ON latest_metrics(key, value);
CREATE INDEX params_key_value ON params(key, value);
CREATE INDEX tags_key_value ON tags(key, value);
CREATE INDEX dataset_inputs_dataset ON dataset_inputs(dataset_id);
CREATE INDEX experiments_creation ON experiments(creation_time DESC, experiment_id);
)sql";

// v3: the model registry (registered models, versions, tags, aliases) and its
// event log. Versions hang off the model's integer id so a rename is one row.
constexpr const char* kV3 = R"sql(
CREATE TABLE registered_models (
  id                INTEGER PRIMARY KEY,
  name              TEXT NOT NULL UNIQUE,
  creation_time     INTEGER NOT NULL,
  last_updated_time INTEGER NOT NULL,
  user_id           TEXT NOT NULL DEFAULT '',
  description       TEXT NOT NULL DEFAULT '',
  next_version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX registered_models_created ON registered_models(creation_time);
CREATE INDEX registered_models_updated ON registered_models(last_updated_time);
CREATE TABLE model_versions (
  model_pk          INTEGER NOT NULL REFERENCES registered_models(id),
  version           INTEGER NOT NULL,
  creation_time     INTEGER NOT NULL,
  last_updated_time INTEGER NOT NULL,
  user_id           TEXT NOT NULL DEFAULT '',
  current_stage     TEXT NOT NULL DEFAULT 'None',
  description       TEXT NOT NULL DEFAULT '',
  source            TEXT NOT NULL DEFAULT '',
  run_id            TEXT NOT NULL DEFAULT '',
  status            TEXT NOT NULL DEFAULT 'READY',
  status_message    TEXT NOT NULL DEFAULT '',
  run_link          TEXT NOT NULL DEFAULT '',
  model_id          TEXT NOT NULL DEFAULT '',
  storage_path      TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (model_pk, version)
) WITHOUT ROWID;
CREATE INDEX model_versions_run ON model_versions(run_id);
CREATE INDEX model_versions_stage ON model_versions(model_pk, current_stage, version);
CREATE TABLE registered_model_tags (
  model_pk INTEGER NOT NULL REFERENCES registered_models(id),
  key      TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (model_pk, key)
) WITHOUT ROWID;
CREATE TABLE model_version_tags (
  model_pk INTEGER NOT NULL,
  version  INTEGER NOT NULL,
  key      TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (model_pk, version, key),
  FOREIGN KEY (model_pk, version) REFERENCES model_versions(model_pk, version)
) WITHOUT ROWID;
CREATE TABLE registered_model_aliases (
  model_pk INTEGER NOT NULL REFERENCES registered_models(id),
  alias    TEXT NOT NULL,
  version  INTEGER NOT NULL,
  PRIMARY KEY (model_pk, alias),
  FOREIGN KEY (model_pk, version) REFERENCES model_versions(model_pk, version)
) WITHOUT ROWID;
CREATE TABLE registry_events (
  id          INTEGER PRIMARY KEY,
  timestamp   INTEGER NOT NULL,
  actor       TEXT NOT NULL DEFAULT '',
  action      TEXT NOT NULL,
  name        TEXT NOT NULL,
  version     TEXT NOT NULL DEFAULT '',
  before_json TEXT NOT NULL DEFAULT '',
  after_json  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX registry_events_name ON registry_events(name, id);
)sql";

// v4: MLflow 3 traces: trace infos with tags and request metadata, their
// spans (one JSON payload per span plus the columns searches use) and
// assessments. Children cascade with their trace.
constexpr const char* kV4 = R"sql(
CREATE TABLE traces (
  trace_id           TEXT PRIMARY KEY,
  experiment_id      INTEGER NOT NULL,
  client_request_id  TEXT,
  request_time       INTEGER NOT NULL,
  execution_duration INTEGER,
  state              TEXT NOT NULL,
  request_preview    TEXT,
  response_preview   TEXT,
  finalized          INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX traces_experiment_time ON traces(experiment_id, request_time DESC, trace_id);
CREATE TABLE trace_tags (
  trace_id TEXT NOT NULL REFERENCES traces(trace_id) ON DELETE CASCADE,
  key      TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (trace_id, key)
) WITHOUT ROWID;
CREATE TABLE trace_metadata (
  trace_id TEXT NOT NULL REFERENCES traces(trace_id) ON DELETE CASCADE,
  key      TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (trace_id, key)
) WITHOUT ROWID;
CREATE TABLE trace_spans (
  trace_id       TEXT NOT NULL REFERENCES traces(trace_id) ON DELETE CASCADE,
  span_id        TEXT NOT NULL,
  parent_span_id TEXT NOT NULL DEFAULT '',
  name           TEXT NOT NULL,
  span_type      TEXT NOT NULL DEFAULT '',
  status_code    TEXT NOT NULL,
  start_time_ns  INTEGER NOT NULL,
  end_time_ns    INTEGER NOT NULL,
  content        TEXT NOT NULL,
  PRIMARY KEY (trace_id, span_id)
) WITHOUT ROWID;
CREATE TABLE trace_assessments (
  assessment_id    TEXT PRIMARY KEY,
  trace_id         TEXT NOT NULL REFERENCES traces(trace_id) ON DELETE CASCADE,
  name             TEXT NOT NULL,
  kind             TEXT NOT NULL,
  span_id          TEXT NOT NULL DEFAULT '',
  source_type      TEXT NOT NULL,
  source_id        TEXT NOT NULL DEFAULT '',
  create_time      INTEGER NOT NULL,
  last_update_time INTEGER NOT NULL,
  value_json       TEXT NOT NULL,
  rationale        TEXT,
  metadata_json    TEXT NOT NULL DEFAULT '{}',
  overrides        TEXT NOT NULL DEFAULT '',
  valid            INTEGER NOT NULL DEFAULT 1
) WITHOUT ROWID;
CREATE INDEX trace_assessments_trace ON trace_assessments(trace_id, create_time);
)sql";

// v5: model versions registered by reference to files kiln cannot copy
// (external_location; empty when kiln holds the version's own copy), and the
// dataset a logged-model metric was computed on (MLflow keeps both).
constexpr const char* kV5 = R"sql(
ALTER TABLE model_versions ADD COLUMN external_location TEXT NOT NULL DEFAULT '';
ALTER TABLE logged_model_metrics ADD COLUMN dataset_name TEXT NOT NULL DEFAULT '';
ALTER TABLE logged_model_metrics ADD COLUMN dataset_digest TEXT NOT NULL DEFAULT '';
)sql";

// v6: the feature store's registry (Feast's registry objects as opaque
// serialized protos keyed by project, kind and name), its event log and the
// generation counter that registry caches compare (one row, bumped by every
// committed mutation).
constexpr const char* kV6 = R"sql(
CREATE TABLE feature_objects (
  project    TEXT NOT NULL,
  kind       TEXT NOT NULL,
  name       TEXT NOT NULL,
  proto      BLOB NOT NULL,
  created_us INTEGER NOT NULL,
  updated_us INTEGER NOT NULL,
  PRIMARY KEY (project, kind, name)
) WITHOUT ROWID;
CREATE INDEX feature_objects_kind ON feature_objects(kind, name);
CREATE TABLE feature_events (
  id           INTEGER PRIMARY KEY,
  timestamp_us INTEGER NOT NULL,
  actor        TEXT NOT NULL DEFAULT '',
  action       TEXT NOT NULL,
  project      TEXT NOT NULL DEFAULT '',
  kind         TEXT NOT NULL DEFAULT '',
  name         TEXT NOT NULL DEFAULT '',
  detail_json  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX feature_events_project ON feature_events(project, id);
CREATE TABLE feature_registry_generation (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  generation INTEGER NOT NULL
);
INSERT INTO feature_registry_generation(id, generation) VALUES (1, 0);
)sql";

// v7: deployment endpoints (platform API). Settings, state and revision
// specs are JSON documents of the endpoint store's own serializer; the columns
// beside them are what the store itself compares (config_version for the
// conditional update, revision numbers). Events carry no foreign key: they
// outlive a deleted endpoint.
constexpr const char* kV7 = R"sql(
CREATE TABLE endpoints (
  name           TEXT PRIMARY KEY,
  created_ms     INTEGER NOT NULL,
  updated_ms     INTEGER NOT NULL,
  created_by     TEXT NOT NULL DEFAULT '',
  config_version INTEGER NOT NULL,
  settings_json  TEXT NOT NULL,
  state_json     TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE endpoint_revisions (
  endpoint   TEXT NOT NULL REFERENCES endpoints(name) ON DELETE CASCADE,
  revision   INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  created_by TEXT NOT NULL DEFAULT '',
  reason     TEXT NOT NULL DEFAULT '',
  spec_json  TEXT NOT NULL,
  PRIMARY KEY (endpoint, revision)
) WITHOUT ROWID;
CREATE TABLE endpoint_events (
  id           INTEGER PRIMARY KEY,
  endpoint     TEXT NOT NULL,
  timestamp_ms INTEGER NOT NULL,
  actor        TEXT NOT NULL DEFAULT '',
  action       TEXT NOT NULL,
  reason       TEXT NOT NULL DEFAULT '',
  revision     INTEGER NOT NULL DEFAULT 0,
  detail_json  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX endpoint_events_endpoint ON endpoint_events(endpoint, id);
)sql";

// v8: identities (users and service accounts, API tokens as keyed hashes)
// and grants of roles on objects. Grants name their subject and object by
// name, not by foreign key: a grant on a group, or on an object of another
// service, has no row here to point to.
constexpr const char* kV8 = R"sql(
CREATE TABLE users (
  id                  INTEGER PRIMARY KEY,
  name                TEXT NOT NULL UNIQUE,
  service_account     INTEGER NOT NULL DEFAULT 0,
  admin               INTEGER NOT NULL DEFAULT 0,
  password_hash       TEXT NOT NULL DEFAULT '',
  groups_json         TEXT NOT NULL DEFAULT '[]',
  created_ms          INTEGER NOT NULL,
  updated_ms          INTEGER NOT NULL,
  password_changed_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE api_tokens (
  id           TEXT PRIMARY KEY,
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name         TEXT NOT NULL DEFAULT '',
  hash         TEXT NOT NULL UNIQUE,
  created_ms   INTEGER NOT NULL,
  expires_ms   INTEGER NOT NULL DEFAULT 0,
  revoked_ms   INTEGER NOT NULL DEFAULT 0,
  last_used_ms INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX api_tokens_user ON api_tokens(user_id);
CREATE TABLE grants (
  id           INTEGER PRIMARY KEY,
  subject_kind TEXT NOT NULL,
  subject      TEXT NOT NULL,
  object_kind  TEXT NOT NULL,
  object_id    TEXT NOT NULL DEFAULT '',
  role         TEXT NOT NULL,
  created_by   TEXT NOT NULL DEFAULT '',
  created_ms   INTEGER NOT NULL,
  UNIQUE (subject_kind, subject, object_kind, object_id)
);
CREATE INDEX grants_object ON grants(object_kind, object_id);
)sql";

// v9 (expand): SearchLoggedModels filtered by source_run_id (what MLflow 3
// asks for a run's models) read every logged model of the experiment.
constexpr const char* kV9 = R"sql(
CREATE INDEX logged_models_source_run ON logged_models(source_run_id);
)sql";

// v10 (expand): a summary of every metric history in blocks of 64 steps
// (block = step >> 6: floor division, negative steps too), so a chart of a
// long history reads one row per block instead of every point
// (storage/sql/sql_ui_queries.cc). Triggers keep it, so every writer does:
// this build, an older one on the same database during a rolling upgrade,
// an import, a restore, psql. A point removed or changed rebuilds its block
// from the points left. sum_value is NULL while the block has no non-NaN
// point; once a float sum overflowed (or met opposite infinities) it is
// Infinity or NULL and stays so until the block is rebuilt, and readers sum
// that bucket's points instead (PostgreSQL sums in numeric and never does).
constexpr const char* kV10 = R"sql(
CREATE TABLE metric_blocks (
  run_pk    INTEGER NOT NULL,
  key       TEXT NOT NULL,
  block     INTEGER NOT NULL,
  count     INTEGER NOT NULL,
  nan_count INTEGER NOT NULL,
  min_value REAL,
  max_value REAL,
  sum_value REAL,
  min_step  INTEGER NOT NULL,
  max_step  INTEGER NOT NULL,
  PRIMARY KEY (run_pk, key, block)
) WITHOUT ROWID;
INSERT INTO metric_blocks
  SELECT run_pk, key, step >> 6, COUNT(*), COUNT(CASE WHEN is_nan <> 0 THEN 1 END),
         MIN(CASE WHEN is_nan = 0 THEN value END), MAX(CASE WHEN is_nan = 0 THEN value END),
         SUM(CASE WHEN is_nan = 0 THEN value END), MIN(step), MAX(step)
  FROM metrics GROUP BY run_pk, key, step >> 6;
CREATE TRIGGER metric_blocks_insert AFTER INSERT ON metrics BEGIN
  INSERT INTO metric_blocks VALUES (NEW.run_pk, NEW.key, NEW.step >> 6, 1, NEW.is_nan <> 0,
      CASE WHEN NEW.is_nan = 0 THEN NEW.value END, CASE WHEN NEW.is_nan = 0 THEN NEW.value END,
      CASE WHEN NEW.is_nan = 0 THEN NEW.value END, NEW.step, NEW.step)
  ON CONFLICT DO UPDATE SET
    count = count + 1,
    nan_count = nan_count + excluded.nan_count,
    min_value = CASE WHEN excluded.min_value IS NULL THEN min_value WHEN min_value IS NULL THEN excluded.min_value
                     ELSE min(min_value, excluded.min_value) END,
    max_value = CASE WHEN excluded.max_value IS NULL THEN max_value WHEN max_value IS NULL THEN excluded.max_value
                     ELSE max(max_value, excluded.max_value) END,
    sum_value = CASE WHEN excluded.sum_value IS NULL THEN sum_value WHEN count = nan_count THEN excluded.sum_value
                     ELSE sum_value + excluded.sum_value END,
    min_step = min(min_step, excluded.min_step),
    max_step = max(max_step, excluded.max_step);
END;
CREATE TRIGGER metric_blocks_delete AFTER DELETE ON metrics BEGIN
  DELETE FROM metric_blocks WHERE run_pk = OLD.run_pk AND key = OLD.key AND block = OLD.step >> 6;
  INSERT INTO metric_blocks
    SELECT run_pk, key, step >> 6, COUNT(*), COUNT(CASE WHEN is_nan <> 0 THEN 1 END),
           MIN(CASE WHEN is_nan = 0 THEN value END), MAX(CASE WHEN is_nan = 0 THEN value END),
           SUM(CASE WHEN is_nan = 0 THEN value END), MIN(step), MAX(step)
    FROM metrics WHERE run_pk = OLD.run_pk AND key = OLD.key AND step >= ((OLD.step >> 6) << 6)
                       AND step <= ((OLD.step >> 6) << 6) + 63
    GROUP BY run_pk, key, step >> 6;
END;
CREATE TRIGGER metric_blocks_update AFTER UPDATE ON metrics BEGIN
  DELETE FROM metric_blocks WHERE (run_pk = OLD.run_pk AND key = OLD.key AND block = OLD.step >> 6)
                               OR (run_pk = NEW.run_pk AND key = NEW.key AND block = NEW.step >> 6);
  INSERT INTO metric_blocks
    SELECT run_pk, key, step >> 6, COUNT(*), COUNT(CASE WHEN is_nan <> 0 THEN 1 END),
           MIN(CASE WHEN is_nan = 0 THEN value END), MAX(CASE WHEN is_nan = 0 THEN value END),
           SUM(CASE WHEN is_nan = 0 THEN value END), MIN(step), MAX(step)
    FROM metrics WHERE (run_pk = OLD.run_pk AND key = OLD.key AND step >= ((OLD.step >> 6) << 6)
                        AND step <= ((OLD.step >> 6) << 6) + 63)
                    OR (run_pk = NEW.run_pk AND key = NEW.key AND step >= ((NEW.step >> 6) << 6)
                        AND step <= ((NEW.step >> 6) << 6) + 63)
    GROUP BY run_pk, key, step >> 6;
END;
)sql";

const std::vector<const char*>& Steps() {
  static const std::vector<const char*> steps = {kV1, kV2, kV3, kV4, kV5, kV6, kV7, kV8, kV9, kV10};
  return steps;
}

// compatible_since of each version (index v-1): the oldest schema whose kiln
// may still run on a database at v, i.e. how far back the steps up to v were
// expand-only for the binaries that read them (docs/operations.md, "Upgrades").
// v2-v4 only added tables, indexes and defaulted columns that older builds
// never read. v5's external_location is a defaulted column too, but an older
// build would serve a by-reference version from a copy that does not exist,
// and v8's users, tokens and grants would be ignored by a build that does not
// enforce them: both are contract steps in meaning though not in DDL.
// v6 and v7 added tables only, v9 an index, v10 a table its own triggers
// keep (an older build's writes maintain it too). Builds before this value existed refuse any
// newer database whatever it says.
const std::vector<int>& CompatibleSinceByVersion() {
  static const std::vector<int> since = {1, 1, 1, 1, 5, 5, 5, 8, 8, 8};
  return since;
}

StatusOr<bool> HasCompatColumn(SqliteConn& conn) {
  KILN_ASSIGN_OR_RETURN(int64_t n, conn.QueryInt("SELECT count(*) FROM pragma_table_info('schema_migrations') "
                                                 "WHERE name = 'compatible_since'"));
  return n > 0;
}

Status EnsureVersionTable(SqliteConn& conn) {
  KILN_RETURN_IF_ERROR(
      conn.Exec("CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER, compatible_since INTEGER)"));
  KILN_ASSIGN_OR_RETURN(bool has_column, HasCompatColumn(conn));
  if (has_column) return Status::Ok();
  return conn.Exec("ALTER TABLE schema_migrations ADD COLUMN compatible_since INTEGER");
}

// Rows applied before kiln recorded compatibility get this build's values.
Status Backfill(SqliteConn& conn, int upto) {
  if (upto == 0) return Status::Ok();
  std::string sql = "UPDATE schema_migrations SET compatible_since = CASE version";
  for (int v = 1; v <= upto; ++v) sql += " WHEN " + std::to_string(v) + " THEN " + std::to_string(CompatibleSince(v));
  sql += " END WHERE compatible_since IS NULL AND version BETWEEN 1 AND " + std::to_string(upto);
  return conn.Exec(sql);
}

Status ApplyStep(SqliteConn& conn, int version, const char* sql) {
  KILN_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE"));
  // Re-check under the write lock: another process may have migrated already.
  StatusOr<int> current = ReadSchemaVersion(conn);
  Status s = current.status();
  if (s.ok() && *current < version) {
    s = conn.Exec(sql);
    if (s.ok()) {
      s = conn.Exec("INSERT INTO schema_migrations(version, compatible_since) VALUES (" +
                    std::to_string(version) + ", " + std::to_string(CompatibleSince(version)) + ")");
    }
  }
  if (s.ok()) s = conn.Exec("COMMIT");
  if (!s.ok()) {
    (void)conn.Exec("ROLLBACK");
    return Status(s.code(), "migration to schema version " + std::to_string(version) +
                                " failed: " + s.message());
  }
  return Status::Ok();
}

}  // namespace

int LatestSchemaVersion() { return static_cast<int>(Steps().size()); }

int CompatibleSince(int version) {
  const auto& since = CompatibleSinceByVersion();
  return version >= 1 && version <= static_cast<int>(since.size()) ? since[version - 1] : version;
}

Status CheckUsable(SqliteConn& conn, int target) {
  KILN_ASSIGN_OR_RETURN(int current, ReadSchemaVersion(conn));
  if (current <= target) return Status::Ok();
  int since = current;
  KILN_ASSIGN_OR_RETURN(bool has_column, HasCompatColumn(conn));
  if (has_column) {
    KILN_ASSIGN_OR_RETURN(int64_t v, conn.QueryInt("SELECT coalesce(max(compatible_since), " + std::to_string(current) +
                                                   ") FROM schema_migrations WHERE version = " +
                                                   std::to_string(current)));
    since = static_cast<int>(v);
  }
  if (since <= target) return Status::Ok();
  return FailedPrecondition("database schema version " + std::to_string(current) + " is newer than this kiln's (" +
                            std::to_string(target) +
                            ") and no longer compatible with it: it serves kiln builds of database schema version " +
                            std::to_string(since) +
                            " or later (a contract migration removed or changed what this build uses); "
                            "upgrade kiln before using this database");
}

StatusOr<int> ReadSchemaVersion(SqliteConn& conn) {
  KILN_ASSIGN_OR_RETURN(
      int64_t has_table,
      conn.QueryInt("SELECT count(*) FROM sqlite_master WHERE type='table' AND "
                    "name='schema_migrations'"));
  if (has_table == 0) return 0;
  KILN_ASSIGN_OR_RETURN(int64_t v,
                        conn.QueryInt("SELECT coalesce(max(version), 0) FROM schema_migrations"));
  return static_cast<int>(v);
}

Status MigrateTo(SqliteConn& conn, int target) {
  if (target < 0 || target > LatestSchemaVersion()) {
    return InvalidArgument("unknown schema version " + std::to_string(target));
  }
  KILN_RETURN_IF_ERROR(EnsureVersionTable(conn));
  KILN_RETURN_IF_ERROR(CheckUsable(conn, target));
  KILN_ASSIGN_OR_RETURN(int current, ReadSchemaVersion(conn));
  for (int v = current + 1; v <= target; ++v) {
    KILN_RETURN_IF_ERROR(ApplyStep(conn, v, Steps()[v - 1]));
  }
  return Backfill(conn, target);
}

}  // namespace kiln::storage::sqlite
