// Attributes: a node's attributes copied out of the protobuf, so kernels
// validate them without depending on the ONNX protobuf headers. Getters
// return the default when an attribute is absent and InvalidArgument when it
// is present with another type, naming the attribute.
//
// Value type; immutable after loading, so safe to read from many threads.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "onnx/tensor.h"

namespace kiln::onnx {

struct Attribute {
  enum class Kind { kInt, kFloat, kString, kInts, kFloats, kStrings, kTensor, kUnsupported };
  Kind kind = Kind::kUnsupported;
  int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> strings;
  Tensor tensor;
};

class Attributes {
 public:
  void Set(const std::string& name, Attribute value) { values_[name] = std::move(value); }
  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  const std::map<std::string, Attribute>& all() const { return values_; }

  StatusOr<int64_t> Int(const std::string& name, int64_t dflt) const;
  StatusOr<float> Float(const std::string& name, float dflt) const;
  StatusOr<std::string> String(const std::string& name, std::string dflt) const;
  // Empty when absent.
  StatusOr<std::vector<int64_t>> Ints(const std::string& name) const;
  StatusOr<std::vector<float>> Floats(const std::string& name) const;
  StatusOr<std::vector<std::string>> Strings(const std::string& name) const;
  StatusOr<std::optional<Tensor>> TensorValue(const std::string& name) const;
  // ai.onnx.ml opset 3 added `<name>_as_tensor` twins of float-list
  // attributes (double precision); whichever is present is returned.
  StatusOr<std::vector<double>> FloatsOrTensor(const std::string& name) const;

 private:
  StatusOr<const Attribute*> Find(const std::string& name, Attribute::Kind kind) const;
  std::map<std::string, Attribute> values_;
};

}  // namespace kiln::onnx
