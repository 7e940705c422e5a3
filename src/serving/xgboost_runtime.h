// XgboostRuntime: serves an XGBoost model (.json, .ubj, or the legacy
// binary .bst/.xgb/.deprecated of xgboost < 3) with kiln's own evaluator
// (XgboostModel); no XGBoost library is involved. The format is told by
// content, so MLflow's model.xgb (binary in 1.x, UBJSON in 2.x) loads too.
//
// Input `input-0`: FP32 (or FP64, narrowed to float as xgboost does)
// [batch, num_features]; NaN is missing, +-inf are ordinary values.
// Output `output-0`: FP32 [batch] for binary/regression/ranking and
// multi:softmax, [batch, k] for models with k > 1 outputs (multi:softprob,
// several quantiles, multi-target and multi_output_tree models); values as
// xgboost.Booster.predict returns them.
//
// Ownership: owns the parsed model.
// Thread-safety: Execute() keeps no state between calls and only reads the
// immutable model, so any number of threads may call it at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "serving/runtime.h"
#include "serving/xgboost_model.h"

namespace kiln::serving {

class XgboostRuntime final : public Runtime {
 public:
  // NotFound when the file does not exist; InvalidArgument ("cannot load
  // XGBoost model <path>: <why>") when it is too large or not a model kiln
  // can evaluate exactly.
  static StatusOr<std::unique_ptr<XgboostRuntime>> LoadFile(const std::string& path);
  // The same from model bytes already in memory; `file_name` (e.g.
  // "model.ubj") picks the format as in XgboostModel::Parse.
  static StatusOr<std::unique_ptr<XgboostRuntime>> FromBytes(std::string_view bytes,
                                                              std::string_view file_name = {});

  std::string backend() const override { return "xgboost"; }
  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  StatusOr<std::vector<Tensor>> Execute(const std::vector<Tensor>& inputs) override;
  int64_t RowCost() const override { return static_cast<int64_t>(model_->max_path_nodes()) + num_features(); }

  int64_t num_features() const { return static_cast<int64_t>(model_->num_features()); }
  const std::string& objective() const { return model_->objective(); }
  const XgboostModel& model() const { return *model_; }

 private:
  explicit XgboostRuntime(std::unique_ptr<const XgboostModel> model);

  std::unique_ptr<const XgboostModel> model_;
  std::vector<TensorSpec> inputs_;
  std::vector<TensorSpec> outputs_;
};

}  // namespace kiln::serving
