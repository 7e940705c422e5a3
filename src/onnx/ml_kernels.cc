// ai.onnx.ml operators other than the tree ensembles: LinearClassifier,
// LinearRegressor, Scaler, Normalizer, Imputer, Binarizer, OneHotEncoder,
// LabelEncoder, ArrayFeatureExtractor and ZipMap. They take [N, C] (or one
// row as [C]) numeric input unless noted, and follow the ai.onnx.ml spec.
#include <algorithm>
#include <cmath>
#include <map>

#include "onnx/kernel_registry.h"
#include "onnx/kernel_util.h"
#include "onnx/post_transform.h"

namespace kiln::onnx {
namespace {

using Inputs = std::vector<const Tensor*>;
using Outputs = std::vector<Tensor>;

struct Rows {
  int64_t n = 0, c = 0;
};

StatusOr<Rows> AsRows(const Tensor& t) {
  if (t.rank() == 1) return Rows{1, t.shape()[0]};
  if (t.rank() == 2) return Rows{t.shape()[0], t.shape()[1]};
  return InvalidArgument("expects a [N, C] or [C] tensor, got shape " + ShapeText(t.shape()));
}

// Class labels of a classifier: int64 or string, exactly one of them.
struct Labels {
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  bool is_string = false;
  size_t size() const { return is_string ? strings.size() : ints.size(); }
};

StatusOr<Labels> ReadLabels(const Attributes& a, const std::string& ints_name, const std::string& strings_name) {
  Labels l;
  KILN_ASSIGN_OR_RETURN(l.ints, a.Ints(ints_name));
  KILN_ASSIGN_OR_RETURN(l.strings, a.Strings(strings_name));
  if (!l.ints.empty() && !l.strings.empty()) return InvalidArgument("both " + ints_name + " and " + strings_name + " are set");
  if (l.ints.empty() && l.strings.empty()) return InvalidArgument("one of " + ints_name + " and " + strings_name + " is required");
  l.is_string = !l.strings.empty();
  return l;
}

// A [N] label tensor from per-row label indices.
Tensor LabelTensor(const Labels& labels, const std::vector<size_t>& index) {
  const std::vector<int64_t> shape{static_cast<int64_t>(index.size())};
  if (labels.is_string) {
    std::vector<std::string> out;
    for (size_t i : index) out.push_back(labels.strings[i]);
    return Tensor(shape, std::move(out));
  }
  std::vector<int64_t> out;
  for (size_t i : index) out.push_back(labels.ints[i]);
  return Tensor(shape, std::move(out));
}

// ---------------------------------------------------------------- linear

// scores[r * k + j] = intercept[j] + sum_f x[r, f] * coef[j * C + f]
StatusOr<std::vector<double>> LinearScores(const Tensor& x, const std::vector<float>& coef,
                                           const std::vector<float>& intercepts, int64_t k, Rows* rows) {
  KILN_ASSIGN_OR_RETURN(*rows, AsRows(x));
  if (static_cast<int64_t>(coef.size()) != k * rows->c) {
    return InvalidArgument("the model has " + std::to_string(coef.size()) + " coefficients for " + std::to_string(k) +
                           " outputs, the input has " + std::to_string(rows->c) + " features");
  }
  KILN_ASSIGN_OR_RETURN(std::vector<double> v, NumericValues(x, "a linear model"));
  std::vector<double> scores(static_cast<size_t>(rows->n * k));
  for (int64_t r = 0; r < rows->n; ++r) {
    for (int64_t j = 0; j < k; ++j) {
      double acc = intercepts.empty() ? 0.0 : intercepts[static_cast<size_t>(j)];
      for (int64_t f = 0; f < rows->c; ++f) acc += v[r * rows->c + f] * coef[j * rows->c + f];
      scores[r * k + j] = acc;
    }
  }
  return scores;
}

StatusOr<std::unique_ptr<Kernel>> MakeLinearClassifier(const KernelInit& init) {
  KILN_RETURN_IF_ERROR(CheckArity(init, 1, 1, 2, 2));
  const Attributes& a = *init.attrs;
  KILN_ASSIGN_OR_RETURN(Labels labels, ReadLabels(a, "classlabels_ints", "classlabels_strings"));
  KILN_ASSIGN_OR_RETURN(std::vector<float> coef, a.Floats("coefficients"));
  KILN_ASSIGN_OR_RETURN(std::vector<float> intercepts, a.Floats("intercepts"));
  KILN_ASSIGN_OR_RETURN(std::string pt_name, a.String("post_transform", "NONE"));
  KILN_ASSIGN_OR_RETURN(PostTransform pt, ParsePostTransform(pt_name));
  if (coef.empty()) return InvalidArgument("coefficients are required");
  // One score per class, or one score for two classes (the positive one).
  const auto k = static_cast<int64_t>(intercepts.empty() ? labels.size() : intercepts.size());
  const bool binary = k == 1 && labels.size() == 2;
  if (!(static_cast<size_t>(k) == labels.size() || binary)) {
    return InvalidArgument(std::to_string(k) + " score columns for " + std::to_string(labels.size()) + " class labels");
  }
  if (coef.size() % static_cast<size_t>(k) != 0) return InvalidArgument("coefficients do not divide into the classes");
  return MakeKernel([=](const Inputs& in, Outputs& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 1));
    Rows rows;
    KILN_ASSIGN_OR_RETURN(std::vector<double> scores, LinearScores(*in[0], coef, intercepts, k, &rows));
    const int64_t width = binary ? 2 : k;
    std::vector<size_t> label(static_cast<size_t>(rows.n));
    std::vector<float> probs(static_cast<size_t>(rows.n * width));
    std::vector<double> row(static_cast<size_t>(width));
    for (int64_t r = 0; r < rows.n; ++r) {
      if (binary) {
        const double s = scores[r];
        label[r] = s > 0 ? 1 : 0;
        // The negative class gets the complement (or the negated raw score).
        double p = s;
        ApplyPostTransform(pt, &p, 1);
        row[0] = pt == PostTransform::kNone ? -s : 1 - p;
        row[1] = p;
      } else {
        const double* s = &scores[r * k];
        label[r] = static_cast<size_t>(std::max_element(s, s + k) - s);
        std::copy(s, s + k, row.begin());
        ApplyPostTransform(pt, row.data(), row.size());
      }
      for (int64_t j = 0; j < width; ++j) probs[r * width + j] = static_cast<float>(row[j]);
    }
    out[0] = LabelTensor(labels, label);
    out[1] = Tensor({rows.n, width}, std::move(probs));
    return Status::Ok();
  });
}

