// What the MLflow adapter's artifact, UI and trace routes share about kiln's
// own artifact store as MLflow's clients address it (`mlflow-artifacts:`).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "net/http_message.h"
#include "storage/artifact_store.h"

namespace kiln::api::mlflow {

// "mlflow-artifacts:/1/abc/artifacts" (or with an authority,
// "mlflow-artifacts://host:port/1/abc/artifacts") -> "1/abc/artifacts", the
// path inside kiln's artifact store. nullopt for any other location (s3://,
// file:, ...), which clients write and read themselves.
std::optional<std::string> ProxiedArtifactPath(const std::string& uri);

// Streams an artifact as a response body in the HTTP layer's chunks.
// Owns the reader; used by one response at a time.
class ArtifactReaderSource final : public net::ResponseBodySource {
 public:
  explicit ArtifactReaderSource(std::unique_ptr<storage::ArtifactReader> reader) : reader_(std::move(reader)) {}
  int64_t size() const override { return reader_->size(); }
  StatusOr<size_t> Read(char* buffer, size_t capacity) override { return reader_->Read(buffer, capacity); }

 private:
  std::unique_ptr<storage::ArtifactReader> reader_;
};

// How MLflow's server answers a Range it cannot serve as one range; its two
// download routes run on different frameworks and differ there.
enum class RangeStyle {
  // /get-artifact and the other UI downloads (Flask's send_file): a
  // malformed header or several ranges -> 416.
  kFlask,
  // /api/2.0/mlflow-artifacts/artifacts/<path> (Starlette's FileResponse):
  // a malformed header -> 400 with Starlette's message; several ranges ->
  // Starlette sends multipart/byteranges, kiln the whole file (200).
  kStarlette,
};

// Sets `res`'s body to the artifact, honouring a Range request as MLflow's
// server does: `Accept-Ranges: bytes` always; one "bytes=first-last",
// "bytes=first-" or "bytes=-suffix" range answers 206 with
// `Content-Range: bytes first-last/size` and only those bytes (the end is
// clamped to the file); a range starting past the end answers 416 with
// `Content-Range: bytes */size`; malformed headers and several ranges as
// `style` says. A request with If-Range (kiln sends no validator a client
// could hold) gets the whole file; so does an empty file under kFlask.
void SetArtifactBody(const net::HttpRequest& req, net::HttpResponse& res,
                     std::unique_ptr<storage::ArtifactReader> reader, RangeStyle style);

}  // namespace kiln::api::mlflow
