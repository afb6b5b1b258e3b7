#include "config/sharding.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pgvigil::config {
namespace {

TEST(StableHashTest, IsFnv1a64) {
  // The published FNV-1a 64-bit test vectors (the offset basis for "", then "a" and "foobar").
  EXPECT_EQ(StableHash(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(StableHash("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(StableHash("foobar"), 0x85944171f73967e8ULL);
}

TEST(ShardTest, EveryTargetInExactlyOneShardAndFewMoveWhenTheCountChanges) {
  std::vector<std::string> names;
  for (int i = 0; i < 1000; ++i) names.push_back("db-" + std::to_string(i));
  std::vector<int> per_shard(3, 0);
  int moved = 0;
  for (const auto& name : names) {
    int owners = 0;
    unsigned owner = 0;
    for (unsigned shard = 0; shard < 3; ++shard) {
      if (InShard(name, shard, 3)) {
        ++owners;
        owner = shard;
      }
    }
    ASSERT_EQ(owners, 1) << name;
    per_shard[owner] += 1;
    // From three agents to four, a target moves only to the new one.
    if (!InShard(name, owner, 4)) {
      EXPECT_TRUE(InShard(name, 3, 4)) << name;
      ++moved;
    }
  }
  for (const int count : per_shard) EXPECT_NEAR(count, 333, 60);
  EXPECT_NEAR(moved, 250, 60);  // about a quarter, never a reshuffle
  EXPECT_TRUE(InShard("anything", 0, 1));
}

}  // namespace
}  // namespace pgvigil::config
