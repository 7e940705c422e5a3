// Matrix products and per-row reductions of the default domain: MatMul,
// Gemm, Softmax, ArgMax. Products accumulate in double and round once to the
// element type, which keeps them within an ulp or two of any float kernel.
#include <cmath>
#include <limits>

#include "onnx/broadcast.h"
#include "onnx/kernel_registry.h"
#include "onnx/kernel_util.h"

namespace kiln::onnx {
namespace {

template <typename T>
Status MatMulTyped(const Tensor& a, const Tensor& b, Tensor& out) {
  std::vector<int64_t> sa = a.shape(), sb = b.shape();
  if (sa.empty() || sb.empty()) return InvalidArgument("MatMul operands must have rank >= 1");
  // numpy.matmul: a rank-1 operand is a row (left) or a column (right)
  // vector whose extra dimension is dropped from the result.
  const bool a_vec = sa.size() == 1, b_vec = sb.size() == 1;
  if (a_vec) sa.insert(sa.begin(), 1);
  if (b_vec) sb.push_back(1);
  const int64_t m = sa[sa.size() - 2], k = sa.back(), k2 = sb[sb.size() - 2], n = sb.back();
  if (k != k2) return InvalidArgument("MatMul shapes " + ShapeText(a.shape()) + " and " + ShapeText(b.shape()) + " do not match");
  const std::vector<int64_t> batch_a(sa.begin(), sa.end() - 2), batch_b(sb.begin(), sb.end() - 2);
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> batch, BroadcastShape(batch_a, batch_b));
  std::vector<int64_t> shape = batch;
  if (!a_vec) shape.push_back(m);
  if (!b_vec) shape.push_back(n);
  KILN_ASSIGN_OR_RETURN(int64_t count, ElementCount(shape));
  std::vector<T> z(static_cast<size_t>(count));
  const std::vector<T>& x = a.data<T>();
  const std::vector<T>& y = b.data<T>();
  const auto stride_a = BroadcastStrides(batch_a, batch);
  const auto stride_b = BroadcastStrides(batch_b, batch);
  std::vector<double> acc(static_cast<size_t>(n));
  auto one = [&](int64_t bi, int64_t ia, int64_t ib) {
    const T* pa = x.data() + ia * m * k;
    const T* pb = y.data() + ib * k * n;
    T* pz = z.data() + bi * m * n;
    for (int64_t r = 0; r < m; ++r) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t kk = 0; kk < k; ++kk) {
        const double av = static_cast<double>(pa[r * k + kk]);
        const T* row = pb + kk * n;
        for (int64_t c = 0; c < n; ++c) acc[c] += av * static_cast<double>(row[c]);
      }
      for (int64_t c = 0; c < n; ++c) pz[r * n + c] = static_cast<T>(acc[c]);
    }
  };
  if (batch.empty()) {
    one(0, 0, 0);
  } else {
    ForEachBroadcast(batch, stride_a, stride_b, one);
  }
  out = Tensor(std::move(shape), std::move(z));
  return Status::Ok();
}

StatusOr<std::unique_ptr<Kernel>> MakeMatMul(const KernelInit& init) {
  KILN_RETURN_IF_ERROR(CheckArity(init, 2, 2, 1, 1));
  return MakeKernel([](const std::vector<const Tensor*>& in, std::vector<Tensor>& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 2));
    if (in[0]->dtype() != in[1]->dtype()) return InvalidArgument("MatMul operands have different element types");
    switch (in[0]->dtype()) {
      case DType::kFloat: return MatMulTyped<float>(*in[0], *in[1], out[0]);
      case DType::kDouble: return MatMulTyped<double>(*in[0], *in[1], out[0]);
      default: return TypeError("MatMul", in[0]->dtype());
    }
  });
}

struct GemmParams {
  double alpha = 1, beta = 1;
  bool trans_a = false, trans_b = false;
};

