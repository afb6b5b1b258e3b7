#include "metrics/process.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace pgvigil::metrics {
namespace {

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double value = 0;
      in >> value;
      return value;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

}  // namespace

ProcessStats ReadProcessStats() {
  ProcessStats stats;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  std::ifstream stat_file("/proc/self/stat");
  std::string line;
  std::getline(stat_file, line);
  // The command name may hold spaces; fields are counted from the closing parenthesis.
  if (auto close = line.rfind(')'); close != std::string::npos) {
    std::istringstream fields(line.substr(close + 2));
    std::string field;
    for (int index = 3; fields >> field; ++index) {
      if (index == 14) stats.cpu_seconds += std::stod(field) / ticks;
      if (index == 15) stats.cpu_seconds += std::stod(field) / ticks;
      if (index == 22) stats.start_time_seconds = BootTimeSeconds() + std::stod(field) / ticks;
      if (index == 23) stats.virtual_memory_bytes = std::stod(field);
      if (index == 24) {
        stats.resident_memory_bytes = std::stod(field) * page;
        break;
      }
    }
  }
  std::error_code error;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    stats.open_fds += 1;
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) stats.max_fds = static_cast<double>(limit.rlim_cur);
  return stats;
}

void AddProcessMetrics(const ProcessStats& stats, FamilySet& out) {
  out.Gauge("process_resident_memory_bytes", "Resident memory size in bytes.", {},
            stats.resident_memory_bytes);
  out.Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", {},
            stats.virtual_memory_bytes);
  out.Counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", {},
              stats.cpu_seconds);
  out.Gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
            {}, stats.start_time_seconds);
  out.Gauge("process_open_fds", "Number of open file descriptors.", {}, stats.open_fds);
  out.Gauge("process_max_fds", "Maximum number of open file descriptors.", {}, stats.max_fds);
}

}  // namespace pgvigil::metrics
