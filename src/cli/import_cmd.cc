#include "cli/import_cmd.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "storage/mlflow_import/file_store_source.h"
#include "storage/mlflow_import/importer.h"
#include "storage/mlflow_import/sql_source.h"
#include "storage/mlflow_import/sqlite_import_db.h"
#include "storage/postgres/pg_database.h"

namespace kiln::cli {
namespace {

namespace mi = storage::mlflow_import;

bool StartsWith(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

bool IsPostgres(const std::string& uri) {
  return StartsWith(uri, "postgresql://") || StartsWith(uri, "postgres://") || StartsWith(uri, "postgresql+");
}

// SQLAlchemy's postgresql+psycopg2://... names a driver libpq does not know.
std::string LibpqUri(const std::string& uri) {
  if (!StartsWith(uri, "postgresql+")) return uri;
  size_t colon = uri.find("://");
  return "postgresql" + uri.substr(colon);
}

// SQLAlchemy's spelling: sqlite:///relative.db, sqlite:////absolute.db.
std::string SqlitePath(const std::string& uri) { return uri.substr(std::string("sqlite:///").size()); }

StatusOr<std::unique_ptr<storage::sql::Database>> OpenSqlSource(const std::string& uri, const char* what) {
  if (StartsWith(uri, "sqlite:///")) return mi::OpenSqliteReadOnly(SqlitePath(uri));
  if (IsPostgres(uri)) {
    // MLflow's own schema: no kiln migrations on it, and read transactions only.
    storage::postgres::PgOptions options;
    options.pool_size = 1;
    options.migrate_on_open = false;
    options.application_name = "kiln-import";
    KILN_ASSIGN_OR_RETURN(auto db, storage::postgres::PgDatabase::Create(LibpqUri(uri), options));
    return std::unique_ptr<storage::sql::Database>(std::move(db));
  }
  return InvalidArgument(std::string(what) + " must be sqlite:///path or postgresql://..., not '" + uri + "'");
}

StatusOr<std::unique_ptr<storage::sql::Database>> OpenTarget(const ImportOptions& o) {
  if (o.database_uri.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.data_dir, ec);
    if (ec) return InvalidArgument("invalid --data-dir '" + o.data_dir + "': " + ec.message());
    return mi::OpenKilnSqlite((std::filesystem::path(o.data_dir) / "kiln.db").string());
  }
  if (StartsWith(o.database_uri, "sqlite:///")) return mi::OpenKilnSqlite(SqlitePath(o.database_uri));
  if (IsPostgres(o.database_uri)) {
    storage::postgres::PgOptions options;
    options.pool_size = 1;
    options.password_file = o.database_password_file;
    options.application_name = "kiln-import";
    return storage::postgres::OpenDatabase(LibpqUri(o.database_uri), options);
  }
  return InvalidArgument("--database-uri must be sqlite:///path or postgresql://..., not '" + o.database_uri + "'");
}

// A dry run creates nothing, not even an empty kiln database.
bool TargetMissing(const ImportOptions& o) {
  std::error_code ec;
  if (o.database_uri.empty()) return !std::filesystem::exists(std::filesystem::path(o.data_dir) / "kiln.db", ec);
  if (StartsWith(o.database_uri, "sqlite:///")) return !std::filesystem::exists(SqlitePath(o.database_uri), ec);
  return false;
}

void PrintReport(const mi::ImportReport& r, bool json) {
  if (json) {
    nlohmann::json j;
    j["source"] = r.source;
    j["complete"] = r.complete;
    j["dry_run"] = r.dry_run;
    j["verified"] = r.Verified();
    j["chunks"] = r.chunks;
    j["import_seconds"] = r.import_seconds;
    j["verify_seconds"] = r.verify_seconds;
    j["notes"] = r.notes;
    for (const auto& t : r.tables) {
      nlohmann::json row = {{"table", t.table}, {"source_rows", t.source_rows}, {"source_digest", t.source_digest}};
      if (t.target_rows >= 0) {
        row["target_rows"] = t.target_rows;
        row["target_digest"] = t.target_digest;
      }
      j["tables"].push_back(row);
    }
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("source: %s\n%s%s, %lld chunk transactions, %.2f s (verify %.2f s)\n", r.source.c_str(),
              r.dry_run ? "dry run (nothing written)" : "import",
              r.complete ? "" : " STOPPED (run again with --resume)", static_cast<long long>(r.chunks),
              r.import_seconds, r.verify_seconds);
  std::printf("%-26s %12s %-16s %12s %-16s\n", "table", "source rows", "source digest", "kiln rows", "kiln digest");
  for (const auto& t : r.tables) {
    if (t.target_rows >= 0) {
      std::printf("%-26s %12lld %-16s %12lld %-16s%s\n", t.table.c_str(), static_cast<long long>(t.source_rows),
                  t.source_digest.c_str(), static_cast<long long>(t.target_rows), t.target_digest.c_str(),
                  t.target_rows == t.source_rows && t.target_digest == t.source_digest ? "" : "  MISMATCH");
    } else {
      std::printf("%-26s %12lld %-16s\n", t.table.c_str(), static_cast<long long>(t.source_rows),
                  t.source_digest.c_str());
    }
  }
  for (const auto& n : r.notes) std::printf("note: %s\n", n.c_str());
}

int Fail(const Status& s) {
  std::fprintf(stderr, "kiln import: %s\n", s.message().c_str());
  return 1;
}

}  // namespace

void RegisterImportCommand(CLI::App& app, ImportOptions& o) {
  auto* imp = app.add_subcommand("import", "Import another system's metadata into kiln's database (offline)");
  imp->require_subcommand(1);
  auto* ml = imp->add_subcommand("mlflow", "Import an MLflow tracking store (SQL database or mlruns folder)");
  ml->add_option("--from", o.from, "sqlite:///mlflow.db, postgresql://..., or an mlruns directory")->required();
  ml->add_option("--data-dir", o.data_dir, "kiln data directory (its kiln.db is the target)")
      ->envname("KILN_DATA_DIR");
  ml->add_option("--database-uri", o.database_uri, "Target metadata database instead of <data-dir>/kiln.db")
      ->envname("KILN_DATABASE_URI");
  ml->add_option("--database-password-file", o.database_password_file,
                 "File whose first line is the target PostgreSQL password")
      ->envname("KILN_DATABASE_PASSWORD_FILE");
  ml->add_option("--artifact-root-map", o.artifact_root_map,
                 "OLD=NEW: artifact URIs starting with OLD start with NEW in kiln (repeatable)");
  ml->add_option("--auth-db", o.auth_db, "MLflow basic-auth database (sqlite:///basic_auth.db): users and permissions");
  ml->add_flag("--dry-run", o.dry_run, "Read everything and report what would be imported; write nothing");
  ml->add_flag("--resume", o.resume, "Continue an interrupted import into the same target");
  ml->add_flag("--no-verify", o.no_verify, "Skip reading the target back to compare digests");
  ml->add_flag("--json", o.json, "Print the report as JSON");
  ml->add_option("--chunk-runs", o.chunk_runs, "Runs per transaction")->check(CLI::PositiveNumber);
  ml->add_option("--max-chunks", o.max_chunks, "Stop after this many transactions (resume later)");
}

bool ImportCommandChosen(const CLI::App& app) { return app.got_subcommand("import"); }

int RunImport(const ImportOptions& o) {
  mi::ImportOptions opts;
  for (const auto& m : o.artifact_root_map) {
    size_t eq = m.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "kiln import: --artifact-root-map wants OLD=NEW, got '%s'\n", m.c_str());
      return 2;
    }
    opts.artifact_root_map.emplace_back(m.substr(0, eq), m.substr(eq + 1));
  }
  opts.dry_run = o.dry_run;
  opts.resume = o.resume;
  opts.verify = !o.no_verify;
  opts.chunk_runs = o.chunk_runs;
  opts.max_chunks = o.max_chunks;
  opts.source_name = o.from;
  if (!o.json) opts.progress = [](const std::string& line) { std::fprintf(stderr, "committed %s\n", line.c_str()); };

