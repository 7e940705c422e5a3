#include "serving/onnx_runtime.h"

#include <stdlib.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "onnx/test_model_builder.h"
#include "serving/model_repository.h"

#ifndef KILN_SOURCE_DIR
#error "KILN_SOURCE_DIR must name the source tree (src/serving/CMakeLists.txt defines it)"
#endif

namespace kiln::serving {
namespace {

static_assert(std::endian::native == std::endian::little, "the reference files are little-endian");

std::string MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kiln-onnx-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return "";
  return tmpl;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<double> AsDoubles(const Tensor& t) {
  std::vector<double> out;
  const size_t n = t.dtype == DataType::kBytes ? 0 : t.data.size() / ElementSize(t.dtype);
  for (size_t i = 0; i < n; ++i) {
    const char* p = t.data.data() + i * ElementSize(t.dtype);
    switch (t.dtype) {
      case DataType::kFp32: { float v; std::memcpy(&v, p, 4); out.push_back(v); break; }
      case DataType::kFp64: { double v; std::memcpy(&v, p, 8); out.push_back(v); break; }
      case DataType::kInt64: { int64_t v; std::memcpy(&v, p, 8); out.push_back(static_cast<double>(v)); break; }
      case DataType::kInt32: { int32_t v; std::memcpy(&v, p, 4); out.push_back(v); break; }
      default: break;
    }
  }
  return out;
}

TEST(OnnxRuntime, LoadFileErrors) {
  const std::string dir = MakeTempDir();
  ASSERT_FALSE(dir.empty());
  auto missing = OnnxRuntime::LoadFile(dir + "/model.onnx");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  auto directory = OnnxRuntime::LoadFile(dir);
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().code(), StatusCode::kInvalidArgument);

