// Graph: an ONNX model's main graph as the executor runs it — named value
// slots, initializers decoded into tensors, the graph's inputs (initializers
// excluded) and outputs, and the nodes in a topological order with their
// attributes. Built from a ModelProto by graph_loader.h; holds no protobuf.
//
// Ownership: owns everything (initializer tensors included).
// Thread-safety: immutable after loading; safe to share between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "onnx/attributes.h"
#include "onnx/tensor.h"

namespace kiln::onnx {

// A graph input or output. Dimensions that are symbolic or unknown are -1;
// `shape` is empty with `rank_known` false when the model gives no shape.
struct ValueInfo {
  std::string name;
  DType dtype = DType::kFloat;
  std::vector<int64_t> shape;
  bool rank_known = false;
  // Set for an output produced by ZipMap: the model declares a sequence of
  // maps, which the executor serves as the FLOAT [batch, classes] tensor
  // ZipMap was given (kiln tensors cannot hold maps).
  bool from_zipmap = false;
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // normalised: "ai.onnx" or "ai.onnx.ml"
  int64_t opset = 0;
  Attributes attrs;
  std::vector<int> inputs;   // value slots; -1 for an omitted optional input
  std::vector<int> outputs;  // value slots; -1 for an omitted optional output
};

struct Graph {
  std::vector<std::string> slot_names;         // one per value slot
  std::vector<std::optional<Tensor>> constants;  // per slot: the initializer, if any
  std::vector<ValueInfo> inputs;
  std::vector<int> input_slots;
  std::vector<ValueInfo> outputs;
  std::vector<int> output_slots;
  std::vector<Node> nodes;  // topologically ordered
  int64_t ir_version = 0;
  std::string producer;  // e.g. "skl2onnx 1.20.0"
};

}  // namespace kiln::onnx
