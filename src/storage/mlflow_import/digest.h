// Table digests that compare an import's source with its target: each row's
// fields are hashed canonically (FNV-1a 64 over text bytes, integers as 8
// bytes, doubles as their bits with one NaN and one zero, each field tagged
// and terminated so field boundaries count), and the row hashes summed, so
// the digest does not depend on row order and chunks add up.
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
  RowDigest& Add(int64_t v);
  RowDigest& Add(const std::optional<int64_t>& v) { return v ? Add(*v) : Byte(0); }
  RowDigest& AddDouble(double v);
  uint64_t Hash() const;

 private:
  RowDigest& Byte(unsigned char c) {
    h_ = (h_ ^ c) * 1099511628211ull;
    return *this;
  }
  RowDigest& Bytes(const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) Byte(b[i]);
    return *this;
  }
  uint64_t h_ = 1469598103934665603ull;
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
