#include "agent/schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace pgvigil::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using TimePoint = Schedule::TimePoint;

// A fake steady clock: the test says what time it is.
TimePoint At(milliseconds since_boot) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(since_boot));
}

milliseconds Since(TimePoint t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch());
}

TEST(ScheduleTest, PhaseIsStableAndWithinTheInterval) {
  const Schedule a("db-17", "probe", seconds(5));
  const Schedule again("db-17", "probe", seconds(5));
  EXPECT_EQ(a.phase(), again.phase());
  EXPECT_GE(a.phase(), milliseconds(0));
  EXPECT_LT(a.phase(), seconds(5));
  // Another collector of the same target, and the same collector of another target, differ.
  EXPECT_NE(a.phase(), Schedule("db-17", "activity", seconds(5)).phase());
  EXPECT_NE(a.phase(), Schedule("db-18", "probe", seconds(5)).phase());
  // FNV-1a is fixed: a target keeps its phase across builds.
  EXPECT_EQ(StableHash(""), 14695981039346656037ULL);
  EXPECT_EQ(StableHash("a"), 0xaf63dc4c8601ec8cULL);
}

TEST(ScheduleTest, RunsFallOnThePhaseGridAnIntervalApart) {
  const Schedule schedule("primary", "activity", seconds(10));
  // First run at once (t = 1000.123 s), then on the grid at least half an interval later.
  TimePoint start = At(milliseconds(1'000'123));
  TimePoint next = schedule.After(start, 0.0);
  EXPECT_GE(next - start, seconds(5));
  EXPECT_LT(next - start, seconds(15));
  EXPECT_EQ((Since(next) - schedule.phase()) % seconds(10), milliseconds(0));
  // Every later run, started a little late, is exactly one interval on.
  for (int i = 0; i < 5; ++i) {
    const TimePoint late_start = next + milliseconds(37);
    const TimePoint after = schedule.After(late_start, 0.0);
    EXPECT_EQ(after - next, seconds(10));
    next = after;
  }
}

TEST(ScheduleTest, JitterIsBoundedAndDoesNotDrift) {
  const Schedule schedule("primary", "probe", seconds(5));
  EXPECT_EQ(schedule.max_jitter(), milliseconds(250));  // 5% of 5 s
  EXPECT_EQ(Schedule("x", "settings", seconds(300)).max_jitter(), milliseconds(500));
  const TimePoint start = At(milliseconds(2'000'000));
  const TimePoint plain = schedule.After(start, 0.0);
  const TimePoint jittered = schedule.After(start, 0.99);
  EXPECT_GT(jittered, plain);
  EXPECT_LE(jittered - plain, milliseconds(250));
  // A jittered start still lands on the next grid point plus jitter, not one interval later.
  EXPECT_EQ(schedule.After(jittered, 0.0) - plain, seconds(5));
}

TEST(ScheduleTest, AThousandTargetsStartedTogetherAreSpreadOverTheInterval) {
  // All started at the same instant: their second runs spread over the 5 s interval, about
  // 1000/50 per 100 ms slot; none holds more than three times its share.
  const TimePoint start = At(milliseconds(3'600'000));
  std::map<long long, int> per_slot;
  for (int i = 0; i < 1000; ++i) {
    const Schedule schedule("db-" + std::to_string(i), "probe", seconds(5));
    const TimePoint next = schedule.After(start, 0.0);
    per_slot[(Since(next) % seconds(5)).count() / 100] += 1;
  }
  EXPECT_EQ(per_slot.size(), 50u);
  int busiest = 0;
  for (const auto& [slot, count] : per_slot) busiest = std::max(busiest, count);
  EXPECT_LE(busiest, 60) << "1000 probes, 50 slots of 100 ms";
}

}  // namespace
}  // namespace pgvigil::agent
