// The post_transform attribute of the ai.onnx.ml classifiers and
// regressors: NONE, LOGISTIC, SOFTMAX, SOFTMAX_ZERO, PROBIT.
//
// Stateless functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>

#include "core/status.h"

namespace kiln::onnx {

enum class PostTransform { kNone, kLogistic, kSoftmax, kSoftmaxZero, kProbit };

StatusOr<PostTransform> ParsePostTransform(const std::string& name);

// Logistic as 1 / (1 + e^-|x|) mirrored for negative x, so that it never
// overflows.
template <typename T>
T Logistic(T x);
// The standard normal quantile function (probit), accurate to a few ulps in
// double; ONNX defines PROBIT as this function.
double Probit(double p);

// Transforms one row of scores in place, in the element type T (float for
// float models, as ONNX Runtime computes them, double for double models).
// SOFTMAX_ZERO is SOFTMAX over the non-zero scores with zeros staying zero.
template <typename T>
void ApplyPostTransform(PostTransform t, T* scores, size_t n);

}  // namespace kiln::onnx
