// Copies a directory tree inside one ArtifactStore, streaming each file in
// chunks (never a whole file in memory). Used by the model registry to take
// its own copy of a model's files.
//
// Blocking file I/O: call from the worker pool. Thread-safe as the store is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/artifact_store.h"

namespace kiln::storage {

struct CopiedTree {
  int64_t files = 0;
  int64_t bytes = 0;
};

// Copies every file under `src` to the same relative path under `dst`. A
// missing or empty `src` copies nothing. Each file is committed atomically;
// on error the files already copied stay (the caller deletes `dst`).
StatusOr<CopiedTree> CopyArtifactTree(ArtifactStore& store, const std::string& src, const std::string& dst);

// Every file under `dir` (recursively), with paths relative to `dir`.
StatusOr<std::vector<ArtifactEntry>> ListArtifactTree(ArtifactStore& store, const std::string& dir);

}  // namespace kiln::storage