StatusOr<std::unique_ptr<Kernel>> MakeLinearRegressor(const KernelInit& init) {
  KILN_RETURN_IF_ERROR(CheckArity(init, 1, 1, 1, 1));
  const Attributes& a = *init.attrs;
  KILN_ASSIGN_OR_RETURN(std::vector<float> coef, a.Floats("coefficients"));
  KILN_ASSIGN_OR_RETURN(std::vector<float> intercepts, a.Floats("intercepts"));
  KILN_ASSIGN_OR_RETURN(int64_t targets, a.Int("targets", 1));
  KILN_ASSIGN_OR_RETURN(std::string pt_name, a.String("post_transform", "NONE"));
  KILN_ASSIGN_OR_RETURN(PostTransform pt, ParsePostTransform(pt_name));
  if (targets < 1) return InvalidArgument("targets must be positive");
  if (!intercepts.empty() && static_cast<int64_t>(intercepts.size()) != targets) {
    return InvalidArgument(std::to_string(intercepts.size()) + " intercepts for " + std::to_string(targets) + " targets");
  }
  if (coef.empty() || coef.size() % static_cast<size_t>(targets) != 0) {
    return InvalidArgument("coefficients do not divide into the targets");
  }
  return MakeKernel([=](const Inputs& in, Outputs& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 1));
    Rows rows;
    KILN_ASSIGN_OR_RETURN(std::vector<double> scores, LinearScores(*in[0], coef, intercepts, targets, &rows));
    std::vector<float> y(scores.size());
    for (int64_t r = 0; r < rows.n; ++r) {
      ApplyPostTransform(pt, &scores[r * targets], static_cast<size_t>(targets));
      for (int64_t j = 0; j < targets; ++j) y[r * targets + j] = static_cast<float>(scores[r * targets + j]);
    }
    out[0] = Tensor({rows.n, targets}, std::move(y));
    return Status::Ok();
  });
}

