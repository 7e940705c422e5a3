// Runtime: one loaded model that kiln executes natively (no Python). Modelled
// on Triton's backend API: a runtime is created from model files, describes
// its inputs and outputs, and executes a batch of rows at a time. Dynamic
// batching, queues and protocols live above this interface.
//
// Ownership: a Runtime owns everything it loaded.
// Thread-safety: Execute() may be called from several worker threads at once;
// implementations either are stateless at execution time or synchronise.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "serving/tensor.h"

namespace kiln::serving {

class Runtime {
 public:
  virtual ~Runtime() = default;
  // Triton's platform/backend name, e.g. "xgboost", "lightgbm", "onnx".
  virtual std::string backend() const = 0;
  // The first dimension of every input and output is the batch (-1).
  virtual const std::vector<TensorSpec>& inputs() const = 0;
  virtual const std::vector<TensorSpec>& outputs() const = 0;
  // Runs one batch. The caller has checked names, datatypes and shapes
  // against inputs(); the runtime still refuses what it cannot run
  // (InvalidArgument), never crashes on it.
  virtual StatusOr<std::vector<Tensor>> Execute(const std::vector<Tensor>& inputs) = 0;
  // A bound on what one row of Execute() costs, in tree-node visits, for
  // runtimes whose small batches are cheap enough to run on an I/O thread
  // (memory only: no locks held long, no threads, no I/O); -1 when the
  // runtime cannot say, and its requests always go through the batcher.
  virtual int64_t RowCost() const { return -1; }
};

}  // namespace kiln::serving
