// Offline cells -> Feast values, by the feature's declared type, the way
// Feast's materialization converts them (type_map.py's
// python_values_to_proto_values over the Arrow column). Checked against
// Feast 0.67 materializing every (column type, declared type) pair:
// - where Feast stores the value (an int64 column as Float32, a double as
//   Float32, a timestamp as UnixTimestamp in whole seconds) kiln stores the
//   same bytes;
// - where Feast fails (a float32 or int32 column for a Float64 feature,
//   strings or timestamps for numbers, anything but bytes for Bytes) kiln
//   refuses the column;
// - where Feast would silently lose or garble data (3.7 into an Int64
//   feature, a double column as UnixTimestamp, bytes or timestamps as
//   String) kiln refuses too, naming the column and the value.
// Values are written as serialized feast.types.Value messages by hand (one
// oneof field each, the bytes protobuf itself produces); a null cell is the
// empty string, which the online store reads back as "no value".
//
// List columns: a NULL list is Feast's empty Value, an empty list a typed
// empty list; NULL elements become what Feast's _LIST_NONE_DEFAULTS puts in
// their place ("" for strings, b"" for bytes, False for bools, the null
// timestamp for timestamps) and NaN for floats (pyarrow's to_numpy turns a
// null float into NaN before Feast sees it); a NULL element in an integer
// list is refused, since pyarrow turns the whole batch's integers into floats
// and Feast then fails.
//
// Value types; thread-compatible (an encoder is immutable once created).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "features/entity_key.h"
#include "features/view_schema.h"
#include "storage/offline_engine.h"

namespace kiln::features {

// Feast's names (Int64, Float32, ...) and the engine's column type names,
// for messages.
std::string_view DeclaredTypeName(ValueType type);
std::string_view ColumnTypeName(storage::ColumnType type);

class ValueEncoder {
 public:
  // InvalidArgument naming `column` when Feast could not (or could only
  // lossily) store a column of type `from` as a `to` feature.
  static StatusOr<ValueEncoder> Create(storage::ColumnType from, ValueType to, std::string_view column);
  // The same for a chunk's column, which may be a list (its element type
  // decides); a list column for a scalar feature and a scalar column for a
  // list feature are refused.
  static StatusOr<ValueEncoder> Create(const storage::Column& column, ValueType to, std::string_view name);

  // *out = the serialized Value of column.<row>, or empty for a null cell.
  // InvalidArgument when this cell cannot be stored exactly (a fraction or an
  // out-of-range number for an integer feature).
  Status Encode(const storage::Column& column, size_t row, std::string* out) const;

 private:
  enum class Op {
    kIntToInt64,
    kIntToInt32,
    kFloatToInt64,
    kFloatToInt32,
    kIntToFloat,
    kFloatToFloat,
    kIntToDouble,
    kFloatToDouble,
    kBoolToBool,
    kIntToBool,
    kString,
    kIntToString,
    kBoolToString,
    kDoubleToString,
    kFloat32ToString,
    kBytes,
    kTimestampToUnix,
    kIntToUnix,
    // Lists, as Feast's _convert_list_values_to_proto stores the numpy
    // arrays pyarrow's to_numpy() yields for the column.
    kStringList,
    kBytesList,
    kIntToInt64List,
    kIntToInt32List,
    kFloatToFloatList,
    kFloatToDoubleList,
    kBoolList,
    kTimestampList,
    kIntToUnixList,
  };
  static StatusOr<ValueEncoder> CreateList(storage::ColumnType element, ValueType to, std::string_view column);
  Status EncodeList(const storage::Column& column, size_t row, std::string* out) const;
  ValueEncoder(Op op, std::string column, ValueType to = ValueType::kInvalid)
      : op_(op), to_(to), column_(std::move(column)) {}

  Op op_;
  ValueType to_;
  std::string column_;
};

// The entity key value of one join-key cell, converted to the entity's
// declared join key type as Feast does (an int64 column for an Int32 entity
// must fit). Null keys are refused: Feast cannot serialize them.
Status EntityValueFromColumn(const storage::Column& column, size_t row, const EntityColumn& entity,
                             EntityKeyValue* out);

// Validates that a join-key column of type `from` can feed an entity of
// type `entity.type` (once per scan, before any row is read).
Status CheckEntityColumn(storage::ColumnType from, const EntityColumn& entity);

// Python's repr() of a double and numpy's str() of a float32, which is what
// Feast writes for a float column declared String.
std::string PythonFloatRepr(double value);
std::string NumpyFloat32Str(float value);

}  // namespace kiln::features
