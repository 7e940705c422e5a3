// The files of kiln's web UI compiled into the binary: a table generated at
// build time by cmake/embed_webui.cmake from Vite's output (ui/ built by
// scripts/setup.sh into third_party/ui-dist).
//
// Immutable static data: safe to read from any thread; nothing is owned.
#pragma once

#include <cstddef>

namespace kiln::api::webui {

struct EmbeddedAsset {
  const char* path;             // relative to the UI root: "index.html", "assets/index-CEDjia5L.js"
  const unsigned char* gzip;    // the file's bytes, gzip-compressed
  size_t gzip_size;
  size_t size;                  // uncompressed size
  const char* etag;             // quoted, from the uncompressed content's SHA-256
  const char* content_type;
};

struct EmbeddedAssets {
  const EmbeddedAsset* items = nullptr;
  size_t count = 0;

  const EmbeddedAsset* begin() const { return items; }
  const EmbeddedAsset* end() const { return items + count; }
  bool empty() const { return count == 0; }
};

// The UI built into this binary; empty when third_party/ui-dist was missing
// when kiln was built.
EmbeddedAssets BuiltWebUiAssets();

}  // namespace kiln::api::webui
