// kiln: one binary for the MLOps platform. Parses the command line and hands
// off to a subcommand; nothing else lives here.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/audit_cmd.h"
#include "cli/backup_cmd.h"
#include "cli/config.h"
#include "cli/features_cmd.h"
#include "cli/grants_cmd.h"
#include "cli/import_cmd.h"
#include "cli/serve.h"
#include "cli/users_cmd.h"
#include "cli/validate_cmd.h"

int main(int argc, char** argv) {
  // One Config per subcommand: CLI11 applies KILN_* variables to every
  // subcommand's options, so sharing one would let the unused subcommand's
  // environment values overwrite the flags of the one that runs.
  kiln::cli::Config serve_config;
  kiln::cli::Config migrate_config;
  CLI::App app{"kiln: experiment tracking, model registry, features and serving in one binary"};
  app.require_subcommand(1);
  auto* serve = app.add_subcommand("serve", "Run the platform (embedded storage by default)");
  kiln::cli::RegisterServeOptions(*serve, serve_config);
  auto* migrate = app.add_subcommand("migrate", "Upgrade the metadata database schema in place");
  kiln::cli::RegisterServeOptions(*migrate, migrate_config);
  app.add_subcommand("version", "Print the version");
  kiln::cli::FeaturesOptions features_options;
  kiln::cli::RegisterFeaturesCommands(app, features_options);
  kiln::cli::ValidateOptions validate_options;
  kiln::cli::RegisterValidateCommand(app, validate_options);
  kiln::cli::UsersOptions users_options;
  kiln::cli::RegisterUserCommands(app, users_options);
  kiln::cli::AuditCmdOptions audit_options;
  kiln::cli::RegisterAuditCommands(app, audit_options);
  kiln::cli::GrantsOptions grants_options;
  kiln::cli::RegisterGrantsCommands(app, grants_options);
  kiln::cli::BackupCmdOptions backup_options;
  kiln::cli::RegisterBackupCommands(app, backup_options);
  kiln::cli::ImportOptions import_options;
  kiln::cli::RegisterImportCommand(app, import_options);

  kiln::Status yaml = kiln::cli::LoadYamlConfig(argc, argv, serve_config);
  if (yaml.ok()) yaml = kiln::cli::LoadYamlConfig(argc, argv, migrate_config);
  if (yaml.ok()) yaml = kiln::cli::LoadYamlConfig(argc, argv, backup_options.backup_config);
  if (yaml.ok()) yaml = kiln::cli::LoadYamlConfig(argc, argv, backup_options.restore_config);
  if (auto s = yaml; !s.ok()) {
    std::fprintf(stderr, "kiln: %s\n", s.message().c_str());
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (app.got_subcommand("version")) {
    std::printf("%s\n", KILN_VERSION);
    return 0;
  }
  if (kiln::cli::FeaturesCommandChosen(app)) return kiln::cli::RunFeatures(app, features_options);
  if (kiln::cli::ValidateCommandChosen(app)) return kiln::cli::RunValidate(validate_options);
  if (kiln::cli::UserCommandChosen(app)) return kiln::cli::RunUsers(app, users_options);
  if (kiln::cli::AuditCommandChosen(app)) return kiln::cli::RunAudit(app, audit_options);
  if (kiln::cli::GrantsCommandChosen(app)) return kiln::cli::RunGrants(app, grants_options);
  if (kiln::cli::BackupCommandChosen(app)) return kiln::cli::RunBackup(app, backup_options);
  if (kiln::cli::ImportCommandChosen(app)) return kiln::cli::RunImport(import_options);
  const kiln::cli::Config& config = app.got_subcommand("migrate") ? migrate_config : serve_config;
  if (auto s = kiln::cli::ValidateConfig(config); !s.ok()) {
    std::fprintf(stderr, "kiln: %s\n", s.message().c_str());
    return 2;
  }
  if (app.got_subcommand("migrate")) return kiln::cli::Migrate(config);
  return kiln::cli::Serve(config);
}