  const std::string bad = dir + "/model.onnx";
  std::ofstream(bad) << "this is not a protobuf";
  auto refused = OnnxRuntime::LoadFile(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find(bad), std::string::npos) << refused.status().message();
  // The repository picks the ONNX runtime by file name and by runtime name.
  auto by_file = LoadRuntimeForFile(bad);
  ASSERT_FALSE(by_file.ok());
  EXPECT_EQ(by_file.status().code(), StatusCode::kInvalidArgument);
  auto by_name = LoadRuntime("onnx", bad);
  ASSERT_FALSE(by_name.ok());
  EXPECT_EQ(by_name.status().code(), StatusCode::kInvalidArgument);
  std::filesystem::remove_all(dir);
}

template <typename T>
Tensor MakeTensor(const std::string& name, DataType dtype, std::vector<int64_t> shape, const std::vector<T>& values) {
  Tensor t{name, dtype, std::move(shape), {}};
  t.data.resize(values.size() * sizeof(T));
  std::memcpy(t.data.data(), values.data(), t.data.size());
  return t;
}

// X * 2 and an int64 -> string LabelEncoder: conversions in both directions.
std::unique_ptr<OnnxRuntime> ConversionModel() {
  onnx::testing::ModelBuilder b;
  b.Input("X", 1, {-1, 2}).Input("ids", 7, {-1}).Output("y", 1, {-1, 2}).Output("names", 8, {-1});
  b.FloatInit("two", {}, {2});
  b.Node("Mul", {"X", "two"}, {"y"});
  auto* le = b.Node("LabelEncoder", {"ids"}, {"names"}, "ai.onnx.ml");
  onnx::testing::SetInts(le, "keys_int64s", {1, 2});
  onnx::testing::SetStrings(le, "values_strings", {"one", "two"});
  onnx::testing::SetString(le, "default_string", "");
  auto rt = OnnxRuntime::FromBytes(b.Bytes());
  EXPECT_TRUE(rt.ok()) << rt.status().message();
  return rt.ok() ? std::move(rt).value() : nullptr;
}

TEST(OnnxRuntime, ConvertsTensorsInAndOut) {
  auto rt = ConversionModel();
  ASSERT_TRUE(rt);
  ASSERT_EQ(rt->inputs().size(), 2u);
  EXPECT_EQ(rt->inputs()[0].dtype, DataType::kFp32);
  EXPECT_EQ(rt->inputs()[0].shape, (std::vector<int64_t>{-1, 2}));
  EXPECT_EQ(rt->inputs()[1].dtype, DataType::kInt64);
  EXPECT_EQ(rt->outputs()[1].dtype, DataType::kBytes);
  EXPECT_EQ(rt->outputs()[1].shape, (std::vector<int64_t>{-1}));

  // FP64 for FP32 and INT32 for INT64 are converted; inputs match by name.
  auto out = rt->Execute({MakeTensor<int32_t>("ids", DataType::kInt32, {3}, {2, 7, 1}),
                          MakeTensor<double>("X", DataType::kFp64, {3, 2}, {1, 2, 3, 4, 5, 6.5})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].name, "y");
  EXPECT_EQ((*out)[0].dtype, DataType::kFp32);
  EXPECT_EQ((*out)[0].shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(AsDoubles((*out)[0]), (std::vector<double>{2, 4, 6, 8, 10, 13}));
  const std::string bytes((*out)[1].data.begin(), (*out)[1].data.end());
  EXPECT_EQ(bytes, std::string("\x03\0\0\0two\0\0\0\0\x03\0\0\0one", 18));
  EXPECT_EQ((*out)[1].dtype, DataType::kBytes);

  // One row without its batch dimension.
  auto row = rt->Execute({MakeTensor<float>("X", DataType::kFp32, {2}, {1, 1}),
                          MakeTensor<int64_t>("ids", DataType::kInt64, {1}, {1})});
  ASSERT_TRUE(row.ok()) << row.status().message();
  EXPECT_EQ((*row)[0].shape, (std::vector<int64_t>{1, 2}));

  // Refused, not crashed: a wrong datatype, bytes that do not fit the shape,
  // an unknown input, too few inputs.
  const Tensor ids = MakeTensor<int64_t>("ids", DataType::kInt64, {1}, {1});
  EXPECT_FALSE(rt->Execute({MakeTensor<int64_t>("X", DataType::kInt64, {1, 2}, {1, 2}), ids}).ok());
  EXPECT_FALSE(rt->Execute({MakeTensor<float>("X", DataType::kFp32, {2, 2}, {1, 2, 3}), ids}).ok());
  EXPECT_FALSE(rt->Execute({MakeTensor<float>("Z", DataType::kFp32, {1, 2}, {1, 2}), ids}).ok());
  EXPECT_FALSE(rt->Execute({ids}).ok());
}

// ---------------------------------------------------------------------------
// Parity with onnxruntime: tests/runtimes/gen_onnx.py exports scikit-learn,
// XGBoost and LightGBM models and records onnxruntime's outputs; kiln must
// match every value within 1e-5 relative (1e-6 absolute near zero), and
// labels exactly.

struct TensorFile {
  std::string name;
  DataType dtype = DataType::kFp32;
  std::vector<int64_t> shape;
  std::string path;
};

constexpr double kRelTolerance = 1e-5;
constexpr double kAbsTolerance = 1e-6;

// Relative error of values of magnitude >= 1e-3 (below that, floats from
// different summation orders differ relatively more; kAbsTolerance covers them).
double RelErr(double a, double b) {
  if (std::isnan(a) || std::isnan(b) || a == b) return 0;
  const double scale = std::max(std::fabs(a), std::fabs(b));
  return scale < 1e-3 ? 0 : std::fabs(a - b) / scale;
}

bool Close(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  const double d = std::fabs(a - b);
  return d <= kAbsTolerance || d <= kRelTolerance * std::max(std::fabs(a), std::fabs(b));
}


TEST(OnnxParity, MatchesOnnxruntime) {
  const std::string source = KILN_SOURCE_DIR;
  const std::string python = source + "/.venv/bin/python";
  const std::string script = source + "/tests/runtimes/gen_onnx.py";
  ASSERT_TRUE(std::filesystem::exists(python))
      << python << " is missing: run `make setup` (it builds .venv with onnxruntime, skl2onnx, onnxmltools)";
  const std::string dir = MakeTempDir();
  ASSERT_FALSE(dir.empty());
  const std::string log = dir + "/gen.log";
  const std::string cmd = "'" + python + "' '" + script + "' '" + dir + "' > '" + log + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  ASSERT_EQ(rc, 0) << cmd << " failed:\n" << ReadFile(log);

  std::vector<std::string> names;
  {
    std::istringstream in(ReadFile(dir + "/models.txt"));
    for (std::string name; std::getline(in, name);) {
      if (!name.empty()) names.push_back(name);
    }
  }
  for (const char* required : {"logreg_binary", "logreg_multiclass", "rf_classifier", "rf_regressor", "gb_binary",
                               "pipeline_imputer_scaler_linreg", "mlp_classifier", "mlp_regressor", "onehot_logreg",
                               "label_encoder", "xgb_multiclass", "lgbm_multiclass"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), required), names.end()) << required;
  }

  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const std::string d = dir + "/" + name;
    std::vector<TensorFile> ins, outs;
    {
      std::istringstream in(ReadFile(d + "/tensors.txt"));
      for (std::string line; std::getline(in, line);) {
        std::istringstream ls(line);
        std::string kind, index, tname, dtype;
        ls >> kind >> index >> tname >> dtype;
        TensorFile f;
        f.name = tname;
        auto dt = ParseDataType(dtype);
        ASSERT_TRUE(dt.has_value()) << dtype;
        f.dtype = *dt;
        for (int64_t dim; ls >> dim;) f.shape.push_back(dim);
        f.path = d + "/" + kind + "_" + index + ".bin";
        (kind == "in" ? ins : outs).push_back(f);
      }
    }
    ASSERT_FALSE(ins.empty());
    ASSERT_GE(ins[0].shape[0], 1000);

