#include "storage/memtable_rep.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

namespace ringdb::storage {
namespace {

// Joins operands with ',' in sequence order, so a read shows every operand and their order.
class JoinOperator : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* out, rocksdb::Logger*) const override {
    *out = existing ? existing->ToString() + "," + value.ToString() : value.ToString();
    return true;
  }
  const char* Name() const override { return "JoinOperator"; }
};

std::string key_of(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "k%08d", i);
  return buf;
}

class IndexedMemTableTest : public testing::Test {
 protected:
  void open(size_t drain_batch) {
    dir_ = std::filesystem::temp_directory_path() /
           ("ringdb-memtable-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    factory_ = std::make_shared<IndexedMemTableFactory>(size_t{4} << 20, drain_batch);
    rocksdb::Options o;
    o.create_if_missing = true;
    o.memtable_factory = factory_;
    o.write_buffer_size = size_t{4} << 20;
    o.allow_concurrent_memtable_write = true;
    o.unordered_write = true;
    o.merge_operator = std::make_shared<JoinOperator>();
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir_.string(), &db).ok());
    db_.reset(db);
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::optional<std::string> get(const std::string& key, const rocksdb::Snapshot* at = nullptr) {
    rocksdb::ReadOptions ro;
    ro.snapshot = at;
    std::string value;
    rocksdb::Status s = db_->Get(ro, key, &value);
    if (s.IsNotFound()) return std::nullopt;
    EXPECT_TRUE(s.ok()) << s.ToString();
    return value;
  }

  std::map<std::string, std::string> scan(rocksdb::Iterator* it) {
    std::map<std::string, std::string> out;
    std::string last;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      EXPECT_LT(last, it->key().ToString());  // in order, each key once
      last = it->key().ToString();
      out[last] = it->value().ToString();
    }
    EXPECT_TRUE(it->status().ok());
    return out;
  }

  std::filesystem::path dir_;
  std::shared_ptr<IndexedMemTableFactory> factory_;
  std::unique_ptr<rocksdb::DB> db_;
};

TEST_F(IndexedMemTableTest, PointReadsComeFromTheIndexWithEveryOperandInOrder) {
  open(/*drain_batch=*/7);
  rocksdb::WriteOptions wo;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 500; ++i) {
      ASSERT_TRUE(db_->Merge(wo, key_of(i), std::to_string(round)).ok());
    }
  }
  ASSERT_TRUE(db_->Delete(wo, key_of(7)).ok());
  ASSERT_TRUE(db_->Put(wo, key_of(8), "p").ok());
  ASSERT_TRUE(db_->Merge(wo, key_of(8), "m").ok());
  for (int i = 0; i < 500; ++i) {
    if (i == 7) {
      EXPECT_EQ(get(key_of(i)), std::nullopt);
    } else if (i == 8) {
      EXPECT_EQ(get(key_of(i)), "p,m");
    } else {
      EXPECT_EQ(get(key_of(i)), "0,1,2") << i;
    }
  }
  EXPECT_EQ(get("k"), std::nullopt);
  EXPECT_EQ(get(key_of(500)), std::nullopt);
  // Every lookup above went through the hash index: the layout check on RocksDB's lookup key
  // held, so a RocksDB whose layout differs fails here instead of silently searching.
  EXPECT_GE(factory_->counters().indexed_gets.load(), 502u);
  EXPECT_EQ(factory_->counters().fallback_gets.load(), 0u);
}

TEST_F(IndexedMemTableTest, SnapshotsSeeOnlyOlderOperands) {
  open(IndexedMemTableFactory::kDrainBatch);
  rocksdb::WriteOptions wo;
  ASSERT_TRUE(db_->Merge(wo, "a", "1").ok());
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  ASSERT_TRUE(db_->Merge(wo, "a", "2").ok());
  ASSERT_TRUE(db_->Delete(wo, "b").ok());
  EXPECT_EQ(get("a", snapshot), "1");
  EXPECT_EQ(get("a"), "1,2");
  db_->ReleaseSnapshot(snapshot);
}

