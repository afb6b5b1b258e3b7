#include "collectors/top_n.h"

#include <gtest/gtest.h>

#include <string>

namespace pgvigil::collectors {
namespace {

using Ranked = std::vector<std::pair<double, std::string>>;

std::set<std::string> Top2(Ranked ranked) {
  return TopKeys(std::move(ranked), 2, [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
}

TEST(TopKeysTest, HighestRanksTiesByTheGivenOrder) {
  EXPECT_EQ(Top2({{1, "a"}, {5, "b"}, {3, "c"}}), (std::set<std::string>{"b", "c"}));
  EXPECT_EQ(Top2({{1, "c"}, {1, "b"}, {1, "a"}}), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(Top2({{1, "a"}}), (std::set<std::string>{"a"}));
}

// Members hold how many polls they were in the top, to show values survive.
class TopNWithHysteresisTest : public ::testing::Test {
 protected:
  void Poll(const std::set<std::string>& in_top) {
    top_.Update(
        in_top, [](const std::string&) { return 0; },
        [this](const std::string& key, int) { left_.push_back(key); });
  }
  [[nodiscard]] std::set<std::string> Members() const {
    std::set<std::string> keys;
    for (const auto& [key, member] : top_.members()) keys.insert(key);
    return keys;
  }

  TopNWithHysteresis<std::string, int> top_{2};
  std::vector<std::string> left_;
};

TEST_F(TopNWithHysteresisTest, KeyStaysForTheHysteresisThenLeaves) {
  Poll({"a", "b"});
  for (int poll = 1; poll <= kTopNHysteresisPolls; ++poll) {
    Poll({"b", "c"});
    EXPECT_EQ(Members(), (std::set<std::string>{"a", "b", "c"})) << poll;
  }
  Poll({"b", "c"});
  EXPECT_EQ(Members(), (std::set<std::string>{"b", "c"}));
  EXPECT_EQ(left_, std::vector<std::string>{"a"});
}

TEST_F(TopNWithHysteresisTest, ReturningToTheTopRestartsTheCount) {
  Poll({"a", "b"});
  for (int poll = 0; poll < kTopNHysteresisPolls; ++poll) Poll({"b", "c"});
  Poll({"a", "b"});
  for (int poll = 0; poll < kTopNHysteresisPolls; ++poll) Poll({"b", "c"});
  EXPECT_TRUE(Members().contains("a"));
  EXPECT_TRUE(left_.empty());
}

TEST_F(TopNWithHysteresisTest, AtMostTwiceNLongestOutOfTheTopLeavingFirst) {
  Poll({"a", "b"});
  Poll({"c", "d"});
  EXPECT_EQ(Members().size(), 4U);
  Poll({"e", "f"});  // a and b are out 2 polls, c and d 1: a and b leave, in key order
  EXPECT_EQ(Members(), (std::set<std::string>{"c", "d", "e", "f"}));
  EXPECT_EQ(left_, (std::vector<std::string>{"a", "b"}));
}

TEST_F(TopNWithHysteresisTest, JoinGivesTheValueAndLeaveSeesIt) {
  TopNWithHysteresis<std::string, double> totals{1};
  std::vector<double> left_with;
  auto poll = [&](const std::set<std::string>& in_top) {
    totals.Update(
        in_top, [](const std::string& key) { return key == "a" ? 7.0 : 1.0; },
        [&](const std::string&, double value) { left_with.push_back(value); });
  };
  poll({"a"});
  totals.members().at("a").value += 3;
  poll({"b"});
  poll({"c"});  // three members for at most two: a, longest out, leaves with its total
  EXPECT_EQ(left_with, std::vector<double>{10.0});
}

}  // namespace
}  // namespace pgvigil::collectors