// ---------------------------------------------------------------- preprocessing

// An attribute list that applies per column, or one value to all columns.
StatusOr<double> PerColumn(const std::vector<float>& v, int64_t col, int64_t cols, const char* name) {
  if (v.size() == 1) return v[0];
  if (static_cast<int64_t>(v.size()) != cols) {
    return InvalidArgument(std::string(name) + " has " + std::to_string(v.size()) + " values for " +
                           std::to_string(cols) + " columns");
  }
  return v[static_cast<size_t>(col)];
}

StatusOr<std::unique_ptr<Kernel>> MakeScaler(const KernelInit& init) {
  KILN_RETURN_IF_ERROR(CheckArity(init, 1, 1, 1, 1));
  KILN_ASSIGN_OR_RETURN(std::vector<float> offset, init.attrs->Floats("offset"));
  KILN_ASSIGN_OR_RETURN(std::vector<float> scale, init.attrs->Floats("scale"));
  if (offset.empty()) offset = {0.0f};
  if (scale.empty()) scale = {1.0f};
  return MakeKernel([=](const Inputs& in, Outputs& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 1));
    KILN_ASSIGN_OR_RETURN(Rows rows, AsRows(*in[0]));
    KILN_ASSIGN_OR_RETURN(std::vector<double> x, NumericValues(*in[0], "Scaler"));
    std::vector<float> y(x.size());
    for (int64_t c = 0; c < rows.c; ++c) {
      KILN_ASSIGN_OR_RETURN(double o, PerColumn(offset, c, rows.c, "offset"));
      KILN_ASSIGN_OR_RETURN(double s, PerColumn(scale, c, rows.c, "scale"));
      for (int64_t r = 0; r < rows.n; ++r) y[r * rows.c + c] = static_cast<float>((x[r * rows.c + c] - o) * s);
    }
    out[0] = Tensor(in[0]->shape(), std::move(y));
    return Status::Ok();
  });
}

StatusOr<std::unique_ptr<Kernel>> MakeNormalizer(const KernelInit& init) {
  KILN_RETURN_IF_ERROR(CheckArity(init, 1, 1, 1, 1));
  KILN_ASSIGN_OR_RETURN(std::string norm, init.attrs->String("norm", "MAX"));
  if (norm != "MAX" && norm != "L1" && norm != "L2") return InvalidArgument("norm '" + norm + "' is not MAX, L1 or L2");
  return MakeKernel([=](const Inputs& in, Outputs& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 1));
    KILN_ASSIGN_OR_RETURN(Rows rows, AsRows(*in[0]));
    KILN_ASSIGN_OR_RETURN(std::vector<double> x, NumericValues(*in[0], "Normalizer"));
    std::vector<float> y(x.size());
    for (int64_t r = 0; r < rows.n; ++r) {
      const double* v = &x[r * rows.c];
      double d = 0;
      if (norm == "MAX") {
        d = rows.c ? *std::max_element(v, v + rows.c) : 0;
      } else if (norm == "L1") {
        for (int64_t c = 0; c < rows.c; ++c) d += std::fabs(v[c]);
      } else {
        for (int64_t c = 0; c < rows.c; ++c) d += v[c] * v[c];
        d = std::sqrt(d);
      }
      // A zero row stays zero, as in scikit-learn's Normalizer.
      if (d == 0) d = 1;
      for (int64_t c = 0; c < rows.c; ++c) y[r * rows.c + c] = static_cast<float>(v[c] / d);
    }
    out[0] = Tensor(in[0]->shape(), std::move(y));
    return Status::Ok();
  });
}

