#include "core/process_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace kiln {
namespace {

double BootTimeSeconds() {
  FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return 0;
  char line[256];
  double btime = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "btime ", 6) == 0) {
      btime = std::strtod(line + 6, nullptr);
      break;
    }
  }
  std::fclose(f);
  return btime;
}

}  // namespace

ProcessStats SampleProcessStats() {
  ProcessStats s;
  const long page = sysconf(_SC_PAGESIZE);
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    long size = 0, resident = 0;
    if (std::fscanf(f, "%ld %ld", &size, &resident) == 2) {
      s.virtual_bytes = size * page;
      s.resident_bytes = resident * page;
    }
    std::fclose(f);
  }
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    s.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                    static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  }
  if (DIR* d = opendir("/proc/self/fd")) {
    int64_t n = 0;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
    s.open_fds = n - 1;  // the directory stream itself
  }
  if (FILE* f = std::fopen("/proc/self/stat", "r")) {
    char buf[1024];
    size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    std::fclose(f);
    // Field 22 (starttime, in clock ticks since boot) follows the ")" of comm.
    if (char* p = std::strrchr(buf, ')')) {
      int field = 2;
      char* tok = p + 1;
      unsigned long long start_ticks = 0;
      while (*tok && field < 22) {
        while (*tok == ' ') ++tok;
        ++field;
        if (field == 22) {
          start_ticks = std::strtoull(tok, nullptr, 10);
          break;
        }
        while (*tok && *tok != ' ') ++tok;
      }
      s.start_time_seconds = BootTimeSeconds() + static_cast<double>(start_ticks) / sysconf(_SC_CLK_TCK);
    }
  }
  return s;
}

}  // namespace kiln
