// kiln's own web UI under /ui/ (MLflow's UI keeps / when --mlflow-ui is
// given): the embedded files, or a folder with --ui-dir for UI development.
//
// Embedded files are answered inline on the I/O thread (memory only: the
// pre-compressed bytes, or an inflate of a few hundred KB for the rare
// client without gzip); folder reads go to the worker pool.
#pragma once

#include <string>
#include <string_view>

#include "api/webui/embedded_assets.h"
#include "core/status.h"
#include "net/http_message.h"
#include "net/router.h"

namespace kiln::api::webui {

struct WebUiOptions {
  // Serve this folder (Vite's dist, holding index.html) instead of the
  // embedded files; read on every request.
  std::string ui_dir;
  EmbeddedAssets assets = BuiltWebUiAssets();
};

// Registers GET /ui (a redirect to /ui/) and GET /ui/{path...}, each public
// like MLflow's UI files: the UI holds no data, its API calls are checked.
// Fails when ui_dir is set but holds no index.html.
Status AddWebUiRoutes(net::Router& router, const WebUiOptions& options);

// Whether an Accept-Encoding header admits gzip (a q=0 refuses it).
bool AcceptsGzip(std::string_view accept_encoding);

// Whether If-None-Match names `etag` (a list, weak tags, or "*").
bool EtagMatches(std::string_view if_none_match, std::string_view etag);

// A path below /ui/ that no file answers gets index.html (the client
// router's page) unless it looks like a file: under assets/ or with a '.'
// in its last segment, so a stale asset name is a 404, not HTML.
bool IsClientRoute(std::string_view rel);

// Hashed names (Vite writes only those under assets/) never change content.
std::string CacheControlFor(std::string_view rel);

// The response for one embedded file.
net::HttpResponse EmbeddedAssetResponse(const EmbeddedAsset& asset, std::string_view accept_encoding,
                                        std::string_view if_none_match);

}  // namespace kiln::api::webui
