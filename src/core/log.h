// Minimal leveled logging to stderr. One line per call, written with a single
// write(2) so lines from different threads never interleave. Thread-safe.
#pragma once

#include <string_view>

namespace kiln::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLevel(Level level);
Level GetLevel();
// Parses "debug", "info", "warn", "error"; false when unknown.
bool ParseLevel(std::string_view name, Level* out);
void Write(Level level, std::string_view message);

inline void Debug(std::string_view m) { if (GetLevel() <= Level::kDebug) Write(Level::kDebug, m); }
inline void Info(std::string_view m) { if (GetLevel() <= Level::kInfo) Write(Level::kInfo, m); }
inline void Warn(std::string_view m) { Write(Level::kWarn, m); }
inline void Error(std::string_view m) { Write(Level::kError, m); }

}  // namespace kiln::log
