// MLflow's rules for model-version sources that are not kiln's own
// (`s3://…`, `gs://…`, local paths, `http://…`): which ones its server
// accepts, which it refuses, and with what message. kiln registers the
// accepted ones by reference (it cannot copy them), so these checks are all
// that stands between a client and a bogus version.
//
// URI splitting follows Python's urllib.parse.urlsplit, because MLflow's
// checks are written against it.
//
// Pure functions except LocalPathWithin (reads the file system to resolve
// symlinks, as MLflow's pathlib.resolve does); safe to call concurrently.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace kiln::registry {

struct SplitUri {
  std::string scheme;  // lower-cased; empty when the URI has none
  std::string netloc;
  std::string path;
};
SplitUri SplitSourceUri(std::string_view uri);

// (Host-addressed schemes are refused by tracking::CheckHostAddressedScheme.)

// MLflow's refusal of sources whose path (after percent-decoding) is not an
// absolute path free of '.', '..' and NUL: "…an absolute path must be
// provided without relative path references present…".
Status CheckNoRelativeReferences(std::string_view source);

// A plain path or a file: URI (MLflow's is_local_uri). A file: URI naming a
// remote host is InvalidArgument, as in MLflow.
StatusOr<bool> IsLocalSource(std::string_view uri);
// The file-system path of a local source: the path of a file: URI
// (percent-decoded), the string itself otherwise.
std::string LocalSourcePath(std::string_view uri);
// Whether `path` is `root` or beneath it once both are made absolute and
// their symlinks resolved.
bool LocalPathWithin(const std::string& path, const std::string& root);

// MLflow's refusal of a local source outside the artifact directory of the
// run (id_name "run_id") or logged model (id_name "model_id") named with it.
Status InvalidLocalSource(std::string_view source, std::string_view id_name);

}  // namespace kiln::registry
