// Elementwise operators of the default domain: Add, Sub, Mul, Div with
// multidirectional broadcasting, and the unary activations MLP converters
// emit. Arithmetic runs in the operands' own type, as ONNX specifies.
#include <cmath>
#include <functional>

#include "onnx/broadcast.h"
#include "onnx/kernel_registry.h"
#include "onnx/kernel_util.h"

namespace kiln::onnx {
namespace {

enum class BinaryOp { kAdd, kSub, kMul, kDiv };

template <typename T>
Status ApplyBinary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> shape, BroadcastShape(a.shape(), b.shape()));
  KILN_ASSIGN_OR_RETURN(int64_t count, ElementCount(shape));
  const std::vector<T>& x = a.data<T>();
  const std::vector<T>& y = b.data<T>();
  std::vector<T> z(static_cast<size_t>(count));
  const auto sa = BroadcastStrides(a.shape(), shape);
  const auto sb = BroadcastStrides(b.shape(), shape);
  bool div_by_zero = false;
  switch (op) {
    case BinaryOp::kAdd: ForEachBroadcast(shape, sa, sb, [&](int64_t i, int64_t ia, int64_t ib) { z[i] = x[ia] + y[ib]; }); break;
    case BinaryOp::kSub: ForEachBroadcast(shape, sa, sb, [&](int64_t i, int64_t ia, int64_t ib) { z[i] = x[ia] - y[ib]; }); break;
    case BinaryOp::kMul: ForEachBroadcast(shape, sa, sb, [&](int64_t i, int64_t ia, int64_t ib) { z[i] = x[ia] * y[ib]; }); break;
    case BinaryOp::kDiv:
      ForEachBroadcast(shape, sa, sb, [&](int64_t i, int64_t ia, int64_t ib) {
        if constexpr (std::is_integral_v<T>) {
          // Integer division by zero (and INT_MIN / -1) is undefined in C++.
          if (y[ib] == 0 || (y[ib] == -1 && x[ia] == std::numeric_limits<T>::min())) {
            div_by_zero = true;
            return;
          }
        }
        z[i] = x[ia] / y[ib];
      });
      break;
  }
  if (div_by_zero) return InvalidArgument("integer division by zero or overflow");
  out = Tensor(std::move(shape), std::move(z));
  return Status::Ok();
}

KernelFactory BinaryFactory(BinaryOp op, const char* name) {
  return [op, name](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    KILN_RETURN_IF_ERROR(CheckArity(init, 2, 2, 1, 1));
    return MakeKernel([op, name](const std::vector<const Tensor*>& in, std::vector<Tensor>& out) -> Status {
      KILN_RETURN_IF_ERROR(RequireInputs(in, 2));
      if (in[0]->dtype() != in[1]->dtype()) {
        return InvalidArgument(std::string("operands have different element types (") +
                               std::string(DTypeName(in[0]->dtype())) + ", " + std::string(DTypeName(in[1]->dtype())) +
                               ")");
      }
      switch (in[0]->dtype()) {
        case DType::kFloat: return ApplyBinary<float>(op, *in[0], *in[1], out[0]);
        case DType::kDouble: return ApplyBinary<double>(op, *in[0], *in[1], out[0]);
        case DType::kInt64: return ApplyBinary<int64_t>(op, *in[0], *in[1], out[0]);
        case DType::kInt32: return ApplyBinary<int32_t>(op, *in[0], *in[1], out[0]);
        default: return TypeError(name, in[0]->dtype());
      }
    });
  };
}

// fn is evaluated in double and rounded once to the element type; integer
// inputs are refused unless `integers_too` (double cannot hold every int64).
KernelFactory UnaryFactory(const char* name, double (*fn)(double), bool integers_too) {
  return [=](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    KILN_RETURN_IF_ERROR(CheckArity(init, 1, 1, 1, 1));
    return MakeKernel([=](const std::vector<const Tensor*>& in, std::vector<Tensor>& out) -> Status {
      KILN_RETURN_IF_ERROR(RequireInputs(in, 1));
      return VisitValues(*in[0], [&](const auto& x) -> Status {
        using T = typename std::decay_t<decltype(x)>::value_type;
        if constexpr (kIsFloating<T> || (kIsNumeric<T> && std::is_integral_v<T>)) {
          if (!kIsFloating<T> && !integers_too) return TypeError(name, in[0]->dtype());
          std::vector<T> y(x.size());
          for (size_t i = 0; i < x.size(); ++i) y[i] = static_cast<T>(fn(static_cast<double>(x[i])));
          out[0] = Tensor(in[0]->shape(), std::move(y));
          return Status::Ok();
        } else {
          return TypeError(name, in[0]->dtype());
        }
      });
    });
  };
}

double Relu(double x) { return x > 0 ? x : (x == x ? 0.0 : x); }
double Sigmoid(double x) {
  // Split at 0 so that neither branch overflows exp().
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}
double Tanh(double x) { return std::tanh(x); }
double Exp(double x) { return std::exp(x); }
double Log(double x) { return std::log(x); }
double Sqrt(double x) { return std::sqrt(x); }
double Abs(double x) { return std::fabs(x); }
double Neg(double x) { return -x; }

}  // namespace

void RegisterElementwiseKernels(KernelRegistry& r) {
  r.Register(kDomainOnnx, "Add", BinaryFactory(BinaryOp::kAdd, "Add"));
  r.Register(kDomainOnnx, "Sub", BinaryFactory(BinaryOp::kSub, "Sub"));
  r.Register(kDomainOnnx, "Mul", BinaryFactory(BinaryOp::kMul, "Mul"));
  r.Register(kDomainOnnx, "Div", BinaryFactory(BinaryOp::kDiv, "Div"));
  r.Register(kDomainOnnx, "Relu", UnaryFactory("Relu", Relu, false));
  r.Register(kDomainOnnx, "Sigmoid", UnaryFactory("Sigmoid", Sigmoid, false));
  r.Register(kDomainOnnx, "Tanh", UnaryFactory("Tanh", Tanh, false));
  r.Register(kDomainOnnx, "Exp", UnaryFactory("Exp", Exp, false));
  r.Register(kDomainOnnx, "Log", UnaryFactory("Log", Log, false));
  r.Register(kDomainOnnx, "Sqrt", UnaryFactory("Sqrt", Sqrt, false));
  r.Register(kDomainOnnx, "Abs", UnaryFactory("Abs", Abs, false));
  r.Register(kDomainOnnx, "Neg", UnaryFactory("Neg", Neg, false));
}

}  // namespace kiln::onnx
