// `kiln backup DEST` and `kiln restore SRC` (storage/backup/backup.h): an
// online, consistent snapshot of the deployment the serve settings name
// (--data-dir, --database-uri, --audit-db, --artifacts-uri), and its
// restore into an empty deployment on any backend.
//
//   kiln backup /backups/2026-12-01 --database-uri postgresql://... --artifacts-uri s3://...
//   kiln restore /backups/2026-12-01 --data-dir /new        (embedded target)
//
// Progress goes to stderr, the summary to stdout; exit 0 on success, 1 when
// the copy failed or did not verify, 2 on bad settings.
#pragma once

#include <string>

#include "cli/config.h"

namespace CLI {
class App;
}

namespace kiln::cli {

struct BackupCmdOptions {
  std::string path;  // DEST for backup, SRC for restore
  bool quiet = false;
  Config backup_config;
  Config restore_config;
};

void RegisterBackupCommands(CLI::App& app, BackupCmdOptions& options);
bool BackupCommandChosen(const CLI::App& app);
int RunBackup(const CLI::App& app, BackupCmdOptions& options);

}  // namespace kiln::cli
