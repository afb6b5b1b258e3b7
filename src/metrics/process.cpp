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

namespace {

using prometheus::MetricType;

const Descriptor kResidentMemory{
    "process_resident_memory_bytes", MetricType::Gauge, "Resident memory size in bytes.", {}};
const Descriptor kVirtualMemory{
    "process_virtual_memory_bytes", MetricType::Gauge, "Virtual memory size in bytes.", {}};
const Descriptor kCpuSeconds{"process_cpu_seconds_total",
                             MetricType::Counter,
                             "Total user and system CPU time spent in seconds.",
                             {}};
const Descriptor kStartTime{"process_start_time_seconds",
                            MetricType::Gauge,
                            "Start time of the process since unix epoch in seconds.",
                            {}};
const Descriptor kOpenFds{
    "process_open_fds", MetricType::Gauge, "Number of open file descriptors.", {}};
const Descriptor kMaxFds{
    "process_max_fds", MetricType::Gauge, "Maximum number of open file descriptors.", {}};

}  // namespace

std::span<const Descriptor> ProcessMetrics() {
  static const Descriptor all[] = {kResidentMemory, kVirtualMemory, kCpuSeconds,
                                   kStartTime,      kOpenFds,       kMaxFds};
  return all;
}

void AddProcessMetrics(const ProcessStats& stats, FamilySet& out) {
  out.Add(kResidentMemory, {}, stats.resident_memory_bytes);
  out.Add(kVirtualMemory, {}, stats.virtual_memory_bytes);
  out.Add(kCpuSeconds, {}, stats.cpu_seconds);
  out.Add(kStartTime, {}, stats.start_time_seconds);
  out.Add(kOpenFds, {}, stats.open_fds);
  out.Add(kMaxFds, {}, stats.max_fds);
}

}  // namespace pgvigil::metrics