    auto rt = OnnxRuntime::LoadFile(d + "/model.onnx");
    ASSERT_TRUE(rt.ok()) << rt.status().message();
    EXPECT_EQ((*rt)->backend(), "onnx");
    ASSERT_EQ((*rt)->inputs().size(), ins.size());
    ASSERT_EQ((*rt)->outputs().size(), outs.size());
    std::vector<Tensor> inputs;
    for (size_t i = 0; i < ins.size(); ++i) {
      EXPECT_EQ((*rt)->inputs()[i].name, ins[i].name);
      EXPECT_EQ((*rt)->inputs()[i].dtype, ins[i].dtype);
      EXPECT_EQ((*rt)->inputs()[i].shape[0], -1);
      Tensor t;
      t.name = ins[i].name;
      t.dtype = ins[i].dtype;
      t.shape = ins[i].shape;
      const std::string bytes = ReadFile(ins[i].path);
      t.data.assign(bytes.begin(), bytes.end());
      inputs.push_back(std::move(t));
    }
    for (size_t o = 0; o < outs.size(); ++o) {
      EXPECT_EQ((*rt)->outputs()[o].name, outs[o].name);
      EXPECT_EQ((*rt)->outputs()[o].dtype, outs[o].dtype) << outs[o].name;
      EXPECT_EQ((*rt)->outputs()[o].shape[0], -1);
    }

    auto result = (*rt)->Execute(inputs);
    ASSERT_TRUE(result.ok()) << result.status().message();
    ASSERT_EQ(result->size(), outs.size());
    double max_err = 0;
    size_t bad = 0;
    std::string summary;
    for (size_t o = 0; o < outs.size(); ++o) {
      const Tensor& got = (*result)[o];
      const std::string want_bytes = ReadFile(outs[o].path);
      EXPECT_EQ(got.name, outs[o].name);
      EXPECT_EQ(got.dtype, outs[o].dtype) << outs[o].name;
      EXPECT_EQ(got.shape, outs[o].shape) << outs[o].name;
      if (got.dtype != outs[o].dtype) continue;
      if (got.dtype == DataType::kBytes || got.dtype == DataType::kInt64 || got.dtype == DataType::kInt32 ||
          got.dtype == DataType::kBool) {
        // Labels: exact.
        const std::string got_bytes(got.data.begin(), got.data.end());
        if (got_bytes != want_bytes) {
          ++bad;
          const auto g = AsDoubles(got), w = AsDoubles(Tensor{"", got.dtype, {}, {want_bytes.begin(), want_bytes.end()}});
          size_t diff = 0;
          for (size_t i = 0; i < std::min(g.size(), w.size()); ++i) diff += g[i] != w[i];
          ADD_FAILURE() << outs[o].name << ": labels differ (" << diff << " of " << g.size() << " numeric)";
        }
        summary += " " + outs[o].name + "=exact";
        continue;
      }
      const std::vector<double> g = AsDoubles(got);
      const std::vector<double> w = AsDoubles(Tensor{"", got.dtype, {}, {want_bytes.begin(), want_bytes.end()}});
      ASSERT_EQ(g.size(), w.size()) << outs[o].name;
      double out_err = 0, out_abs = 0;
      for (size_t i = 0; i < g.size(); ++i) {
        out_err = std::max(out_err, RelErr(g[i], w[i]));
        if (!std::isnan(g[i]) && !std::isnan(w[i])) out_abs = std::max(out_abs, std::fabs(g[i] - w[i]));
        if (!Close(g[i], w[i]) && bad++ < 5) {
          ADD_FAILURE() << outs[o].name << " value " << i << ": kiln " << g[i] << ", onnxruntime " << w[i];
        }
      }
      max_err = std::max(max_err, out_err);
      char buf[128];
      std::snprintf(buf, sizeof buf, " %s max rel err %.3g abs %.3g", outs[o].name.c_str(), out_err, out_abs);
      summary += buf;
    }
    EXPECT_EQ(bad, 0u);
    std::printf("onnx parity %-34s %lld rows:%s\n", name.c_str(), static_cast<long long>(ins[0].shape[0]),
                summary.c_str());
    RecordProperty(name + "_max_rel_err", std::to_string(max_err));

    // The same rows one at a time give the same answers (the batcher splits
    // and merges requests freely).
    if (ins.size() == 1 && ins[0].dtype != DataType::kBytes) {
      const size_t row_bytes = inputs[0].data.size() / static_cast<size_t>(ins[0].shape[0]);
      for (size_t r = 0; r < 3; ++r) {
        Tensor one = inputs[0];
        one.shape[0] = 1;
        one.data.assign(inputs[0].data.begin() + r * row_bytes, inputs[0].data.begin() + (r + 1) * row_bytes);
        auto single = (*rt)->Execute({one});
        ASSERT_TRUE(single.ok()) << single.status().message();
        for (size_t o = 0; o < outs.size(); ++o) {
          const Tensor& full = (*result)[o];
          if (full.dtype == DataType::kBytes) continue;
          const size_t ob = full.data.size() / static_cast<size_t>(full.shape[0]);
          EXPECT_EQ(std::vector<char>((*single)[o].data), std::vector<char>(full.data.begin() + r * ob,
                                                                            full.data.begin() + (r + 1) * ob))
              << outs[o].name << " row " << r;
        }
      }
    }
  }
  if (!HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kiln::serving
