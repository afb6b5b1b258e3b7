#include "logs/file_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace pgvigil::logs {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;

}  // namespace

FileFollower::~FileFollower() {
  if (fd_ >= 0) ::close(fd_);
}

void FileFollower::ReadToEnd(const std::function<void(std::string_view)>& data) {
  std::vector<char> buffer(kReadChunk);
  while (true) {
    const ssize_t got = ::pread(fd_, buffer.data(), buffer.size(), offset_);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw std::runtime_error("reading " + path_ + ": " + std::strerror(errno));
    if (got == 0) return;
    offset_ += got;
    data(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
  }
}

void FileFollower::Poll(const std::function<void(std::string_view)>& data,
                        const std::function<void()>& rotated) {
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      throw std::runtime_error("cannot open log file " + path_ + ": " + std::strerror(errno));
    }
    struct stat st {};
    ::fstat(fd_, &st);
    device_ = st.st_dev;
    inode_ = st.st_ino;
    // The first file is read from its end; a file that replaced it after a rotation, whole.
    offset_ = started_ ? 0 : st.st_size;
    started_ = true;
  }
  struct stat open_file {};
  ::fstat(fd_, &open_file);
  if (open_file.st_size < offset_) offset_ = 0;  // truncated in place (copytruncate)
  ReadToEnd(data);

  struct stat at_path {};
  if (::stat(path_.c_str(), &at_path) != 0) return;  // rotated away; the new file is not there yet
  if (at_path.st_dev == device_ && at_path.st_ino == inode_) return;
  ReadToEnd(data);  // whatever reached the old file before the switch
  ::close(fd_);
  fd_ = -1;
  rotated();
  Poll(data, rotated);
}

}  // namespace pgvigil::logs
