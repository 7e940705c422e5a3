// The one input every tabular runtime takes: a [rows, features] matrix of
// FP32 (or FP64, converted) values, NaN meaning missing. Shared validation so
// every runtime refuses a bad tensor with the same clear message.
//
// Pure functions; safe to call concurrently.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "serving/tensor.h"

namespace kiln::serving {

struct DenseRows {
  int64_t rows = 0;
  std::vector<float> values;  // rows * features, row-major
};

// Exactly one input named like `spec`, rank 2 (or rank 1 for one row) with
// `features` columns, FP32/FP64, and as many bytes as its shape says.
StatusOr<DenseRows> DenseFloatRows(const std::vector<Tensor>& inputs, const TensorSpec& spec, int64_t features);

}  // namespace kiln::serving
