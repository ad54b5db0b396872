// RowCache: whole small partitions recently read, so that hot point reads skip RocksDB.
//
// Only complete partitions of at most kRowsMax rows without any TTL are kept: their reads do not
// depend on the time, so a cached copy stays right until the next write to the partition. Every
// write invalidates its partition after it reached the memtable. A reader that missed takes a
// version of the partition's stripe before reading RocksDB and inserts only if no write
// touched that stripe meanwhile, so a stale read can never be cached over a newer write.
// Bounded by bytes (LRU). Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "storage/mutation.h"

namespace ringdb::storage {

class RowCache {
 public:
  static constexpr size_t kRowsMax = 16;
  static constexpr size_t kStripes = 1024;

  explicit RowCache(size_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}

  bool enabled() const { return capacity_bytes_ > 0; }
  // Take before reading storage; pass to insert().
  uint64_t version(TableId table, BytesView partition_key) const;
  std::optional<Partition> lookup(TableId table, BytesView partition_key);
  // Keeps `partition` (a complete read) unless it is not cacheable or a write came in between.
  void insert(TableId table, BytesView partition_key, uint64_t version_before_read,
              const Partition& partition);
  // Call after a write to the partition reached the memtable and before it is acknowledged.
  void invalidate(TableId table, BytesView partition_key);
  void clear();

  static bool cacheable(const Partition& partition);
  size_t bytes() const;
  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }

 private:
  static std::string cache_key(TableId table, BytesView partition_key);
  size_t stripe(const std::string& key) const;
  void erase_locked(const std::string& key);

  const size_t capacity_bytes_;
  std::array<std::atomic<uint64_t>, kStripes> versions_{};
  mutable std::mutex mutex_;
  struct Entry {
    std::string key;
    Partition partition;
    size_t bytes;
  };
  std::list<Entry> lru_;  // front: most recent
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  size_t bytes_ = 0;
  std::atomic<uint64_t> hits_{0};
};

}  // namespace ringdb::storage
