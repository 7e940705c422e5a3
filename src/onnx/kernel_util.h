// Helpers shared by the kernel files: lambda-backed kernels, argument
// checks, axis normalisation and element-type dispatch.
#pragma once

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/status.h"
#include "onnx/kernel.h"
#include "onnx/tensor.h"

namespace kiln::onnx {

// FnKernel: a kernel whose Run() is a const callable; the factory captures
// the validated attributes by value. Owns the callable; thread-safe as long
// as the callable keeps per-call state local (every kernel here does).
template <typename Fn>
class FnKernel final : public Kernel {
 public:
  explicit FnKernel(Fn fn) : fn_(std::move(fn)) {}
  Status Run(const std::vector<const Tensor*>& inputs, std::vector<Tensor>& outputs) const override {
    return fn_(inputs, outputs);
  }

 private:
  Fn fn_;
};

template <typename Fn>
StatusOr<std::unique_ptr<Kernel>> MakeKernel(Fn fn) {
  return std::unique_ptr<Kernel>(new FnKernel<Fn>(std::move(fn)));
}

// Load-time check of a node's input and output counts.
inline Status CheckArity(const KernelInit& init, size_t min_in, size_t max_in, size_t min_out, size_t max_out) {
  if (init.num_inputs < min_in || init.num_inputs > max_in) {
    return InvalidArgument("takes " + std::to_string(min_in) + (min_in == max_in ? "" : " to " + std::to_string(max_in)) +
                           " inputs, the node has " + std::to_string(init.num_inputs));
  }
  if (init.num_outputs < min_out || init.num_outputs > max_out) {
    return InvalidArgument("has " + std::to_string(min_out) +
                           (min_out == max_out ? "" : " to " + std::to_string(max_out)) + " outputs, the node has " +
                           std::to_string(init.num_outputs));
  }
  return Status::Ok();
}

// Run-time check that the first `n` inputs are present.
inline Status RequireInputs(const std::vector<const Tensor*>& in, size_t n) {
  if (in.size() < n) return InvalidArgument("missing inputs");
  for (size_t i = 0; i < n; ++i) {
    if (!in[i]) return InvalidArgument("input " + std::to_string(i) + " is required");
  }
  return Status::Ok();
}

inline StatusOr<int64_t> NormaliseAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) {
    return InvalidArgument("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

inline int64_t Product(const std::vector<int64_t>& shape, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to && i < shape.size(); ++i) p *= shape[i];
  return p;
}

template <typename T>
inline constexpr bool kIsNumeric = std::is_same_v<T, float> || std::is_same_v<T, double> ||
                                   std::is_same_v<T, int64_t> || std::is_same_v<T, int32_t>;
template <typename T>
inline constexpr bool kIsFloating = std::is_same_v<T, float> || std::is_same_v<T, double>;

// Calls fn(values) with the tensor's typed vector.
template <typename Fn>
auto VisitValues(const Tensor& t, Fn&& fn) {
  return std::visit(std::forward<Fn>(fn), t.storage());
}

inline Status TypeError(const char* what, DType got) {
  return InvalidArgument(std::string(what) + " does not support element type " + std::string(DTypeName(got)));
}

}  // namespace kiln::onnx
