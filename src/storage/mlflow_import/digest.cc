#include "storage/mlflow_import/digest.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace kiln::storage::mlflow_import {

RowDigest& RowDigest::Add(std::string_view s) {
  Byte('s');
  const uint64_t n = s.size();
  Bytes(&n, sizeof n);
  return Bytes(s.data(), s.size());
}

RowDigest& RowDigest::Add(int64_t v) {
  Byte('i');
  return Bytes(&v, sizeof v);
}

RowDigest& RowDigest::AddDouble(double v) {
  Byte('d');
  if (std::isnan(v)) v = std::numeric_limits<double>::quiet_NaN();
  if (v == 0) v = 0;  // -0.0 and 0.0 are one stored value in both stores
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return Bytes(&bits, sizeof bits);
}

uint64_t RowDigest::Hash() const {
  uint64_t h = h_;
  // Mixed so a sum of hashes of similar rows does not cancel structurally.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

std::string TableDigest::Hex() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(sum));
  return buf;
}

}  // namespace kiln::storage::mlflow_import
