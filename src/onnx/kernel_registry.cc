#include "onnx/kernel_registry.h"

namespace kiln::onnx {

const KernelRegistry& KernelRegistry::Builtin() {
  static const KernelRegistry* registry = [] {
    auto* r = new KernelRegistry;
    RegisterElementwiseKernels(*r);
    RegisterLinalgKernels(*r);
    RegisterShapeKernels(*r);
    RegisterMlKernels(*r);
    RegisterTreeEnsembleKernels(*r);
    return r;
  }();
  return *registry;
}

void KernelRegistry::Register(const std::string& domain, const std::string& op_type, KernelFactory factory) {
  factories_[{domain, op_type}] = std::move(factory);
}

bool KernelRegistry::Supports(const std::string& domain, const std::string& op_type) const {
  return factories_.count({domain, op_type}) != 0;
}

StatusOr<std::unique_ptr<Kernel>> KernelRegistry::Create(const KernelInit& init) const {
  auto it = factories_.find({init.domain, init.op_type});
  if (it == factories_.end()) {
    return InvalidArgument("unsupported ONNX operator '" + init.op_type + "' (domain " + init.domain + ")");
  }
  auto kernel = it->second(init);
  if (!kernel.ok()) {
    return Status(kernel.status().code(), "ONNX operator '" + init.op_type + "' (domain " + init.domain +
                                              ", opset " + std::to_string(init.opset) +
                                              "): " + kernel.status().message());
  }
  return kernel;
}

std::vector<std::pair<std::string, std::string>> KernelRegistry::Operators() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, factory] : factories_) out.push_back(key);
  return out;
}

}  // namespace kiln::onnx