StatusOr<std::unique_ptr<Kernel>> MakeImputer(const KernelInit& init) {
  KILN_RETURN_IF_ERROR(CheckArity(init, 1, 1, 1, 1));
  const Attributes& a = *init.attrs;
  KILN_ASSIGN_OR_RETURN(std::vector<float> fill_f, a.Floats("imputed_value_floats"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> fill_i, a.Ints("imputed_value_int64s"));
  KILN_ASSIGN_OR_RETURN(float replaced_f, a.Float("replaced_value_float", 0.0f));
  KILN_ASSIGN_OR_RETURN(int64_t replaced_i, a.Int("replaced_value_int64", 0));
  if (fill_f.empty() == fill_i.empty()) {
    return InvalidArgument("exactly one of imputed_value_floats and imputed_value_int64s is required");
  }
  return MakeKernel([=](const Inputs& in, Outputs& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 1));
    KILN_ASSIGN_OR_RETURN(Rows rows, AsRows(*in[0]));
    const size_t fill_n = fill_f.empty() ? fill_i.size() : fill_f.size();
    if (fill_n != 1 && static_cast<int64_t>(fill_n) != rows.c) {
      return InvalidArgument(std::to_string(fill_n) + " imputed values for " + std::to_string(rows.c) + " columns");
    }
    auto col = [&](size_t i) { return fill_n == 1 ? 0 : i % static_cast<size_t>(rows.c); };
    return VisitValues(*in[0], [&](const auto& x) -> Status {
      using T = typename std::decay_t<decltype(x)>::value_type;
      std::vector<T> y = x;
      if constexpr (kIsFloating<T>) {
        if (fill_f.empty()) return InvalidArgument("floating-point input needs imputed_value_floats");
        for (size_t i = 0; i < y.size(); ++i) {
          const bool missing = std::isnan(replaced_f) ? std::isnan(y[i]) : y[i] == static_cast<T>(replaced_f);
          if (missing) y[i] = static_cast<T>(fill_f[col(i)]);
        }
      } else if constexpr (kIsNumeric<T>) {
        if (fill_i.empty()) return InvalidArgument("integer input needs imputed_value_int64s");
        for (size_t i = 0; i < y.size(); ++i) {
          if (y[i] == replaced_i) y[i] = static_cast<T>(fill_i[col(i)]);
        }
      } else {
        return TypeError("Imputer", in[0]->dtype());
      }
      out[0] = Tensor(in[0]->shape(), std::move(y));
      return Status::Ok();
    });
  });
}

StatusOr<std::unique_ptr<Kernel>> MakeBinarizer(const KernelInit& init) {
  KILN_RETURN_IF_ERROR(CheckArity(init, 1, 1, 1, 1));
  KILN_ASSIGN_OR_RETURN(float threshold, init.attrs->Float("threshold", 0.0f));
  return MakeKernel([=](const Inputs& in, Outputs& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 1));
    return VisitValues(*in[0], [&](const auto& x) -> Status {
      using T = typename std::decay_t<decltype(x)>::value_type;
      if constexpr (kIsFloating<T>) {
        std::vector<T> y(x.size());
        for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] > static_cast<T>(threshold) ? T(1) : T(0);
        out[0] = Tensor(in[0]->shape(), std::move(y));
        return Status::Ok();
      } else {
        return TypeError("Binarizer", in[0]->dtype());
      }
    });
  });
}

// ---------------------------------------------------------------- categorical

