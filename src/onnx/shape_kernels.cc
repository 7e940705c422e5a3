// Operators that move or convert elements without arithmetic: Identity,
// Reshape, Flatten, Transpose, Concat, Gather, Squeeze, Unsqueeze, Shape and
// Cast. All element types are accepted unless the operator says otherwise.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>

#include "onnx/broadcast.h"
#include "onnx/kernel_registry.h"
#include "onnx/kernel_util.h"

namespace kiln::onnx {
namespace {

using Inputs = std::vector<const Tensor*>;
using Outputs = std::vector<Tensor>;

// A tensor of `shape` whose element i is source element index[i].
Tensor Select(const Tensor& src, std::vector<int64_t> shape, const std::vector<int64_t>& index) {
  return VisitValues(src, [&](const auto& v) {
    using T = typename std::decay_t<decltype(v)>::value_type;
    std::vector<T> out(index.size());
    for (size_t i = 0; i < index.size(); ++i) out[i] = v[static_cast<size_t>(index[i])];
    return Tensor(std::move(shape), std::move(out));
  });
}

Tensor WithShape(const Tensor& src, std::vector<int64_t> shape) {
  Tensor t = src;
  t.set_shape(std::move(shape));
  return t;
}

StatusOr<std::vector<int64_t>> IntValues(const Tensor& t, const char* what) {
  if (t.dtype() == DType::kInt64) return t.data<int64_t>();
  if (t.dtype() == DType::kInt32) return std::vector<int64_t>(t.data<int32_t>().begin(), t.data<int32_t>().end());
  return InvalidArgument(std::string(what) + " must be int64 or int32");
}

StatusOr<std::unique_ptr<Kernel>> MakeIdentity(const KernelInit& init) {
  KILN_RETURN_IF_ERROR(CheckArity(init, 1, 1, 1, 1));
  return MakeKernel([](const Inputs& in, Outputs& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 1));
    out[0] = *in[0];
    return Status::Ok();
  });
}

StatusOr<std::vector<int64_t>> ReshapeTarget(const std::vector<int64_t>& from, const std::vector<int64_t>& spec,
                                             bool allow_zero) {
  std::vector<int64_t> shape(spec.size());
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t d = spec[i];
    if (d == 0 && !allow_zero) {
      if (i >= from.size()) return InvalidArgument("Reshape copies dimension " + std::to_string(i) + " the input lacks");
      d = from[i];
    }
    if (d == -1) {
      if (infer >= 0) return InvalidArgument("Reshape target " + ShapeText(spec) + " has two -1 dimensions");
      infer = static_cast<int>(i);
      continue;
    }
    if (d < 0) return InvalidArgument("Reshape target " + ShapeText(spec) + " has a negative dimension");
    if (__builtin_mul_overflow(known, d, &known)) return InvalidArgument("Reshape target is too large");
    shape[i] = d;
  }
  KILN_ASSIGN_OR_RETURN(int64_t total, ElementCount(from));
  if (infer >= 0) {
    if (known == 0 || total % known != 0) {
      return InvalidArgument("cannot reshape " + ShapeText(from) + " to " + ShapeText(spec));
    }
    shape[static_cast<size_t>(infer)] = total / known;
  } else if (known != total) {
    return InvalidArgument("cannot reshape " + ShapeText(from) + " to " + ShapeText(spec));
  }
  return shape;
}

StatusOr<std::unique_ptr<Kernel>> MakeReshape(const KernelInit& init) {
  if (init.opset < 5) {  // the target shape was an attribute before opset 5
    KILN_RETURN_IF_ERROR(CheckArity(init, 1, 1, 1, 1));
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> spec, init.attrs->Ints("shape"));
    return MakeKernel([spec](const Inputs& in, Outputs& out) -> Status {
      KILN_RETURN_IF_ERROR(RequireInputs(in, 1));
      KILN_ASSIGN_OR_RETURN(std::vector<int64_t> shape, ReshapeTarget(in[0]->shape(), spec, false));
      out[0] = WithShape(*in[0], std::move(shape));
      return Status::Ok();
    });
  }
  KILN_RETURN_IF_ERROR(CheckArity(init, 2, 2, 1, 1));
  KILN_ASSIGN_OR_RETURN(int64_t allow_zero, init.attrs->Int("allowzero", 0));
  return MakeKernel([allow_zero](const Inputs& in, Outputs& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 2));
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> spec, IntValues(*in[1], "Reshape's shape"));
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> shape, ReshapeTarget(in[0]->shape(), spec, allow_zero != 0));
    out[0] = WithShape(*in[0], std::move(shape));
    return Status::Ok();
  });
}

