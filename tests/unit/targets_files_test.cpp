#include "config/targets_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace pgvigil::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class TargetsFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("pgvigil-targets-files-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "targets.d");
    config_.source = (dir_ / "fleet.yaml").string();
    config_.targets_files = {"targets.d/*.yml"};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  std::filesystem::path dir_;
  Config config_;
};

TEST_F(TargetsFilesTest, MatchesRegularFilesSortedRelativeToTheConfigFile) {
  const std::string b = Write("targets.d/b.yml", "- name: b\n");
  const std::string a = Write("targets.d/a.yml", "- name: a\n");
  Write("targets.d/ignored.txt", "- name: c\n");
  std::filesystem::create_directories(dir_ / "targets.d/dir.yml");
  ASSERT_EQ(::mkfifo((dir_ / "targets.d/fifo.yml").c_str(), 0600), 0);
  // A second glob matching the same file lists it once.
  config_.targets_files.push_back("targets.d/a.*");
  EXPECT_THAT(MatchTargetFiles(config_), ElementsAre(a, b));
  config_.targets_files = {(dir_ / "targets.d/b.yml").string()};  // an absolute glob
  EXPECT_THAT(MatchTargetFiles(config_), ElementsAre(b));
  config_.targets_files = {"nothing/*.yml"};
  EXPECT_TRUE(MatchTargetFiles(config_).empty());
}

TEST_F(TargetsFilesTest, StateChangesWhenAFileDoes) {
  EXPECT_EQ(TargetFilesState(config_), "");
  Write("targets.d/a.yml", "- name: a1\n");
  const std::string before = TargetFilesState(config_);
  EXPECT_THAT(before, HasSubstr("targets.d/a.yml"));
  EXPECT_EQ(TargetFilesState(config_), before);
  Write("targets.d/c.yml", "- name: c1\n");
  const std::string added = TargetFilesState(config_);
  EXPECT_NE(added, before);
  Write("targets.d/c.yml", "- name: c1\n- name: c2\n");  // same name, new size
  EXPECT_NE(TargetFilesState(config_), added);
}

TEST_F(TargetsFilesTest, ReadsAFileOrNamesItInTheError) {
  EXPECT_EQ(ReadTargetsFile(Write("targets.d/a.yml", "- name: a1\n")), "- name: a1\n");
  const std::string absent = (dir_ / "targets.d/absent.yml").string();
  try {
    (void)ReadTargetsFile(absent);
    FAIL() << "a missing file was read";
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()), absent + ": cannot open targets file");
  }
  const std::string huge = (dir_ / "targets.d/huge.yml").string();
  std::filesystem::resize_file(Write("targets.d/huge.yml", ""), (64 << 20) + 1);
  try {
    (void)ReadTargetsFile(huge);
    FAIL() << "a file over 64 MiB was read";
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()), huge + ": targets file larger than 64 MiB");
  }
}

}  // namespace
}  // namespace pgvigil::config