StatusOr<std::unique_ptr<Kernel>> MakeOneHotEncoder(const KernelInit& init) {
  KILN_RETURN_IF_ERROR(CheckArity(init, 1, 1, 1, 1));
  KILN_ASSIGN_OR_RETURN(Labels cats, ReadLabels(*init.attrs, "cats_int64s", "cats_strings"));
  KILN_ASSIGN_OR_RETURN(int64_t zeros, init.attrs->Int("zeros", 1));
  std::map<int64_t, size_t> int_pos;
  std::map<std::string, size_t> str_pos;
  for (size_t i = 0; i < cats.ints.size(); ++i) int_pos.emplace(cats.ints[i], i);
  for (size_t i = 0; i < cats.strings.size(); ++i) str_pos.emplace(cats.strings[i], i);
  return MakeKernel([=](const Inputs& in, Outputs& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 1));
    const Tensor& x = *in[0];
    const size_t k = cats.size();
    std::vector<float> y(x.size() * k, 0.0f);
    Status st = VisitValues(x, [&](const auto& v) -> Status {
      using T = typename std::decay_t<decltype(v)>::value_type;
      for (size_t i = 0; i < v.size(); ++i) {
        size_t pos = k;
        if constexpr (std::is_same_v<T, std::string>) {
          if (!cats.is_string) return InvalidArgument("string input for integer categories");
          auto it = str_pos.find(v[i]);
          if (it != str_pos.end()) pos = it->second;
        } else {
          if (cats.is_string) return InvalidArgument("numeric input for string categories");
          // Numeric values are truncated to int64 as the spec's cast does.
          const double d = static_cast<double>(v[i]);
          if (d >= -9.2e18 && d <= 9.2e18) {
            auto it = int_pos.find(static_cast<int64_t>(v[i]));
            if (it != int_pos.end()) pos = it->second;
          }
        }
        if (pos < k) {
          y[i * k + pos] = 1.0f;
        } else if (!zeros) {
          return InvalidArgument("a value is not among the categories (and zeros=0)");
        }
      }
      return Status::Ok();
    });
    KILN_RETURN_IF_ERROR(st);
    std::vector<int64_t> shape = x.shape();
    shape.push_back(static_cast<int64_t>(k));
    out[0] = Tensor(std::move(shape), std::move(y));
    return Status::Ok();
  });
}

// NaN keys match NaN, as a float map key must to be useful.
struct FloatKeyLess {
  bool operator()(float a, float b) const {
    if (std::isnan(a) || std::isnan(b)) return !std::isnan(a) && std::isnan(b);
    return a < b;
  }
};

struct LabelEncoderSpec {
  DType key_type = DType::kString, value_type = DType::kInt64;
  std::map<std::string, size_t> str_keys;
  std::map<int64_t, size_t> int_keys;
  std::map<float, size_t, FloatKeyLess> float_keys;
  std::vector<std::string> str_values;
  std::vector<int64_t> int_values;
  std::vector<float> float_values;
  std::string default_string = "_Unused";
  int64_t default_int = -1;
  float default_float = -0.0f;
};