StatusOr<std::unique_ptr<Kernel>> MakeFlatten(const KernelInit& init) {
  KILN_RETURN_IF_ERROR(CheckArity(init, 1, 1, 1, 1));
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, init.attrs->Int("axis", 1));
  return MakeKernel([axis_attr](const Inputs& in, Outputs& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 1));
    const auto& s = in[0]->shape();
    const auto rank = static_cast<int64_t>(s.size());
    // Flatten's axis may equal the rank (everything in the first dimension).
    if (axis_attr < -rank || axis_attr > rank) return InvalidArgument("Flatten axis out of range");
    const auto axis = static_cast<size_t>(axis_attr < 0 ? axis_attr + rank : axis_attr);
    out[0] = WithShape(*in[0], {Product(s, 0, axis), Product(s, axis, s.size())});
    return Status::Ok();
  });
}

StatusOr<std::unique_ptr<Kernel>> MakeTranspose(const KernelInit& init) {
  KILN_RETURN_IF_ERROR(CheckArity(init, 1, 1, 1, 1));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> perm_attr, init.attrs->Ints("perm"));
  return MakeKernel([perm_attr](const Inputs& in, Outputs& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 1));
    const auto& s = in[0]->shape();
    const size_t rank = s.size();
    std::vector<int64_t> perm = perm_attr;
    if (perm.empty()) {
      for (size_t i = rank; i-- > 0;) perm.push_back(static_cast<int64_t>(i));
    }
    std::vector<int64_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size(); ++i) {
      if (sorted[i] != static_cast<int64_t>(i)) sorted.clear();
    }
    if (perm.size() != rank || sorted.size() != rank) {
      return InvalidArgument("perm " + ShapeText(perm) + " is not a permutation of rank " + std::to_string(rank));
    }
    std::vector<int64_t> in_strides(rank, 1), shape(rank), strides(rank);
    for (size_t d = rank; d-- > 1;) in_strides[d - 1] = in_strides[d] * s[d];
    for (size_t d = 0; d < rank; ++d) {
      shape[d] = s[static_cast<size_t>(perm[d])];
      strides[d] = in_strides[static_cast<size_t>(perm[d])];
    }
    std::vector<int64_t> index(in[0]->size());
    std::vector<int64_t> zero(rank, 0);
    ForEachBroadcast(shape, strides, zero, [&](int64_t i, int64_t ia, int64_t) { index[i] = ia; });
    out[0] = Select(*in[0], std::move(shape), index);
    return Status::Ok();
  });
}

StatusOr<std::unique_ptr<Kernel>> MakeConcat(const KernelInit& init) {
  if (init.num_inputs < 1) return InvalidArgument("takes at least one input");
  KILN_RETURN_IF_ERROR(CheckArity(init, 1, init.num_inputs, 1, 1));
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, init.attrs->Int("axis", 1));
  return MakeKernel([axis_attr](const Inputs& in, Outputs& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, in.size()));
    const Tensor& first = *in[0];
    KILN_ASSIGN_OR_RETURN(int64_t axis, NormaliseAxis(axis_attr, first.rank()));
    const auto ax = static_cast<size_t>(axis);
    std::vector<int64_t> shape = first.shape();
    shape[ax] = 0;
    for (const Tensor* t : in) {
      if (t->dtype() != first.dtype() || t->rank() != first.rank()) {
        return InvalidArgument("Concat inputs differ in element type or rank");
      }
      for (size_t d = 0; d < shape.size(); ++d) {
        if (d != ax && t->shape()[d] != first.shape()[d]) {
          return InvalidArgument("Concat inputs " + ShapeText(first.shape()) + " and " + ShapeText(t->shape()) +
                                 " differ outside the axis");
        }
      }
      shape[ax] += t->shape()[ax];
    }
    const int64_t outer = Product(shape, 0, ax), inner = Product(shape, ax + 1, shape.size());
    out[0] = VisitValues(first, [&](const auto& v0) {
      using T = typename std::decay_t<decltype(v0)>::value_type;
      std::vector<T> z;
      z.reserve(static_cast<size_t>(outer * shape[ax] * inner));
      for (int64_t o = 0; o < outer; ++o) {
        for (const Tensor* t : in) {
          const auto& v = t->data<T>();
          const int64_t chunk = t->shape()[ax] * inner;
          z.insert(z.end(), v.begin() + o * chunk, v.begin() + (o + 1) * chunk);
        }
      }
      return Tensor(shape, std::move(z));
    });
    return Status::Ok();
  });
}

