// Multidirectional (numpy-style) broadcasting as ONNX defines it for Add,
// Sub, Mul, Div and Gemm's C: shapes are right-aligned and each dimension
// must be equal or 1.
//
// Stateless functions; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"

namespace kiln::onnx {

// InvalidArgument naming both shapes when they do not broadcast.
StatusOr<std::vector<int64_t>> BroadcastShape(const std::vector<int64_t>& a, const std::vector<int64_t>& b);

// Element strides of a tensor of shape `in` read as shape `out` (which
// BroadcastShape produced): 0 along broadcast dimensions. Same rank as `out`.
std::vector<int64_t> BroadcastStrides(const std::vector<int64_t>& in, const std::vector<int64_t>& out);

// Calls fn(i, ia, ib) for every element i of `out` (row-major) with the
// matching element offsets of the two operands.
template <typename Fn>
void ForEachBroadcast(const std::vector<int64_t>& out, const std::vector<int64_t>& sa, const std::vector<int64_t>& sb,
                      Fn&& fn) {
  const size_t rank = out.size();
  int64_t total = 1;
  for (int64_t d : out) total *= d;
  if (total == 0) return;
  std::vector<int64_t> idx(rank, 0);
  int64_t ia = 0, ib = 0;
  for (int64_t i = 0; i < total; ++i) {
    fn(i, ia, ib);
    // Odometer increment, updating the operand offsets incrementally.
    for (size_t d = rank; d-- > 0;) {
      if (++idx[d] < out[d]) {
        ia += sa[d];
        ib += sb[d];
        break;
      }
      ia -= sa[d] * (out[d] - 1);
      ib -= sb[d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
}

}  // namespace kiln::onnx
