#include "api/v2/v2_codec.h"

#include <cmath>
#include <cstring>
#include <algorithm>
#include <limits>

namespace kiln::api::v2 {

using nlohmann::json;
using serving::DataType;
using serving::Tensor;

namespace {

constexpr int64_t kMaxElements = serving::kMaxTensorElements;
using serving::AppendValue;

// Appends one JSON scalar as an element of `type`; false when it does not fit.
bool AppendElement(const json& v, DataType type, std::vector<char>& out) {
  switch (type) {
    case DataType::kBool:
      if (!v.is_boolean()) return false;
      AppendValue<uint8_t>(out, v.get<bool>() ? 1 : 0);
      return true;
    case DataType::kFp32:
    case DataType::kFp64: {
      double d;
      if (v.is_number()) {
        d = v.get<double>();
      } else if (v.is_null()) {
        d = std::numeric_limits<double>::quiet_NaN();  // JSON has no NaN; null stands for a missing value
      } else if (v.is_string() && (v == "NaN" || v == "Infinity" || v == "-Infinity")) {
        d = v == "NaN" ? std::numeric_limits<double>::quiet_NaN()
                       : (v == "Infinity" ? 1.0 : -1.0) * std::numeric_limits<double>::infinity();
      } else {
        return false;
      }
      if (type == DataType::kFp32) {
        AppendValue<float>(out, static_cast<float>(d));
      } else {
        AppendValue<double>(out, d);
      }
      return true;
    }
    case DataType::kBytes: {
      if (!v.is_string()) return false;
      const auto& s = v.get_ref<const std::string&>();
      AppendValue<uint32_t>(out, static_cast<uint32_t>(s.size()));
      out.insert(out.end(), s.begin(), s.end());
      return true;
    }
    case DataType::kFp16:
      return false;  // no runtime takes FP16 yet
    default: {
      if (!v.is_number_integer()) return false;
      if (v.is_number_unsigned()) {
        const uint64_t u = v.get<uint64_t>();
        switch (type) {
          case DataType::kUint8: if (u > 0xff) return false; AppendValue<uint8_t>(out, static_cast<uint8_t>(u)); return true;
          case DataType::kUint16: if (u > 0xffff) return false; AppendValue<uint16_t>(out, static_cast<uint16_t>(u)); return true;
          case DataType::kUint32: if (u > 0xffffffffu) return false; AppendValue<uint32_t>(out, static_cast<uint32_t>(u)); return true;
          case DataType::kUint64: AppendValue<uint64_t>(out, u); return true;
          default: break;
        }
      }
      // Above INT64_MAX, get<int64_t> would wrap (18446744073709551615 into -1).
      if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return false;
      const int64_t i = v.get<int64_t>();
      switch (type) {
        case DataType::kInt8: if (i < -128 || i > 127) return false; AppendValue<int8_t>(out, static_cast<int8_t>(i)); return true;
        case DataType::kInt16: if (i < -32768 || i > 32767) return false; AppendValue<int16_t>(out, static_cast<int16_t>(i)); return true;
        case DataType::kInt32: if (i < INT32_MIN || i > INT32_MAX) return false; AppendValue<int32_t>(out, static_cast<int32_t>(i)); return true;
        case DataType::kInt64: AppendValue<int64_t>(out, i); return true;
        case DataType::kUint8: case DataType::kUint16: case DataType::kUint32: case DataType::kUint64:
          return false;  // negative into an unsigned type
        default: return false;
      }
    }
  }
}

// Flattens nested arrays depth-first (row-major), bounded by `limit` elements.
Status Flatten(const json& data, DataType type, const std::string& field, int64_t limit, int depth,
               std::vector<char>& out, int64_t& count) {
  if (depth > 32) return InvalidArgument(field + " is nested too deeply");
  if (data.is_array()) {
    for (const json& item : data) KILN_RETURN_IF_ERROR(Flatten(item, type, field, limit, depth + 1, out, count));
    return Status::Ok();
  }
  if (++count > limit) return InvalidArgument(field + " has more elements than its shape");
  if (!AppendElement(data, type, out)) {
    return InvalidArgument(field + " holds " + data.dump() + ", which is not a valid " +
                           std::string(serving::DataTypeName(type)) + " value");
  }
  return Status::Ok();
}

json ElementsJson(const Tensor& t) {
  json out = json::array();
  const size_t width = serving::ElementSize(t.dtype);
  const char* p = t.data.data();
  auto read = [&](auto tag, size_t i) {
    decltype(tag) v;
    std::memcpy(&v, p + i * sizeof(v), sizeof(v));
    return v;
  };
  if (t.dtype == DataType::kBytes) {  // 4-byte LE length + bytes per element
    size_t at = 0;
    while (at + 4 <= t.data.size()) {
      uint32_t len;
      std::memcpy(&len, p + at, 4);
      at += 4;
      if (len > t.data.size() - at) break;
      out.push_back(std::string(p + at, len));
      at += len;
    }
    return out;
  }
  const size_t n = width ? t.data.size() / width : 0;
  for (size_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case DataType::kBool: out.push_back(read(uint8_t{}, i) != 0); break;
      case DataType::kFp32: { float f = read(float{}, i); out.push_back(std::isfinite(f) ? json(f) : json(nullptr)); break; }
      case DataType::kFp64: { double d = read(double{}, i); out.push_back(std::isfinite(d) ? json(d) : json(nullptr)); break; }
      case DataType::kInt8: out.push_back(read(int8_t{}, i)); break;
      case DataType::kInt16: out.push_back(read(int16_t{}, i)); break;
      case DataType::kInt32: out.push_back(read(int32_t{}, i)); break;
      case DataType::kInt64: out.push_back(read(int64_t{}, i)); break;
      case DataType::kUint8: out.push_back(read(uint8_t{}, i)); break;
      case DataType::kUint16: out.push_back(read(uint16_t{}, i)); break;
      case DataType::kUint32: out.push_back(read(uint32_t{}, i)); break;
      case DataType::kUint64: out.push_back(read(uint64_t{}, i)); break;
      default: break;
    }
  }
  return out;
}

}  // namespace

