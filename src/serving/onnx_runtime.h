// OnnxRuntime: serves an ONNX model (`model.onnx`) with kiln's own executor
// (src/onnx; no ONNX Runtime library is involved). The serving side of the
// executor: it maps the graph's inputs and outputs to V2 tensor specs and
// converts protocol tensors in and out.
//
// Inputs and outputs are the graph's own, by name, with the first dimension
// as the batch (-1). Datatypes: FP32, FP64, INT64, INT32, BOOL, BYTES
// (strings). An FP32 input also accepts FP64 (and the reverse), INT64 also
// INT32 (and the reverse), converted; a rank-2 input also accepts one row as
// a rank-1 tensor. A model output produced by ZipMap (a sequence of maps in
// ONNX) is served as the FP32 [batch, classes] probability tensor ZipMap was
// given, columns in the order of its class labels.
//
// Ownership: owns the executor (graph, initializers, kernels).
// Thread-safety: Execute() keeps its state on the stack and the executor is
// immutable, so any number of threads may call it at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "onnx/executor.h"
#include "serving/runtime.h"

namespace kiln::serving {

class OnnxRuntime final : public Runtime {
 public:
  // NotFound when the file does not exist; InvalidArgument (naming the path)
  // when it is too large, not an ONNX model, or uses an operator or
  // attribute kiln does not run (the message names it).
  static StatusOr<std::unique_ptr<OnnxRuntime>> LoadFile(const std::string& path);
  static StatusOr<std::unique_ptr<OnnxRuntime>> FromBytes(std::string_view bytes);

  std::string backend() const override { return "onnx"; }
  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  StatusOr<std::vector<Tensor>> Execute(const std::vector<Tensor>& inputs) override;

  const onnx::Executor& executor() const { return *executor_; }

 private:
  explicit OnnxRuntime(std::unique_ptr<const onnx::Executor> executor);

  std::unique_ptr<const onnx::Executor> executor_;
  std::vector<TensorSpec> inputs_;
  std::vector<TensorSpec> outputs_;
};

}  // namespace kiln::serving
