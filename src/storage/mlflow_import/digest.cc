#include "storage/mlflow_import/digest.h"

#include <cmath>
#include <cstdio>

namespace kiln::storage::mlflow_import {

RowDigest& RowDigest::Add(std::string_view s) {
  if (!text_.empty()) text_.push_back('\x1f');
  text_.append(s);
  return *this;
}

RowDigest& RowDigest::AddDouble(double v) {
  if (std::isnan(v)) return Add(std::string_view("nan"));
  if (std::isinf(v)) return Add(std::string_view(v > 0 ? "inf" : "-inf"));
  if (v == 0) v = 0;  // -0.0 and 0.0 are one stored value in both stores
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return Add(std::string_view(buf));
}

uint64_t RowDigest::Hash() const {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text_) {
    h ^= c;
    h *= 1099511628211ull;
  }
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
