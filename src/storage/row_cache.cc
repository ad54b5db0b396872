#include "storage/row_cache.h"

#include <functional>

namespace ringdb::storage {
namespace {

size_t row_bytes(const Row& row) {
  size_t n = sizeof(Row);
  for (const auto& c : row.clustering) n += c.size();
  for (const auto& cell : row.cells)
    n += sizeof(Cell) + cell.value.size() + (cell.path ? cell.path->size() : 0);
  return n;
}

size_t partition_bytes(const Partition& p) {
  size_t n =
      sizeof(Partition) + p.partition_key.size() + (p.static_row ? row_bytes(*p.static_row) : 0);
  for (const auto& r : p.rows) n += row_bytes(r);
  return n;
}

bool has_ttl(const Row& row) {
  if (row.marker_ttl_seconds > 0) return true;
  for (const auto& cell : row.cells) {
    if (cell.ttl_seconds > 0) return true;
  }
  return false;
}

}  // namespace

std::string RowCache::cache_key(TableId table, BytesView partition_key) {
  std::string key(4, '\0');
  for (int i = 0; i < 4; ++i)
    key[static_cast<size_t>(i)] = static_cast<char>(table >> (8 * (3 - i)));
  key.append(partition_key);
  return key;
}

uint64_t RowCache::version(TableId table, BytesView partition_key) const {
  return versions_[stripe(cache_key(table, partition_key))].load(std::memory_order_acquire);
}

bool RowCache::cacheable(const Partition& partition) {
  if (partition.rows.size() > kRowsMax) return false;
  if (partition.static_row && has_ttl(*partition.static_row)) return false;
  for (const auto& row : partition.rows) {
    if (has_ttl(row)) return false;
  }
  return true;
}

std::optional<Partition> RowCache::lookup(TableId table, BytesView partition_key) {
  const std::string key = cache_key(table, partition_key);
  Shard& shard = shard_of(stripe(key));
  std::lock_guard lock(shard.mutex);
  auto it = shard.index.find(key);
  if (it == shard.index.end()) return std::nullopt;
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  ++shard.hits;
  return it->second->partition;
}

void RowCache::insert(TableId table, BytesView partition_key, uint64_t version_before_read,
                      const Partition& partition) {
  if (!enabled() || !cacheable(partition)) return;
  const std::string key = cache_key(table, partition_key);
  const size_t size = partition_bytes(partition) + key.size();
  const size_t shard_capacity = capacity_bytes_ / kShards;
  if (size > shard_capacity) return;
  const size_t s = stripe(key);
  Shard& shard = shard_of(s);
  std::lock_guard lock(shard.mutex);
  // Writers bump the version before they take this lock to erase, so checking it under the lock
  // rules out a write that finished while we read.
  if (versions_[s].load(std::memory_order_acquire) != version_before_read) return;
  shard.erase_locked(key);
  shard.lru.push_front(Entry{key, partition, size});
  shard.index[key] = shard.lru.begin();
  shard.bytes += size;
  while (shard.bytes > shard_capacity && !shard.lru.empty()) {
    const std::string victim = shard.lru.back().key;  // a copy: erasing frees the entry
    shard.erase_locked(victim);
  }
}

void RowCache::invalidate(TableId table, BytesView partition_key) {
  if (!enabled()) return;
  const std::string key = cache_key(table, partition_key);
  const size_t s = stripe(key);
  versions_[s].fetch_add(1, std::memory_order_acq_rel);
  Shard& shard = shard_of(s);
  std::lock_guard lock(shard.mutex);
  shard.erase_locked(key);
}

void RowCache::clear() {
  for (auto& v : versions_) v.fetch_add(1, std::memory_order_acq_rel);
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    shard.lru.clear();
    shard.index.clear();
    shard.bytes = 0;
  }
}

uint64_t RowCache::hits() const {
  uint64_t total = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.hits;
  }
  return total;
}

size_t RowCache::bytes() const {
  size_t total = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.bytes;
  }
  return total;
}

void RowCache::Shard::erase_locked(const std::string& key) {
  auto it = index.find(key);
  if (it == index.end()) return;
  bytes -= it->second->bytes;
  lru.erase(it->second);
  index.erase(it);
}

}  // namespace ringdb::storage