template <typename T>
Status GemmTyped(const GemmParams& p, const Tensor& a, const Tensor& b, const Tensor* c, Tensor& out) {
  if (a.rank() != 2 || b.rank() != 2) return InvalidArgument("Gemm takes rank-2 A and B");
  const int64_t m = p.trans_a ? a.shape()[1] : a.shape()[0];
  const int64_t k = p.trans_a ? a.shape()[0] : a.shape()[1];
  const int64_t kb = p.trans_b ? b.shape()[1] : b.shape()[0];
  const int64_t n = p.trans_b ? b.shape()[0] : b.shape()[1];
  if (k != kb) return InvalidArgument("Gemm shapes " + ShapeText(a.shape()) + " and " + ShapeText(b.shape()) + " do not match");
  const std::vector<int64_t> shape{m, n};
  std::vector<int64_t> sc;
  if (c) {
    if (c->dtype() != a.dtype()) return InvalidArgument("Gemm's C has another element type than A");
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> bshape, BroadcastShape(c->shape(), shape));
    if (bshape != shape) return InvalidArgument("Gemm's C of shape " + ShapeText(c->shape()) + " does not broadcast to " + ShapeText(shape));
    sc = BroadcastStrides(c->shape(), shape);
  }
  const std::vector<T>& x = a.data<T>();
  const std::vector<T>& y = b.data<T>();
  std::vector<T> z(static_cast<size_t>(m * n));
  for (int64_t r = 0; r < m; ++r) {
    for (int64_t col = 0; col < n; ++col) {
      double acc = 0;
      for (int64_t kk = 0; kk < k; ++kk) {
        const double av = static_cast<double>(p.trans_a ? x[kk * m + r] : x[r * k + kk]);
        const double bv = static_cast<double>(p.trans_b ? y[col * k + kk] : y[kk * n + col]);
        acc += av * bv;
      }
      double v = p.alpha * acc;
      if (c) v += p.beta * static_cast<double>(c->data<T>()[r * sc[0] + col * sc[1]]);
      z[r * n + col] = static_cast<T>(v);
    }
  }
  out = Tensor(shape, std::move(z));
  return Status::Ok();
}

StatusOr<std::unique_ptr<Kernel>> MakeGemm(const KernelInit& init) {
  KILN_RETURN_IF_ERROR(CheckArity(init, 2, 3, 1, 1));
  GemmParams p;
  KILN_ASSIGN_OR_RETURN(float alpha, init.attrs->Float("alpha", 1.0f));
  KILN_ASSIGN_OR_RETURN(float beta, init.attrs->Float("beta", 1.0f));
  KILN_ASSIGN_OR_RETURN(int64_t ta, init.attrs->Int("transA", 0));
  KILN_ASSIGN_OR_RETURN(int64_t tb, init.attrs->Int("transB", 0));
  p.alpha = alpha;
  p.beta = beta;
  p.trans_a = ta != 0;
  p.trans_b = tb != 0;
  return MakeKernel([p](const std::vector<const Tensor*>& in, std::vector<Tensor>& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 2));
    const Tensor* c = in.size() > 2 ? in[2] : nullptr;
    if (in[0]->dtype() != in[1]->dtype()) return InvalidArgument("Gemm operands have different element types");
    switch (in[0]->dtype()) {
      case DType::kFloat: return GemmTyped<float>(p, *in[0], *in[1], c, out[0]);
      case DType::kDouble: return GemmTyped<double>(p, *in[0], *in[1], c, out[0]);
      default: return TypeError("Gemm", in[0]->dtype());
    }
  });
}

// Softmax over `n` elements spaced `inner` apart, in double.
template <typename T>
void SoftmaxSpan(const T* x, T* y, int64_t n, int64_t inner) {
  double mx = -std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, static_cast<double>(x[i * inner]));
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i * inner]) - mx);
  for (int64_t i = 0; i < n; ++i) y[i * inner] = static_cast<T>(std::exp(static_cast<double>(x[i * inner]) - mx) / sum);
}