namespace {

// Python's json and rapidjson (tritonclient) write NaN, Infinity and
// -Infinity as bare literals, which JSON does not have. Outside strings they
// become the strings "NaN", "Infinity", "-Infinity", which float tensors
// accept. Only used when the strict parse failed.
std::string QuoteNonFiniteLiterals(std::string_view in) {
  std::string out;
  out.reserve(in.size() + 32);
  bool in_string = false;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < in.size()) {
        out.push_back(in[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out.push_back(c);
    } else if (in.substr(i, 3) == "NaN") {
      out += "\"NaN\"";
      i += 2;
    } else if (in.substr(i, 8) == "Infinity") {
      out += "\"Infinity\"";
      i += 7;
    } else if (in.substr(i, 9) == "-Infinity") {
      out += "\"-Infinity\"";
      i += 8;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Checks a BYTES tensor's raw form: `count` elements, each a 4-byte
// little-endian length and that many bytes, exactly filling `raw`.
Status CheckBytesElements(std::string_view raw, int64_t count, const std::string& field) {
  size_t at = 0;
  for (int64_t i = 0; i < count; ++i) {
    uint32_t len = 0;
    if (raw.size() - at < sizeof(len)) return InvalidArgument(field + ": BYTES element " + std::to_string(i) + " is cut short");
    std::memcpy(&len, raw.data() + at, sizeof(len));
    at += sizeof(len);
    if (raw.size() - at < len) {
      return InvalidArgument(field + ": BYTES element " + std::to_string(i) + " claims " + std::to_string(len) +
                             " bytes, only " + std::to_string(raw.size() - at) + " remain");
    }
    at += len;
  }
  if (at != raw.size()) return InvalidArgument(field + ": " + std::to_string(raw.size() - at) + " bytes after the last BYTES element");
  return Status::Ok();
}

StatusOr<std::optional<int64_t>> BinarySize(const json& in, const std::string& field) {
  auto params = in.find("parameters");
  if (params == in.end()) return std::optional<int64_t>();
  if (!params->is_object()) return InvalidArgument(field + ".parameters must be an object");
  auto size = params->find("binary_data_size");
  if (size == params->end()) return std::optional<int64_t>();
  if (!size->is_number_unsigned()) return InvalidArgument(field + ".parameters.binary_data_size must be a non-negative integer");
  return std::optional<int64_t>(size->get<int64_t>());
}

bool BoolParam(const json& obj, const char* key) {
  auto params = obj.find("parameters");
  if (params == obj.end() || !params->is_object()) return false;
  auto v = params->find(key);
  return v != params->end() && v->is_boolean() && v->get<bool>();
}

}  // namespace

StatusOr<InferRequest> DecodeInferRequest(std::string_view body, std::optional<size_t> json_length) {
  std::string_view header = body;
  std::string_view binary;
  if (json_length) {
    if (*json_length > body.size()) {
      return InvalidArgument("Inference-Header-Content-Length " + std::to_string(*json_length) +
                             " is past the end of the " + std::to_string(body.size()) + "-byte body");
    }
    header = body.substr(0, *json_length);
    binary = body.substr(*json_length);
  }
  json doc = json::parse(header, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) doc = json::parse(QuoteNonFiniteLiterals(header), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return InvalidArgument("malformed JSON: the body must be a JSON object");
  InferRequest req;
  if (auto it = doc.find("id"); it != doc.end()) {
    if (!it->is_string()) return InvalidArgument("'id' must be a string");
    req.id = it->get<std::string>();
  }
  req.binary_outputs = BoolParam(doc, "binary_data_output");
  auto inputs = doc.find("inputs");
  if (inputs == doc.end() || !inputs->is_array() || inputs->empty()) {
    return InvalidArgument("'inputs' must be a non-empty array");
  }
  size_t cursor = 0;
  for (size_t i = 0; i < inputs->size(); ++i) {
    const json& in = (*inputs)[i];
    const std::string field = "inputs[" + std::to_string(i) + "]";
    if (!in.is_object()) return InvalidArgument(field + " must be an object");
    Tensor t;
    auto name = in.find("name");
    if (name == in.end() || !name->is_string()) return InvalidArgument(field + ".name must be a string");
    t.name = name->get<std::string>();
    auto dtype = in.find("datatype");
    if (dtype == in.end() || !dtype->is_string()) return InvalidArgument(field + ".datatype must be a string");
    auto parsed = serving::ParseDataType(dtype->get<std::string>());
    if (!parsed) return InvalidArgument(field + ".datatype '" + dtype->get<std::string>() + "' is not a V2 datatype");
    t.dtype = *parsed;
    auto shape = in.find("shape");
    if (shape == in.end() || !shape->is_array()) return InvalidArgument(field + ".shape must be an array");
    int64_t elements = 1;
    for (const json& d : *shape) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) {
        return InvalidArgument(field + ".shape must hold non-negative integers");
      }
      const int64_t dim = d.get<int64_t>();
      t.shape.push_back(dim);
      // Checked before multiplying: the product of two dimensions may overflow int64.
      if (dim != 0 && elements > kMaxElements / dim) return InvalidArgument(field + ".shape is too large");
      elements = dim == 0 ? 0 : elements * dim;
    }
    KILN_ASSIGN_OR_RETURN(std::optional<int64_t> raw_size, BinarySize(in, field));
    auto data = in.find("data");
    if (raw_size) {
      if (data != in.end()) return InvalidArgument(field + " has both binary data and 'data'");
      if (static_cast<uint64_t>(*raw_size) > binary.size() - cursor) {
        return InvalidArgument(field + ".parameters.binary_data_size " + std::to_string(*raw_size) +
                               " is past the end of the binary data (" + std::to_string(binary.size() - cursor) +
                               " bytes left)");
      }
      std::string_view raw = binary.substr(cursor, static_cast<size_t>(*raw_size));
      cursor += raw.size();
      if (t.dtype == DataType::kBytes) {
        KILN_RETURN_IF_ERROR(CheckBytesElements(raw, elements, field));
      } else if (raw.size() != static_cast<size_t>(elements) * serving::ElementSize(t.dtype)) {
        return InvalidArgument(field + " has " + std::to_string(raw.size()) + " bytes of binary data, its shape and "
                               "datatype need " + std::to_string(static_cast<size_t>(elements) *
                                                                 serving::ElementSize(t.dtype)));
      }
      t.data.assign(raw.begin(), raw.end());
    } else {
      if (data == in.end()) return InvalidArgument(field + ".data is missing");
      int64_t count = 0;
      KILN_RETURN_IF_ERROR(Flatten(*data, t.dtype, field + ".data", elements, 0, t.data, count));
      if (count != elements) {
        return InvalidArgument(field + ".data has " + std::to_string(count) + " elements, its shape needs " +
                               std::to_string(elements));
      }
    }
    req.inputs.push_back(std::move(t));
  }
  if (cursor != binary.size()) {
    return InvalidArgument(std::to_string(binary.size() - cursor) + " bytes of binary data belong to no input");
  }
  if (auto outs = doc.find("outputs"); outs != doc.end()) {
    if (!outs->is_array()) return InvalidArgument("'outputs' must be an array");
    for (const json& o : *outs) {
      if (!o.is_object() || !o.contains("name") || !o["name"].is_string()) {
        return InvalidArgument("every entry of 'outputs' needs a string 'name'");
      }
      req.outputs.push_back({o["name"].get<std::string>(), BoolParam(o, "binary_data")});
    }
  }
  return req;
}

std::string EncodeInferResponse(const std::string& model, const std::string& version, const std::string& id,
                                const std::vector<Tensor>& outputs, const std::vector<std::string>& binary,
                                bool binary_all, std::optional<size_t>* json_length) {
  json outs = json::array();
  std::string raw;
  for (const Tensor& t : outputs) {
    json o = {{"name", t.name}, {"datatype", serving::DataTypeName(t.dtype)}, {"shape", t.shape}};
    if (binary_all || std::find(binary.begin(), binary.end(), t.name) != binary.end()) {
      o["parameters"] = {{"binary_data_size", t.data.size()}};
      raw.append(t.data.begin(), t.data.end());
    } else {
      o["data"] = ElementsJson(t);
    }
    outs.push_back(std::move(o));
  }
  json out = {{"model_name", model}, {"model_version", version}, {"outputs", std::move(outs)}};
  if (!id.empty()) out["id"] = id;
  // BYTES elements need not be UTF-8; replace what is not rather than throw.
  std::string body = out.dump(-1, ' ', false, json::error_handler_t::replace);
  if (raw.empty() && !binary_all && binary.empty()) {
    json_length->reset();
    return body;
  }
  *json_length = body.size();
  return body + raw;
}

net::HttpResponse ErrorResponse(unsigned http_status, std::string_view message) {
  return net::HttpResponse::Json(http_status, json{{"error", message}}.dump());
}

net::HttpResponse ErrorResponse(const Status& status) {
  unsigned http = 500;
  switch (status.code()) {
    case StatusCode::kInvalidArgument: http = 400; break;
    case StatusCode::kNotFound: http = 404; break;
    case StatusCode::kUnavailable: http = 503; break;
    case StatusCode::kResourceExhausted: http = 503; break;
    case StatusCode::kUnimplemented: http = 501; break;
    default: break;
  }
  return ErrorResponse(http, status.message());
}

net::HttpResponse JsonResponse(const json& body) { return net::HttpResponse::Json(200, body.dump()); }

}  // namespace kiln::api::v2
