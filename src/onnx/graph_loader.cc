#include "onnx/graph_loader.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <new>
#include <set>

#include <onnx/onnx_pb.h>

#include "onnx/domains.h"

namespace kiln::onnx {
namespace {


template <typename T, typename Field>
Status FillNumeric(const ::onnx::TensorProto& p, const Field& typed, int64_t count, std::vector<T>* out) {
  const std::string& raw = p.raw_data();
  if (!raw.empty()) {
    if (raw.size() != static_cast<size_t>(count) * sizeof(T)) {
      return InvalidArgument("tensor '" + p.name() + "' has " + std::to_string(raw.size()) + " bytes of raw data, " +
                             std::to_string(count) + " elements need " + std::to_string(count * sizeof(T)));
    }
    out->resize(static_cast<size_t>(count));
    // ONNX raw_data is little-endian, as is every machine kiln builds for.
    if (count) std::memcpy(out->data(), raw.data(), raw.size());
    return Status::Ok();
  }
  if (typed.size() != count) {
    return InvalidArgument("tensor '" + p.name() + "' has " + std::to_string(typed.size()) + " values, its shape needs " +
                           std::to_string(count));
  }
  out->assign(typed.begin(), typed.end());
  return Status::Ok();
}

StatusOr<Attribute> ConvertAttribute(const ::onnx::AttributeProto& a) {
  Attribute out;
  using A = ::onnx::AttributeProto;
  if (!a.ref_attr_name().empty()) {
    return InvalidArgument("attribute '" + a.name() + "' refers to a function attribute, which is not supported");
  }
  auto type = a.type();
  if (type == A::UNDEFINED) {  // IR version 1 files carry no type: infer it from the field set
    if (a.has_f()) type = A::FLOAT;
    else if (a.has_i()) type = A::INT;
    else if (a.has_s()) type = A::STRING;
    else if (a.has_t()) type = A::TENSOR;
    else if (a.floats_size()) type = A::FLOATS;
    else if (a.ints_size()) type = A::INTS;
    else if (a.strings_size()) type = A::STRINGS;
  }
  switch (type) {
    case A::FLOAT: out.kind = Attribute::Kind::kFloat; out.f = a.f(); break;
    case A::INT: out.kind = Attribute::Kind::kInt; out.i = a.i(); break;
    case A::STRING: out.kind = Attribute::Kind::kString; out.s = a.s(); break;
    case A::FLOATS: out.kind = Attribute::Kind::kFloats; out.floats.assign(a.floats().begin(), a.floats().end()); break;
    case A::INTS: out.kind = Attribute::Kind::kInts; out.ints.assign(a.ints().begin(), a.ints().end()); break;
    case A::STRINGS:
      out.kind = Attribute::Kind::kStrings;
      out.strings.assign(a.strings().begin(), a.strings().end());
      break;
    case A::TENSOR: {
      out.kind = Attribute::Kind::kTensor;
      auto t = TensorFromProto(a.t());
      if (!t.ok()) return InvalidArgument("attribute '" + a.name() + "': " + t.status().message());
      out.tensor = std::move(t).value();
      break;
    }
    default:
      // Graphs, sparse tensors, type protos: no supported operator takes
      // them; a kernel that looks for one reports the type mismatch.
      out.kind = Attribute::Kind::kUnsupported;
      break;
  }
  return out;
}

StatusOr<ValueInfo> ConvertValueInfo(const ::onnx::ValueInfoProto& v, const char* what) {
  ValueInfo info;
  info.name = v.name();
  if (!v.type().has_tensor_type()) {
    return InvalidArgument(std::string("graph ") + what + " '" + v.name() + "' is not a tensor");
  }
  const auto& tt = v.type().tensor_type();
  auto dtype = DTypeFromOnnx(tt.elem_type());
  if (!dtype.ok()) return InvalidArgument(std::string("graph ") + what + " '" + v.name() + "': " + dtype.status().message());
  info.dtype = *dtype;
  if (tt.has_shape()) {
    info.rank_known = true;
    for (const auto& d : tt.shape().dim()) info.shape.push_back(d.has_dim_value() && d.dim_value() >= 0 ? d.dim_value() : -1);
  }
  return info;
}

std::string NormaliseDomain(const std::string& d) { return d.empty() ? std::string(kDomainOnnx) : d; }

// Output classes of a ZipMap node, for the FLOAT [batch, classes] tensor
// served in place of its sequence of maps.
int64_t ZipMapClasses(const ::onnx::NodeProto& node) {
  for (const auto& a : node.attribute()) {
    if (a.name() == "classlabels_int64s") return a.ints_size();
    if (a.name() == "classlabels_strings") return a.strings_size();
  }
  return -1;
}

}  // namespace

StatusOr<Tensor> TensorFromProto(const ::onnx::TensorProto& p) {
  if (p.data_location() == ::onnx::TensorProto::EXTERNAL || p.external_data_size() > 0) {
    return InvalidArgument("tensor '" + p.name() + "' keeps its data in an external file, which is not supported");
  }
  if (p.has_segment()) return InvalidArgument("tensor '" + p.name() + "' is segmented, which is not supported");
  std::vector<int64_t> shape(p.dims().begin(), p.dims().end());
  auto count = ElementCount(shape);
  if (!count.ok()) return InvalidArgument("tensor '" + p.name() + "': " + count.status().message());
  auto dtype = DTypeFromOnnx(p.data_type());
  if (!dtype.ok()) return InvalidArgument("tensor '" + p.name() + "': " + dtype.status().message());
  // Values beyond what the file holds are refused before allocating.
  const size_t available = p.raw_data().size() + static_cast<size_t>(p.float_data_size() + p.double_data_size() +
                                                                     p.int64_data_size() + p.int32_data_size() +
                                                                     p.string_data_size());
  if (static_cast<uint64_t>(*count) > available) {
    return InvalidArgument("tensor '" + p.name() + "' of shape " + ShapeText(shape) + " has only " +
                           std::to_string(available) + " values");
  }
  switch (*dtype) {
    case DType::kFloat: {
      std::vector<float> v;
      KILN_RETURN_IF_ERROR(FillNumeric(p, p.float_data(), *count, &v));
      return Tensor(std::move(shape), std::move(v));
    }
    case DType::kDouble: {
      std::vector<double> v;
      KILN_RETURN_IF_ERROR(FillNumeric(p, p.double_data(), *count, &v));
      return Tensor(std::move(shape), std::move(v));
    }
    case DType::kInt64: {
      std::vector<int64_t> v;
      KILN_RETURN_IF_ERROR(FillNumeric(p, p.int64_data(), *count, &v));
      return Tensor(std::move(shape), std::move(v));
    }
    case DType::kInt32: {
      std::vector<int32_t> v;
      KILN_RETURN_IF_ERROR(FillNumeric(p, p.int32_data(), *count, &v));
      return Tensor(std::move(shape), std::move(v));
    }
    case DType::kBool: {
      std::vector<uint8_t> v;
      if (!p.raw_data().empty()) {
        KILN_RETURN_IF_ERROR(FillNumeric(p, p.int32_data(), *count, &v));
      } else {
        if (p.int32_data_size() != *count) return InvalidArgument("tensor '" + p.name() + "' has the wrong number of values");
        for (int32_t b : p.int32_data()) v.push_back(b != 0);
      }
      return Tensor(std::move(shape), std::move(v));
    }
    case DType::kString: {
      if (p.string_data_size() != *count) return InvalidArgument("tensor '" + p.name() + "' has the wrong number of strings");
      return Tensor(std::move(shape), std::vector<std::string>(p.string_data().begin(), p.string_data().end()));
    }
  }
  return Internal("unreachable dtype");
}

StatusOr<Graph> ParseModel(const void* data, size_t size) {
  if (size > kMaxModelBytes) {
    return InvalidArgument("ONNX model is " + std::to_string(size) + " bytes, over the " +
                           std::to_string(kMaxModelBytes) + "-byte limit");
  }
  if (size == 0) return InvalidArgument("ONNX model is empty");
  try {
    ::onnx::ModelProto model;
    if (!model.ParseFromArray(data, static_cast<int>(size))) {
      return InvalidArgument("not an ONNX model: the protobuf does not parse (truncated or not a ModelProto)");
    }
    return GraphFromModelProto(model);
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("out of memory parsing the ONNX model");
  }
}

StatusOr<Graph> GraphFromModelProto(const ::onnx::ModelProto& model) {
  if (!model.has_graph()) return InvalidArgument("ONNX model has no graph");
  const ::onnx::GraphProto& g = model.graph();
  if (g.sparse_initializer_size() > 0) return InvalidArgument("sparse initializers are not supported");

  std::map<std::string, int64_t> opsets;
  for (const auto& o : model.opset_import()) {
    const std::string domain = NormaliseDomain(o.domain());
    opsets[domain] = std::max(opsets[domain], o.version());
  }

  Graph graph;
  graph.ir_version = model.ir_version();
  graph.producer = model.producer_name() + (model.producer_version().empty() ? "" : " " + model.producer_version());
  std::map<std::string, int> slots;
  auto slot_of = [&](const std::string& name) {
    auto [it, inserted] = slots.emplace(name, static_cast<int>(graph.slot_names.size()));
    if (inserted) {
      graph.slot_names.push_back(name);
      graph.constants.emplace_back();
    }
    return it->second;
  };

  for (const auto& init : g.initializer()) {
    if (init.name().empty()) return InvalidArgument("an initializer has no name");
    if (slots.count(init.name())) return InvalidArgument("initializer '" + init.name() + "' is defined twice");
    KILN_ASSIGN_OR_RETURN(Tensor t, TensorFromProto(init));
    graph.constants[slot_of(init.name())] = std::move(t);
  }
  std::set<std::string> input_names;
  for (const auto& in : g.input()) {
    // Before IR version 4 initializers were listed as inputs too; they are
    // constants, not something a request supplies.
    if (slots.count(in.name()) && graph.constants[slots[in.name()]]) continue;
    if (in.name().empty()) return InvalidArgument("a graph input has no name");
    if (!input_names.insert(in.name()).second) return InvalidArgument("graph input '" + in.name() + "' is listed twice");
    KILN_ASSIGN_OR_RETURN(ValueInfo info, ConvertValueInfo(in, "input"));
    graph.inputs.push_back(std::move(info));
    graph.input_slots.push_back(slot_of(in.name()));
  }

  // Producers first, so that node order in the file does not matter.
  const int num_nodes = g.node_size();
  std::map<std::string, int> producer;
  for (int n = 0; n < num_nodes; ++n) {
    for (const auto& out : g.node(n).output()) {
      if (out.empty()) continue;
      if (slots.count(out)) {
        return InvalidArgument("value '" + out + "' is produced by node '" + g.node(n).op_type() +
                               "' but is already a graph input or initializer");
      }
      if (!producer.emplace(out, n).second) return InvalidArgument("value '" + out + "' is produced by two nodes");
    }
  }
  for (const auto& [name, n] : producer) slot_of(name);

  // Kahn's algorithm over node dependencies.
  std::vector<int> pending(num_nodes, 0);
  std::vector<std::vector<int>> consumers(num_nodes);
  for (int n = 0; n < num_nodes; ++n) {
    const auto& node = g.node(n);
    for (const auto& in : node.input()) {
      if (in.empty()) continue;
      auto p = producer.find(in);
      if (p != producer.end()) {
        ++pending[n];
        consumers[p->second].push_back(n);
      } else if (!slots.count(in)) {
        return InvalidArgument("node '" + node.op_type() + "' (" + node.name() + ") reads '" + in +
                               "', which no input, initializer or node provides");
      }
    }
  }
  std::vector<int> ready;
  for (int n = num_nodes - 1; n >= 0; --n) {
    if (pending[n] == 0) ready.push_back(n);
  }
  std::vector<int> order;
  while (!ready.empty()) {
    const int n = ready.back();
    ready.pop_back();
    order.push_back(n);
    for (int c : consumers[n]) {
      if (--pending[c] == 0) ready.push_back(c);
    }
  }
  if (static_cast<int>(order.size()) != num_nodes) return InvalidArgument("the ONNX graph has a cycle");

  for (int n : order) {
    const auto& p = g.node(n);
    Node node;
    node.name = p.name();
    node.op_type = p.op_type();
    node.domain = NormaliseDomain(p.domain());
    if (node.domain != kDomainOnnx && node.domain != kDomainMl) {
      return InvalidArgument("unsupported ONNX operator '" + node.op_type + "' (domain " + node.domain +
                             "): kiln runs the ai.onnx and ai.onnx.ml domains only");
    }
    auto opset = opsets.find(node.domain);
    if (opset == opsets.end()) {
      return InvalidArgument("operator '" + node.op_type + "' is in domain " + node.domain +
                             ", for which the model imports no opset");
    }
    node.opset = opset->second;
    for (const auto& a : p.attribute()) {
      auto attr = ConvertAttribute(a);
      if (!attr.ok()) {
        return InvalidArgument("node '" + node.op_type + "' (" + node.name + "): " + attr.status().message());
      }
      node.attrs.Set(a.name(), std::move(attr).value());
    }
    for (const auto& in : p.input()) node.inputs.push_back(in.empty() ? -1 : slots.at(in));
    for (const auto& out : p.output()) node.outputs.push_back(out.empty() ? -1 : slots.at(out));
    graph.nodes.push_back(std::move(node));
  }

  if (g.output_size() == 0) return InvalidArgument("the ONNX graph has no outputs");
  for (const auto& out : g.output()) {
    auto slot = slots.find(out.name());
    if (slot == slots.end()) return InvalidArgument("graph output '" + out.name() + "' is never produced");
    ValueInfo info;
    auto p = producer.find(out.name());
    if (!out.type().has_tensor_type() && p != producer.end() && g.node(p->second).op_type() == "ZipMap") {
      info.name = out.name();
      info.dtype = DType::kFloat;
      info.shape = {-1, ZipMapClasses(g.node(p->second))};
      info.rank_known = true;
      info.from_zipmap = true;
    } else {
      KILN_ASSIGN_OR_RETURN(info, ConvertValueInfo(out, "output"));
    }
    graph.outputs.push_back(std::move(info));
    graph.output_slots.push_back(slot->second);
  }
  return graph;
}

}  // namespace kiln::onnx
