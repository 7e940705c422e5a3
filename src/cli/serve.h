// The `kiln serve` and `kiln migrate` subcommands: build the embedded
// platform from a Config and run it.
#pragma once

#include "cli/config.h"

namespace kiln::cli {

// Runs until SIGINT/SIGTERM; returns the process exit code.
int Serve(const Config& config);
// Upgrades the metadata database under data_dir; returns the exit code.
int Migrate(const Config& config);

}  // namespace kiln::cli
