// Kernel: one operator instance of a loaded graph. A factory validates the
// node's attributes once at load time (so a bad model is refused before it
// serves) and returns a kernel whose Run() only reads that validated state.
//
// Ownership: a kernel owns its attribute-derived state; Run() borrows inputs.
// Thread-safety: Run() is const and must keep all per-call state on the
// stack; the executor calls it from many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "onnx/attributes.h"
#include "onnx/tensor.h"

namespace kiln::onnx {

// What a kernel factory may look at when the graph is loaded.
struct KernelInit {
  std::string op_type;
  std::string domain;  // "ai.onnx" or "ai.onnx.ml"
  int64_t opset = 0;   // the model's opset version for `domain`
  const Attributes* attrs = nullptr;
  size_t num_inputs = 0;   // as written in the node, omitted optional inputs included
  size_t num_outputs = 0;
  // Initializer values of the node's inputs (nullptr for inputs computed at
  // run time), for kernels such as Reshape whose shape input is constant.
  std::vector<const Tensor*> constant_inputs;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // `inputs` has one entry per node input (nullptr for an omitted optional
  // one); `outputs` arrives sized to the node's outputs and is filled in.
  // Bad values or shapes are InvalidArgument, never a crash.
  virtual Status Run(const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) const = 0;
};

}  // namespace kiln::onnx
