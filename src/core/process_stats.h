// Samples this process's resource use from /proc for /metrics. Thread-safe.
#pragma once

#include <cstdint>

namespace kiln {

struct ProcessStats {
  int64_t resident_bytes = 0;
  int64_t virtual_bytes = 0;
  double cpu_seconds = 0;
  int64_t open_fds = 0;
  double start_time_seconds = 0;  // since the Unix epoch
};

ProcessStats SampleProcessStats();

}  // namespace kiln