StatusOr<std::unique_ptr<Kernel>> MakeLabelEncoder(const KernelInit& init) {
  KILN_RETURN_IF_ERROR(CheckArity(init, 1, 1, 1, 1));
  const Attributes& a = *init.attrs;
  auto spec = std::make_shared<LabelEncoderSpec>();
  KILN_ASSIGN_OR_RETURN(spec->default_string, a.String("default_string", "_Unused"));
  KILN_ASSIGN_OR_RETURN(spec->default_int, a.Int("default_int64", -1));
  KILN_ASSIGN_OR_RETURN(spec->default_float, a.Float("default_float", -0.0f));
  if (a.Has("keys_tensor") || a.Has("values_tensor") || a.Has("default_tensor")) {
    return InvalidArgument("keys_tensor/values_tensor (ai.onnx.ml opset 4) are not supported");
  }
  if (init.opset < 2) {
    // Opset 1 maps strings to their index in classes_strings and back.
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> classes, a.Strings("classes_strings"));
    for (size_t i = 0; i < classes.size(); ++i) {
      spec->str_keys.emplace(classes[i], i);
      spec->int_keys.emplace(static_cast<int64_t>(i), i);
      spec->int_values.push_back(static_cast<int64_t>(i));
    }
    spec->str_values = classes;
    spec->key_type = DType::kString;  // decided per call by the input type
  } else {
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> ks, a.Strings("keys_strings"));
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> ki, a.Ints("keys_int64s"));
    KILN_ASSIGN_OR_RETURN(std::vector<float> kf, a.Floats("keys_floats"));
    KILN_ASSIGN_OR_RETURN(spec->str_values, a.Strings("values_strings"));
    KILN_ASSIGN_OR_RETURN(spec->int_values, a.Ints("values_int64s"));
    KILN_ASSIGN_OR_RETURN(spec->float_values, a.Floats("values_floats"));
    const int key_kinds = !ks.empty() + !ki.empty() + !kf.empty();
    const int value_kinds = !spec->str_values.empty() + !spec->int_values.empty() + !spec->float_values.empty();
    if (key_kinds != 1 || value_kinds != 1) return InvalidArgument("exactly one keys_* and one values_* attribute are required");
    const size_t nk = ks.size() + ki.size() + kf.size();
    const size_t nv = spec->str_values.size() + spec->int_values.size() + spec->float_values.size();
    if (nk != nv) return InvalidArgument(std::to_string(nk) + " keys but " + std::to_string(nv) + " values");
    spec->key_type = !ks.empty() ? DType::kString : !ki.empty() ? DType::kInt64 : DType::kFloat;
    spec->value_type = !spec->str_values.empty() ? DType::kString
                       : !spec->int_values.empty() ? DType::kInt64 : DType::kFloat;
    // The first occurrence of a repeated key wins.
    for (size_t i = 0; i < ks.size(); ++i) spec->str_keys.emplace(ks[i], i);
    for (size_t i = 0; i < ki.size(); ++i) spec->int_keys.emplace(ki[i], i);
    for (size_t i = 0; i < kf.size(); ++i) spec->float_keys.emplace(kf[i], i);
  }
  const bool v1 = init.opset < 2;
  return MakeKernel([spec, v1](const Inputs& in, Outputs& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 1));
    const Tensor& x = *in[0];
    const LabelEncoderSpec& s = *spec;
    DType key_type = s.key_type, value_type = s.value_type;
    if (v1) {
      key_type = x.dtype();
      value_type = key_type == DType::kString ? DType::kInt64 : DType::kString;
    }
    if (x.dtype() != key_type) {
      return InvalidArgument("input is " + std::string(DTypeName(x.dtype())) + ", the keys are " +
                             std::string(DTypeName(key_type)));
    }
    std::vector<size_t> found(x.size(), SIZE_MAX);
    for (size_t i = 0; i < x.size(); ++i) {
      if (key_type == DType::kString) {
        auto it = s.str_keys.find(x.data<std::string>()[i]);
        if (it != s.str_keys.end()) found[i] = it->second;
      } else if (key_type == DType::kInt64) {
        auto it = s.int_keys.find(x.data<int64_t>()[i]);
        if (it != s.int_keys.end()) found[i] = it->second;
      } else {
        auto it = s.float_keys.find(x.data<float>()[i]);
        if (it != s.float_keys.end()) found[i] = it->second;
      }
    }
    if (value_type == DType::kString) {
      std::vector<std::string> y;
      for (size_t f : found) y.push_back(f == SIZE_MAX ? s.default_string : s.str_values[f]);
      out[0] = Tensor(x.shape(), std::move(y));
    } else if (value_type == DType::kInt64) {
      std::vector<int64_t> y;
      for (size_t f : found) y.push_back(f == SIZE_MAX ? s.default_int : s.int_values[f]);
      out[0] = Tensor(x.shape(), std::move(y));
    } else {
      std::vector<float> y;
      for (size_t f : found) y.push_back(f == SIZE_MAX ? s.default_float : s.float_values[f]);
      out[0] = Tensor(x.shape(), std::move(y));
    }
    return Status::Ok();
  });
}

