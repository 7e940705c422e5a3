// Hand-run latency comparison behind docs/serving.md ("XGBoost runtime"):
// kiln's XgboostModel against Debian's libxgboost 1.7.4, called the way
// kiln's old runtime did (in-place prediction from a dense array under a
// mutex, nthread=1, output copied out), on one row and on a batch of 64.
// Not part of the build: libxgboost is no longer a dependency.
//
//   apt-get install libxgboost-dev
//   .venv/bin/python -c 'import numpy as np, xgboost as xgb; r=np.random.default_rng(0);
//     X=r.normal(size=(5000,20)).astype(np.float32); y=(X[:,0]+0.5*X[:,1]*X[:,2]+r.normal(size=5000)>0);
//     xgb.train({"objective":"binary:logistic","max_depth":6,"seed":0,"nthread":1},
//               xgb.DMatrix(X,label=y),100).save_model("/tmp/bench.json")'
//   ninja -C build/release kiln_serving
//   g++ -std=c++20 -O3 -DNDEBUG -Isrc bench/serving/xgboost_evaluator_latency.cc
//     build/release/src/serving/libkiln_serving.a build/release/src/core/libkiln_core.a -lxgboost -o /tmp/xgblat
//   (one command)
//   /tmp/xgblat /tmp/bench.json 20
#include <xgboost/c_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <vector>

#include "serving/xgboost_model.h"

using kiln::serving::XgboostModel;

namespace {

std::string ReadAll(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

template <class F>
double MedianMicros(F f, int iters) {
  for (int i = 0; i < 500; ++i) f();
  std::vector<double> t(static_cast<size_t>(iters));
  for (auto& v : t) {
    const auto a = std::chrono::steady_clock::now();
    f();
    v = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - a).count();
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL.json FEATURES\n", argv[0]);
    return 2;
  }
  const int features = std::atoi(argv[2]);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> rows(64 * static_cast<size_t>(features));
  for (auto& v : rows) v = normal(rng);

  BoosterHandle booster;
  XGBoosterCreate(nullptr, 0, &booster);
  if (XGBoosterLoadModel(booster, argv[1]) != 0 || XGBoosterSetParam(booster, "nthread", "1") != 0) {
    std::fprintf(stderr, "libxgboost: %s\n", XGBGetLastError());
    return 1;
  }
  std::mutex mu;
  std::vector<float> lib_out(64), own_out(64);
  auto lib = [&](int n) {
    char array[256];
    std::snprintf(array, sizeof array, R"({"data":[%llu,true],"shape":[%d,%d],"typestr":"<f4","version":3})",
                  static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(rows.data())), n, features);
    static const char* kConfig =
        R"({"type":0,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false,"missing":NaN,"cache_id":0})";
    const bst_ulong* shape;
    bst_ulong dims;
    const float* result;
    std::lock_guard lock(mu);
    XGBoosterPredictFromDense(booster, array, kConfig, nullptr, &shape, &dims, &result);
    std::memcpy(lib_out.data(), result, static_cast<size_t>(n) * sizeof(float));
  };
  auto model = XgboostModel::Parse(ReadAll(argv[1]), argv[1]);
  if (!model.ok()) {
    std::fprintf(stderr, "kiln: %s\n", model.status().message().c_str());
    return 1;
  }
  auto own = [&](int n) {
    std::vector<float> out(static_cast<size_t>(n));  // Execute allocates its output too
    (void)(*model)->PredictBatch(rows.data(), static_cast<size_t>(n), static_cast<size_t>(features), out.data());
    std::memcpy(own_out.data(), out.data(), out.size() * sizeof(float));
  };
  lib(64);
  own(64);
  float diff = 0;
  for (int i = 0; i < 64; ++i) diff = std::max(diff, std::fabs(lib_out[i] - own_out[i]));
  std::printf("max |libxgboost - kiln| over 64 rows: %g\n", diff);
  for (int n : {1, 64}) {
    const double t_lib = MedianMicros([&] { lib(n); }, 20000);
    const double t_own = MedianMicros([&] { own(n); }, 20000);
    std::printf("%2d row(s): libxgboost 1.7.4 %.2f us, kiln XgboostModel %.2f us (median of 20000)\n", n, t_lib,
                t_own);
  }
  XGBoosterFree(booster);
  return 0;
}
