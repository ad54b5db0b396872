#include "storage/row_fragment.h"

#include <rocksdb/iterator.h>

#include <algorithm>
#include <future>
#include <map>
#include <numeric>
#include <thread>

#include "common/murmur3.h"
#include "runtime/rng.h"
#include "storage/keys.h"
#include "storage/test_util.h"

namespace ringdb::storage {
namespace {

using testing::as_int32;
using testing::int32_value;

RawCell simple(ColumnId column, StoredValue v) {
  Bytes part;
  append_column(column, &part);
  return {part, std::move(v)};
}

TEST(RowFragment, RoundTripAndNormalize) {
  std::vector<RawCell> cells = {
      simple(3, StoredValue::live(5, "b", 0, kNoExpiry)),
      simple(2, StoredValue::live(7, "a", 0, kNoExpiry)),
      simple(3, StoredValue::live(9, "c", 0, kNoExpiry)),  // newer version of column 3
      simple(kRowDeletionColumn, StoredValue::tombstone(4, 100)),
  };
  normalize_cells(&cells);
  ASSERT_EQ(cells.size(), 3u);
  EXPECT_EQ(cells[0].value, StoredValue::tombstone(4, 100));  // column 0 sorts first
  EXPECT_EQ(cells[2].value.value, "c");
  Bytes encoded;
  encode_row_fragment(cells, &encoded);
  EXPECT_TRUE(is_row_fragment(encoded));
  std::vector<RawCell> decoded;
  ASSERT_TRUE(decode_row_fragment(encoded, &decoded).is_ok());
  ASSERT_EQ(decoded.size(), cells.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    EXPECT_EQ(decoded[i].column_part, cells[i].column_part);
    EXPECT_EQ(decoded[i].value, cells[i].value);
  }
  // A plain stored value is never taken for a fragment.
  EXPECT_FALSE(is_row_fragment(encode_stored(StoredValue::live(1, "x", 0, kNoExpiry))));
}

TEST(RowFragment, MalformedBytesAreCorruptionNotACrash) {
  std::vector<RawCell> cells = {simple(2, StoredValue::live(7, "abc", 0, kNoExpiry)),
                                simple(3, StoredValue::tombstone(8, 9))};
  Bytes good;
  encode_row_fragment(cells, &good);
  SeededRng rng(3);
  int rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes bad = good;
    if (rng.chance(0.5)) {
      bad.resize(rng.uniform(bad.size()));
    } else {
      bad[rng.uniform(bad.size())] = static_cast<char>(rng.uniform(256));
    }
    std::vector<RawCell> out;
    if (!decode_row_fragment(bad, &out).is_ok()) ++rejected;
  }
  EXPECT_GT(rejected, 10000);
  std::vector<RawCell> out;
  EXPECT_FALSE(decode_row_fragment(Bytes("\xF0\xFF\xFF\xFF\xFF", 5), &out).is_ok());
}

// A table without clustering columns: rows are fragments.
class FragmentEngineTest : public testing::EngineFixture {
 protected:
  static constexpr TableId kKv = 12;
  static constexpr ColumnId kV = 2;
  static constexpr ColumnId kSet = 3;  // set<int>

  void SetUp() override {
    EngineFixture::SetUp();
    register_kv(*engine_);
  }
  static TableDescriptor kv_table() {
    TableDescriptor t;
    t.id = kKv;
    t.name = "kv";
    t.columns = {{kV, ValueType::of(ValueKind::kInt), false, false},
                 {kSet, ValueType::set_of(ValueType::of(ValueKind::kInt)), false, true}};
    t.gc_grace_seconds = 100;
    return t;
  }
  static void register_kv(Engine& engine) {
    ASSERT_TRUE(engine.register_table(kv_table()).is_ok());
  }
  static Mutation kv(int32_t pk) {
    Mutation m;
    m.table = kKv;
    m.partition_key = int32_value(pk);
    m.rows.emplace_back();
    return m;
  }
  static Mutation put(int32_t pk, int32_t v, int64_t ts, bool marker = true, int32_t ttl = 0) {
    Mutation m = kv(pk);
    if (marker) {
      m.rows[0].marker_timestamp = ts;
      m.rows[0].marker_ttl_seconds = ttl;
    }
    m.rows[0].cells.push_back(
        {CellWrite::Kind::kSet, kV, std::nullopt, int32_value(v), ts, ttl, 0});
    return m;
  }
  static Mutation element(int32_t pk, int32_t e, bool add, int64_t ts) {
    Mutation m = kv(pk);
    m.rows[0].cells.push_back({add ? CellWrite::Kind::kSet : CellWrite::Kind::kDelete, kSet,
                               int32_value(e), "", ts, 0, 0});
    return m;
  }
  static Mutation erase_v(int32_t pk, int64_t ts) {
    Mutation m = kv(pk);
    m.rows[0].cells.push_back({CellWrite::Kind::kDelete, kV, std::nullopt, "", ts, 0, 0});
    return m;
  }
  static Mutation erase_row(int32_t pk, int64_t ts) {
    Mutation m = kv(pk);
    m.rows[0].deletion_timestamp = ts;
    return m;
  }
  static Mutation erase_partition(int32_t pk, int64_t ts) {
    Mutation m;
    m.table = kKv;
    m.partition_key = int32_value(pk);
    m.partition_deletion_timestamp = ts;
    return m;
  }

