#include "storage/artifact_copy.h"

#include <memory>

namespace kiln::storage {
namespace {

constexpr size_t kChunk = 1 << 20;

std::string Join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "/" + b;
}

// Entry paths from List are relative to the store root; `rel` is relative to
// the tree's top.
Status Walk(ArtifactStore& store, const std::string& top, const std::string& rel, int depth,
            std::vector<ArtifactEntry>* out) {
  if (depth > 64) return InvalidArgument("artifact tree deeper than 64 levels: " + Join(top, rel));
  KILN_ASSIGN_OR_RETURN(std::vector<ArtifactEntry> entries, store.List(Join(top, rel)));
  for (ArtifactEntry& e : entries) {
    std::string name = e.path.substr(e.path.rfind('/') + 1);
    std::string child = Join(rel, name);
    if (e.is_dir) {
      KILN_RETURN_IF_ERROR(Walk(store, top, child, depth + 1, out));
    } else {
      out->push_back({child, false, e.size});
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<ArtifactEntry>> ListArtifactTree(ArtifactStore& store, const std::string& dir) {
  std::vector<ArtifactEntry> out;
  KILN_RETURN_IF_ERROR(Walk(store, dir, "", 0, &out));
  return out;
}

StatusOr<CopiedTree> CopyArtifactTree(ArtifactStore& store, const std::string& src, const std::string& dst) {
  KILN_ASSIGN_OR_RETURN(std::vector<ArtifactEntry> files, ListArtifactTree(store, src));
  CopiedTree copied;
  std::unique_ptr<char[]> buf(new char[kChunk]);
  for (const ArtifactEntry& f : files) {
    KILN_ASSIGN_OR_RETURN(auto reader, store.OpenReader(Join(src, f.path)));
    KILN_ASSIGN_OR_RETURN(auto writer, store.OpenWriter(Join(dst, f.path)));
    while (true) {
      KILN_ASSIGN_OR_RETURN(size_t n, reader->Read(buf.get(), kChunk));
      if (n == 0) break;
      KILN_RETURN_IF_ERROR(writer->Write(std::string_view(buf.get(), n)));
      copied.bytes += static_cast<int64_t>(n);
    }
    KILN_RETURN_IF_ERROR(writer->Commit());
    ++copied.files;
  }
  return copied;
}

}  // namespace kiln::storage