StatusOr<std::unique_ptr<Kernel>> MakeArrayFeatureExtractor(const KernelInit& init) {
  KILN_RETURN_IF_ERROR(CheckArity(init, 2, 2, 1, 1));
  return MakeKernel([](const Inputs& in, Outputs& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 2));
    const Tensor& x = *in[0];
    if (in[1]->dtype() != DType::kInt64) return InvalidArgument("indices must be int64");
    const std::vector<int64_t>& idx = in[1]->data<int64_t>();
    if (x.rank() == 0) return InvalidArgument("input must have rank >= 1");
    const int64_t stride = x.shape().back();
    for (int64_t i : idx) {
      if (i < 0 || i >= stride) return InvalidArgument("index " + std::to_string(i) + " is out of range for " + std::to_string(stride));
    }
    // Selects along the last axis; a rank-1 input gives [1, indices].
    std::vector<int64_t> shape = x.shape();
    if (x.rank() == 1) shape.insert(shape.begin(), 1);
    shape.back() = static_cast<int64_t>(idx.size());
    const int64_t outer = stride == 0 ? 0 : static_cast<int64_t>(x.size()) / stride;
    out[0] = VisitValues(x, [&](const auto& v) {
      using T = typename std::decay_t<decltype(v)>::value_type;
      std::vector<T> y;
      y.reserve(static_cast<size_t>(outer) * idx.size());
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i : idx) y.push_back(v[static_cast<size_t>(o * stride + i)]);
      }
      return Tensor(shape, std::move(y));
    });
    return Status::Ok();
  });
}

// ZipMap turns [N, C] probabilities into one {label: probability} map per
// row. kiln tensors cannot hold maps, so the kernel passes the probabilities
// through as FLOAT [N, C] (columns in classlabels order) and the model's
// output is served as that tensor (see Graph's ValueInfo::from_zipmap).
StatusOr<std::unique_ptr<Kernel>> MakeZipMap(const KernelInit& init) {
  KILN_RETURN_IF_ERROR(CheckArity(init, 1, 1, 1, 1));
  KILN_ASSIGN_OR_RETURN(Labels labels, ReadLabels(*init.attrs, "classlabels_int64s", "classlabels_strings"));
  const auto k = static_cast<int64_t>(labels.size());
  return MakeKernel([k](const Inputs& in, Outputs& out) -> Status {
    KILN_RETURN_IF_ERROR(RequireInputs(in, 1));
    if (in[0]->dtype() != DType::kFloat) return InvalidArgument("ZipMap takes float probabilities");
    KILN_ASSIGN_OR_RETURN(Rows rows, AsRows(*in[0]));
    if (rows.c != k) {
      return InvalidArgument("ZipMap has " + std::to_string(k) + " class labels for " + std::to_string(rows.c) + " columns");
    }
    out[0] = *in[0];
    out[0].set_shape({rows.n, rows.c});
    return Status::Ok();
  });
}

}  // namespace

void RegisterMlKernels(KernelRegistry& r) {
  r.Register(kDomainMl, "LinearClassifier", MakeLinearClassifier);
  r.Register(kDomainMl, "LinearRegressor", MakeLinearRegressor);
  r.Register(kDomainMl, "Scaler", MakeScaler);
  r.Register(kDomainMl, "Normalizer", MakeNormalizer);
  r.Register(kDomainMl, "Imputer", MakeImputer);
  r.Register(kDomainMl, "Binarizer", MakeBinarizer);
  r.Register(kDomainMl, "OneHotEncoder", MakeOneHotEncoder);
  r.Register(kDomainMl, "LabelEncoder", MakeLabelEncoder);
  r.Register(kDomainMl, "ArrayFeatureExtractor", MakeArrayFeatureExtractor);
  r.Register(kDomainMl, "ZipMap", MakeZipMap);
}

}  // namespace kiln::onnx
