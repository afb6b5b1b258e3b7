#include "http/listen.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace pgvigil::http {
namespace {

class ListenBacklogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("pgvigil-listen-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // ListenBacklog() with a somaxconn file holding `text`.
  int BacklogFor(const std::string& text) {
    const auto path = (dir_ / "somaxconn").string();
    std::ofstream(path, std::ios::trunc) << text;
    return ListenBacklog(path);
  }

  std::filesystem::path dir_;
};

TEST_F(ListenBacklogTest, IsTheKernelsSomaxconn) {
  EXPECT_EQ(BacklogFor("4096\n"), 4096);
  EXPECT_EQ(BacklogFor("128\n"), 128);
  EXPECT_EQ(BacklogFor("1"), 1);
  EXPECT_EQ(BacklogFor("65535\n"), 65535);
}

TEST_F(ListenBacklogTest, IsCappedAtSixteenBits) {
  EXPECT_EQ(BacklogFor("65536\n"), 65535);
  EXPECT_EQ(BacklogFor("2147483647\n"), 65535);
  EXPECT_EQ(BacklogFor("99999999999999999999999\n"), 65535);
}

TEST_F(ListenBacklogTest, FallsBackTo4096WhenUnreadableOrNotANumber) {
  EXPECT_EQ(ListenBacklog((dir_ / "absent").string()), 4096);
  EXPECT_EQ(ListenBacklog(dir_.string()), 4096);  // a directory: nothing to read
  EXPECT_EQ(BacklogFor(""), 4096);
  EXPECT_EQ(BacklogFor("\n"), 4096);
  EXPECT_EQ(BacklogFor("-1\n"), 4096);
  EXPECT_EQ(BacklogFor("+200\n"), 4096);
  EXPECT_EQ(BacklogFor("12ab\n"), 4096);
  EXPECT_EQ(BacklogFor("200 300\n"), 4096);
}

TEST_F(ListenBacklogTest, DefaultPathReadsThisSystemsValue) {
  std::ifstream file("/proc/sys/net/core/somaxconn");
  int expected = 4096;
  if (file >> expected && expected > 65535) expected = 65535;
  EXPECT_EQ(ListenBacklog(), expected);
}

TEST(ApplyListenBacklogTest, WorksOnBoundAndListeningSocketsOnly) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  EXPECT_TRUE(ApplyListenBacklog(fd));  // bound: starts listening
  EXPECT_TRUE(ApplyListenBacklog(fd));  // listening: the backlog is replaced
  ::close(fd);
  EXPECT_FALSE(ApplyListenBacklog(fd));  // closed
}

}  // namespace
}  // namespace pgvigil::http
