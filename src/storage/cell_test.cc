#include "storage/cell.h"

#include <gtest/gtest.h>

#include "runtime/rng.h"

namespace ringdb::storage {
namespace {

StoredValue live(int64_t ts, const char* v, int32_t ttl = 0, int32_t expiry = kNoExpiry) {
  return StoredValue::live(ts, v, ttl, expiry);
}

TEST(Reconcile, HigherTimestampWins) {
  EXPECT_EQ(reconcile(live(2, "a"), live(1, "z")).value, "a");
  EXPECT_EQ(reconcile(live(1, "z"), live(2, "a")).value, "a");
  EXPECT_EQ(reconcile(StoredValue::tombstone(1, 100), live(2, "a")).kind, StoredKind::kLive);
  EXPECT_EQ(reconcile(StoredValue::tombstone(3, 100), live(2, "a")).kind, StoredKind::kTombstone);
}

TEST(Reconcile, TombstoneWinsATie) {
  EXPECT_TRUE(reconcile(live(5, "a"), StoredValue::tombstone(5, 1)).is_tombstone());
  EXPECT_TRUE(reconcile(StoredValue::tombstone(5, 1), live(5, "a")).is_tombstone());
  // An expiring cell counts as live for this rule, whatever the clock says (CASSANDRA-14592).
  EXPECT_TRUE(reconcile(live(5, "a", 10, 1), StoredValue::tombstone(5, 1)).is_tombstone());
}

TEST(Reconcile, TwoTombstonesKeepTheLaterDeletionTime) {
  EXPECT_EQ(
      reconcile(StoredValue::tombstone(5, 10), StoredValue::tombstone(5, 20)).local_time_seconds,
      20);
  EXPECT_EQ(
      reconcile(StoredValue::tombstone(5, 20), StoredValue::tombstone(5, 10)).local_time_seconds,
      20);
}

TEST(Reconcile, LiveTieGreaterValueWins) {
  EXPECT_EQ(reconcile(live(5, "abc"), live(5, "abd")).value, "abd");
  EXPECT_EQ(reconcile(live(5, "abd"), live(5, "abc")).value, "abd");
  // Unsigned comparison: 0x80 > 0x7f.
  EXPECT_EQ(reconcile(live(5, "\x7f"), live(5, "\x80")).value, "\x80");
  // Equal values: the later expiry wins, non-expiring counting as latest.
  EXPECT_EQ(reconcile(live(5, "a", 10, 100), live(5, "a")).ttl_seconds, 0);
  EXPECT_EQ(reconcile(live(5, "a", 10, 100), live(5, "a", 10, 200)).local_time_seconds, 200);
}

TEST(Reconcile, CountersAddDeltasAndLoseToTombstones) {
  StoredValue a = StoredValue::counter_delta(1, 7, 5);
  StoredValue b = StoredValue::counter_delta(2, 7, -2);
  StoredValue c = StoredValue::counter_delta(3, 9, 10);
  StoredValue sum = reconcile(reconcile(a, b), c);
  EXPECT_EQ(sum.counter_total(), 13);
  EXPECT_EQ(reconcile(c, reconcile(b, a)).counter_total(), 13);
  // A counter tombstone wins even against a newer increment (CASSANDRA-7346).
  EXPECT_TRUE(reconcile(StoredValue::tombstone(1, 1), StoredValue::counter_delta(100, 7, 1))
                  .is_tombstone());
  EXPECT_TRUE(reconcile(sum, StoredValue::tombstone(0, 1)).is_tombstone());
}

StoredValue random_value(Rng& rng) {
  const int64_t ts = rng.uniform_range(1, 4);
  switch (rng.uniform(3)) {
    case 0:
      return StoredValue::tombstone(ts, static_cast<int32_t>(rng.uniform_range(1, 3)));
    case 1: {
      const char* values[] = {"a", "b", "\x80"};
      const bool expiring = rng.chance(0.3);
      return live(ts, values[rng.uniform(3)], expiring ? 5 : 0,
                  expiring ? static_cast<int32_t>(rng.uniform_range(1, 3)) : kNoExpiry);
    }
    default:
      return StoredValue::max_timestamp(ts);
  }
}

TEST(Reconcile, CommutativeAndAssociativeSoReplicasConverge) {
  SeededRng rng(99);
  for (int i = 0; i < 20000; ++i) {
    StoredValue a = random_value(rng), b = random_value(rng), c = random_value(rng);
    if ((a.kind == StoredKind::kMaxTimestamp) != (b.kind == StoredKind::kMaxTimestamp)) continue;
    if ((b.kind == StoredKind::kMaxTimestamp) != (c.kind == StoredKind::kMaxTimestamp)) continue;
    ASSERT_EQ(reconcile(a, b), reconcile(b, a));
    ASSERT_EQ(reconcile(reconcile(a, b), c), reconcile(a, reconcile(b, c)));
  }
}

TEST(StoredValue, EncodingRoundTripsAndRejectsGarbage) {
  for (const StoredValue& v :
       {live(1, "x", 3, 77), StoredValue::tombstone(-5, 9), StoredValue::counter_delta(4, 1, -3),
        StoredValue::max_timestamp(12)}) {
    StoredValue back;
    ASSERT_TRUE(decode_stored(encode_stored(v), &back).is_ok());
    EXPECT_EQ(back, v);
  }
  StoredValue out;
  EXPECT_EQ(decode_stored("", &out).code(), StatusCode::kCorruption);
  EXPECT_EQ(decode_stored(Bytes("\x09", 1) + Bytes(8, '\0'), &out).code(), StatusCode::kCorruption);
  EXPECT_EQ(decode_stored(encode_stored(StoredValue::tombstone(1, 1)) + "x", &out).code(),
            StatusCode::kCorruption);
}

}  // namespace
}  // namespace ringdb::storage
