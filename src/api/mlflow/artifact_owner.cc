#include "api/mlflow/artifact_owner.h"

#include <vector>

#include "api/mlflow/proxied_artifacts.h"

namespace kiln::api::mlflow {
namespace {

// Plain relative segments only: "1/../2" must not be checked as experiment 1.
// Percent signs are left for the handler to judge; attribution gives up.
bool Segments(const std::string& path, std::vector<std::string>* out) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    std::string seg = path.substr(start, slash - start);
    if (seg.empty() && slash == path.size() && !out->empty()) break;  // one trailing slash
    if (seg.empty() || seg == "." || seg == ".." || seg.find_first_of("\\%") != std::string::npos ||
        seg.find('\0') != std::string::npos) {
      return false;
    }
    out->push_back(std::move(seg));
    start = slash + 1;
  }
  return !out->empty();
}

}  // namespace

StatusOr<ObjectRef> OwnerOfArtifactPath(ObjectOwners& owners, const std::string& path,
                                        const std::string& registry_prefix) {
  std::vector<std::string> segs;
  if (!Segments(path, &segs)) return ObjectRef::Global();
  if (!registry_prefix.empty() && segs[0] == registry_prefix) {
    if (segs.size() < 2) return ObjectRef::Global();
    auto name = owners.ModelOfStoragePath(segs[0] + "/" + segs[1]);
    if (!name.ok()) {
      if (name.status().code() == StatusCode::kNotFound) return ObjectRef::Global();
      return name.status();
    }
    return ObjectRef{ObjectKind::kRegisteredModel, *name};
  }
  if (segs[0].find_first_not_of("0123456789") != std::string::npos) return ObjectRef::Global();
  auto exp = owners.tracking().GetExperiment(segs[0]);
  if (!exp.ok()) {
    if (exp.status().code() == StatusCode::kNotFound || exp.status().code() == StatusCode::kInvalidArgument) {
      return ObjectRef::Global();
    }
    return exp.status();
  }
  // Only an experiment whose files are exactly this folder owns it; one
  // pointed elsewhere does not (and the folder is nobody's we know).
  std::optional<std::string> root = ProxiedArtifactPath(exp->artifact_location);
  if (!root || *root != segs[0]) return ObjectRef::Global();
  return ObjectRef{ObjectKind::kExperiment, segs[0]};
}

}  // namespace kiln::api::mlflow
