// FileStoreSource: an MLflow `mlruns` folder (the FileStore layout of
// mlflow/store/tracking/file_store.py and model_registry/file_store.py) read
// as import records:
//
//   <root>/<experiment id>/meta.yaml, tags/<key>            (.trash/<id>/ when deleted)
//   <root>/<experiment id>/<run id>/meta.yaml, params/, tags/, metrics/<key>
//        metrics lines: "timestamp value step [dataset_name dataset_digest]"
//        inputs/<id>/meta.yaml (DATASET or MODEL), outputs/<model id>/meta.yaml
//   <root>/<experiment id>/datasets/<id>/meta.yaml
//   <root>/<experiment id>/models/<model id>/meta.yaml, params/, tags/, metrics/
//        metrics lines: "timestamp value step run_id [dataset_name dataset_digest]"
//   <root>/models/<name>/meta.yaml, tags/, aliases/<alias>, version-<n>/meta.yaml, version-<n>/tags/
//
// Keys containing '/' are nested directories. Metric values are Python float
// reprs, so NaN and +-inf are exact.
//
// Ownership: owns nothing but an index of run and model directories.
// Thread-safety: none.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "storage/mlflow_import/mlflow_source.h"

namespace kiln::storage::mlflow_import {

class FileStoreSource final : public MlflowSource {
 public:
  // NotFound when `root` is not a directory; FailedPrecondition when it has
  // no experiment meta.yaml at all.
  static StatusOr<std::unique_ptr<FileStoreSource>> Open(const std::string& root);

  std::string Describe() const override { return "MLflow file store " + root_; }
  StatusOr<std::vector<ExperimentRec>> Experiments() override;
  StatusOr<std::vector<DatasetRec>> Datasets() override;
  StatusOr<std::vector<std::string>> RunIds() override;
  StatusOr<std::vector<RunRec>> Runs(const std::vector<std::string>& ids) override;
  StatusOr<std::vector<std::string>> LoggedModelIds() override;
  StatusOr<std::vector<LoggedModelRec>> LoggedModels(const std::vector<std::string>& ids) override;
  StatusOr<std::vector<RegisteredModelRec>> RegisteredModels() override;

 private:
  explicit FileStoreSource(std::string root) : root_(std::move(root)) {}
  Status Index();

  std::string root_;
  std::map<int64_t, std::string> experiment_dirs_;  // id -> directory
  std::map<std::string, std::pair<int64_t, std::string>> run_dirs_;    // run id -> (experiment, dir)
  std::map<std::string, std::pair<int64_t, std::string>> model_dirs_;  // model id -> (experiment, dir)
};

}  // namespace kiln::storage::mlflow_import
