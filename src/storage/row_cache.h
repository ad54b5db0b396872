// RowCache: whole small partitions recently read, so that hot point reads skip RocksDB.
//
// Only complete partitions of at most kRowsMax rows without any TTL are kept: their reads do not
// depend on the time, so a cached copy stays right until the next write to the partition. Every
// write invalidates its partition after it reached the memtable. A reader that missed takes a
// version of the partition's stripe before reading RocksDB and inserts only if no write
// touched that stripe meanwhile, so a stale read can never be cached over a newer write.
// Bounded by bytes per shard, evicting with CLOCK (second chance): a hit only sets a flag, so
// reads on different cores do not keep rewriting shared list links as an LRU list would.
// Thread-safe: partitions are spread over kShards shards, each with its own lock, and cached
// partitions are immutable and shared, so a hit copies nothing under the lock.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "storage/mutation.h"

namespace ringdb::storage {

class RowCache {
 public:
  static constexpr size_t kRowsMax = 16;
  static constexpr size_t kStripes = 1024;
  static constexpr size_t kShards = 16;  // divides kStripes: a stripe lies in one shard

  explicit RowCache(size_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}

  // A partition's cache key with its hash, computed once for a lookup, version and insert.
  struct Key {
    std::string bytes;
    uint64_t hash = 0;
  };
  static Key key_of(TableId table, BytesView partition_key);

  bool enabled() const { return capacity_bytes_ > 0; }
  // Take before reading storage; pass to insert().
  uint64_t version(const Key& key) const;
  std::shared_ptr<const Partition> lookup(const Key& key);
  // Keeps `partition` (a complete read) unless it is not cacheable or a write came in between.
  void insert(Key key, uint64_t version_before_read, std::shared_ptr<const Partition> partition);
  // Call after a write to the partition reached the memtable and before it is acknowledged.
  void invalidate(const Key& key);

  uint64_t version(TableId table, BytesView partition_key) const {
    return version(key_of(table, partition_key));
  }
  std::shared_ptr<const Partition> lookup(TableId table, BytesView partition_key) {
    return lookup(key_of(table, partition_key));
  }
  void insert(TableId table, BytesView partition_key, uint64_t version_before_read,
              std::shared_ptr<const Partition> partition) {
    insert(key_of(table, partition_key), version_before_read, std::move(partition));
  }
  void invalidate(TableId table, BytesView partition_key) {
    if (enabled()) invalidate(key_of(table, partition_key));
  }
  void clear();

  static bool cacheable(const Partition& partition);
  size_t bytes() const;
  uint64_t hits() const;

 private:
  // One cached partition.
  struct Slot {
    std::string key;
    std::shared_ptr<const Partition> partition;
    size_t bytes = 0;
    bool referenced = false;  // set by hits, cleared as the clock hand passes
  };
  // An open-addressing table with linear probing: a lookup reads one slot (the key of a small
  // partition is inline in it) instead of chasing a bucket list, which took a tenth of a cached
  // read's CPU with std::unordered_map. Deletion shifts the following run back, so there are
  // no tombstones. Probes read a separate array of hashes, eight to a cache line, and touch a
  // slot only when its hash matches. The clock hand sweeps the slots themselves.
  struct Shard {
    std::mutex mutex;
    std::vector<uint64_t> hashes;  // per slot; 0 = empty (real hashes are made odd)
    std::vector<Slot> slots;  // a power of two, at most 3/4 full; empty until the first insert
    size_t live = 0;
    size_t hand = 0;
    size_t bytes = 0;
    uint64_t hits = 0;  // counted here, under the lock, rather than on a line all cores share
    // The slot holding `key`, or slots.size().
    size_t find_locked(uint64_t hash, const std::string& key) const;
    void insert_locked(uint64_t hash, Slot slot);
    void erase_at_locked(size_t index);
    void evict_locked(size_t capacity);
    size_t home(uint64_t hash) const;
  };
  static size_t stripe(uint64_t hash) { return (hash >> 1) % kStripes; }
  Shard& shard_of(size_t stripe) const { return shards_[stripe % kShards]; }
  template <typename Field>
  uint64_t sum_over_shards(Field field) const;

  const size_t capacity_bytes_;
  std::array<std::atomic<uint64_t>, kStripes> versions_{};
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace ringdb::storage