  std::unique_ptr<storage::sql::Database> source_db;
  std::unique_ptr<mi::MlflowSource> source;
  const bool sql = o.from.find("://") != std::string::npos && !StartsWith(o.from, "file://");
  if (sql) {
    auto db = OpenSqlSource(o.from, "--from");
    if (!db.ok()) return Fail(db.status());
    source_db = std::move(*db);
    auto s = mi::SqlSource::Create(*source_db);
    if (!s.ok()) return Fail(s.status());
    source = std::move(*s);
  } else {
    std::string dir = StartsWith(o.from, "file://") ? o.from.substr(7) : o.from;
    auto s = mi::FileStoreSource::Open(dir);
    if (!s.ok()) return Fail(s.status());
    source = std::move(*s);
  }
  std::vector<mi::UserRec> users;
  std::vector<std::string> auth_notes;
  if (!o.auth_db.empty()) {
    auto adb = OpenSqlSource(o.auth_db, "--auth-db");
    if (!adb.ok()) return Fail(adb.status());
    auto u = mi::ReadMlflowAuthUsers(**adb, &auth_notes);
    if (!u.ok()) return Fail(u.status());
    users = std::move(*u);
  }
  std::unique_ptr<storage::sql::Database> target;
  if (!(o.dry_run && TargetMissing(o))) {
    auto t = OpenTarget(o);
    if (!t.ok()) return Fail(t.status());
    target = std::move(*t);
  }
  auto report = mi::ImportMlflow(*source, o.auth_db.empty() ? nullptr : &users, target.get(), opts);
  if (!report.ok()) return Fail(report.status());
  for (auto& n : auth_notes) report->notes.push_back(std::move(n));
  PrintReport(*report, o.json);
  if (!report->complete) return 3;
  if (!report->dry_run && opts.verify && !report->Verified()) {
    std::fprintf(stderr, "kiln import: the kiln tables do not match the source (see MISMATCH rows)\n");
    return 1;
  }
  return 0;
}

}  // namespace kiln::cli