// A lookup stops walking a key's versions at a plain value (the engine writes one only while no
// other write of the key is under way); a snapshot from before it still reads the older ones.
TEST_F(IndexedMemTableTest, APlainValueEndsALookupButNotAnOlderSnapshots) {
  open(IndexedMemTableFactory::kDrainBatch);
  rocksdb::WriteOptions wo;
  std::string older;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(db_->Merge(wo, "hot", "a" + std::to_string(i)).ok());
    older += (i == 0 ? "" : ",") + ("a" + std::to_string(i));
  }
  const rocksdb::Snapshot* before = db_->GetSnapshot();
  ASSERT_TRUE(db_->Put(wo, "hot", "base").ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(db_->Merge(wo, "hot", "b" + std::to_string(i)).ok());
  ASSERT_TRUE(db_->Merge(wo, "cold", "c").ok());
  EXPECT_EQ(get("hot"), "base,b0,b1,b2");
  EXPECT_EQ(get("hot", before), older);
  EXPECT_EQ(get("cold"), "c");
  db_->ReleaseSnapshot(before);
}

TEST_F(IndexedMemTableTest, IteratorsAndFlushesSeeEveryWriteInOrder) {
  // A batch larger than the writes: nothing reaches the skiplist before an iterator asks.
  open(/*drain_batch=*/1000000);
  rocksdb::WriteOptions wo;
  std::vector<int> order(3000);
  for (int i = 0; i < 3000; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  for (int i : order) ASSERT_TRUE(db_->Put(wo, key_of(i), std::to_string(i)).ok());
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  auto seen = scan(it.get());
  EXPECT_EQ(seen.size(), 3000u);
  EXPECT_EQ(seen[key_of(1234)], "1234");
  // All by the iterator, but the first, which goes to the skiplist at once with its splice.
  EXPECT_EQ(factory_->counters().drained_entries.load(), 2999u);

  // A refresh without a new memtable keeps the skiplist iterator: drain() first.
  ASSERT_TRUE(db_->Put(wo, key_of(5000), "late").ok());
  factory_->drain();
  ASSERT_TRUE(it->Refresh().ok());
  seen = scan(it.get());
  EXPECT_EQ(seen.size(), 3001u);
  EXPECT_EQ(seen[key_of(5000)], "late");
  it.reset();

  // A flush writes the memtable through its iterator; reads then come from the file.
  ASSERT_TRUE(db_->Put(wo, key_of(6000), "unflushed").ok());
  ASSERT_TRUE(db_->Flush(rocksdb::FlushOptions()).ok());
  EXPECT_EQ(get(key_of(6000)), "unflushed");
  EXPECT_EQ(get(key_of(42)), "42");
  it.reset(db_->NewIterator(rocksdb::ReadOptions()));
  EXPECT_EQ(scan(it.get()).size(), 3002u);
}

TEST_F(IndexedMemTableTest, ConcurrentWritersNeverHideAnAcknowledgedWrite) {
  open(/*drain_batch=*/64);
  constexpr int kWriters = 3, kPerWriter = 4000;
  std::atomic<int> acked[kWriters] = {};
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        const std::string key = key_of(w * kPerWriter + i);
        EXPECT_TRUE(db_->Merge(rocksdb::WriteOptions(), key, "v").ok());
        acked[w].store(i + 1, std::memory_order_release);
      }
    });
  }
  std::atomic<int> reads_checked{0};
  std::thread point_reader([&] {
    std::mt19937 rng(1);
    while (!done.load()) {
      const int w = static_cast<int>(rng() % kWriters);
      const int n = acked[w].load(std::memory_order_acquire);
      if (n == 0) continue;
      const int i = static_cast<int>(rng() % n);
      EXPECT_EQ(get(key_of(w * kPerWriter + i)), "v") << w << " " << i;
      reads_checked.fetch_add(1);
    }
  });
  std::thread scanner([&] {
    while (!done.load()) {
      int before[kWriters];
      for (int w = 0; w < kWriters; ++w) before[w] = acked[w].load(std::memory_order_acquire);
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
      auto seen = scan(it.get());
      for (int w = 0; w < kWriters; ++w) {
        for (int i = 0; i < before[w]; ++i) {
          ASSERT_EQ(seen.count(key_of(w * kPerWriter + i)), 1u) << w << " " << i;
        }
      }
    }
  });
  for (auto& t : writers) t.join();
  done.store(true);
  point_reader.join();
  scanner.join();
  EXPECT_GT(reads_checked.load(), 0);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  EXPECT_EQ(scan(it.get()).size(), static_cast<size_t>(kWriters * kPerWriter));
}

}  // namespace
}  // namespace ringdb::storage
