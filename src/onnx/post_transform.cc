#include "onnx/post_transform.h"

#include <cmath>
#include <limits>

namespace kiln::onnx {

StatusOr<PostTransform> ParsePostTransform(const std::string& name) {
  if (name == "NONE") return PostTransform::kNone;
  if (name == "LOGISTIC") return PostTransform::kLogistic;
  if (name == "SOFTMAX") return PostTransform::kSoftmax;
  if (name == "SOFTMAX_ZERO") return PostTransform::kSoftmaxZero;
  if (name == "PROBIT") return PostTransform::kProbit;
  return InvalidArgument("post_transform '" + name + "' is not one of NONE, LOGISTIC, SOFTMAX, SOFTMAX_ZERO, PROBIT");
}

template <typename T>
T Logistic(T x) {
  const T v = T(1) / (T(1) + std::exp(-std::fabs(x)));
  return x < 0 ? T(1) - v : v;
}

double Probit(double p) {
  if (!(p > 0)) return p == 0 ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  if (!(p < 1)) return p == 1 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  // Winitzki's closed form for erfinv as a start, then Newton steps on
  // erf(y) = x, which converge quadratically to double precision.
  const double x = 2 * p - 1;
  const double a = 0.147, pi = 3.14159265358979323846;
  const double ln = std::log((1 - x) * (1 + x));
  const double t = 2 / (pi * a) + ln / 2;
  double y = std::copysign(std::sqrt(std::sqrt(t * t - ln / a) - t), x);
  for (int i = 0; i < 3; ++i) {
    const double err = std::erf(y) - x;
    y -= err / (2 / std::sqrt(pi) * std::exp(-y * y));
  }
  return std::sqrt(2.0) * y;
}

template <typename T>
void ApplyPostTransform(PostTransform t, T* s, size_t n) {
  switch (t) {
    case PostTransform::kNone: return;
    case PostTransform::kLogistic:
      for (size_t i = 0; i < n; ++i) s[i] = Logistic(s[i]);
      return;
    case PostTransform::kProbit:
      for (size_t i = 0; i < n; ++i) s[i] = static_cast<T>(Probit(static_cast<double>(s[i])));
      return;
    case PostTransform::kSoftmax:
    case PostTransform::kSoftmaxZero: {
      const bool skip_zero = t == PostTransform::kSoftmaxZero;
      T mx = -std::numeric_limits<T>::infinity();
      for (size_t i = 0; i < n; ++i) {
        if (!(skip_zero && s[i] == 0) && s[i] > mx) mx = s[i];
      }
      T sum = 0;
      for (size_t i = 0; i < n; ++i) {
        if (skip_zero && s[i] == 0) continue;
        s[i] = std::exp(s[i] - mx);
        sum += s[i];
      }
      if (sum == 0) return;
      for (size_t i = 0; i < n; ++i) s[i] /= sum;
      return;
    }
  }
}

template float Logistic<float>(float);
template double Logistic<double>(double);
template void ApplyPostTransform<float>(PostTransform, float*, size_t);
template void ApplyPostTransform<double>(PostTransform, double*, size_t);

}  // namespace kiln::onnx
