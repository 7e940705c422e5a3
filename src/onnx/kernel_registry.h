// KernelRegistry: maps (domain, op_type) to the factory that builds a kernel
// for a node. The builtin registry holds kiln's own kernels; a different
// backend (e.g. an ONNX Runtime-backed one) would not use this at all, and a
// test may build a registry of its own.
//
// Ownership: owns the factories.
// Thread-safety: immutable after construction; Builtin() is built once
// (thread-safe static) and may be used from any thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "onnx/domains.h"
#include "onnx/kernel.h"

namespace kiln::onnx {

using KernelFactory = std::function<StatusOr<std::unique_ptr<Kernel>>(const KernelInit&)>;

class KernelRegistry {
 public:
  static const KernelRegistry& Builtin();

  void Register(const std::string& domain, const std::string& op_type, KernelFactory factory);
  bool Supports(const std::string& domain, const std::string& op_type) const;
  // InvalidArgument naming the operator when none is registered, e.g.
  // "unsupported ONNX operator 'LSTM' (domain ai.onnx)"; the factory's
  // InvalidArgument for attributes it refuses.
  StatusOr<std::unique_ptr<Kernel>> Create(const KernelInit& init) const;
  std::vector<std::pair<std::string, std::string>> Operators() const;  // (domain, op_type), sorted

 private:
  std::map<std::pair<std::string, std::string>, KernelFactory> factories_;
};

// Each kernel file registers its operators (called by Builtin()).
void RegisterElementwiseKernels(KernelRegistry& r);
void RegisterLinalgKernels(KernelRegistry& r);
void RegisterShapeKernels(KernelRegistry& r);
void RegisterMlKernels(KernelRegistry& r);
void RegisterTreeEnsembleKernels(KernelRegistry& r);

}  // namespace kiln::onnx
