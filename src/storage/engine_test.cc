#include <algorithm>
#include <filesystem>
#include <future>
#include <numeric>
#include <random>
#include <thread>

#include "common/murmur3.h"
#include "runtime/rng.h"
#include "storage/keys.h"
#include "storage/test_util.h"

namespace ringdb::storage {
namespace {

using testing::as_int32;
using testing::as_int64;
using testing::int32_value;
using testing::timeuuid_value;

class EngineTest : public testing::EngineFixture {
 protected:
  // The versions a read of `key` folds: merge operands, and a plain value below them.
  int versions_of(const Bytes& key) {
    std::vector<rocksdb::PinnableSlice> operands(1024);
    rocksdb::GetMergeOperandsOptions options;
    options.expected_max_number_of_operands = static_cast<int>(operands.size());
    int count = 0;
    rocksdb::Status s = engine_->rocksdb()->GetMergeOperands(
        rocksdb::ReadOptions(), engine_->rocksdb()->DefaultColumnFamily(), key, operands.data(),
        &options, &count);
    if (s.IsNotFound()) return 0;
    EXPECT_TRUE(s.ok()) << s.ToString();
    return count;
  }
  static Bytes prefix_of(int32_t pk) {
    const Bytes key = testing::int32_value(pk);
    return partition_prefix(kTable, murmur3_token(key), key);
  }
  // The versions of partition `pk`'s header key.
  int header_operands(int32_t pk) {
    return versions_of(section_key(prefix_of(pk), Section::kMaxTimestamp));
  }
  // Reads partition `pk` whole, with its read statistics.
  Partition read_counting(int32_t pk, ReadStats* stats) {
    ReadCommand c;
    c.table = kTable;
    c.partition_key = int32_value(pk);
    auto p = engine_->read(c, stats);
    EXPECT_TRUE(p.is_ok()) << p.status().to_string();
    return p.is_ok() ? std::move(p).value() : Partition{};
  }
  // The versions of the value cell of row (pk, ck).
  int value_versions(int32_t pk, int32_t ck) {
    Bytes key = section_key(prefix_of(pk), Section::kRow);
    EXPECT_TRUE(encode_clustering(table(false), {int32_value(ck)}, &key).is_ok());
    append_column(kValue, &key);
    return versions_of(key);
  }
};

TEST_F(EngineTest, WriteThenReadAndHigherTimestampWins) {
  apply(insert(1, 1, 100, 10));
  EXPECT_EQ(value_of(1, 1), 100);
  apply(insert(1, 1, 200, 5));  // older: loses
  EXPECT_EQ(value_of(1, 1), 100);
  apply(insert(1, 1, 300, 11));
  EXPECT_EQ(value_of(1, 1), 300);
  apply(insert(1, 1, 250, 11));  // tie: the greater value stays
  EXPECT_EQ(value_of(1, 1), 300);
  EXPECT_EQ(value_of(2, 1), std::nullopt);
}

TEST_F(EngineTest, ReplicasConvergeWhateverTheArrivalOrder) {
  // The same mutations applied in different orders to two engines read back identically.
  std::vector<Mutation> mutations;
  SeededRng rng(5);
  for (int i = 0; i < 300; ++i) {
    const int32_t pk = static_cast<int32_t>(rng.uniform(3));
    const int32_t ck = static_cast<int32_t>(rng.uniform(8));
    const int64_t ts = rng.uniform_range(1, 40);
    switch (rng.uniform(5)) {
      case 0:
        mutations.push_back(delete_row(pk, ck, ts));
        break;
      case 1:
        mutations.push_back(delete_range(pk, ck, true, ck + 2, false, ts));
        break;
      case 2:
        mutations.push_back(update(pk, ck, static_cast<int32_t>(rng.uniform(4)), ts));
        break;
      default:
        mutations.push_back(insert(pk, ck, static_cast<int32_t>(rng.uniform(4)), ts));
        break;
    }
  }
  auto snapshot_reads = [&] {
    std::vector<std::pair<int32_t, std::optional<int32_t>>> out;
    for (int32_t pk = 0; pk < 3; ++pk) {
      for (const auto& row : read(pk).rows) {
        std::optional<int32_t> v;
        for (const auto& c : row.cells) v = as_int32(c.value);
        out.emplace_back(as_int32(row.clustering[0]), v);
      }
    }
    return out;
  };
  for (const auto& m : mutations) apply(m);
  const auto forward = snapshot_reads();
  testing::TempDir other;
  open(CommitLogSync::kPeriodic, other.path());
  std::shuffle(mutations.begin(), mutations.end(), std::mt19937(7));
  for (size_t i = 0; i < mutations.size(); ++i) {
    apply(mutations[i]);
    if (i == mutations.size() / 2) {
      ASSERT_TRUE(engine_->flush().is_ok());  // half in SSTs, half in memtable
    }
  }
  EXPECT_EQ(snapshot_reads(), forward);
  EXPECT_FALSE(forward.empty());
}

TEST_F(EngineTest, ClusteringOrderAscDescReversedAndLimit) {
  for (int32_t ck : {5, -3, 0, 12, -100}) apply(insert(1, ck, ck, 1));
  EXPECT_EQ(row_keys(1), (std::vector<int32_t>{-100, -3, 0, 5, 12}));
  ReadCommand reversed;
  reversed.reversed = true;
  EXPECT_EQ(row_keys(1, reversed), (std::vector<int32_t>{12, 5, 0, -3, -100}));
  ReadCommand limited;
  limited.row_limit = 2;
  EXPECT_EQ(row_keys(1, limited), (std::vector<int32_t>{-100, -3}));
  limited.reversed = true;
  EXPECT_EQ(row_keys(1, limited), (std::vector<int32_t>{12, 5}));

  ASSERT_TRUE(engine_->register_table(table(/*descending=*/true)).is_ok());
  for (int32_t ck : {5, -3, 0, 12, -100}) apply(insert(2, ck, ck, 1));
  EXPECT_EQ(row_keys(2), (std::vector<int32_t>{12, 5, 0, -3, -100}));
}

TEST_F(EngineTest, SliceBoundsInclusiveAndExclusive) {
  for (int32_t ck = 0; ck < 10; ++ck) apply(insert(1, ck, ck, 1));
  ReadCommand c;
  c.start = {{int32_value(2)}, true};
  c.end = {{int32_value(5)}, false};
  EXPECT_EQ(row_keys(1, c), (std::vector<int32_t>{2, 3, 4}));
  c.start.inclusive = false;
  c.end.inclusive = true;
  EXPECT_EQ(row_keys(1, c), (std::vector<int32_t>{3, 4, 5}));
  c.reversed = true;
  EXPECT_EQ(row_keys(1, c), (std::vector<int32_t>{5, 4, 3}));
  c.start = {};
  c.reversed = false;
  EXPECT_EQ(row_keys(1, c), (std::vector<int32_t>{0, 1, 2, 3, 4, 5}));
  c.start = {{int32_value(7)}, true};
  c.end = {{int32_value(3)}, true};
  EXPECT_TRUE(row_keys(1, c).empty());
}

TEST_F(EngineTest, RowMarkerKeepsAnInsertedRowAliveButNotAnUpdatedOne) {
  apply(insert(1, 1, 7, 10));
  apply(update(1, 2, 8, 10));
  Mutation null_both = partition(1);
  for (int32_t ck : {1, 2}) {
    RowWrite row;
    row.clustering = {int32_value(ck)};
    row.cells.push_back({CellWrite::Kind::kDelete, kValue, std::nullopt, "", 11, 0, 0});
    null_both.rows.push_back(row);
  }
  apply(null_both);
  // Row 1 still exists (its marker is live) with no cells; row 2 had only a cell and is gone.
  Partition p = read(1);
  ASSERT_EQ(p.rows.size(), 1u);
  EXPECT_EQ(as_int32(p.rows[0].clustering[0]), 1);
  EXPECT_TRUE(p.rows[0].cells.empty());
  EXPECT_EQ(p.rows[0].marker_timestamp, 10);
}

TEST_F(EngineTest, RowDeletionShadowsOnlyOlderOrEqualWrites) {
  apply(insert(1, 1, 7, 10));
  apply(delete_row(1, 1, 9));
  EXPECT_EQ(value_of(1, 1), 7);
  apply(delete_row(1, 1, 10));  // equal timestamp: deleted
  EXPECT_EQ(value_of(1, 1), std::nullopt);
  apply(insert(1, 1, 8, 11));
  EXPECT_EQ(value_of(1, 1), 8);
}

TEST_F(EngineTest, PartitionDeletionShadowsRowsAndStaticRow) {
  apply(insert(1, 1, 7, 10));
  apply(insert(1, 2, 7, 20));
  Mutation s = partition(1);
  RowWrite st;
  st.is_static = true;
  st.cells.push_back({CellWrite::Kind::kSet, kStatic, std::nullopt, "shared", 10, 0, 0});
  s.rows.push_back(st);
  apply(s);
  ASSERT_TRUE(read(1).static_row.has_value());
  Mutation del = partition(1);
  del.partition_deletion_timestamp = 15;
  apply(del);
  Partition p = read(1);
  EXPECT_FALSE(p.static_row.has_value());
  ASSERT_EQ(p.rows.size(), 1u);
  EXPECT_EQ(as_int32(p.rows[0].clustering[0]), 2);
}

TEST_F(EngineTest, StaticRowIsReturnedWithOrWithoutRows) {
  Mutation s = partition(3);
  RowWrite st;
  st.is_static = true;
  st.cells.push_back({CellWrite::Kind::kSet, kStatic, std::nullopt, "only static", 1, 0, 0});
  s.rows.push_back(st);
  apply(s);
  Partition p = read(3);
  ASSERT_TRUE(p.static_row.has_value());
  EXPECT_EQ(p.static_row->cells.at(0).value, "only static");
  EXPECT_TRUE(p.rows.empty());
  Mutation bad = s;
  bad.rows[0].cells[0].column = kValue;
  EXPECT_EQ(engine_->apply(bad).code(), StatusCode::kInvalidArgument);
}

TEST_F(EngineTest, RangeTombstoneShadowsOlderRowsOnly) {
  for (int32_t ck = 0; ck < 10; ++ck) apply(insert(1, ck, ck, 10));
  apply(insert(1, 5, 55, 30));  // newer than the tombstone below
  apply(delete_range(1, 2, true, 7, false, 20));
  EXPECT_EQ(row_keys(1), (std::vector<int32_t>{0, 1, 5, 7, 8, 9}));
  ReadCommand reversed;
  reversed.reversed = true;
  EXPECT_EQ(row_keys(1, reversed), (std::vector<int32_t>{9, 8, 7, 5, 1, 0}));
  apply(delete_range(1, 8, false, 9, true, 20));  // (8, 9]
  EXPECT_EQ(row_keys(1), (std::vector<int32_t>{0, 1, 5, 7, 8}));
}

TEST_F(EngineTest, ReadSkipsARangeTombstoneInOneStep) {
  // Timestamps in seconds' worth of microseconds: the header holds the writes' highest
  // timestamp rounded up to a second (EngineOptions::header_timestamp_step_micros).
  constexpr int64_t kSecond = 1'000'000;
  for (int32_t ck = 0; ck < 2000; ++ck) apply(insert(1, ck, ck, 10 * kSecond + ck));
  ASSERT_TRUE(engine_->flush().is_ok());
  apply(delete_range(1, 10, true, 1990, false, 20 * kSecond));
  for (bool reversed : {false, true}) {
    ReadCommand c;
    c.reversed = reversed;
    c.table = kTable;
    c.partition_key = int32_value(1);
    ReadStats stats;
    auto p = engine_->read(c, &stats);
    ASSERT_TRUE(p.is_ok());
    EXPECT_EQ(p->rows.size(), 20u);
    EXPECT_EQ(stats.range_tombstone_skips, 1u);
    // 20 live rows × 2 cells, the header, and the one row where the skip happened: not 4000.
    EXPECT_LT(stats.keys_visited, 60u) << (reversed ? "reversed" : "forward");
  }
  // A write newer than the tombstone inside its range: the read must not skip it.
  apply(insert(1, 500, 5, 30 * kSecond));
  ReadStats stats;
  EXPECT_EQ(read_counting(1, &stats).rows.size(), 21u);
  EXPECT_EQ(stats.range_tombstone_skips, 0u);
}

TEST_F(EngineTest, AHotPartitionsHeaderGetsOneOperandPerStep) {
  constexpr int64_t kSecond = 1'000'000;
  const int64_t t = 1'700'000'000 * kSecond + 1;
  // A thousand writes within one step (one second): one header operand, not a thousand.
  for (int32_t i = 0; i < 1000; ++i) apply(insert(1, i % 50, i, t + i));
  EXPECT_EQ(header_operands(1), 1);
  // Later writes add one per second of time they reach into; older ones add none.
  for (int32_t i = 0; i < 1000; ++i) apply(insert(1, i % 50, i, t + kSecond + i));
  for (int32_t i = 0; i < 1000; ++i) apply(insert(1, i % 50, i, t - 5 * kSecond));
  EXPECT_EQ(header_operands(1), 2);
  apply(insert(2, 0, 0, t));
  EXPECT_EQ(header_operands(2), 1);
  // The header still bounds every write: a tombstone older than the last write skips nothing.
  apply(delete_range(1, 0, true, 50, false, t + kSecond + 500));
  ReadStats stats;
  // Rows 0-49, last written at t + 1s + 950 to 999.
  EXPECT_EQ(read_counting(1, &stats).rows.size(), 50u);
  EXPECT_EQ(stats.range_tombstone_skips, 0u);
}

// One clustered row written 3,000 times: its keys collapse every kRowOperandsMax writes, and a
// read sees what the writes add up to, whatever their timestamps.
TEST_F(EngineTest, AHotClusteredRowCollapsesAndLosesNoWrite) {
  SeededRng rng(33);
  const std::vector<int64_t> timestamps = shuffled_timestamps(3000, 33);
  int64_t value_ts = 0, deleted_ts = 0;
  int32_t value = 0;
  auto expected = [&]() -> std::optional<int32_t> {
    if (value_ts > deleted_ts) return value;
    return std::nullopt;
  };
  int max_versions = 0;
  for (size_t i = 0; i < timestamps.size(); ++i) {
    const int64_t ts = timestamps[i];
    const int32_t v = static_cast<int32_t>(i);
    switch (i == 0 ? 0 : rng.uniform(4)) {
      case 0:
      case 1:
        apply(i % 2 == 0 ? insert(1, 7, v, ts) : update(1, 7, v, ts));
        if (ts > value_ts) value_ts = ts, value = v;
        break;
      default:
        if (rng.uniform(3) == 0) {
          apply(delete_row(1, 7, ts));
          deleted_ts = std::max(deleted_ts, ts);
        } else {
          apply(insert(1, 8, v, ts));  // another row of the partition
        }
        break;
    }
    max_versions = std::max(max_versions, value_versions(1, 7));
    if (i % 89 == 0) {
      ASSERT_EQ(value_of(1, 7), expected()) << "after write " << i;
    }
  }
  EXPECT_EQ(value_of(1, 7), expected());
  EXPECT_LE(max_versions, static_cast<int>(Engine::kRowOperandsMax) + 1);
  EXPECT_GE(max_versions, static_cast<int>(Engine::kRowOperandsMax) - 1);
  ASSERT_TRUE(engine_->flush().is_ok());
  EXPECT_EQ(value_of(1, 7), expected());
  open(CommitLogSync::kPeriodic);
  EXPECT_EQ(value_of(1, 7), expected());
  ASSERT_TRUE(engine_->compact_all().is_ok());
  EXPECT_EQ(value_of(1, 7), expected());
}

// A mutation that writes one key twice (the newer version first) must not collapse the key
// under its second operand, which would hide the first.
TEST_F(EngineTest, AKeyWrittenTwiceInOneMutationKeepsBothVersions) {
  for (int32_t i = 0; i < 100; ++i) {
    Mutation m = insert(1, 7, 1000 + i, 10 * i + 5);
    m.rows[0].cells.push_back(
        {CellWrite::Kind::kSet, kValue, std::nullopt, int32_value(i), 10 * i + 1, 0, 0});
    apply(m);
    ASSERT_EQ(value_of(1, 7), 1000 + i) << i;
  }
}

TEST_F(EngineTest, TruncateForgetsTheHeaderBoundsItDeleted) {
  constexpr int64_t kSecond = 1'000'000;
  const int64_t t = 1'700'000'000 * kSecond;
  apply(insert(1, 1, 1, t));
  ASSERT_TRUE(engine_->truncate_table(kTable).is_ok());
  EXPECT_EQ(header_operands(1), 0);
  // The same write again needs its header again, or the older tombstone below would count as
  // newer than every write of the partition and hide the row.
  apply(insert(1, 1, 1, t));
  EXPECT_EQ(header_operands(1), 1);
  apply(delete_range(1, 0, true, 5, false, t - 1));
  EXPECT_EQ(row_keys(1), (std::vector<int32_t>{1}));
}

TEST_F(EngineTest, TtlExpiresCellsAndMarkersAndTableDefaultApplies) {
  apply(insert(1, 1, 7, 10, /*ttl=*/100));
  EXPECT_EQ(value_of(1, 1), 7);
  Partition p = read(1);
  ASSERT_EQ(p.rows.size(), 1u);
  EXPECT_EQ(p.rows[0].cells[0].ttl_seconds, 100);
  clock_.advance_seconds(99);
  EXPECT_EQ(value_of(1, 1), 7);
  clock_.advance_seconds(1);
  EXPECT_EQ(value_of(1, 1), std::nullopt);
  EXPECT_TRUE(read(1).rows.empty());

  ASSERT_TRUE(engine_->register_table(table(false, /*default_ttl=*/50)).is_ok());
  apply(insert(2, 1, 1, 10));               // table default: 50 s
  apply(insert(2, 2, 2, 10, /*ttl=*/0));    // explicit TTL 0: never expires
  apply(insert(2, 3, 3, 10, /*ttl=*/500));  // explicit TTL wins over the default
  clock_.advance_seconds(60);
  EXPECT_EQ(row_keys(2), (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(engine_->apply(insert(2, 4, 4, 10, /*ttl=*/-5)).code(), StatusCode::kInvalidArgument);
}

TEST_F(EngineTest, CollectionsKeepElementOrderAndOverwriteShadowsOlderElements) {
  auto add_tag = [&](const char* tag, int64_t ts) {
    Mutation m = partition(1);
    RowWrite row;
    row.clustering = {int32_value(1)};
    row.cells.push_back({CellWrite::Kind::kSet, kTags, Bytes(tag), "", ts, 0, 0});
    m.rows.push_back(row);
    apply(m);
  };
  add_tag("pear", 1);
  add_tag("apple", 1);
  add_tag("zebra", 1);
  auto tags = [&] {
    std::vector<std::string> out;
    for (const auto& row : read(1).rows) {
      for (const auto& c : row.cells) {
        if (c.column == kTags) out.push_back(*c.path);
      }
    }
    return out;
  };
  EXPECT_EQ(tags(), (std::vector<std::string>{"apple", "pear", "zebra"}));
  // SET tags = {'kiwi'} at ts 5: a collection tombstone at ts 4, then the new element.
  Mutation overwrite = partition(1);
  RowWrite row;
  row.clustering = {int32_value(1)};
  row.cells.push_back({CellWrite::Kind::kCollectionDelete, kTags, std::nullopt, "", 4, 0, 0});
  row.cells.push_back({CellWrite::Kind::kSet, kTags, Bytes("kiwi"), "", 5, 0, 0});
  overwrite.rows.push_back(row);
  apply(overwrite);
  add_tag("late", 6);
  add_tag("stale", 3);  // older than the overwrite: shadowed
  EXPECT_EQ(tags(), (std::vector<std::string>{"kiwi", "late"}));
  // Remove one element.
  Mutation remove = partition(1);
  RowWrite r2;
  r2.clustering = {int32_value(1)};
  r2.cells.push_back({CellWrite::Kind::kDelete, kTags, Bytes("kiwi"), "", 7, 0, 0});
  remove.rows.push_back(r2);
  apply(remove);
  EXPECT_EQ(tags(), (std::vector<std::string>{"late"}));

  // Lists order by their timeuuid paths; maps by key.
  Mutation list = partition(2);
  RowWrite lr;
  lr.clustering = {int32_value(1)};
  lr.cells.push_back({CellWrite::Kind::kSet, kList, timeuuid_value(300), int32_value(3), 1, 0, 0});
  lr.cells.push_back({CellWrite::Kind::kSet, kList, timeuuid_value(100), int32_value(1), 1, 0, 0});
  lr.cells.push_back(
      {CellWrite::Kind::kSet, kList, timeuuid_value(0x0100000000ULL), int32_value(4), 1, 0, 0});
  lr.cells.push_back({CellWrite::Kind::kSet, kMap, Bytes("b"), int32_value(20), 1, 0, 0});
  lr.cells.push_back({CellWrite::Kind::kSet, kMap, Bytes("a"), int32_value(10), 1, 0, 0});
  list.rows.push_back(lr);
  apply(list);
  std::vector<int32_t> list_values, map_values;
  const Partition listed = read(2);
  for (const auto& c : listed.rows.at(0).cells) {
    if (c.column == kList) list_values.push_back(as_int32(c.value));
    if (c.column == kMap) map_values.push_back(as_int32(c.value));
  }
  EXPECT_EQ(list_values, (std::vector<int32_t>{1, 3, 4}));
  EXPECT_EQ(map_values, (std::vector<int32_t>{10, 20}));
}

TEST_F(EngineTest, CountersAddUpAndStayDeleted) {
  auto add = [&](int64_t delta, int64_t ts) {
    Mutation m;
    m.table = kCounters;
    m.partition_key = "page";
    RowWrite row;
    row.cells.push_back({CellWrite::Kind::kCounterAdd, kCount, std::nullopt, "", ts, 0, delta});
    m.rows.push_back(row);
    apply(m);
  };
  auto total = [&]() -> std::optional<int64_t> {
    ReadCommand c;
    c.table = kCounters;
    c.partition_key = "page";
    auto p = engine_->read(c);
    EXPECT_TRUE(p.is_ok());
    if (p->rows.empty()) return std::nullopt;
    EXPECT_TRUE(p->rows[0].cells[0].is_counter);
    return as_int64(p->rows[0].cells[0].value);
  };
  add(5, 1);
  add(3, 2);
  ASSERT_TRUE(engine_->flush().is_ok());
  add(-1, 3);
  EXPECT_EQ(total(), 7);
  Mutation bad;
  bad.table = kCounters;
  bad.partition_key = "page";
  RowWrite row;
  row.cells.push_back(
      {CellWrite::Kind::kSet, kCount, std::nullopt, testing::int64_value(1), 4, 0, 0});
  bad.rows.push_back(row);
  EXPECT_EQ(engine_->apply(bad).code(), StatusCode::kInvalidArgument);
  Mutation del = bad;
  del.rows[0].cells[0].kind = CellWrite::Kind::kDelete;
  apply(del);
  EXPECT_EQ(total(), std::nullopt);
  add(10, 100);  // a deleted counter cannot come back (Cassandra's rule)
  EXPECT_EQ(total(), std::nullopt);
}

TEST_F(EngineTest, CompactionPurgesTombstonesAfterGcGraceWithoutResurrection) {
  ASSERT_TRUE(engine_->register_table(table(false, 0, /*gc_grace=*/3600)).is_ok());
  for (int32_t ck = 0; ck < 50; ++ck) apply(insert(1, ck, ck, 10));
  apply(insert(2, 0, 0, 10, /*ttl=*/60));
  ASSERT_TRUE(engine_->flush().is_ok());
  apply(delete_range(1, 0, true, 20, false, 20));
  apply(delete_row(1, 30, 20));
  ASSERT_TRUE(engine_->flush().is_ok());
  const auto expected = row_keys(1);
  ASSERT_EQ(expected.size(), 29u);

  // Before gc_grace: shadowed data goes, tombstones stay.
  ASSERT_TRUE(engine_->compact_all().is_ok());
  ASSERT_TRUE(engine_->compact_all().is_ok());
  EXPECT_EQ(engine_->compaction_counters().purged_tombstones.load(), 0u);
  EXPECT_GT(engine_->compaction_counters().dropped_shadowed.load(), 0u);
  EXPECT_EQ(row_keys(1), expected);

  clock_.advance_seconds(3601 + 60);
  ASSERT_TRUE(engine_->compact_all().is_ok());
  ASSERT_TRUE(engine_->compact_all().is_ok());
  EXPECT_GE(engine_->compaction_counters().purged_tombstones.load(), 2u);
  EXPECT_GE(engine_->compaction_counters().purged_expired.load(), 1u);
  EXPECT_EQ(row_keys(1), expected);  // nothing deleted came back
  EXPECT_TRUE(row_keys(2).empty());

  // The raw keyspace holds no tombstone and no expired cell any more.
  std::unique_ptr<rocksdb::Iterator> it(engine_->rocksdb()->NewIterator(rocksdb::ReadOptions()));
  size_t tombstones = 0;
  for (it->Seek(table_prefix(1)); it->Valid(); it->Next()) {  // after the format key
    StoredValue v;
    ASSERT_TRUE(decode_stored(BytesView(it->value().data(), it->value().size()), &v).is_ok());
    tombstones +=
        v.is_tombstone() || (v.kind == StoredKind::kLive && !v.is_live(clock_.now_seconds()));
  }
  EXPECT_EQ(tombstones, 0u);
}

TEST_F(EngineTest, ScanWalksTokensInOrderAndPagesResumeExactly) {
  for (int32_t pk = 0; pk < 40; ++pk) {
    for (int32_t ck = 0; ck < (pk % 4); ++ck) apply(insert(pk, ck, pk * 100 + ck, 1));
  }
  apply(delete_row(7, 1, 5));
  auto full = engine_->scan({kTable, INT64_MIN, INT64_MAX, "", 100000, 0});
  ASSERT_TRUE(full.is_ok());
  EXPECT_TRUE(full->cursor.empty());
  std::vector<std::pair<int64_t, int32_t>> all;
  for (const auto& p : full->partitions) {
    EXPECT_EQ(p.token, murmur3_token(p.partition_key));
    for (const auto& r : p.rows) all.emplace_back(p.token, as_int32(r.cells.at(0).value));
  }
  EXPECT_EQ(all.size(), 59u);  // 10×(0+1+2+3) rows, one deleted
  EXPECT_TRUE(
      std::is_sorted(all.begin(), all.end(), [](auto& a, auto& b) { return a.first < b.first; }));

  for (uint64_t page_size : {1u, 2u, 3u, 7u}) {
    std::vector<std::pair<int64_t, int32_t>> paged;
    ScanCommand command{kTable, INT64_MIN, INT64_MAX, "", page_size, 0};
    int pages = 0;
    do {
      auto page = engine_->scan(command);
      ASSERT_TRUE(page.is_ok()) << page.status().to_string();
      for (const auto& p : page->partitions) {
        for (const auto& r : p.rows) paged.emplace_back(p.token, as_int32(r.cells.at(0).value));
      }
      command.cursor = page->cursor;
      ASSERT_LT(++pages, 200);
    } while (!command.cursor.empty());
    EXPECT_EQ(paged, all) << "page size " << page_size;
  }

  // A token sub-range (start, end] returns exactly the partitions whose tokens fall inside it.
  const int64_t start = all[10].first, end = all[40].first;
  auto sub = engine_->scan({kTable, start, end, "", 100000, 0});
  ASSERT_TRUE(sub.is_ok());
  for (const auto& p : sub->partitions) {
    EXPECT_GT(p.token, start);
    EXPECT_LE(p.token, end);
  }
  size_t expected = std::count_if(all.begin(), all.end(),
                                  [&](auto& x) { return x.first > start && x.first <= end; });
  size_t got = 0;
  for (const auto& p : sub->partitions) got += p.rows.size();
  EXPECT_EQ(got, expected);
  EXPECT_EQ(engine_->scan({kTable, INT64_MIN, INT64_MAX, "\x07garbage", 10, 0}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(EngineTest, SnapshotIsAConsistentCopy) {
  apply(insert(1, 1, 1, 1));
  ASSERT_TRUE(engine_->snapshot("before").is_ok());
  EXPECT_EQ(engine_->snapshot("before").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(engine_->snapshot("../escape").code(), StatusCode::kInvalidArgument);
  apply(insert(1, 2, 2, 1));
  EXPECT_EQ(row_keys(1).size(), 2u);
  // Open the snapshot as a database of its own: it has only the first row.
  const std::string snap = temp_.path() + "/snapshots/before";
  testing::TempDir copy;
  std::filesystem::copy(snap, copy.path() + "/db", std::filesystem::copy_options::recursive);
  open(CommitLogSync::kPeriodic, copy.path());
  EXPECT_EQ(row_keys(1), (std::vector<int32_t>{1}));
}

TEST_F(EngineTest, NonBlockingReadsAnswerFromMemoryOrWouldBlock) {
  ReadCommand command;
  command.table = kTable;
  command.partition_key = int32_value(1);
  const auto nonblocking = Engine::ReadMode::kNonBlocking;
  apply(insert(1, 1, 100, 10));
  auto from_memtable = engine_->read(command, nullptr, nonblocking);
  ASSERT_TRUE(from_memtable.is_ok()) << from_memtable.status().to_string();
  ASSERT_EQ(from_memtable->rows.size(), 1u);
  // On disk only, after a restart (the block cache is empty): the read would wait for the disk.
  ASSERT_TRUE(engine_->flush().is_ok());
  open(CommitLogSync::kPeriodic);
  auto cold = engine_->read(command, nullptr, nonblocking);
  ASSERT_FALSE(cold.is_ok());
  EXPECT_EQ(cold.status().code(), StatusCode::kWouldBlock);
  EXPECT_EQ(value_of(1, 1), 100);  // a blocking read brings the blocks into the cache
  auto warm = engine_->read(command, nullptr, nonblocking);
  ASSERT_TRUE(warm.is_ok()) << warm.status().to_string();
  EXPECT_EQ(warm->rows.size(), 1u);
  // A partition too large to read on an event loop, even from memory.
  command.partition_key = int32_value(2);
  for (int32_t ck = 0; ck < 3000; ++ck) apply(insert(2, ck, ck, 10));
  auto large = engine_->read(command, nullptr, nonblocking);
  ASSERT_FALSE(large.is_ok());
  EXPECT_EQ(large.status().code(), StatusCode::kWouldBlock);
  EXPECT_EQ(read(2).rows.size(), 3000u);
  command.row_limit = 10;  // a short slice of it is fine
  auto slice = engine_->read(command, nullptr, nonblocking);
  ASSERT_TRUE(slice.is_ok()) << slice.status().to_string();
  EXPECT_EQ(slice->rows.size(), 10u);
}

TEST_F(EngineTest, NonBlockingWriteIsAppliedWhenStorageDoesNotWait) {
  Mutation m = insert(1, 1, 7, 10);
  std::optional<Status> result;
  ASSERT_TRUE(engine_->try_apply_all_async(std::span<const Mutation>(&m, 1),
                                           [&](Status s) { result = std::move(s); }));
  ASSERT_TRUE(result.has_value());  // periodic mode: answered at once
  EXPECT_TRUE(result->is_ok());
  EXPECT_EQ(value_of(1, 1), 7);
  // An invalid mutation is handed back unanswered (the loop sends it to a storage thread,
  // where the blocking write answers with the error).
  Mutation bad = insert(1, 1, 7, 10);
  bad.table = 999;
  result.reset();
  EXPECT_FALSE(engine_->try_apply_all_async(std::span<const Mutation>(&bad, 1),
                                            [&](Status s) { result = std::move(s); }));
  EXPECT_FALSE(result.has_value());
  engine_->apply_all_async(std::span<const Mutation>(&bad, 1),
                           [&](Status s) { result = std::move(s); });
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->code(), StatusCode::kInvalidArgument);
}

// When RocksDB would stall a write (here: memtables full while flushes are paused), the
// non-blocking write refuses it at once with nothing written, and a blocking write still goes
// through once storage catches up.
TEST_F(EngineTest, NonBlockingWriteIsRefusedDuringAWriteStall) {
  open(CommitLogSync::kPeriodic, "", [](EngineOptions& o) { o.write_buffer_bytes = 64 << 10; });
  ASSERT_TRUE(engine_->rocksdb()->PauseBackgroundWork().ok());
  bool refused = false;
  int32_t written = 0;
  for (int32_t i = 0; i < 100000 && !refused; ++i) {
    Mutation m = insert(1, i, i, 10);
    bool answered = false;
    refused = !engine_->try_apply_all_async(std::span<const Mutation>(&m, 1), [&](Status s) {
      EXPECT_TRUE(s.is_ok());
      answered = true;
    });
    if (!refused) {
      EXPECT_TRUE(answered);
      ++written;
    } else {
      EXPECT_FALSE(answered);
    }
  }
  ASSERT_TRUE(refused) << "no stall after " << written << " writes";
  ASSERT_TRUE(engine_->rocksdb()->ContinueBackgroundWork().ok());
  apply(insert(1, written, written, 10));  // the blocking path waits for the flush instead
  EXPECT_EQ(row_keys(1).size(), static_cast<size_t>(written) + 1);
}

TEST_F(EngineTest, TruncateAndDropFreeTheSpace) {
  const std::string big(1000, 'x');
  Mutation m;
  for (int32_t pk = 0; pk < 3000; ++pk) {
    m = partition(pk);
    RowWrite st;
    st.is_static = true;
    st.cells.push_back(
        {CellWrite::Kind::kSet, kStatic, std::nullopt, big + std::to_string(pk), 1, 0, 0});
    m.rows.push_back(st);
    apply(m);
  }
  ASSERT_TRUE(engine_->flush().is_ok());
  const uint64_t before = engine_->table_disk_bytes(kTable);
  EXPECT_GT(before, 100'000u);
  ASSERT_TRUE(engine_->truncate_table(kTable).is_ok());
  EXPECT_LT(engine_->table_disk_bytes(kTable), before / 100);
  EXPECT_FALSE(read(5).static_row.has_value());
  apply(m);  // the table still works after a truncate
  EXPECT_TRUE(read(2999).static_row.has_value());
  ASSERT_TRUE(engine_->drop_table(kTable).is_ok());
  EXPECT_EQ(engine_->apply(m).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->drop_table(kTable).code(), StatusCode::kNotFound);
}

TEST_F(EngineTest, DurableModeSharesFsyncsAmongConcurrentWriters) {
  open(CommitLogSync::kGroup);
  const uint64_t syncs_before = engine_->commit_log_syncs();
  constexpr int kThreads = 16, kWritesEach = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWritesEach; ++i) {
        if (!engine_->apply(insert(t, i, i, 1)).is_ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  const uint64_t syncs = engine_->commit_log_syncs() - syncs_before;
  EXPECT_GT(syncs, 0u);
  EXPECT_LT(syncs, static_cast<uint64_t>(kThreads * kWritesEach));  // fsyncs were shared
  EXPECT_EQ(row_keys(3).size(), static_cast<size_t>(kWritesEach));
}

// A mutation is isolated within its partition (RocksDB runs with unordered_write, so this
// rests on PartitionLocks): each write sets all kRows rows of partition 1 to one new value,
// through the blocking and the non-blocking write paths, while point reads (both modes) and
// scans check that every row they see carries the same value.
TEST_F(EngineTest, ReadersNeverSeePartOfAMutation) {
  constexpr int32_t kRows = 8;
  constexpr int kWritesEach = 500;
  auto mutation = [&](int32_t value) {
    Mutation m = partition(1);
    for (int32_t ck = 0; ck < kRows; ++ck) {
      RowWrite row;
      row.clustering = {int32_value(ck)};
      row.marker_timestamp = value;
      row.cells.push_back(
          {CellWrite::Kind::kSet, kValue, std::nullopt, int32_value(value), value, 0, 0});
      m.rows.push_back(std::move(row));
    }
    return m;
  };
  apply(mutation(1));
  std::atomic<int32_t> next{2};
  std::atomic<bool> writing{true};
  std::atomic<int> torn{0}, reads{0}, failures{0};
  auto check = [&](const Partition& p) {
    if (p.rows.size() != static_cast<size_t>(kRows)) {
      ++torn;
      return;
    }
    const int32_t first = as_int32(p.rows[0].cells.at(0).value);
    for (const auto& r : p.rows) {
      if (as_int32(r.cells.at(0).value) != first) ++torn;
    }
    ++reads;
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kWritesEach; ++i) {
        Mutation m = mutation(next.fetch_add(1));
        std::promise<Status> done;
        auto answered = [&done](Status s) { done.set_value(std::move(s)); };
        if (w == 1 && engine_->try_apply_all_async(std::span<const Mutation>(&m, 1), answered)) {
          if (!done.get_future().get().is_ok()) ++failures;
          continue;
        }
        if (!engine_->apply(m).is_ok()) ++failures;
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      ReadCommand command;
      command.table = kTable;
      command.partition_key = int32_value(1);
      while (writing.load()) {
        if (r == 0) {
          auto blocking = engine_->read(command);
          if (blocking.is_ok())
            check(*blocking);
          else
            ++failures;
          auto memory = engine_->read(command, nullptr, Engine::ReadMode::kNonBlocking);
          if (memory.is_ok())
            check(*memory);
          else if (memory.status().code() != StatusCode::kWouldBlock)
            ++failures;
        } else {
          auto page = engine_->scan({kTable, INT64_MIN, INT64_MAX, "", 1000, 0});
          if (!page.is_ok() || page->partitions.size() != 1)
            ++failures;
          else
            check(page->partitions[0]);
        }
      }
    });
  }
  threads[0].join();
  threads[1].join();
  writing = false;
  for (size_t t = 2; t < threads.size(); ++t) threads[t].join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(torn.load(), 0) << "of " << reads.load() << " reads";
  EXPECT_GT(reads.load(), 0);
  const Partition last = read(1);
  ASSERT_EQ(last.rows.size(), static_cast<size_t>(kRows));
  for (const auto& r : last.rows) EXPECT_EQ(as_int32(r.cells.at(0).value), next.load() - 1);
}

TEST_F(EngineTest, BadInputIsRejectedNotCrashed) {
  Mutation m = insert(1, 1, 1, 1);
  m.rows[0].clustering = {"abc"};  // not a 4-byte int
  EXPECT_EQ(engine_->apply(m).code(), StatusCode::kInvalidArgument);
  m = insert(1, 1, 1, 1);
  m.rows[0].clustering.clear();
  EXPECT_EQ(engine_->apply(m).code(), StatusCode::kInvalidArgument);
  m = insert(1, 1, 1, 1);
  m.rows[0].cells[0].column = 99;
  EXPECT_EQ(engine_->apply(m).code(), StatusCode::kInvalidArgument);
  m = insert(1, 1, 1, 1);
  m.table = 12345;
  EXPECT_EQ(engine_->apply(m).code(), StatusCode::kInvalidArgument);
  m = insert(1, 1, 1, 1, 500'000'000);  // would expire after 2038
  EXPECT_EQ(engine_->apply(m).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(read(1).rows.empty());  // nothing of the rejected mutations was written
}

// A pooled iterator pins the files it last read. One left idle in the pool of a thread that stops
// reading must not keep files that compactions have replaced on the disk: the engine drops idle
// iterators once a flush or compaction completes.
TEST_F(EngineTest, IdlePooledIteratorsDoNotKeepReplacedFilesOnDisk) {
  open(CommitLogSync::kPeriodic, "", [](EngineOptions& o) { o.write_buffer_bytes = 64 << 10; });
  for (int32_t i = 0; i < 2000; ++i) apply(insert(i % 50, i, i, 10));
  ASSERT_TRUE(engine_->flush().is_ok());
  // Another thread reads (its pool keeps the iterator and the files it saw), then stops reading.
  std::thread([&] { EXPECT_FALSE(read(1).rows.empty()); }).join();
  // Enough writes for many automatic flushes and compactions, none through Engine::flush.
  for (int32_t i = 0; i < 20000; ++i) apply(insert(i % 50, i, i, 20));
  auto files_on_disk = [&] {
    size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(temp_.path() + "/db")) {
      if (entry.path().extension() == ".sst") ++n;
    }
    return n;
  };
  auto live_files = [&] {
    std::vector<rocksdb::LiveFileMetaData> live;
    engine_->rocksdb()->GetLiveFilesMetaData(&live);
    return live.size();
  };
  size_t on_disk = 0, live = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {  // background work settles within seconds
    on_disk = files_on_disk();
    live = live_files();
    if (on_disk == live) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GT(engine_->rocksdb()->GetLatestSequenceNumber(), 20000u);
  EXPECT_EQ(on_disk, live) << "files kept on disk by an idle iterator";
}

// Node-local facts survive a restart and a full compaction (they are under the engine's own
// table, which no schema table has, so the compaction filter leaves them), and a delete removes
// them.
TEST_F(EngineTest, NodeLocalFactsSurviveRestartsAndCompactions) {
  ASSERT_FALSE(engine_->get_local("index_built/7").value().has_value());
  ASSERT_TRUE(engine_->put_local("index_built/7", "1").is_ok());
  ASSERT_TRUE(engine_->put_local("index_built/8", "2").is_ok());
  open(CommitLogSync::kGroup);
  ASSERT_TRUE(engine_->compact_all().is_ok());
  EXPECT_EQ(engine_->get_local("index_built/7").value(), std::optional<Bytes>("1"));
  EXPECT_EQ(engine_->get_local("index_built/8").value(), std::optional<Bytes>("2"));
  ASSERT_TRUE(engine_->delete_local("index_built/7").is_ok());
  open(CommitLogSync::kPeriodic);
  EXPECT_FALSE(engine_->get_local("index_built/7").value().has_value());
  EXPECT_EQ(engine_->get_local("index_built/8").value(), std::optional<Bytes>("2"));
}

}  // namespace
}  // namespace ringdb::storage
