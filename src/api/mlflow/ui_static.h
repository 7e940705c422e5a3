// Serving the files of MLflow's web UI (the `mlflow` wheel's
// mlflow/server/js/build) from a directory: safe path resolution, content
// types, caching headers and streamed reads.
//
// Pure functions plus a file-backed response source; every call that
// touches the disk blocks and belongs on the worker pool.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "net/http_message.h"

namespace kiln::api::mlflow {

// Resolves `rel` (a request path below the UI root, already percent-decoded
// once) to an absolute file path inside `root`, which must be a canonical
// absolute path. Refuses with NotFound anything that could name a file
// elsewhere or a hidden one: empty, "." or ".." segments, segments starting
// with '.', backslashes, NUL, '%' (a second encoding layer), characters
// outside [A-Za-z0-9._~+@-/], symlinks leading out of root, directories.
StatusOr<std::string> ResolveUiPath(const std::string& root, std::string_view rel);

// Content type by extension (text types with charset=utf-8).
std::string UiContentType(std::string_view path);

// Whether a file name carries a content hash (main.c2f5f8d4.js,
// 8116.9a0b6467.chunk.css): such a file never changes under its name.
bool IsHashedAssetName(std::string_view path);

// Cache-Control for a UI file: a year and immutable for hashed assets,
// revalidation for everything else (index.html names the current hashes).
std::string UiCacheControl(std::string_view path);

// A GET/HEAD response for the file at `file` (from ResolveUiPath): streamed
// in chunks, with Content-Type, Cache-Control, an ETag from size and mtime,
// and 304 when `if_none_match` names that ETag.
net::HttpResponse UiFileResponse(const std::string& file, std::string_view if_none_match);

}  // namespace kiln::api::mlflow
