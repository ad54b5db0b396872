#include "storage/fragment_counts.h"

#include "common/check.h"

namespace ringdb::storage {

FragmentCounts::FragmentCounts(size_t slots) : mask_(slots - 1), slots_(new Slot[slots]) {
  RINGDB_CHECK(slots > 0 && (slots & (slots - 1)) == 0);
}

uint64_t FragmentCounts::fingerprint(TableId table, int64_t token) {
  // Tokens are already uniform (Murmur3); the table is mixed in, and 0 means an empty slot.
  const uint64_t h = (static_cast<uint64_t>(token) ^ (uint64_t{table} * 0x9E3779B97F4A7C15ull)) *
                     0xD6E8FEB86659FD93ull;
  return h == 0 ? 1 : h;
}

uint32_t FragmentCounts::operands(uint64_t fingerprint) const {
  const Slot& s = slot(fingerprint);
  if (s.fingerprint.load(std::memory_order_relaxed) != fingerprint) return 0;
  return s.operands.load(std::memory_order_relaxed);
}

void FragmentCounts::record(uint64_t fingerprint, bool collapsed) {
  Slot& s = slot(fingerprint);
  if (collapsed || s.fingerprint.load(std::memory_order_relaxed) != fingerprint) {
    // Two writers racing here may leave a count off by a few: it only times the collapses.
    s.fingerprint.store(fingerprint, std::memory_order_relaxed);
    s.operands.store(1, std::memory_order_relaxed);
    return;
  }
  s.operands.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace ringdb::storage
