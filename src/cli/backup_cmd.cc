#include "cli/backup_cmd.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "cli/backends.h"
#include "storage/backup/backup.h"
#include "storage/sqlite/sqlite_audit_db.h"
#include "storage/sqlite/sqlite_database.h"

namespace kiln::cli {
namespace {

// A one-line progress display on a terminal, a line per item otherwise.
class ProgressLine {
 public:
  explicit ProgressLine(bool quiet) : quiet_(quiet), tty_(isatty(STDERR_FILENO) != 0) {}
  ~ProgressLine() {
    if (tty_ && drawn_) std::fputc('\n', stderr);
  }

  void Update(const std::string& phase, const std::string& item, int64_t done, int64_t total) {
    if (quiet_) return;
    const auto now = std::chrono::steady_clock::now();
    const bool new_item = item != item_;
    if (!new_item && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    item_ = item;
    std::string text = phase + " " + item + ": " + std::to_string(done);
    if (phase == "artifacts") {
      text = phase + " " + Mib(done) + (total > 0 ? " / " + Mib(total) : "") + "  " + item;
      if (total > 0) text = Bar(done, total) + " " + text;
    } else {
      text += " rows";
    }
    if (tty_) {
      std::fprintf(stderr, "\r\033[K%s", text.c_str());
      drawn_ = true;
    } else if (new_item) {
      std::fprintf(stderr, "%s\n", text.c_str());
    }
  }

 private:
  static std::string Mib(int64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
    return buf;
  }
  static std::string Bar(int64_t done, int64_t total) {
    const int width = 24;
    const int filled = static_cast<int>(width * static_cast<double>(done) / static_cast<double>(total));
    return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
  }

  bool quiet_;
  bool tty_;
  bool drawn_ = false;
  std::string item_;
  std::chrono::steady_clock::time_point last_{};
};

StatusOr<std::unique_ptr<storage::sql::Database>> OpenBackupFile(const std::string& path, bool audit) {
  if (audit) return storage::sqlite::OpenAuditDatabase(path);
  return storage::sqlite::OpenDatabase(path, {});
}

struct Opened {
  std::unique_ptr<storage::sql::Database> metadata;
  std::unique_ptr<storage::sql::Database> audit;
  std::unique_ptr<storage::ArtifactStore> artifacts;
  storage::backup::Deployment view() const {
    storage::backup::Deployment d;
    d.databases.push_back(metadata.get());
    if (audit) d.databases.push_back(audit.get());
    d.artifacts = artifacts.get();
    return d;
  }
};

StatusOr<Opened> OpenDeployment(const Config& c) {
  Opened o;
  KILN_ASSIGN_OR_RETURN(o.metadata, OpenMetadataDatabase(c));
  KILN_ASSIGN_OR_RETURN(o.audit, OpenAuditDatabase(c));
  KILN_ASSIGN_OR_RETURN(o.artifacts, OpenArtifacts(c));
  return o;
}

}  // namespace

void RegisterBackupCommands(CLI::App& app, BackupCmdOptions& o) {
  auto* backup = app.add_subcommand("backup", "Write a consistent online backup of the deployment to DEST");
  backup->add_option("dest", o.path, "Backup directory (must be empty or missing)")->required();
  backup->add_flag("--quiet", o.quiet, "No progress on stderr");
  RegisterServeOptions(*backup, o.backup_config);
  auto* restore = app.add_subcommand("restore", "Restore a backup into an empty deployment");
  restore->add_option("src", o.path, "Backup directory written by `kiln backup`")->required();
  restore->add_flag("--quiet", o.quiet, "No progress on stderr");
  RegisterServeOptions(*restore, o.restore_config);
}

bool BackupCommandChosen(const CLI::App& app) { return app.got_subcommand("backup") || app.got_subcommand("restore"); }

int RunBackup(const CLI::App& app, BackupCmdOptions& o) {
  const bool backup = app.got_subcommand("backup");
  const Config& c = backup ? o.backup_config : o.restore_config;
  if (Status s = ValidateConfig(c); !s.ok()) {
    std::fprintf(stderr, "kiln: %s\n", s.message().c_str());
    return 2;
  }
  auto opened = OpenDeployment(c);
  if (!opened.ok()) {
    std::fprintf(stderr, "kiln %s: cannot open %s: %s\n", backup ? "backup" : "restore", DescribeDatabase(c).c_str(),
                 opened.status().message().c_str());
    return 2;
  }
  StatusOr<storage::backup::CopyReport> report = storage::backup::CopyReport{};
  {
    ProgressLine line(o.quiet);
    storage::backup::Progress progress;
    progress.update = [&line](const std::string& phase, const std::string& item, int64_t done, int64_t total) {
      line.Update(phase, item, done, total);
    };
    report = backup ? storage::backup::Backup(opened->view(), o.path, OpenBackupFile, progress)
                    : storage::backup::Restore(o.path, opened->view(), OpenBackupFile, progress);
  }
  if (!report.ok()) {
    std::fprintf(stderr, "kiln %s failed: %s\n", backup ? "backup" : "restore", report.status().message().c_str());
    return 1;
  }
  std::printf("%s %s: %lld tables, %lld rows, %lld artifact files, %lld bytes; every table digest and file checksum "
              "verified\n",
              backup ? "backup of" : "restored into", backup ? DescribeDatabase(c).c_str() : DescribeDatabase(c).c_str(),
              static_cast<long long>(report->tables), static_cast<long long>(report->rows),
              static_cast<long long>(report->files), static_cast<long long>(report->bytes));
  return 0;
}

}  // namespace kiln::cli
