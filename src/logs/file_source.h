#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>

namespace pgvigil::logs {

// Follows a file the way `tail -F` does: starts at its end (no replay of history), notices
// rotation (the path now names a new file: read the rest of the old one, then the new one from
// its start) and truncation (copytruncate: start again from 0). Bytes are handed out exactly
// once. Used by one thread.
class FileFollower {
 public:
  explicit FileFollower(std::string path) : path_(std::move(path)) {}
  ~FileFollower();
  FileFollower(const FileFollower&) = delete;
  FileFollower& operator=(const FileFollower&) = delete;

  // Reads what was written since the last call. `rotated` is called between the end of an old
  // file and the start of a new one. Throws std::runtime_error if the file cannot be read.
  void Poll(const std::function<void(std::string_view)>& data,
            const std::function<void()>& rotated);

 private:
  void ReadToEnd(const std::function<void(std::string_view)>& data);

  std::string path_;
  int fd_ = -1;
  dev_t device_ = 0;
  ino_t inode_ = 0;
  off_t offset_ = 0;
  bool started_ = false;
};

}  // namespace pgvigil::logs