StatusOr<std::unique_ptr<Kernel>> MakeSoftmax(const KernelInit& init) {
  KILN_RETURN_IF_ERROR(CheckArity(init, 1, 1, 1, 1));
  // Opset 13 changed the meaning: before, the input is flattened to 2-D at
  // `axis` (default 1); since, softmax runs along `axis` (default -1).
  const bool coerce_2d = init.opset < 13;
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, init.attrs->Int("axis", coerce_2d ? 1 : -1));
  return MakeKernel([coerce_2d, axis_attr](const std::vector<const Tensor*>& in, std::vector<Tensor>& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 1));
    const Tensor& x = *in[0];
    const auto& s = x.shape();
    KILN_ASSIGN_OR_RETURN(int64_t axis, NormaliseAxis(axis_attr, std::max<int64_t>(x.rank(), 1)));
    const auto ax = static_cast<size_t>(axis);
    const int64_t outer = Product(s, 0, ax);
    const int64_t n = coerce_2d ? Product(s, ax, s.size()) : (s.empty() ? 1 : s[ax]);
    const int64_t inner = coerce_2d ? 1 : Product(s, ax + 1, s.size());
    return VisitValues(x, [&](const auto& v) -> Status {
      using T = typename std::decay_t<decltype(v)>::value_type;
      if constexpr (kIsFloating<T>) {
        std::vector<T> y(v.size());
        for (int64_t o = 0; o < outer; ++o) {
          for (int64_t i = 0; i < inner; ++i) SoftmaxSpan(v.data() + o * n * inner + i, y.data() + o * n * inner + i, n, inner);
        }
        out[0] = Tensor(s, std::move(y));
        return Status::Ok();
      } else {
        return TypeError("Softmax", x.dtype());
      }
    });
  });
}

StatusOr<std::unique_ptr<Kernel>> MakeArgMax(const KernelInit& init) {
  KILN_RETURN_IF_ERROR(CheckArity(init, 1, 1, 1, 1));
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, init.attrs->Int("axis", 0));
  KILN_ASSIGN_OR_RETURN(int64_t keepdims, init.attrs->Int("keepdims", 1));
  KILN_ASSIGN_OR_RETURN(int64_t last, init.attrs->Int("select_last_index", 0));
  return MakeKernel([=](const std::vector<const Tensor*>& in, std::vector<Tensor>& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 1));
    const Tensor& x = *in[0];
    if (x.rank() == 0) return InvalidArgument("ArgMax of a scalar");
    KILN_ASSIGN_OR_RETURN(int64_t axis, NormaliseAxis(axis_attr, x.rank()));
    const auto& s = x.shape();
    const auto ax = static_cast<size_t>(axis);
    const int64_t outer = Product(s, 0, ax), n = s[ax], inner = Product(s, ax + 1, s.size());
    if (n == 0) return InvalidArgument("ArgMax over an empty axis");
    std::vector<int64_t> shape = s;
    if (keepdims) {
      shape[ax] = 1;
    } else {
      shape.erase(shape.begin() + axis);
    }
    std::vector<int64_t> idx(static_cast<size_t>(outer * inner));
    Status st = VisitValues(x, [&](const auto& v) -> Status {
      using T = typename std::decay_t<decltype(v)>::value_type;
      if constexpr (kIsNumeric<T>) {
        for (int64_t o = 0; o < outer; ++o) {
          for (int64_t i = 0; i < inner; ++i) {
            const T* p = v.data() + o * n * inner + i;
            int64_t best = 0;
            for (int64_t k = 1; k < n; ++k) {
              if (last ? p[k * inner] >= p[best * inner] : p[k * inner] > p[best * inner]) best = k;
            }
            idx[o * inner + i] = best;
          }
        }
        return Status::Ok();
      } else {
        return TypeError("ArgMax", x.dtype());
      }
    });
    KILN_RETURN_IF_ERROR(st);
    out[0] = Tensor(std::move(shape), std::move(idx));
    return Status::Ok();
  });
}

}  // namespace

void RegisterLinalgKernels(KernelRegistry& r) {
  r.Register(kDomainOnnx, "MatMul", MakeMatMul);
  r.Register(kDomainOnnx, "Gemm", MakeGemm);
  r.Register(kDomainOnnx, "Softmax", MakeSoftmax);
  r.Register(kDomainOnnx, "ArgMax", MakeArgMax);
}

}  // namespace kiln::onnx
