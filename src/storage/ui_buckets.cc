#include <algorithm>

#include "storage/ui_query_store.h"

namespace kiln::storage {

StatusOr<BucketPlan> PlanBuckets(int64_t start, int64_t end, int64_t max_buckets) {
  if (max_buckets < 1) return InvalidArgument("the number of buckets must be at least 1");
  if (end < start) {
    return InvalidArgument("the x range is empty: end " + std::to_string(end) + " is before start " +
                           std::to_string(start));
  }
  // The span in 128 bits: [INT64_MIN, INT64_MAX] holds 2^64 values.
  const __int128 span = static_cast<__int128>(end) - static_cast<__int128>(start) + 1;
  if (span > static_cast<__int128>(INT64_MAX)) {
    return InvalidArgument("the x range [" + std::to_string(start) + ", " + std::to_string(end) +
                           "] is too wide to bucket (more than 2^63-1 values)");
  }
  BucketPlan p;
  p.start = start;
  p.end = end;
  const int64_t n = static_cast<int64_t>(span);
  p.width = n / max_buckets + (n % max_buckets != 0 ? 1 : 0);
  p.count = n / p.width + (n % p.width != 0 ? 1 : 0);
  return p;
}

int64_t BucketPlan::IndexOf(int64_t x) const {
  return static_cast<int64_t>((static_cast<__int128>(x) - start) / width);
}

int64_t BucketPlan::BucketStart(int64_t b) const {
  return static_cast<int64_t>(static_cast<__int128>(start) + static_cast<__int128>(b) * width);
}

int64_t BucketPlan::BucketEnd(int64_t b) const {
  const __int128 e = static_cast<__int128>(start) + static_cast<__int128>(b + 1) * width - 1;
  return static_cast<int64_t>(std::min<__int128>(e, end));
}

}  // namespace kiln::storage
