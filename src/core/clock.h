// Time sources. Services take a Clock so tests can substitute a fixed one.
// Implementations are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

namespace kiln {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMillis() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace kiln
