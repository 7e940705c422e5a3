// Table digests that compare an import's source with its target: each row is
// spelled canonically (fields joined by \x1f, doubles as %.17g with nan/inf/
// -inf, absent values empty), hashed with FNV-1a 64, and the hashes summed,
// so the digest does not depend on row order and chunks add up.
//
// Value type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kiln::storage::mlflow_import {

class RowDigest {
 public:
  RowDigest& Add(std::string_view s);
  RowDigest& Add(int64_t v) { return Add(std::string_view(std::to_string(v))); }
  RowDigest& Add(const std::optional<int64_t>& v) { return v ? Add(*v) : Add(std::string_view()); }
  RowDigest& AddDouble(double v);
  uint64_t Hash() const;

 private:
  std::string text_;
};

struct TableDigest {
  int64_t rows = 0;
  uint64_t sum = 0;
  void Add(const RowDigest& r) {
    ++rows;
    sum += r.Hash();
  }
  std::string Hex() const;
};

}  // namespace kiln::storage::mlflow_import
