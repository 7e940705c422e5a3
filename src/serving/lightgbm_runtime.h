// LightGbmRuntime: serves a LightGBM text model (`model.txt`) with kiln's own
// evaluator (LightGbmModel); no LightGBM library is involved.
//
// Input `input-0`: FP32 or FP64 [batch, num_features] (a rank-1
// [num_features] tensor is one row), NaN meaning missing. FP64 rows are
// evaluated in double precision as given, FP32 rows are widened exactly.
// Output `output-0`: FP32 [batch] for binary, regression and ranking models
// (probability or prediction), [batch, num_class] for multiclass models;
// values as lightgbm.Booster.predict returns them.
//
// Ownership: owns the parsed model.
// Thread-safety: Execute() keeps no state between calls and only reads the
// immutable model, so any number of threads may call it at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "serving/lightgbm_model.h"
#include "serving/runtime.h"

namespace kiln::serving {

class LightGbmRuntime final : public Runtime {
 public:
  // Larger files are refused before reading: the biggest real LightGBM
  // models are tens of MiB of text.
  static constexpr size_t kMaxModelFileBytes = size_t{512} << 20;

  // NotFound when the file does not exist; InvalidArgument (naming the path)
  // when it is too large or not a model kiln can evaluate.
  static StatusOr<std::unique_ptr<LightGbmRuntime>> LoadFile(const std::string& path);
  // The same from model text already in memory (e.g. read from the registry).
  static StatusOr<std::unique_ptr<LightGbmRuntime>> FromText(std::string_view text);

  std::string backend() const override { return "lightgbm"; }
  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  StatusOr<std::vector<Tensor>> Execute(const std::vector<Tensor>& inputs) override;
  int64_t RowCost() const override { return row_cost_; }

  const LightGbmModel& model() const { return *model_; }

 private:
  explicit LightGbmRuntime(std::unique_ptr<const LightGbmModel> model);

  std::unique_ptr<const LightGbmModel> model_;
  std::vector<TensorSpec> inputs_;
  std::vector<TensorSpec> outputs_;
  int64_t row_cost_ = 0;  // fixed at load: RowCost() is asked on every request
};

}  // namespace kiln::serving
