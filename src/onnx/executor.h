// Executor: runs a loaded ONNX graph with kiln's own kernels. Create() builds
// one kernel per node through the registry, so every operator and attribute
// is checked before the model serves; Run() evaluates the nodes in
// topological order.
//
// Ownership: owns the graph (initializers included) and the kernels.
// Thread-safety: Run() is const and keeps each call's intermediate values in
// a vector local to the call, so any number of threads may run one executor
// at once.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "core/status.h"
#include "onnx/graph.h"
#include "onnx/kernel.h"
#include "onnx/kernel_registry.h"

namespace kiln::onnx {

class Executor {
 public:
  static StatusOr<std::unique_ptr<Executor>> Create(Graph graph,
                                                    const KernelRegistry& registry = KernelRegistry::Builtin());
  // ParseModel + Create.
  static StatusOr<std::unique_ptr<Executor>> Load(const void* data, size_t size);

  const std::vector<ValueInfo>& inputs() const { return graph_.inputs; }
  const std::vector<ValueInfo>& outputs() const { return graph_.outputs; }
  const Graph& graph() const { return graph_; }

  // `inputs` in the order of inputs(); each must have the declared element
  // type and rank, and the declared size in every fixed dimension but the
  // first. Returns the outputs in the order of outputs().
  StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs) const;

 private:
  explicit Executor(Graph graph) : graph_(std::move(graph)) {}

  Graph graph_;
  std::vector<std::unique_ptr<Kernel>> kernels_;  // one per graph_.nodes entry
};

}  // namespace kiln::onnx