StatusOr<std::unique_ptr<Kernel>> MakeGather(const KernelInit& init) {
  KILN_RETURN_IF_ERROR(CheckArity(init, 2, 2, 1, 1));
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, init.attrs->Int("axis", 0));
  return MakeKernel([axis_attr](const Inputs& in, Outputs& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 2));
    const Tensor& data = *in[0];
    if (data.rank() == 0) return InvalidArgument("Gather from a scalar");
    KILN_ASSIGN_OR_RETURN(int64_t axis, NormaliseAxis(axis_attr, data.rank()));
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> indices, IntValues(*in[1], "Gather's indices"));
    const auto& s = data.shape();
    const auto ax = static_cast<size_t>(axis);
    const int64_t outer = Product(s, 0, ax), n = s[ax], inner = Product(s, ax + 1, s.size());
    for (int64_t& i : indices) {
      if (i < -n || i >= n) return InvalidArgument("Gather index " + std::to_string(i) + " is out of range for " + std::to_string(n));
      if (i < 0) i += n;
    }
    std::vector<int64_t> shape(s.begin(), s.begin() + axis);
    shape.insert(shape.end(), in[1]->shape().begin(), in[1]->shape().end());
    shape.insert(shape.end(), s.begin() + axis + 1, s.end());
    std::vector<int64_t> index;
    index.reserve(static_cast<size_t>(outer) * indices.size() * static_cast<size_t>(inner));
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i : indices) {
        for (int64_t k = 0; k < inner; ++k) index.push_back((o * n + i) * inner + k);
      }
    }
    out[0] = Select(data, std::move(shape), index);
    return Status::Ok();
  });
}

// Squeeze and Unsqueeze take their axes from an attribute before opset 13
// and from an optional second input since.
StatusOr<std::vector<int64_t>> Axes(const Inputs& in, const std::vector<int64_t>& attr_axes, bool from_input) {
  if (!from_input) return attr_axes;
  if (in.size() < 2 || !in[1]) return std::vector<int64_t>{};
  return IntValues(*in[1], "axes");
}

StatusOr<std::unique_ptr<Kernel>> MakeSqueeze(const KernelInit& init) {
  const bool from_input = init.opset >= 13;
  KILN_RETURN_IF_ERROR(CheckArity(init, 1, from_input ? 2 : 1, 1, 1));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> attr_axes, init.attrs->Ints("axes"));
  return MakeKernel([=](const Inputs& in, Outputs& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 1));
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axes, Axes(in, attr_axes, from_input));
    const auto& s = in[0]->shape();
    std::set<int64_t> drop;
    for (int64_t a : axes) {
      KILN_ASSIGN_OR_RETURN(int64_t ax, NormaliseAxis(a, in[0]->rank()));
      if (s[static_cast<size_t>(ax)] != 1) return InvalidArgument("Squeeze of a dimension that is not 1");
      drop.insert(ax);
    }
    std::vector<int64_t> shape;
    for (size_t d = 0; d < s.size(); ++d) {
      const bool squeeze = axes.empty() ? s[d] == 1 : drop.count(static_cast<int64_t>(d)) != 0;
      if (!squeeze) shape.push_back(s[d]);
    }
    out[0] = WithShape(*in[0], std::move(shape));
    return Status::Ok();
  });
}

StatusOr<std::unique_ptr<Kernel>> MakeUnsqueeze(const KernelInit& init) {
  const bool from_input = init.opset >= 13;
  KILN_RETURN_IF_ERROR(CheckArity(init, from_input ? 2 : 1, from_input ? 2 : 1, 1, 1));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> attr_axes, init.attrs->Ints("axes"));
  return MakeKernel([=](const Inputs& in, Outputs& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, from_input ? 2 : 1));
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axes, Axes(in, attr_axes, from_input));
    const auto& s = in[0]->shape();
    const auto rank = static_cast<int64_t>(s.size() + axes.size());
    std::set<int64_t> add;
    for (int64_t a : axes) {
      KILN_ASSIGN_OR_RETURN(int64_t ax, NormaliseAxis(a, rank));
      if (!add.insert(ax).second) return InvalidArgument("Unsqueeze axes repeat");
    }
    std::vector<int64_t> shape;
    size_t next = 0;
    for (int64_t d = 0; d < rank; ++d) shape.push_back(add.count(d) ? 1 : s[next++]);
    out[0] = WithShape(*in[0], std::move(shape));
    return Status::Ok();
  });
}

StatusOr<std::unique_ptr<Kernel>> MakeShape(const KernelInit& init) {
  KILN_RETURN_IF_ERROR(CheckArity(init, 1, 1, 1, 1));
  KILN_ASSIGN_OR_RETURN(int64_t start_attr, init.attrs->Int("start", 0));
  const bool has_end = init.attrs->Has("end");
  KILN_ASSIGN_OR_RETURN(int64_t end_attr, init.attrs->Int("end", 0));
  return MakeKernel([=](const Inputs& in, Outputs& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 1));
    const auto& s = in[0]->shape();
    const auto rank = static_cast<int64_t>(s.size());
    auto clamp = [rank](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
    const int64_t start = clamp(start_attr), end = has_end ? clamp(end_attr) : rank;
    std::vector<int64_t> dims;
    for (int64_t d = start; d < end; ++d) dims.push_back(s[static_cast<size_t>(d)]);
    out[0] = Tensor({static_cast<int64_t>(dims.size())}, std::move(dims));
    return Status::Ok();
  });
}

