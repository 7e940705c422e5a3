#include "onnx/attributes.h"

namespace kiln::onnx {
namespace {

const char* KindName(Attribute::Kind k) {
  switch (k) {
    case Attribute::Kind::kInt: return "int";
    case Attribute::Kind::kFloat: return "float";
    case Attribute::Kind::kString: return "string";
    case Attribute::Kind::kInts: return "ints";
    case Attribute::Kind::kFloats: return "floats";
    case Attribute::Kind::kStrings: return "strings";
    case Attribute::Kind::kTensor: return "tensor";
    case Attribute::Kind::kUnsupported: break;
  }
  return "unsupported type";
}

}  // namespace

StatusOr<const Attribute*> Attributes::Find(const std::string& name, Attribute::Kind kind) const {
  auto it = values_.find(name);
  if (it == values_.end()) return static_cast<const Attribute*>(nullptr);
  if (it->second.kind != kind) {
    return InvalidArgument("attribute '" + name + "' is of type " + KindName(it->second.kind) + ", expected " +
                           KindName(kind));
  }
  return &it->second;
}

StatusOr<int64_t> Attributes::Int(const std::string& name, int64_t dflt) const {
  KILN_ASSIGN_OR_RETURN(const Attribute* a, Find(name, Attribute::Kind::kInt));
  return a ? a->i : dflt;
}

StatusOr<float> Attributes::Float(const std::string& name, float dflt) const {
  KILN_ASSIGN_OR_RETURN(const Attribute* a, Find(name, Attribute::Kind::kFloat));
  return a ? a->f : dflt;
}

StatusOr<std::string> Attributes::String(const std::string& name, std::string dflt) const {
  KILN_ASSIGN_OR_RETURN(const Attribute* a, Find(name, Attribute::Kind::kString));
  return a ? a->s : dflt;
}

StatusOr<std::vector<int64_t>> Attributes::Ints(const std::string& name) const {
  KILN_ASSIGN_OR_RETURN(const Attribute* a, Find(name, Attribute::Kind::kInts));
  return a ? a->ints : std::vector<int64_t>{};
}

StatusOr<std::vector<float>> Attributes::Floats(const std::string& name) const {
  KILN_ASSIGN_OR_RETURN(const Attribute* a, Find(name, Attribute::Kind::kFloats));
  return a ? a->floats : std::vector<float>{};
}

StatusOr<std::vector<std::string>> Attributes::Strings(const std::string& name) const {
  KILN_ASSIGN_OR_RETURN(const Attribute* a, Find(name, Attribute::Kind::kStrings));
  return a ? a->strings : std::vector<std::string>{};
}

StatusOr<std::optional<Tensor>> Attributes::TensorValue(const std::string& name) const {
  KILN_ASSIGN_OR_RETURN(const Attribute* a, Find(name, Attribute::Kind::kTensor));
  if (!a) return std::optional<Tensor>();
  return std::optional<Tensor>(a->tensor);
}

StatusOr<std::vector<double>> Attributes::FloatsOrTensor(const std::string& name) const {
  KILN_ASSIGN_OR_RETURN(std::vector<float> floats, Floats(name));
  KILN_ASSIGN_OR_RETURN(std::optional<Tensor> tensor, TensorValue(name + "_as_tensor"));
  if (!floats.empty() && tensor) return InvalidArgument("both '" + name + "' and '" + name + "_as_tensor' are set");
  if (tensor) {
    if (tensor->dtype() != DType::kFloat && tensor->dtype() != DType::kDouble) {
      return InvalidArgument("attribute '" + name + "_as_tensor' must hold float or double values");
    }
    return NumericValues(*tensor, name + "_as_tensor");
  }
  return std::vector<double>(floats.begin(), floats.end());
}

}  // namespace kiln::onnx
