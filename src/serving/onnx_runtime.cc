#include "serving/onnx_runtime.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <system_error>

#include "onnx/graph_loader.h"

namespace kiln::serving {
namespace {

DataType ToDataType(onnx::DType t) {
  switch (t) {
    case onnx::DType::kFloat: return DataType::kFp32;
    case onnx::DType::kDouble: return DataType::kFp64;
    case onnx::DType::kInt64: return DataType::kInt64;
    case onnx::DType::kInt32: return DataType::kInt32;
    case onnx::DType::kBool: return DataType::kBool;
    case onnx::DType::kString: return DataType::kBytes;
  }
  return DataType::kFp32;
}

TensorSpec SpecOf(const onnx::ValueInfo& v) {
  TensorSpec spec{v.name, ToDataType(v.dtype), v.shape};
  // Batch first, whatever the exporter wrote (some write 1 or a name).
  if (spec.shape.empty()) {
    spec.shape = {-1};
  } else {
    spec.shape[0] = -1;
  }
  return spec;
}

template <typename T>
std::vector<T> ReadValues(const Tensor& t, size_t count) {
  std::vector<T> v(count);
  // memcpy: the tensor's bytes carry no alignment guarantee.
  if (count) std::memcpy(v.data(), t.data.data(), count * sizeof(T));
  return v;
}

template <typename To, typename From>
std::vector<To> Convert(const std::vector<From>& v) {
  return std::vector<To>(v.begin(), v.end());
}

StatusOr<std::vector<std::string>> ReadStrings(const Tensor& t, size_t count) {
  std::vector<std::string> out;
  out.reserve(count);
  size_t pos = 0;
  for (size_t i = 0; i < count; ++i) {
    uint32_t len = 0;
    if (t.data.size() - pos < sizeof len) return InvalidArgument("input '" + t.name + "': BYTES data ends early");
    std::memcpy(&len, t.data.data() + pos, sizeof len);
    pos += sizeof len;
    if (t.data.size() - pos < len) return InvalidArgument("input '" + t.name + "': a BYTES element overruns the data");
    out.emplace_back(t.data.data() + pos, len);
    pos += len;
  }
  if (pos != t.data.size()) return InvalidArgument("input '" + t.name + "': BYTES data has extra bytes");
  return out;
}

// One protocol tensor as the executor tensor the graph input wants.
StatusOr<onnx::Tensor> ToExecutor(const Tensor& in, const onnx::ValueInfo& want) {
  std::vector<int64_t> shape = in.shape;
  KILN_ASSIGN_OR_RETURN(int64_t count64, onnx::ElementCount(shape));
  const auto count = static_cast<size_t>(count64);
  if (in.dtype != DataType::kBytes) {
    size_t needed = 0;
    if (__builtin_mul_overflow(count, ElementSize(in.dtype), &needed) || needed != in.data.size()) {
      return InvalidArgument("input '" + in.name + "' has " + std::to_string(in.data.size()) + " bytes; shape " +
                             onnx::ShapeText(shape) + " of " + std::string(DataTypeName(in.dtype)) + " needs " +
                             std::to_string(count) + " elements");
    }
  }
  // One row may come without its batch dimension.
  if (want.rank_known && want.shape.size() == 2 && shape.size() == 1) shape.insert(shape.begin(), 1);
  const std::string mismatch = "input '" + in.name + "' has datatype " + std::string(DataTypeName(in.dtype)) +
                               "; the model takes " + std::string(DataTypeName(ToDataType(want.dtype)));
  switch (want.dtype) {
    case onnx::DType::kFloat:
      if (in.dtype == DataType::kFp32) return onnx::Tensor(shape, ReadValues<float>(in, count));
      if (in.dtype == DataType::kFp64) return onnx::Tensor(shape, Convert<float>(ReadValues<double>(in, count)));
      break;
    case onnx::DType::kDouble:
      if (in.dtype == DataType::kFp64) return onnx::Tensor(shape, ReadValues<double>(in, count));
      if (in.dtype == DataType::kFp32) return onnx::Tensor(shape, Convert<double>(ReadValues<float>(in, count)));
      break;
    case onnx::DType::kInt64:
      if (in.dtype == DataType::kInt64) return onnx::Tensor(shape, ReadValues<int64_t>(in, count));
      if (in.dtype == DataType::kInt32) return onnx::Tensor(shape, Convert<int64_t>(ReadValues<int32_t>(in, count)));
      break;
    case onnx::DType::kInt32:
      if (in.dtype == DataType::kInt32) return onnx::Tensor(shape, ReadValues<int32_t>(in, count));
      break;
    case onnx::DType::kBool:
      if (in.dtype == DataType::kBool) {
        std::vector<uint8_t> v = ReadValues<uint8_t>(in, count);
        for (uint8_t& b : v) b = b != 0;
        return onnx::Tensor(shape, std::move(v));
      }
      break;
    case onnx::DType::kString:
      if (in.dtype == DataType::kBytes) {
        KILN_ASSIGN_OR_RETURN(std::vector<std::string> v, ReadStrings(in, count));
        return onnx::Tensor(shape, std::move(v));
      }
      break;
  }
  return InvalidArgument(mismatch);
}

template <typename T>
void AppendValues(const std::vector<T>& v, std::vector<char>& out) {
  out.resize(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(out.data(), v.data(), out.size());
}

Tensor FromExecutor(const onnx::Tensor& t, const std::string& name) {
  Tensor out;
  out.name = name;
  out.dtype = ToDataType(t.dtype());
  out.shape = t.shape();
  switch (t.dtype()) {
    case onnx::DType::kFloat: AppendValues(t.data<float>(), out.data); break;
    case onnx::DType::kDouble: AppendValues(t.data<double>(), out.data); break;
    case onnx::DType::kInt64: AppendValues(t.data<int64_t>(), out.data); break;
    case onnx::DType::kInt32: AppendValues(t.data<int32_t>(), out.data); break;
    case onnx::DType::kBool: AppendValues(t.data<uint8_t>(), out.data); break;
    case onnx::DType::kString:
      for (const std::string& s : t.data<std::string>()) {
        const auto len = static_cast<uint32_t>(s.size());
        const char* p = reinterpret_cast<const char*>(&len);
        out.data.insert(out.data.end(), p, p + sizeof len);
        out.data.insert(out.data.end(), s.begin(), s.end());
      }
      break;
  }
  return out;
}

}  // namespace

OnnxRuntime::OnnxRuntime(std::unique_ptr<const onnx::Executor> executor) : executor_(std::move(executor)) {
  for (const auto& v : executor_->inputs()) inputs_.push_back(SpecOf(v));
  for (const auto& v : executor_->outputs()) outputs_.push_back(SpecOf(v));
}

StatusOr<std::unique_ptr<OnnxRuntime>> OnnxRuntime::FromBytes(std::string_view bytes) {
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<onnx::Executor> ex, onnx::Executor::Load(bytes.data(), bytes.size()));
  return std::unique_ptr<OnnxRuntime>(new OnnxRuntime(std::move(ex)));
}

StatusOr<std::unique_ptr<OnnxRuntime>> OnnxRuntime::LoadFile(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) return NotFound("onnx model file '" + path + "' does not exist");
  if (!std::filesystem::is_regular_file(status)) {
    return InvalidArgument("onnx model file '" + path + "' is not a regular file");
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return InvalidArgument("onnx model file '" + path + "': " + ec.message());
  if (size > onnx::kMaxModelBytes) {
    return InvalidArgument("onnx model file '" + path + "' is " + std::to_string(size) + " bytes, over the " +
                           std::to_string(onnx::kMaxModelBytes) + "-byte limit");
  }
  std::string bytes;
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) return InvalidArgument("onnx model file '" + path + "' cannot be opened");
    bytes.resize(static_cast<size_t>(size));
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (static_cast<size_t>(in.gcount()) != bytes.size()) {
      return InvalidArgument("onnx model file '" + path + "' could not be read completely");
    }
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("onnx model file '" + path + "': out of memory reading it");
  }
  auto runtime = FromBytes(bytes);
  if (!runtime.ok()) return Status(runtime.status().code(), path + ": " + runtime.status().message());
  return runtime;
}

