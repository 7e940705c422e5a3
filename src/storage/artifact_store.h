// ArtifactStore: streaming access to artifact bytes under one root. Paths are
// relative, '/'-separated, and never escape the root: absolute paths, ".."
// segments, NUL bytes, backslashes and symlinks that resolve outside the root
// are refused with PermissionDenied or InvalidArgument. Nothing here loads a
// whole artifact into memory.
//
// Implementations are thread-safe; readers and writers are single-owner
// objects used by one thread at a time. Calls block (file or network I/O):
// run them on the worker pool, never on an I/O thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kiln::storage {

struct ArtifactEntry {
  std::string path;  // relative to the store root
  bool is_dir = false;
  int64_t size = 0;  // bytes, files only
};

// Receives an artifact in chunks. Nothing is visible at the path until
// Commit() succeeds; destroying an uncommitted writer discards the data.
class ArtifactWriter {
 public:
  virtual ~ArtifactWriter() = default;
  virtual Status Write(std::string_view chunk) = 0;
  virtual Status Commit() = 0;
};

class ArtifactReader {
 public:
  virtual ~ArtifactReader() = default;
  virtual int64_t size() const = 0;
  // Reads up to `capacity` bytes; returns 0 at end of file.
  virtual StatusOr<size_t> Read(char* buffer, size_t capacity) = 0;
};

class ArtifactStore {
 public:
  virtual ~ArtifactStore() = default;
  // Checks the root is reachable and writable.
  virtual Status Ping() = 0;
  // Creates parent directories as needed; replaces an existing file on Commit.
  virtual StatusOr<std::unique_ptr<ArtifactWriter>> OpenWriter(const std::string& path) = 0;
  // NotFound when missing; InvalidArgument when the path is a directory.
  virtual StatusOr<std::unique_ptr<ArtifactReader>> OpenReader(const std::string& path) = 0;
  // Direct children of a directory, sorted by path; an empty path is the root.
  // A missing directory lists as empty. A file path lists as empty.
  virtual StatusOr<std::vector<ArtifactEntry>> List(const std::string& path) = 0;
  // Removes a file or a directory tree. NotFound when missing.
  virtual Status Delete(const std::string& path) = 0;
};

}  // namespace kiln::storage