// Float to integer conversion is undefined in C++ for NaN and out-of-range
// values; x86 (where ONNX Runtime's answers come from) yields the minimum.
template <typename To, typename From>
To ConvertNumber(From v) {
  if constexpr (std::is_same_v<To, uint8_t>) {
    return v != From(0) ? 1 : 0;
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
    if (!(v >= static_cast<From>(std::numeric_limits<To>::min()) && v < -static_cast<From>(std::numeric_limits<To>::min()))) {
      return std::numeric_limits<To>::min();
    }
    return static_cast<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

template <typename From>
std::string NumberToString(From v) {
  if constexpr (std::is_floating_point_v<From>) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v < 0 ? "-INF" : "INF";
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
  } else if constexpr (std::is_same_v<From, uint8_t>) {
    return v ? "1" : "0";
  } else {
    return std::to_string(v);
  }
}

template <typename To>
Status ParseNumber(const std::string& s, To* out) {
  errno = 0;
  char* end = nullptr;
  const std::string text(s);
  if constexpr (std::is_floating_point_v<To>) {
    const double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0') return InvalidArgument("Cast cannot parse '" + s + "' as a number");
    *out = static_cast<To>(v);
  } else {
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (end == text.c_str() || *end != '\0' || errno == ERANGE) return InvalidArgument("Cast cannot parse '" + s + "' as an integer");
    *out = ConvertNumber<To>(v);
  }
  return Status::Ok();
}

template <typename To>
StatusOr<Tensor> CastTo(const Tensor& x) {
  return VisitValues(x, [&](const auto& v) -> StatusOr<Tensor> {
    using From = typename std::decay_t<decltype(v)>::value_type;
    std::vector<To> y(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      if constexpr (std::is_same_v<From, std::string> && std::is_same_v<To, std::string>) {
        y[i] = v[i];
      } else if constexpr (std::is_same_v<From, std::string>) {
        KILN_RETURN_IF_ERROR(ParseNumber<To>(v[i], &y[i]));
      } else if constexpr (std::is_same_v<To, std::string>) {
        y[i] = NumberToString(v[i]);
      } else {
        y[i] = ConvertNumber<To>(v[i]);
      }
    }
    return Tensor(x.shape(), std::move(y));
  });
}

StatusOr<std::unique_ptr<Kernel>> MakeCast(const KernelInit& init) {
  KILN_RETURN_IF_ERROR(CheckArity(init, 1, 1, 1, 1));
  KILN_ASSIGN_OR_RETURN(int64_t to, init.attrs->Int("to", 0));
  KILN_ASSIGN_OR_RETURN(DType target, DTypeFromOnnx(static_cast<int32_t>(to)));
  return MakeKernel([target](const Inputs& in, Outputs& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 1));
    StatusOr<Tensor> r = Status(StatusCode::kInternal, "unreachable");
    switch (target) {
      case DType::kFloat: r = CastTo<float>(*in[0]); break;
      case DType::kDouble: r = CastTo<double>(*in[0]); break;
      case DType::kInt64: r = CastTo<int64_t>(*in[0]); break;
      case DType::kInt32: r = CastTo<int32_t>(*in[0]); break;
      case DType::kBool: r = CastTo<uint8_t>(*in[0]); break;
      case DType::kString: r = CastTo<std::string>(*in[0]); break;
    }
    if (!r.ok()) return r.status();
    out[0] = std::move(r).value();
    return Status::Ok();
  });
}

}  // namespace

void RegisterShapeKernels(KernelRegistry& r) {
  r.Register(kDomainOnnx, "Identity", MakeIdentity);
  r.Register(kDomainOnnx, "Reshape", MakeReshape);
  r.Register(kDomainOnnx, "Flatten", MakeFlatten);
  r.Register(kDomainOnnx, "Transpose", MakeTranspose);
  r.Register(kDomainOnnx, "Concat", MakeConcat);
  r.Register(kDomainOnnx, "Gather", MakeGather);
  r.Register(kDomainOnnx, "Squeeze", MakeSqueeze);
  r.Register(kDomainOnnx, "Unsqueeze", MakeUnsqueeze);
  r.Register(kDomainOnnx, "Shape", MakeShape);
  r.Register(kDomainOnnx, "Cast", MakeCast);
}

}  // namespace kiln::onnx