  // What a reader sees: the row's marker, value and set, as text.
  static std::string describe(Engine& engine, int32_t pk) {
    ReadCommand c;
    c.table = kKv;
    c.partition_key = int32_value(pk);
    auto p = engine.read(c);
    EXPECT_TRUE(p.is_ok()) << p.status().to_string();
    if (!p.is_ok() || p->rows.empty()) return "-";
    const Row& row = p->rows[0];
    std::string out = row.marker_timestamp != kNoTimestamp ? "M" : "";
    for (const auto& cell : row.cells) {
      out += cell.path ? " e" + std::to_string(as_int32(*cell.path))
                       : " v" + std::to_string(as_int32(cell.value));
    }
    return out;
  }
  // RocksDB keys (not versions) holding the table's data.
  size_t keys_of_table(Engine& engine) {
    std::unique_ptr<rocksdb::Iterator> it(engine.rocksdb()->NewIterator(rocksdb::ReadOptions()));
    const Bytes prefix = table_prefix(kKv);
    size_t n = 0;
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++n;
    return n;
  }
};

TEST_F(FragmentEngineTest, ARowWriteIsOneKeyWhateverItsCells) {
  Mutation m = put(1, 10, 5);
  for (int32_t e = 0; e < 5; ++e)
    m.rows[0].cells.push_back(element(1, e, true, 5).rows[0].cells[0]);
  apply(m);
  apply(put(2, 20, 5));
  EXPECT_EQ(keys_of_table(*engine_), 2u);
  EXPECT_EQ(describe(*engine_, 1), "M v10 e0 e1 e2 e3 e4");
  apply(put(1, 11, 6, /*marker=*/false));
  apply(element(1, 2, false, 6));
  EXPECT_EQ(keys_of_table(*engine_), 2u);
  EXPECT_EQ(describe(*engine_, 1), "M v11 e0 e1 e3 e4");
  ASSERT_TRUE(engine_->flush().is_ok());
  EXPECT_EQ(describe(*engine_, 1), "M v11 e0 e1 e3 e4");
}

// A partition of a table without clustering columns is two keys at most: reads look both up
// (the memtables answer from their hash indexes) instead of iterating.
TEST_F(FragmentEngineTest, PartitionReadsArePointLookups) {
  apply(put(1, 10, 5));
  apply(element(1, 7, true, 5));
  apply(put(2, 20, 5));
  apply(erase_partition(2, 6));
  apply(put(3, 30, 5, /*marker=*/true, /*ttl=*/60));
  const uint64_t before = engine_->memtable_counters().indexed_gets.load();
  EXPECT_EQ(describe(*engine_, 1), "M v10 e7");
  EXPECT_EQ(describe(*engine_, 2), "-");  // deleted by the partition deletion
  EXPECT_EQ(describe(*engine_, 3), "M v30");
  EXPECT_EQ(engine_->memtable_counters().indexed_gets.load() - before, 6u);  // 2 per read
  EXPECT_EQ(describe(*engine_, 4), "-");  // the memtable's prefix bloom rules it out first
  apply(put(2, 21, 7));                   // newer than the partition deletion
  EXPECT_EQ(describe(*engine_, 2), "M v21");
  clock_.advance_seconds(61);
  EXPECT_EQ(describe(*engine_, 3), "-");  // expired
  ASSERT_TRUE(engine_->flush().is_ok());
  EXPECT_EQ(describe(*engine_, 1), "M v10 e7");
  EXPECT_EQ(describe(*engine_, 2), "M v21");
  EXPECT_EQ(engine_->memtable_counters().fallback_gets.load(), 0u);
  // Reopened: the writes since the flush come back from the commit log.
  for (int32_t pk = 10; pk < 300; ++pk) apply(put(pk, pk, 8));
  for (int32_t pk = 10; pk < 300; pk += 3) apply(put(pk, pk + 1, 9, /*marker=*/false));
  open(CommitLogSync::kPeriodic);
  register_kv(*engine_);
  EXPECT_EQ(describe(*engine_, 1), "M v10 e7");
  for (int32_t pk = 10; pk < 300; ++pk)
    EXPECT_EQ(describe(*engine_, pk), "M v" + std::to_string(pk % 3 == 1 ? pk + 1 : pk)) << pk;
  EXPECT_EQ(describe(*engine_, 300), "-");

  // A database without the storage format (from before fragments) reads with iterators.
  ASSERT_TRUE(
      engine_->rocksdb()->Delete(rocksdb::WriteOptions(), Engine::storage_format_key()).ok());
  open(CommitLogSync::kPeriodic);
  register_kv(*engine_);
  const uint64_t reopened = engine_->memtable_counters().indexed_gets.load();
  EXPECT_EQ(describe(*engine_, 1), "M v10 e7");
  EXPECT_EQ(describe(*engine_, 2), "M v21");
  EXPECT_EQ(engine_->memtable_counters().indexed_gets.load(), reopened);
}

// Random writes, deletions and TTLs in two arrival orders, one engine compacted: the same reads.
TEST_F(FragmentEngineTest, ConvergesWhateverTheArrivalOrderAndCompaction) {
  std::vector<Mutation> mutations;
  SeededRng rng(11);
  for (int i = 0; i < 400; ++i) {
    const int32_t pk = static_cast<int32_t>(rng.uniform(4));
    const int64_t ts = rng.uniform_range(1, 60);
    switch (rng.uniform(7)) {
      case 0:
        mutations.push_back(erase_row(pk, ts));
        break;
      case 1:
        mutations.push_back(erase_v(pk, ts));
        break;
      case 2:
        mutations.push_back(element(pk, static_cast<int32_t>(rng.uniform(5)), rng.chance(0.6), ts));
        break;
      case 3:
        if (rng.chance(0.2)) {
          mutations.push_back(erase_partition(pk, ts));
          break;
        }
        [[fallthrough]];
      default:
        mutations.push_back(put(pk, static_cast<int32_t>(rng.uniform(100)), ts, rng.chance(0.5),
                                rng.chance(0.2) ? 50 : 0));
        break;
    }
  }
  for (const auto& m : mutations) apply(m);
  testing::TempDir other_dir;
  EngineOptions options;
  options.data_directory = other_dir.path();
  options.commitlog_sync = CommitLogSync::kPeriodic;
  MetricsRegistry other_metrics;
  auto other = Engine::open(options, clock_, other_metrics);
  ASSERT_TRUE(other.is_ok());
  register_kv(**other);
  for (auto it = mutations.rbegin(); it != mutations.rend(); ++it)
    ASSERT_TRUE((*other)->apply(*it).is_ok());
  for (int32_t pk = 0; pk < 4; ++pk)
    EXPECT_EQ(describe(*engine_, pk), describe(**other, pk)) << "pk " << pk;
  // Compaction and expiry change nothing a reader can see, before and after gc_grace.
  for (int64_t advance : {10, 45, 200}) {
    clock_.advance_seconds(advance);
    std::vector<std::string> before;
    for (int32_t pk = 0; pk < 4; ++pk) before.push_back(describe(**other, pk));
    ASSERT_TRUE(engine_->flush().is_ok());
    ASSERT_TRUE(engine_->compact_all().is_ok());
    for (int32_t pk = 0; pk < 4; ++pk)
      EXPECT_EQ(describe(*engine_, pk), before[static_cast<size_t>(pk)]) << "pk " << pk;
  }
}

TEST_F(FragmentEngineTest, TombstonesGoInAFullCompactionAfterGcGrace) {
  apply(put(1, 10, 5));
  apply(erase_row(1, 6));
  apply(put(2, 20, 5));
  apply(erase_v(2, 6));
  ASSERT_TRUE(engine_->flush().is_ok());
  ASSERT_TRUE(engine_->compact_all().is_ok());  // within gc_grace: the tombstones stay
  EXPECT_EQ(describe(*engine_, 1), "-");
  EXPECT_EQ(describe(*engine_, 2), "M");
  EXPECT_EQ(keys_of_table(*engine_), 2u);
  clock_.advance_seconds(101);
  ASSERT_TRUE(engine_->compact_all().is_ok());
  EXPECT_EQ(describe(*engine_, 1), "-");
  EXPECT_EQ(describe(*engine_, 2), "M");
  EXPECT_EQ(keys_of_table(*engine_), 1u);  // partition 1 is gone entirely
  EXPECT_GE(engine_->compaction_counters().purged_tombstones.load(), 2u);
}

// Data written before fragments existed (one key per cell) is read together with fragments,
// and a full compaction neither loses the newer nor brings back the older.
TEST_F(FragmentEngineTest, SeparateCellKeysFromBeforeFragmentsStillCount) {
  // A database from before fragments has no storage format: its reads look for cell keys too.
  ASSERT_TRUE(
      engine_->rocksdb()->Delete(rocksdb::WriteOptions(), Engine::storage_format_key()).ok());
  open(CommitLogSync::kPeriodic);
  register_kv(*engine_);
  const Bytes pk = int32_value(1);
  const Bytes row = section_key(partition_prefix(kKv, murmur3_token(pk), pk), Section::kRow);
  auto put_old = [&](ColumnId column, const StoredValue& v) {
    Bytes key = row;
    append_column(column, &key);
    ASSERT_TRUE(engine_->rocksdb()->Merge(rocksdb::WriteOptions(), key, encode_stored(v)).ok());
  };
  put_old(kRowMarkerColumn, StoredValue::live(5, "", 0, kNoExpiry));
  put_old(kV, StoredValue::live(5, int32_value(50), 0, kNoExpiry));
  EXPECT_EQ(describe(*engine_, 1), "M v50");
  apply(erase_v(1, 10));  // a fragment with a newer tombstone for v
  EXPECT_EQ(describe(*engine_, 1), "M");
  apply(put(1, 60, 3, /*marker=*/false));  // older than the old key: loses
  EXPECT_EQ(describe(*engine_, 1), "M");
  clock_.advance_seconds(101);
  ASSERT_TRUE(engine_->flush().is_ok());
  ASSERT_TRUE(engine_->compact_all().is_ok());  // merges the fragment's operands
  ASSERT_TRUE(engine_->compact_all().is_ok());  // sees it as one value: purges v's tombstone
  EXPECT_EQ(describe(*engine_, 1), "M");        // and the old v went with it, not back to life
  // Left: the old marker alone. The fragment held only v's tombstone, and the old v is gone.
  EXPECT_EQ(keys_of_table(*engine_), 1u);
  std::unique_ptr<rocksdb::Iterator> it(engine_->rocksdb()->NewIterator(rocksdb::ReadOptions()));
  it->Seek(row);
  ASSERT_TRUE(it->Valid());
  Bytes marker_key = row;
  append_column(kRowMarkerColumn, &marker_key);
  EXPECT_EQ(BytesView(it->key().data(), it->key().size()), BytesView(marker_key));
}

// The versions a read of partition `pk`'s row folds: merge operands, and a plain value below them.
int row_versions(Engine& engine, TableId table, const Bytes& pk) {
  const Bytes key = section_key(partition_prefix(table, murmur3_token(pk), pk), Section::kRow);
  std::vector<rocksdb::PinnableSlice> versions(1024);
  rocksdb::GetMergeOperandsOptions options;
  options.expected_max_number_of_operands = static_cast<int>(versions.size());
  int count = 0;
  rocksdb::Status s = engine.rocksdb()->GetMergeOperands(rocksdb::ReadOptions(),
                                                         engine.rocksdb()->DefaultColumnFamily(),
                                                         key, versions.data(), &options, &count);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return count;
}

// One row written 3,000 times: every kRowOperandsMax writes collapse it into one plain
// value, and what a reader sees is what the writes add up to, whatever their timestamps.
TEST_F(FragmentEngineTest, AHotRowCollapsesAndLosesNoWrite) {
  SeededRng rng(21);
  const std::vector<int64_t> timestamps = shuffled_timestamps(3000, 21);
  // The model: the newest write of the value and of each set element.
  int64_t v_ts = 0;
  std::optional<int32_t> v;
  std::map<int32_t, std::pair<int64_t, bool>> elements;
  auto expected = [&] {
    std::string out = "M";
    if (v) out += " v" + std::to_string(*v);
    for (const auto& [e, state] : elements) {
      if (state.second) out += " e" + std::to_string(e);
    }
    return out;
  };
  int max_versions = 0;
  for (size_t i = 0; i < timestamps.size(); ++i) {
    const int64_t ts = timestamps[i];
    const int32_t x = static_cast<int32_t>(rng.uniform(8));
    switch (i == 0 ? 0 : rng.uniform(4)) {
      case 0:
        apply(put(1, static_cast<int32_t>(i), ts));
        if (ts > v_ts) v_ts = ts, v = static_cast<int32_t>(i);
        break;
      case 1:
        apply(erase_v(1, ts));
        if (ts > v_ts) v_ts = ts, v.reset();
        break;
      default: {
        const bool add = rng.uniform(2) == 0;
        apply(element(1, x, add, ts));
        auto& state = elements[x];
        if (ts > state.first) state = {ts, add};
        break;
      }
    }
    max_versions = std::max(max_versions, row_versions(*engine_, kKv, int32_value(1)));
    if (i % 97 == 0) {
      ASSERT_EQ(describe(*engine_, 1), expected()) << "after write " << i;
    }
  }
  EXPECT_EQ(describe(*engine_, 1), expected());
  EXPECT_LE(max_versions, static_cast<int>(Engine::kRowOperandsMax) + 1);
  EXPECT_GE(max_versions, static_cast<int>(Engine::kRowOperandsMax) - 1);
  ASSERT_TRUE(engine_->flush().is_ok());
  EXPECT_EQ(describe(*engine_, 1), expected());
  open(CommitLogSync::kPeriodic);
  register_kv(*engine_);
  EXPECT_EQ(describe(*engine_, 1), expected());
  ASSERT_TRUE(engine_->compact_all().is_ok());
  EXPECT_EQ(describe(*engine_, 1), expected());
}

// A set that grows an element at a time: once the row is far larger than the operands a
// collapse would replace, it is left uncollapsed (each collapse would copy the whole set into the
// memtable and the commit log), and reads still see every element.
TEST_F(FragmentEngineTest, ALargeRowGrowingAnElementAtATimeIsNotCopiedOver) {
  std::string expected;
  for (int32_t e = 0; e < 600; ++e) {
    apply(element(1, e, true, e + 1));
    expected += " e" + std::to_string(e);
  }
  EXPECT_EQ(describe(*engine_, 1), expected);
  // Collapses stopped once the set outgrew them: the operands since pile up.
  EXPECT_GT(row_versions(*engine_, kKv, int32_value(1)), 100);
}

// Increments of one counter from four threads, through the storage threads' path and the event
// loop's (which hands a refused write to the other): a collapse must not lose any of them.
TEST_F(FragmentEngineTest, ConcurrentIncrementsOfAHotCounterAllCount) {
  auto increment = [](int64_t ts) {
    Mutation m;
    m.table = kCounters;
    m.partition_key = "hot";
    RowWrite row;
    row.cells.push_back({CellWrite::Kind::kCounterAdd, kCount, std::nullopt, "", ts, 0, 1});
    m.rows.push_back(row);
    return m;
  };
  constexpr int kThreads = 4;
  constexpr int kEach = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const Mutation m = increment(t * kEach + i + 1);
        if (t % 2 == 1) {
          std::promise<Status> done;
          auto result = done.get_future();
          if (engine_->try_apply_all_async(std::span<const Mutation>(&m, 1),
                                           [&done](Status s) { done.set_value(s); })) {
            ASSERT_TRUE(result.get().is_ok());
            continue;
          }
        }
        ASSERT_TRUE(engine_->apply(m).is_ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  ReadCommand c;
  c.table = kCounters;
  c.partition_key = "hot";
  auto p = engine_->read(c);
  ASSERT_TRUE(p.is_ok());
  ASSERT_EQ(p->rows.size(), 1u);
  EXPECT_EQ(testing::as_int64(p->rows[0].cells[0].value), kThreads * kEach);
  EXPECT_LE(row_versions(*engine_, kCounters, "hot"),
            static_cast<int>(Engine::kRowOperandsMax) + 1);
}

}  // namespace
}  // namespace ringdb::storage
