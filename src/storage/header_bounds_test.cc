#include "storage/header_bounds.h"

#include <gtest/gtest.h>

#include <limits>

namespace ringdb::storage {
namespace {

TEST(HeaderBounds, RoundsUpToTheStepAndSaturates) {
  HeaderBounds bounds(16, 1000);
  EXPECT_EQ(bounds.round_up(0), 0);
  EXPECT_EQ(bounds.round_up(1), 1000);
  EXPECT_EQ(bounds.round_up(1000), 1000);
  EXPECT_EQ(bounds.round_up(1001), 2000);
  EXPECT_EQ(bounds.round_up(-1), 0);
  EXPECT_EQ(bounds.round_up(-999), 0);
  EXPECT_EQ(bounds.round_up(-1000), -1000);
  EXPECT_EQ(bounds.round_up(-1001), -1000);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(bounds.round_up(kMax), kMax);
  EXPECT_EQ(bounds.round_up(kMax - 500), kMax);
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  EXPECT_GE(bounds.round_up(kMin), kMin);
  EXPECT_EQ(HeaderBounds(16, 1).round_up(12345), 12345);
}

TEST(HeaderBounds, CoversOnlyWhatWasRecordedForThatPartition) {
  HeaderBounds bounds(16, 1000);
  EXPECT_FALSE(bounds.covers(3, 7, "partition-a", 10));
  bounds.record(3, 7, "partition-a", 2000);
  EXPECT_TRUE(bounds.covers(3, 7, "partition-a", 10));
  EXPECT_TRUE(bounds.covers(3, 7, "partition-a", 2000));
  EXPECT_FALSE(bounds.covers(3, 7, "partition-a", 2001));
  // Another partition in the same slot is not covered, and takes the slot over.
  EXPECT_FALSE(bounds.covers(3, 7, "partition-b", 10));
  bounds.record(3, 7, "partition-b", 5000);
  EXPECT_FALSE(bounds.covers(3, 7, "partition-a", 10));
  EXPECT_TRUE(bounds.covers(3, 7, "partition-b", 10));
  // A lower bound recorded later does not lower what is known.
  bounds.record(3, 7, "partition-b", 3000);
  EXPECT_TRUE(bounds.covers(3, 7, "partition-b", 5000));
  // Slots of other stripes and tokens are apart.
  bounds.record(4, 8, "partition-c", 1000);
  EXPECT_TRUE(bounds.covers(3, 7, "partition-b", 5000));
  EXPECT_TRUE(bounds.covers(4, 8, "partition-c", 1000));
  bounds.clear();
  EXPECT_FALSE(bounds.covers(3, 7, "partition-b", 10));
  EXPECT_FALSE(bounds.covers(4, 8, "partition-c", 10));
}

}  // namespace
}  // namespace ringdb::storage
