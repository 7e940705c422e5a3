// XgboostRuntime: XGBoost models (.json, .ubj, legacy binary .bst/.xgb)
// executed by Debian's libxgboost through its C API (in-place prediction
// from dense rows; NaN is "missing").
//
// Input `input-0`: FP32 (or FP64, converted) [batch, num_features].
// Output `output-0`: FP32 [batch] for binary/regression/ranking and
// multi:softmax, [batch, num_class] for multi:softprob; values as
// xgboost.Booster.predict returns them (probabilities after the objective's
// transform).
//
// Ownership: owns the booster handle.
// Thread-safety: Execute() is serialised by a mutex: libxgboost keeps its
// prediction output buffer per booster, so calls on one booster must not
// overlap. The booster runs with nthread=1 (latency first; batching gives the
// throughput).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "serving/runtime.h"

namespace kiln::serving {

class XgboostRuntime final : public Runtime {
 public:
  static StatusOr<std::unique_ptr<XgboostRuntime>> LoadFile(const std::string& path);
  ~XgboostRuntime() override;

  std::string backend() const override { return "xgboost"; }
  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  StatusOr<std::vector<Tensor>> Execute(const std::vector<Tensor>& inputs) override;

  int64_t num_features() const { return num_features_; }
  const std::string& objective() const { return objective_; }

 private:
  explicit XgboostRuntime(void* booster) : booster_(booster) {}

  void* booster_;  // BoosterHandle
  std::mutex mu_;  // guards prediction calls on booster_
  int64_t num_features_ = 0;
  int64_t num_class_ = 0;  // > 1 for multi:softprob, whose rows have num_class outputs
  std::string objective_;
  std::vector<TensorSpec> inputs_;
  std::vector<TensorSpec> outputs_;
};

}  // namespace kiln::serving
