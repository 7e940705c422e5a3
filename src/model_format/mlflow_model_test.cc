#include "model_format/mlflow_model.h"

#include <gtest/gtest.h>

namespace kiln::model_format {
namespace {

constexpr const char* kXgbModel = R"(artifact_path: model
flavors:
  python_function:
    data: model.xgb
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.xgboost
    python_version: 3.11.2
  xgboost:
    code: null
    data: model.xgb
    model_class: xgboost.core.Booster
    model_format: xgb
    xgb_version: 2.1.4
mlflow_version: 3.17.2
model_uuid: 0f1e2d3c
signature:
  inputs: '[{"type": "double", "name": "f0", "required": true}, {"type": "double", "name": "f1", "required": true}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1]}}]'
  params: null
utc_time_created: '2026-11-27 10:00:00.000000'
)";

std::vector<PackageFile> Files(std::initializer_list<const char*> names) {
  std::vector<PackageFile> out;
  for (const char* n : names) out.push_back({n, 10});
  return out;
}

TEST(MlflowModel, XgboostIsServableWithSignatureAndRequirements) {
  auto p = ReadMlflowModel(kXgbModel, Files({"requirements.txt", "model.xgb", "MLmodel"}),
                           "# comment\nmlflow==3.17.2\n\nxgboost==2.1.4\n-r other.txt\n");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_TRUE(p->servable);
  EXPECT_EQ(p->runtime, "xgboost");
  EXPECT_EQ(p->model_file, "model.xgb");
  EXPECT_EQ(p->model_format, "xgb");
  EXPECT_EQ(p->loader_module, "mlflow.xgboost");
  EXPECT_EQ(p->flavors, (std::vector<std::string>{"python_function", "xgboost"}));
  ASSERT_TRUE(p->signature_inputs.is_array());
  EXPECT_EQ(p->signature_inputs.size(), 2u);
  EXPECT_EQ(p->signature_inputs[1]["name"], "f1");
  EXPECT_EQ(p->signature_outputs[0]["tensor-spec"]["dtype"], "float32");
  EXPECT_TRUE(p->signature_params.is_null());
  EXPECT_EQ(p->requirements, (std::vector<std::string>{"mlflow==3.17.2", "xgboost==2.1.4"}));
  EXPECT_EQ(p->files.front().path, "MLmodel");  // sorted
  EXPECT_EQ(p->mlflow_version, "3.17.2");
}

TEST(MlflowModel, MissingModelFileIsNotServable) {
  auto p = ReadMlflowModel(kXgbModel, Files({"MLmodel"}), "");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->servable);
  EXPECT_NE(p->reason.find("model.xgb"), std::string::npos);
}

TEST(MlflowModel, SklearnPickleIsRefusedWithAReason) {
  auto p = ReadMlflowModel("flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"
                           "  sklearn:\n    pickled_model: model.pkl\n",
                           Files({"MLmodel", "model.pkl"}), "");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->servable);
  EXPECT_EQ(p->runtime, "");
  EXPECT_NE(p->reason.find("sklearn"), std::string::npos);
  EXPECT_NE(p->reason.find("ONNX"), std::string::npos);
}

TEST(MlflowModel, OnnxAndLightgbmDefaults) {
  auto onnx = ReadMlflowModel("flavors:\n  onnx:\n    data: model.onnx\n    onnx_version: 1.17.0\n",
                              Files({"MLmodel", "model.onnx"}), "");
  ASSERT_TRUE(onnx.ok());
  EXPECT_EQ(onnx->runtime, "onnx");
  EXPECT_EQ(onnx->model_file, "model.onnx");
  auto lgb = ReadMlflowModel("flavors:\n  lightgbm:\n    data: model.lgb\n", Files({"MLmodel", "model.lgb"}), "");
  ASSERT_TRUE(lgb.ok());
  EXPECT_EQ(lgb->runtime, "lightgbm");
}

TEST(MlflowModel, UnknownFlavorNamesWhatWasFound) {
  auto p = ReadMlflowModel("flavors:\n  pytorch:\n    model_data: data\n", Files({"MLmodel"}), "");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->servable);
  EXPECT_NE(p->reason.find("pytorch"), std::string::npos);
}

TEST(MlflowModel, MalformedYamlIsInvalidArgument) {
  EXPECT_EQ(ReadMlflowModel("flavors: [unclosed", {}, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadMlflowModel("just a string", {}, "").status().code(), StatusCode::kInvalidArgument);
}

TEST(MlflowModel, BrokenSignatureJsonBecomesNull) {
  auto p = ReadMlflowModel("flavors:\n  onnx:\n    data: m.onnx\nsignature:\n  inputs: '[not json'\n",
                           Files({"m.onnx"}), "");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->signature_inputs.is_null());
  EXPECT_TRUE(p->servable);
}

TEST(MlflowModel, NoMlModelFile) {
  ModelPackage p = PackageWithoutMlModel(Files({"b", "a"}));
  EXPECT_FALSE(p.servable);
  EXPECT_EQ(p.files[0].path, "a");
}

}  // namespace
}  // namespace kiln::model_format
