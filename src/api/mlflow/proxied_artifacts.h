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

}  // namespace kiln::api::mlflow
