#include "config/targets_files.h"

#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace pgvigil::config {
namespace {

constexpr std::uintmax_t kMaxTargetsFileBytes = 64 << 20;

}  // namespace

std::vector<std::string> MatchTargetFiles(const Config& config) {
  std::vector<std::string> files;
  const std::filesystem::path base = config.source.empty()
                                         ? std::filesystem::path(".")
                                         : std::filesystem::path(config.source).parent_path();
  for (const std::string& pattern : config.targets_files) {
    const std::string full = std::filesystem::path(pattern).is_absolute()
                                 ? pattern
                                 : (base / pattern).lexically_normal().string();
    glob_t matched{};
    if (::glob(full.c_str(), 0, nullptr, &matched) == 0) {
      for (std::size_t i = 0; i < matched.gl_pathc; ++i) {
        // Regular files only: a glob that meets a FIFO or /dev/zero must not hang the load.
        struct stat info {};
        if (::stat(matched.gl_pathv[i], &info) == 0 && S_ISREG(info.st_mode)) {
          files.emplace_back(matched.gl_pathv[i]);
        }
      }
    }
    ::globfree(&matched);
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  return files;
}

std::string TargetFilesState(const Config& config) {
  std::string state;
  for (const std::string& file : MatchTargetFiles(config)) {
    struct stat info {};
    if (::stat(file.c_str(), &info) != 0) continue;
    state += file + " " + std::to_string(info.st_mtim.tv_sec) + "." +
             std::to_string(info.st_mtim.tv_nsec) + " " + std::to_string(info.st_size) + "\n";
  }
  return state;
}

std::string ReadTargetsFile(const std::string& file) {
  std::error_code error;
  const std::uintmax_t size = std::filesystem::file_size(file, error);
  if (!error && size > kMaxTargetsFileBytes) {
    throw ConfigError(file + ": targets file larger than 64 MiB");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(file + ": cannot open targets file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace pgvigil::config
