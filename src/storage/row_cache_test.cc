#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "storage/test_util.h"

namespace ringdb::storage {
namespace {

using testing::as_int32;
using testing::int32_value;

class RowCacheTest : public testing::EngineFixture {
 protected:
  void SetUp() override { open_cached(); }
  void open_cached() {
    open(CommitLogSync::kPeriodic, "", [](EngineOptions& o) { o.row_cache_bytes = 1 << 20; });
  }
};

TEST_F(RowCacheTest, HitsAnswerLikeStorageAndWritesInvalidate) {
  for (int32_t ck = 0; ck < 5; ++ck) apply(insert(1, ck, ck, 10));
  EXPECT_EQ(row_keys(1), (std::vector<int32_t>{0, 1, 2, 3, 4}));
  const uint64_t hits = engine_->row_cache_hits();
  EXPECT_EQ(row_keys(1), (std::vector<int32_t>{0, 1, 2, 3, 4}));
  EXPECT_GT(engine_->row_cache_hits(), hits);
  ReadCommand reversed;
  reversed.reversed = true;
  reversed.row_limit = 2;
  EXPECT_EQ(row_keys(1, reversed), (std::vector<int32_t>{4, 3}));  // from the cached copy
  apply(delete_row(1, 2, 11));
  EXPECT_EQ(row_keys(1), (std::vector<int32_t>{0, 1, 3, 4}));  // the write invalidated it
  apply(insert(1, 9, 9, 12));
  EXPECT_EQ(value_of(1, 9), 9);
  EXPECT_EQ(row_keys(1), (std::vector<int32_t>{0, 1, 3, 4, 9}));
  ASSERT_TRUE(engine_->truncate_table(kTable).is_ok());
  EXPECT_TRUE(row_keys(1).empty());
}

TEST_F(RowCacheTest, ExpiringDataAndLargePartitionsAreNotCached) {
  apply(insert(2, 1, 1, 10, /*ttl=*/100));
  EXPECT_EQ(row_keys(2).size(), 1u);
  clock_.advance_seconds(101);
  EXPECT_TRUE(row_keys(2).empty());  // a cached copy would still show the row
  for (int32_t ck = 0; ck < static_cast<int32_t>(RowCache::kRowsMax) + 5; ++ck)
    apply(insert(3, ck, ck, 10));
  ReadCommand limited;
  limited.row_limit = 3;
  EXPECT_EQ(row_keys(3, limited), (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(row_keys(3).size(), RowCache::kRowsMax + 5);
}

TEST(RowCacheBounds, StaysWithinItsBytesAndEvictsColdPartitionsFirst) {
  RowCache cache(64 * 1024);
  auto partition = [](int32_t pk) {
    auto p = std::make_shared<Partition>();
    p->partition_key = int32_value(pk);
    Row row;
    row.clustering = {int32_value(0)};
    row.cells.push_back(Cell{});
    row.cells.back().value = Bytes(100, 'v');
    p->rows.push_back(row);
    return p;
  };
  for (int32_t pk = 0; pk < 5000; ++pk) {
    const Bytes key = int32_value(pk);
    cache.insert(1, key, cache.version(1, key), partition(pk));
    ASSERT_LE(cache.bytes(), 64u * 1024);
    if (pk % 4 == 0) (void)cache.lookup(1, int32_value(0));  // a hot partition
  }
  EXPECT_GT(cache.bytes(), 32u * 1024);  // the shards fill up
  EXPECT_NE(cache.lookup(1, int32_value(4999)), nullptr);
  EXPECT_EQ(cache.lookup(1, int32_value(1)), nullptr);  // cold: long evicted
  EXPECT_NE(cache.lookup(1, int32_value(0)), nullptr);  // hot: each hit gave a second chance
  // An insert whose stripe saw a write since the version was taken is dropped.
  const Bytes key = int32_value(7000);
  const uint64_t before = cache.version(1, key);
  cache.invalidate(1, key);
  cache.insert(1, key, before, partition(7000));
  EXPECT_EQ(cache.lookup(1, key), nullptr);
}

// The open-addressing table against a model: random inserts, invalidations and lookups of
// keys that collide in their home slots keep answering exactly what the model holds (the cache
// is large enough that nothing is evicted), including after the table grows and after runs
// are shifted back by deletions.
TEST(RowCacheTable, AnswersLikeAMapThroughGrowthAndDeletions) {
  RowCache cache(size_t{256} << 20);
  std::map<int32_t, int32_t> model;  // partition key -> generation cached
  std::mt19937 rng(7);
  auto partition = [](int32_t pk, int32_t generation) {
    auto p = std::make_shared<Partition>();
    p->partition_key = int32_value(pk);
    p->token = generation;
    return p;
  };
  // Every entry has the same size: a 4-byte key and an empty partition.
  cache.insert(1, int32_value(-1), cache.version(1, int32_value(-1)), partition(-1, 0));
  const size_t entry_bytes = cache.bytes();
  cache.invalidate(1, int32_value(-1));
  ASSERT_EQ(cache.bytes(), 0u);
  for (int step = 0; step < 200000; ++step) {
    const int32_t pk = static_cast<int32_t>(rng() % 3000);
    const Bytes key = int32_value(pk);
    switch (rng() % 3) {
      case 0:
        cache.insert(1, key, cache.version(1, key), partition(pk, step));
        model[pk] = step;
        break;
      case 1:
        cache.invalidate(1, key);
        model.erase(pk);
        break;
      default: {
        auto hit = cache.lookup(1, key);
        auto it = model.find(pk);
        ASSERT_EQ(hit != nullptr, it != model.end()) << "step " << step << " key " << pk;
        if (hit) {
          ASSERT_EQ(hit->partition_key, key);
          ASSERT_EQ(hit->token, it->second);
        }
      }
    }
  }
  EXPECT_EQ(cache.bytes(), model.size() * entry_bytes);  // growth and shifts kept the count
  for (const auto& [pk, generation] : model) {
    auto hit = cache.lookup(1, int32_value(pk));
    ASSERT_NE(hit, nullptr);
    EXPECT_EQ(hit->token, generation);
  }
  cache.clear();
  EXPECT_EQ(cache.bytes(), 0u);
  EXPECT_EQ(cache.lookup(1, int32_value(model.begin()->first)), nullptr);
}

// Readers racing a writer never see a value older than one already acknowledged: a read that
// started before a write must not put its stale result in the cache.
TEST_F(RowCacheTest, NoStaleReadsUnderConcurrentWrites) {
  constexpr int kWrites = 3000;
  std::atomic<int32_t> acknowledged{-1};
  std::atomic<bool> done{false};
  std::atomic<int> violations{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      ReadCommand c;
      c.table = kTable;
      c.partition_key = int32_value(7);
      while (!done.load()) {
        const int32_t floor = acknowledged.load();
        auto p = engine_->read(c);
        if (!p.is_ok()) continue;
        int32_t seen = -1;
        for (const auto& row : p->rows) {
          for (const auto& cell : row.cells) seen = as_int32(cell.value);
        }
        if (seen < floor) violations.fetch_add(1);
      }
    });
  }
  for (int32_t i = 0; i < kWrites; ++i) {
    ASSERT_TRUE(engine_->apply(insert(7, 0, i, i + 1)).is_ok());
    acknowledged.store(i);
  }
  done.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(violations.load(), 0);
  // Quiet now: the next read fills the cache and the one after is served from it, with the last
  // acknowledged value.
  auto last_value = [&] { return as_int32(read(7).rows.at(0).cells.at(0).value); };
  EXPECT_EQ(last_value(), kWrites - 1);
  const uint64_t hits = engine_->row_cache_hits();
  EXPECT_EQ(last_value(), kWrites - 1);
  EXPECT_EQ(engine_->row_cache_hits(), hits + 1);
}

}  // namespace
}  // namespace ringdb::storage
