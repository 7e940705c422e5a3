#include "onnx/executor.h"

#include <new>

#include "onnx/graph_loader.h"

namespace kiln::onnx {

StatusOr<std::unique_ptr<Executor>> Executor::Create(Graph graph, const KernelRegistry& registry) {
  std::unique_ptr<Executor> ex(new Executor(std::move(graph)));
  const Graph& g = ex->graph_;
  for (const Node& node : g.nodes) {
    KernelInit init;
    init.op_type = node.op_type;
    init.domain = node.domain;
    init.opset = node.opset;
    init.attrs = &node.attrs;
    init.num_inputs = node.inputs.size();
    init.num_outputs = node.outputs.size();
    for (int slot : node.inputs) {
      init.constant_inputs.push_back(slot >= 0 && g.constants[slot] ? &*g.constants[slot] : nullptr);
    }
    auto kernel = registry.Create(init);
    if (!kernel.ok()) {
      if (node.name.empty()) return kernel.status();
      return Status(kernel.status().code(), kernel.status().message() + " in node '" + node.name + "'");
    }
    ex->kernels_.push_back(std::move(kernel).value());
  }
  return ex;
}

StatusOr<std::unique_ptr<Executor>> Executor::Load(const void* data, size_t size) {
  KILN_ASSIGN_OR_RETURN(Graph graph, ParseModel(data, size));
  return Create(std::move(graph));
}

StatusOr<std::vector<Tensor>> Executor::Run(const std::vector<Tensor>& inputs) const {
  const Graph& g = graph_;
  if (inputs.size() != g.inputs.size()) {
    return InvalidArgument("the model takes " + std::to_string(g.inputs.size()) + " inputs, got " +
                           std::to_string(inputs.size()));
  }
  try {
    // Per-call values: pointers to the caller's inputs, the graph's
    // initializers or tensors computed here, so nothing is copied in.
    std::vector<const Tensor*> values(g.slot_names.size(), nullptr);
    std::vector<Tensor> computed(g.slot_names.size());
    for (size_t s = 0; s < g.constants.size(); ++s) {
      if (g.constants[s]) values[s] = &*g.constants[s];
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      const ValueInfo& info = g.inputs[i];
      const Tensor& t = inputs[i];
      if (t.dtype() != info.dtype) {
        return InvalidArgument("input '" + info.name + "' must be " + std::string(DTypeName(info.dtype)) + ", got " +
                               std::string(DTypeName(t.dtype())));
      }
      KILN_ASSIGN_OR_RETURN(int64_t count, ElementCount(t.shape()));
      if (static_cast<size_t>(count) != t.size()) {
        return InvalidArgument("input '" + info.name + "' has " + std::to_string(t.size()) + " values for shape " +
                               ShapeText(t.shape()));
      }
      if (info.rank_known) {
        bool ok = t.shape().size() == info.shape.size();
        for (size_t d = 1; ok && d < info.shape.size(); ++d) ok = info.shape[d] < 0 || info.shape[d] == t.shape()[d];
        if (!ok) {
          return InvalidArgument("input '" + info.name + "' has shape " + ShapeText(t.shape()) + "; the model expects " +
                                 ShapeText(info.shape));
        }
      }
      values[g.input_slots[i]] = &t;
    }

    std::vector<const Tensor*> args;
    std::vector<Tensor> results;
    for (size_t n = 0; n < g.nodes.size(); ++n) {
      const Node& node = g.nodes[n];
      args.clear();
      for (int slot : node.inputs) args.push_back(slot >= 0 ? values[slot] : nullptr);
      results.assign(node.outputs.size(), Tensor());
      Status st = kernels_[n]->Run(args, results);
      if (!st.ok()) {
        return Status(st.code(), "ONNX operator '" + node.op_type + "'" + (node.name.empty() ? "" : " (" + node.name + ")") +
                                     ": " + st.message());
      }
      for (size_t o = 0; o < node.outputs.size(); ++o) {
        const int slot = node.outputs[o];
        if (slot < 0) continue;
        computed[slot] = std::move(results[o]);
        values[slot] = &computed[slot];
      }
    }

    std::vector<Tensor> out;
    out.reserve(g.output_slots.size());
    for (size_t o = 0; o < g.output_slots.size(); ++o) {
      const int slot = g.output_slots[o];
      if (!values[slot]) return Internal("output '" + g.outputs[o].name + "' was not computed");
      // Outputs that are computed values move out; inputs/initializers copy.
      if (values[slot] == &computed[slot]) {
        out.push_back(std::move(computed[slot]));
        values[slot] = &out.back();
      } else {
        out.push_back(*values[slot]);
      }
    }
    return out;
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("out of memory running the ONNX model");
  }
}

}  // namespace kiln::onnx
