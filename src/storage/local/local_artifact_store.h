// LocalArtifactStore: ArtifactStore over a directory on the local filesystem.
//
// Path rules (applied to every path argument before touching the disk):
//   * '/'-separated and relative. Refused with PermissionDenied ("path escapes
//     the artifact root"): absolute paths and any ".." segment.
//   * Refused with InvalidArgument: NUL bytes, backslashes, "." segments,
//     empty segments (so "a//b", "a/" and "/" are all refused rather than
//     collapsed), segments longer than NAME_MAX, paths longer than PATH_MAX,
//     and names reserved for in-progress writes (".<anything>.kiln-tmp-...").
//   * The empty path means the root; only List accepts it (Delete("") is
//     PermissionDenied, OpenReader/OpenWriter("") are InvalidArgument).
//   * No decoding happens here. The HTTP layer percent-decodes exactly once;
//     whatever reaches this class is taken literally, so "%2e%2e" is an
//     ordinary file name, not "..".
//
// Symlinks: after joining, the deepest existing ancestor is resolved with
// realpath(3) and must stay under the (canonical) root, otherwise
// PermissionDenied. Consequently a symlink inside the root that points inside
// the root is ALLOWED and followed (reads, writes and lists go to its target);
// a symlink that points outside the root, or that dangles or loops, is refused
// for every operation, including as a path prefix. List hides such entries,
// temp files, and entries that are neither regular files nor directories
// (FIFOs, sockets, devices: OpenReader refuses those with InvalidArgument).
// Delete of an in-root symlink removes the link itself, never its target.
// Against a symlink being swapped in between that check and the use, the
// resolved path is then opened by walking down from the root with
// openat(O_NOFOLLOW) per component (parent directories are created the same
// way), and Delete removes trees with unlinkat() on directory descriptors
// instead of std::filesystem::remove_all (which re-resolves paths while it
// recurses). Opened descriptors are additionally re-checked via
// /proc/self/fd (fail closed when /proc is unavailable).
//
// Writes go to ".<name>.kiln-tmp-<random>" in the destination directory and
// are fdatasync'ed and renamed over the target on Commit(); the destination
// directory is fsync'ed after the rename. Temp files are hidden by List.
//
// Ownership & thread-safety: the store owns only its canonical root path and
// is immutable after Create(), so one instance may be shared by any number of
// threads. Readers and writers each own their file descriptors (a writer also
// owns a descriptor of its destination directory), do not reference the
// store, may outlive it, and are single-owner objects used by one thread at a
// time. Concurrent writers to the same path are safe: each commits atomically
// and the last rename wins. All calls block on filesystem I/O.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/artifact_store.h"

namespace kiln::storage {

class LocalArtifactStore final : public ArtifactStore {
 public:
  // Creates `root_dir` (and parents) if missing and canonicalises it.
  static StatusOr<std::unique_ptr<LocalArtifactStore>> Create(const std::string& root_dir);

  // Canonical absolute root directory.
  const std::string& root() const { return root_; }

  Status Ping() override;
  StatusOr<std::unique_ptr<ArtifactWriter>> OpenWriter(const std::string& path) override;
  StatusOr<std::unique_ptr<ArtifactReader>> OpenReader(const std::string& path) override;
  StatusOr<std::vector<ArtifactEntry>> List(const std::string& path) override;
  Status Delete(const std::string& path) override;

 private:
  explicit LocalArtifactStore(std::string root) : root_(std::move(root)) {}

  const std::string root_;
};

}  // namespace kiln::storage
