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

std::shared_ptr<const Partition> RowCache::lookup(TableId table, BytesView partition_key) {
  const std::string key = cache_key(table, partition_key);
  Shard& shard = shard_of(stripe(key));
  std::lock_guard lock(shard.mutex);
  auto it = shard.index.find(key);
  if (it == shard.index.end()) return nullptr;
  if (!it->second.referenced) it->second.referenced = true;
  ++shard.hits;
  return it->second.partition;
}

void RowCache::insert(TableId table, BytesView partition_key, uint64_t version_before_read,
                      std::shared_ptr<const Partition> partition) {
  if (!enabled() || !cacheable(*partition)) return;
  const std::string key = cache_key(table, partition_key);
  const size_t size = partition_bytes(*partition) + 2 * key.size();
  const size_t shard_capacity = capacity_bytes_ / kShards;
  if (size > shard_capacity) return;
  const size_t s = stripe(key);
  Shard& shard = shard_of(s);
  std::lock_guard lock(shard.mutex);
  // Writers bump the version before they take this lock to erase, so checking it under the lock
  // rules out a write that finished while we read.
  if (versions_[s].load(std::memory_order_acquire) != version_before_read) return;
  shard.erase_locked(key);
  shard.index[key] = Entry{std::move(partition), size, false};
  shard.ring.push_back(key);
  shard.bytes += size;
  shard.evict_locked(shard_capacity);
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
    shard.index.clear();
    shard.ring.clear();
    shard.bytes = 0;
  }
}

template <typename Field>
uint64_t RowCache::sum_over_shards(Field field) const {
  uint64_t total = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.*field;
  }
  return total;
}

uint64_t RowCache::hits() const {
  return sum_over_shards(&Shard::hits);
}

size_t RowCache::bytes() const {
  return static_cast<size_t>(sum_over_shards(&Shard::bytes));
}

void RowCache::Shard::erase_locked(const std::string& key) {
  auto it = index.find(key);
  if (it == index.end()) return;
  bytes -= it->second.bytes;
  index.erase(it);
  // Erased keys linger in the ring; keep it within twice the live entries (amortized O(1)).
  if (ring.size() > 2 * index.size() + 64) {
    std::deque<std::string> live;
    for (auto& k : ring) {
      if (index.count(k) != 0) live.push_back(std::move(k));
    }
    ring.swap(live);
  }
}

void RowCache::Shard::evict_locked(size_t capacity) {
  while (bytes > capacity && !ring.empty()) {
    std::string key = std::move(ring.front());
    ring.pop_front();
    auto it = index.find(key);
    if (it == index.end()) continue;  // erased earlier
    if (it->second.referenced) {      // second chance
      it->second.referenced = false;
      ring.push_back(std::move(key));
      continue;
    }
    bytes -= it->second.bytes;
    index.erase(it);
  }
}

}  // namespace ringdb::storage