StatusOr<std::vector<Tensor>> OnnxRuntime::Execute(const std::vector<Tensor>& inputs) {
  const auto& want = executor_->inputs();
  if (inputs.size() != want.size()) {
    return InvalidArgument("the onnx model takes " + std::to_string(want.size()) + " inputs, got " +
                           std::to_string(inputs.size()));
  }
  try {
    std::vector<onnx::Tensor> args(want.size());
    std::vector<bool> given(want.size(), false);
    for (const Tensor& in : inputs) {
      size_t i = 0;
      while (i < want.size() && want[i].name != in.name) ++i;
      if (i == want.size()) return InvalidArgument("the onnx model has no input '" + in.name + "'");
      if (given[i]) return InvalidArgument("input '" + in.name + "' is given twice");
      given[i] = true;
      KILN_ASSIGN_OR_RETURN(args[i], ToExecutor(in, want[i]));
    }
    KILN_ASSIGN_OR_RETURN(std::vector<onnx::Tensor> results, executor_->Run(args));
    std::vector<Tensor> out;
    out.reserve(results.size());
    for (size_t o = 0; o < results.size(); ++o) out.push_back(FromExecutor(results[o], outputs_[o].name));
    return out;
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("onnx model: out of memory for the batch");
  }
}

}  // namespace kiln::serving
