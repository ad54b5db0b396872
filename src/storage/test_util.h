// Helpers shared by the storage tests: a temporary directory, value serializers, and a fixture
// that opens an Engine on a ManualClock.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <numeric>
#include <string>

#include "common/bytes.h"
#include "common/uuid.h"
#include "runtime/rng.h"
#include "storage/engine.h"

namespace ringdb::storage::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ringdb-test-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline Bytes int32_value(int32_t v) {
  BufferWriter w;
  w.put_i32(v);
  return w.release();
}
inline Bytes int64_value(int64_t v) {
  BufferWriter w;
  w.put_i64(v);
  return w.release();
}
inline int32_t as_int32(BytesView b) {
  BufferReader r(b);
  int32_t v = 0;
  EXPECT_TRUE(r.get_i32(&v));
  return v;
}
inline int64_t as_int64(BytesView b) {
  BufferReader r(b);
  int64_t v = 0;
  EXPECT_TRUE(r.get_i64(&v));
  return v;
}
// A version-1 UUID whose timestamp is `t` (for list element paths).
inline Bytes timeuuid_value(uint64_t t) {
  return uuid_v1(static_cast<int64_t>(t), 0);
}

class EngineFixture : public ::testing::Test {
 protected:
  static constexpr TableId kTable = 10;
  static constexpr TableId kCounters = 11;
  static constexpr ColumnId kValue = 2;
  static constexpr ColumnId kStatic = 3;
  static constexpr ColumnId kTags = 4;   // set<text>
  static constexpr ColumnId kList = 5;   // list<int>
  static constexpr ColumnId kMap = 6;    // map<text, int>
  static constexpr ColumnId kCount = 2;  // counter

  void SetUp() override { open(CommitLogSync::kPeriodic); }

  // `tweak` adjusts the options before the engine opens (a row cache, small memtables...).
  void open(CommitLogSync sync, const std::string& dir = "",
            const std::function<void(EngineOptions&)>& tweak = {}) {
    engine_.reset();
    EngineOptions options;
    options.data_directory = dir.empty() ? temp_.path() : dir;
    options.commitlog_sync = sync;
    if (tweak) tweak(options);
    auto opened = Engine::open(options, clock_, metrics_);
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    engine_ = std::move(opened).value();
    ASSERT_TRUE(engine_->register_table(table(false)).is_ok());
    TableDescriptor counters;
    counters.id = kCounters;
    counters.name = "counters";
    counters.columns = {{kCount, ValueType::of(ValueKind::kCounter), false, false}};
    ASSERT_TRUE(engine_->register_table(counters).is_ok());
  }

  static TableDescriptor table(bool descending, int32_t default_ttl = 0,
                               int32_t gc_grace = kDefaultGcGraceSeconds) {
    TableDescriptor t;
    t.id = kTable;
    t.name = "events";
    t.clustering = {{ValueType::of(ValueKind::kInt), descending}};
    t.columns = {
        {kValue, ValueType::of(ValueKind::kInt), false, false},
        {kStatic, ValueType::of(ValueKind::kText), true, false},
        {kTags, ValueType::set_of(ValueType::of(ValueKind::kText)), false, true},
        {kList, ValueType::list_of(ValueType::of(ValueKind::kInt)), false, true},
        {kMap, ValueType::map_of(ValueType::of(ValueKind::kText), ValueType::of(ValueKind::kInt)),
         false, true},
    };
    t.default_ttl_seconds = default_ttl;
    t.gc_grace_seconds = gc_grace;
    return t;
  }

  // INSERT INTO events (pk, ck, value) VALUES (...) USING TIMESTAMP ts [AND TTL ttl]
  static Mutation insert(int32_t pk, int32_t ck, int32_t value, int64_t ts,
                         int32_t ttl = kUseTableDefaultTtl) {
    Mutation m = partition(pk);
    RowWrite row;
    row.clustering = {int32_value(ck)};
    row.marker_timestamp = ts;
    row.marker_ttl_seconds = ttl;
    row.cells.push_back(
        {CellWrite::Kind::kSet, kValue, std::nullopt, int32_value(value), ts, ttl, 0});
    m.rows.push_back(std::move(row));
    return m;
  }
  // UPDATE events SET value = ... (no row marker)
  static Mutation update(int32_t pk, int32_t ck, int32_t value, int64_t ts,
                         int32_t ttl = kUseTableDefaultTtl) {
    Mutation m = insert(pk, ck, value, ts, ttl);
    m.rows[0].marker_timestamp.reset();
    return m;
  }
  static Mutation delete_row(int32_t pk, int32_t ck, int64_t ts) {
    Mutation m = partition(pk);
    RowWrite row;
    row.clustering = {int32_value(ck)};
    row.deletion_timestamp = ts;
    m.rows.push_back(std::move(row));
    return m;
  }
  static Mutation delete_range(int32_t pk, int32_t from, bool from_inclusive, int32_t to,
                               bool to_inclusive, int64_t ts) {
    Mutation m = partition(pk);
    m.range_deletions.push_back(
        {{{int32_value(from)}, from_inclusive}, {{int32_value(to)}, to_inclusive}, ts});
    return m;
  }
  static Mutation partition(int32_t pk) {
    Mutation m;
    m.table = kTable;
    m.partition_key = int32_value(pk);
    return m;
  }

  Partition read(int32_t pk, ReadCommand command = {}) {
    command.table = command.table ? command.table : kTable;
    command.partition_key = int32_value(pk);
    auto result = engine_->read(command);
    EXPECT_TRUE(result.is_ok()) << result.status().to_string();
    return result.is_ok() ? std::move(result).value() : Partition{};
  }
  // The clustering values of a partition's live rows, in read order.
  std::vector<int32_t> row_keys(int32_t pk, ReadCommand command = {}) {
    std::vector<int32_t> keys;
    for (const auto& row : read(pk, command).rows) keys.push_back(as_int32(row.clustering.at(0)));
    return keys;
  }
  // The timestamps 1..n in an order fixed by `seed`.
  static std::vector<int64_t> shuffled_timestamps(size_t n, uint64_t seed) {
    SeededRng rng(seed);
    std::vector<int64_t> timestamps(n);
    std::iota(timestamps.begin(), timestamps.end(), int64_t{1});
    for (size_t i = n; i > 1; --i) std::swap(timestamps[i - 1], timestamps[rng.uniform(i)]);
    return timestamps;
  }
  // The live `value` cell of one row, or nullopt.
  std::optional<int32_t> value_of(int32_t pk, int32_t ck) {
    ReadCommand c;
    c.start = {{int32_value(ck)}, true};
    c.end = {{int32_value(ck)}, true};
    for (const auto& row : read(pk, c).rows) {
      for (const auto& cell : row.cells) {
        if (cell.column == kValue) return as_int32(cell.value);
      }
    }
    return std::nullopt;
  }
  void apply(const Mutation& m) {
    Status s = engine_->apply(m);
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }

  TempDir temp_;
  ManualClock clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace ringdb::storage::testing
