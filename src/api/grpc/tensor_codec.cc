#include "api/grpc/tensor_codec.h"

#include <cstring>
#include <limits>

namespace kiln::api::grpcv2 {

using serving::DataType;
using serving::Tensor;

namespace {

constexpr int64_t kMaxElements = serving::kMaxTensorElements;
using serving::AppendValue;

template <typename T>
T Read(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

StatusOr<int64_t> CheckedElementCount(const inference::ModelInferRequest::InferInputTensor& in,
                                      const std::string& field) {
  int64_t elements = 1;
  for (int64_t d : in.shape()) {
    if (d < 0) return InvalidArgument(field + ".shape must hold non-negative integers");
    if (d > kMaxElements || (d > 0 && elements > kMaxElements / d)) {
      return InvalidArgument(field + ".shape is too large");
    }
    elements *= d;
  }
  return elements;
}

// Checks a BYTES tensor's raw form: `count` elements, each a 4-byte
// little-endian length and that many bytes, exactly filling `raw`.
Status CheckBytesElements(const std::string& raw, int64_t count, const std::string& field) {
  size_t at = 0;
  for (int64_t i = 0; i < count; ++i) {
    if (raw.size() - at < sizeof(uint32_t)) {
      return InvalidArgument(field + ": BYTES element " + std::to_string(i) + " is cut short");
    }
    const uint32_t len = Read<uint32_t>(raw.data() + at);
    at += sizeof(uint32_t);
    if (raw.size() - at < len) {
      return InvalidArgument(field + ": BYTES element " + std::to_string(i) + " claims " + std::to_string(len) +
                             " bytes, only " + std::to_string(raw.size() - at) + " remain");
    }
    at += len;
  }
  if (at != raw.size()) {
    return InvalidArgument(field + ": " + std::to_string(raw.size() - at) + " bytes after the last BYTES element");
  }
  return Status::Ok();
}

Status DecodeRaw(const std::string& raw, int64_t count, const std::string& field, Tensor& t) {
  if (t.dtype == DataType::kBytes) {
    KILN_RETURN_IF_ERROR(CheckBytesElements(raw, count, field));
  } else {
    const uint64_t want = static_cast<uint64_t>(count) * serving::ElementSize(t.dtype);
    if (raw.size() != want) {
      return InvalidArgument(field + " has " + std::to_string(raw.size()) + " bytes of raw contents, its shape and " +
                             std::string(serving::DataTypeName(t.dtype)) + " need " + std::to_string(want));
    }
  }
  t.data.assign(raw.begin(), raw.end());
  return Status::Ok();
}

size_t TotalContents(const inference::InferTensorContents& c) {
  return static_cast<size_t>(c.bool_contents_size()) + c.int_contents_size() + c.int64_contents_size() +
         c.uint_contents_size() + c.uint64_contents_size() + c.fp32_contents_size() + c.fp64_contents_size() +
         c.bytes_contents_size();
}

// Appends each value as T, refusing values outside [lo, hi] (INT8 etc. travel in int32 fields).
template <typename T, typename Field>
Status AppendChecked(const Field& values, int64_t lo, int64_t hi, const std::string& field, std::vector<char>& out) {
  for (auto v : values) {
    if (static_cast<int64_t>(v) < lo || static_cast<int64_t>(v) > hi) {
      return InvalidArgument(field + " holds " + std::to_string(v) + ", which is out of range for its datatype");
    }
    AppendValue<T>(out, static_cast<T>(v));
  }
  return Status::Ok();
}

template <typename T, typename Field>
void AppendAll(const Field& values, std::vector<char>& out) {
  out.reserve(out.size() + static_cast<size_t>(values.size()) * sizeof(T));
  for (auto v : values) AppendValue<T>(out, static_cast<T>(v));
}

// Typed contents: the one field the datatype uses, holding exactly `count` values.
Status DecodeTyped(const inference::InferTensorContents& c, int64_t count, const std::string& field, Tensor& t) {
  const std::string contents = field + ".contents";
  int n = 0;        // values in the datatype's field
  const char* name = "";
  switch (t.dtype) {
    case DataType::kBool: n = c.bool_contents_size(); name = "bool_contents"; break;
    case DataType::kInt8: case DataType::kInt16: case DataType::kInt32:
      n = c.int_contents_size(); name = "int_contents"; break;
    case DataType::kInt64: n = c.int64_contents_size(); name = "int64_contents"; break;
    case DataType::kUint8: case DataType::kUint16: case DataType::kUint32:
      n = c.uint_contents_size(); name = "uint_contents"; break;
    case DataType::kUint64: n = c.uint64_contents_size(); name = "uint64_contents"; break;
    case DataType::kFp32: n = c.fp32_contents_size(); name = "fp32_contents"; break;
    case DataType::kFp64: n = c.fp64_contents_size(); name = "fp64_contents"; break;
    case DataType::kBytes: n = c.bytes_contents_size(); name = "bytes_contents"; break;
    case DataType::kFp16:
      return InvalidArgument(field + ": FP16 has no typed contents; send it in raw_input_contents");
  }
  const std::string dtype(serving::DataTypeName(t.dtype));
  if (TotalContents(c) != static_cast<size_t>(n)) {
    return InvalidArgument(contents + " holds values outside " + name + ", the field for " + dtype);
  }
  if (n != count) {
    return InvalidArgument(contents + "." + name + " has " + std::to_string(n) + " elements, its shape needs " +
                           std::to_string(count));
  }
  std::vector<char>& out = t.data;
  const std::string where = contents + "." + name;
  switch (t.dtype) {
    case DataType::kBool: AppendAll<uint8_t>(c.bool_contents(), out); break;
    case DataType::kInt8: return AppendChecked<int8_t>(c.int_contents(), INT8_MIN, INT8_MAX, where, out);
    case DataType::kInt16: return AppendChecked<int16_t>(c.int_contents(), INT16_MIN, INT16_MAX, where, out);
    case DataType::kInt32: AppendAll<int32_t>(c.int_contents(), out); break;
    case DataType::kInt64: AppendAll<int64_t>(c.int64_contents(), out); break;
    case DataType::kUint8: return AppendChecked<uint8_t>(c.uint_contents(), 0, UINT8_MAX, where, out);
    case DataType::kUint16: return AppendChecked<uint16_t>(c.uint_contents(), 0, UINT16_MAX, where, out);
    case DataType::kUint32: AppendAll<uint32_t>(c.uint_contents(), out); break;
    case DataType::kUint64: AppendAll<uint64_t>(c.uint64_contents(), out); break;
    case DataType::kFp32: AppendAll<float>(c.fp32_contents(), out); break;
    case DataType::kFp64: AppendAll<double>(c.fp64_contents(), out); break;
    case DataType::kBytes:
      for (const std::string& s : c.bytes_contents()) {
        if (s.size() > std::numeric_limits<uint32_t>::max()) return InvalidArgument(where + " element too large");
        AppendValue<uint32_t>(out, static_cast<uint32_t>(s.size()));
        out.insert(out.end(), s.begin(), s.end());
      }
      break;
    case DataType::kFp16: break;  // refused above
  }
  return Status::Ok();
}

// Typed output contents from a tensor's bytes (not FP16: the caller sends that raw).
void EncodeTyped(const Tensor& t, inference::InferTensorContents* c) {
  const size_t width = serving::ElementSize(t.dtype);
  const char* p = t.data.data();
  const size_t n = width ? t.data.size() / width : 0;
  for (size_t i = 0; i < n; ++i) {
    const char* e = p + i * width;
    switch (t.dtype) {
      case DataType::kBool: c->add_bool_contents(Read<uint8_t>(e) != 0); break;
      case DataType::kInt8: c->add_int_contents(Read<int8_t>(e)); break;
      case DataType::kInt16: c->add_int_contents(Read<int16_t>(e)); break;
      case DataType::kInt32: c->add_int_contents(Read<int32_t>(e)); break;
      case DataType::kInt64: c->add_int64_contents(Read<int64_t>(e)); break;
      case DataType::kUint8: c->add_uint_contents(Read<uint8_t>(e)); break;
      case DataType::kUint16: c->add_uint_contents(Read<uint16_t>(e)); break;
      case DataType::kUint32: c->add_uint_contents(Read<uint32_t>(e)); break;
      case DataType::kUint64: c->add_uint64_contents(Read<uint64_t>(e)); break;
      case DataType::kFp32: c->add_fp32_contents(Read<float>(e)); break;
      case DataType::kFp64: c->add_fp64_contents(Read<double>(e)); break;
      default: break;
    }
  }
  if (t.dtype == DataType::kBytes) {
    // Runtimes write well-formed BYTES; stop at anything cut short rather than read past the end.
    size_t at = 0;
    while (t.data.size() - at >= sizeof(uint32_t)) {
      const uint32_t len = Read<uint32_t>(p + at);
      at += sizeof(uint32_t);
      if (t.data.size() - at < len) break;
      c->add_bytes_contents(std::string(p + at, len));
      at += len;
    }
  }
}

}  // namespace

StatusOr<DecodedInferRequest> DecodeInferRequest(const inference::ModelInferRequest& request) {
  DecodedInferRequest out;
  out.id = request.id();
  if (request.inputs_size() == 0) return InvalidArgument("'inputs' must not be empty");
  out.raw = request.raw_input_contents_size() > 0;
  if (out.raw && request.raw_input_contents_size() != request.inputs_size()) {
    return InvalidArgument("raw_input_contents has " + std::to_string(request.raw_input_contents_size()) +
                           " entries for " + std::to_string(request.inputs_size()) + " inputs; it needs one per input");
  }
  out.inputs.reserve(static_cast<size_t>(request.inputs_size()));
  for (int i = 0; i < request.inputs_size(); ++i) {
    const auto& in = request.inputs(i);
    const std::string field = "inputs[" + std::to_string(i) + "]";
    Tensor t;
    if (in.name().empty()) return InvalidArgument(field + ".name must not be empty");
    t.name = in.name();
    auto dtype = serving::ParseDataType(in.datatype());
    if (!dtype) return InvalidArgument(field + ".datatype '" + in.datatype() + "' is not a V2 datatype");
    t.dtype = *dtype;
    KILN_ASSIGN_OR_RETURN(const int64_t count, CheckedElementCount(in, field));
    t.shape.assign(in.shape().begin(), in.shape().end());
    if (out.raw) {
      if (in.has_contents() && TotalContents(in.contents()) > 0) {
        return InvalidArgument(field + " has typed contents although the request uses raw_input_contents");
      }
      KILN_RETURN_IF_ERROR(DecodeRaw(request.raw_input_contents(i), count, field, t));
    } else {
      KILN_RETURN_IF_ERROR(DecodeTyped(in.contents(), count, field, t));
    }
    out.inputs.push_back(std::move(t));
  }
  for (const auto& o : request.outputs()) {
    if (o.name().empty()) return InvalidArgument("a requested output has no name");
    out.outputs.push_back(o.name());
  }
  return out;
}

void EncodeInferResponse(const std::string& model, const std::string& version, const std::string& id,
                         const std::vector<Tensor>& outputs, bool raw, inference::ModelInferResponse* response) {
  response->set_model_name(model);
  response->set_model_version(version);
  response->set_id(id);
  for (const Tensor& t : outputs) raw = raw || t.dtype == DataType::kFp16;
  for (const Tensor& t : outputs) {
    auto* o = response->add_outputs();
    o->set_name(t.name);
    o->set_datatype(std::string(serving::DataTypeName(t.dtype)));
    for (int64_t d : t.shape) o->add_shape(d);
    if (raw) {
      response->add_raw_output_contents(t.data.data(), t.data.size());
    } else {
      EncodeTyped(t, o->mutable_contents());
    }
  }
}

}  // namespace kiln::api::grpcv2
