#include "storage/row_operand_counts.h"

#include "common/check.h"
#include "common/murmur3.h"

namespace ringdb::storage {

RowOperandCounts::RowOperandCounts(size_t slots) : mask_(slots - 1), slots_(new Slot[slots]) {
  RINGDB_CHECK(slots > 0 && (slots & (slots - 1)) == 0);
}

uint64_t RowOperandCounts::fingerprint(BytesView key) {
  const uint64_t h = static_cast<uint64_t>(murmur3_token(key));
  return h == 0 ? 1 : h;  // 0 marks an empty slot
}

uint32_t RowOperandCounts::operands(uint64_t fingerprint) const {
  const Slot& s = slot(fingerprint);
  if (s.fingerprint.load(std::memory_order_relaxed) != fingerprint) return 0;
  return s.operands.load(std::memory_order_relaxed);
}

void RowOperandCounts::record(uint64_t fingerprint, bool collapsed) {
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
