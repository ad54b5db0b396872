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

RowCache::Key RowCache::key_of(TableId table, BytesView partition_key) {
  Key key;
  key.bytes.resize(4);
  for (int i = 0; i < 4; ++i)
    key.bytes[static_cast<size_t>(i)] = static_cast<char>(table >> (8 * (3 - i)));
  key.bytes.append(partition_key);
  key.hash = std::hash<std::string>{}(key.bytes) | 1;  // 0 marks an empty slot
  return key;
}

uint64_t RowCache::version(const Key& key) const {
  return versions_[stripe(key.hash)].load(std::memory_order_acquire);
}

bool RowCache::cacheable(const Partition& partition) {
  if (partition.rows.size() > kRowsMax) return false;
  if (partition.static_row && has_ttl(*partition.static_row)) return false;
  for (const auto& row : partition.rows) {
    if (has_ttl(row)) return false;
  }
  return true;
}

std::shared_ptr<const Partition> RowCache::lookup(const Key& key) {
  Shard& shard = shard_of(stripe(key.hash));
  std::lock_guard lock(shard.mutex);
  const size_t i = shard.find_locked(key.hash, key.bytes);
  if (i == shard.slots.size()) return nullptr;
  Slot& slot = shard.slots[i];
  if (!slot.referenced) slot.referenced = true;
  ++shard.hits;
  return slot.partition;
}

void RowCache::insert(Key key, uint64_t version_before_read,
                      std::shared_ptr<const Partition> partition) {
  if (!enabled() || !cacheable(*partition)) return;
  // Twice a slot and its hash: the table is between 3/8 and 3/4 full.
  const size_t size =
      partition_bytes(*partition) + key.bytes.size() + 2 * (sizeof(Slot) + sizeof(uint64_t));
  const size_t shard_capacity = capacity_bytes_ / kShards;
  if (size > shard_capacity) return;
  const size_t s = stripe(key.hash);
  Shard& shard = shard_of(s);
  std::lock_guard lock(shard.mutex);
  // Writers bump the version before they take this lock to erase, so checking it under the lock
  // rules out a write that finished while we read.
  if (versions_[s].load(std::memory_order_acquire) != version_before_read) return;
  const size_t existing = shard.find_locked(key.hash, key.bytes);
  if (existing != shard.slots.size()) shard.erase_at_locked(existing);
  // Inserted as referenced: the hand passes slots in table order, not insertion order, so a new
  // entry gets one sweep before it can go.
  shard.insert_locked(key.hash, Slot{std::move(key.bytes), std::move(partition), size, true});
  shard.evict_locked(shard_capacity);
}

void RowCache::invalidate(const Key& key) {
  if (!enabled()) return;
  const size_t s = stripe(key.hash);
  versions_[s].fetch_add(1, std::memory_order_acq_rel);
  Shard& shard = shard_of(s);
  std::lock_guard lock(shard.mutex);
  const size_t i = shard.find_locked(key.hash, key.bytes);
  if (i != shard.slots.size()) shard.erase_at_locked(i);
}

void RowCache::clear() {
  for (auto& v : versions_) v.fetch_add(1, std::memory_order_acq_rel);
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    shard.hashes.clear();
    shard.slots.clear();
    shard.live = 0;
    shard.hand = 0;
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

size_t RowCache::Shard::home(uint64_t hash) const {
  // The shard was chosen by low bits of the hash; the slot comes from all of them, mixed.
  return static_cast<size_t>((hash * 0x9E3779B97F4A7C15ull) >> 32) & (slots.size() - 1);
}

size_t RowCache::Shard::find_locked(uint64_t hash, const std::string& key) const {
  if (slots.empty()) return 0;
  const size_t mask = slots.size() - 1;
  for (size_t i = home(hash);; i = (i + 1) & mask) {
    if (hashes[i] == 0) return slots.size();
    if (hashes[i] == hash && slots[i].key == key) return i;
  }
}

void RowCache::Shard::insert_locked(uint64_t hash, Slot slot) {
  if ((live + 1) * 4 > slots.size() * 3) {
    std::vector<uint64_t> old_hashes = std::move(hashes);
    std::vector<Slot> old = std::move(slots);
    const size_t size = std::max<size_t>(64, old.size() * 2);
    hashes.assign(size, 0);
    slots = std::vector<Slot>(size);
    live = 0;
    hand = 0;
    bytes = 0;  // counted again as the entries go back in
    for (size_t i = 0; i < old.size(); ++i) {
      if (old_hashes[i] != 0) insert_locked(old_hashes[i], std::move(old[i]));
    }
  }
  const size_t mask = slots.size() - 1;
  size_t i = home(hash);
  while (hashes[i] != 0) i = (i + 1) & mask;
  bytes += slot.bytes;
  hashes[i] = hash;
  slots[i] = std::move(slot);
  ++live;
}

void RowCache::Shard::erase_at_locked(size_t index) {
  const size_t mask = slots.size() - 1;
  bytes -= slots[index].bytes;
  --live;
  // Backward-shift deletion: move later members of the probe run into the hole whenever the
  // hole lies on their way from their home slot.
  size_t hole = index;
  for (size_t j = (hole + 1) & mask; hashes[j] != 0; j = (j + 1) & mask) {
    const size_t h = home(hashes[j]);
    // j may fill the hole unless its home lies cyclically in (hole, j].
    const bool home_after_hole = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j);
    if (home_after_hole) continue;
    hashes[hole] = hashes[j];
    slots[hole] = std::move(slots[j]);
    hole = j;
  }
  hashes[hole] = 0;
  slots[hole] = Slot{};
}

void RowCache::Shard::evict_locked(size_t capacity) {
  if (slots.empty()) return;
  const size_t mask = slots.size() - 1;
  // Each step either clears a flag, evicts, or passes an empty slot, so two sweeps and the
  // evictions bound the loop.
  while (bytes > capacity && live > 0) {
    Slot& slot = slots[hand];
    if (hashes[hand] == 0) {
      hand = (hand + 1) & mask;
    } else if (slot.referenced) {  // second chance
      slot.referenced = false;
      hand = (hand + 1) & mask;
    } else {
      erase_at_locked(hand);  // a later slot may shift into `hand`: look at it next
    }
  }
}

}  // namespace ringdb::storage
