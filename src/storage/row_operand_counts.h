// RowOperandCounts: how many operands a recently written key has collected since it was last
// collapsed. The key is a whole row for a table without clustering columns (its fragment, see
// row_fragment.h) and one cell for a clustered table.
//
// Every write merges one more operand into each key it writes, and a read folds every operand
// the memtables hold for a key until a flush merges them. So a row written thousands of times
// between flushes got slow to read: 100 keys of a table without clustering columns, after 50k
// writes in all, answered a mixed workload at about 3,500 op/s. The engine counts each key's
// writes here and, once a key reaches Engine::kRowOperandsMax, collapses it: it puts the key's
// merged value as a plain value under the new operand, with the partition's stripe held
// exclusively (see PartitionLocks), so a read folds a bounded number of operands.
//
// The counts only decide when to collapse, never whether a collapse is safe, so they are kept
// without locks and may be off: a key is known by a 64-bit fingerprint in a fixed table of
// slots, and a key that loses its slot, or was written before a restart, starts again from
// zero. Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/bytes.h"

namespace ringdb::storage {

class RowOperandCounts {
 public:
  explicit RowOperandCounts(size_t slots);  // a power of two

  // A key's fingerprint.
  static uint64_t fingerprint(BytesView key);
  // Operands the key has collected since its last collapse, as far as known.
  uint32_t operands(uint64_t fingerprint) const;
  // One more operand written; or, `collapsed`, the key is a plain value with one operand on
  // top of it.
  void record(uint64_t fingerprint, bool collapsed);

 private:
  struct Slot {
    std::atomic<uint64_t> fingerprint{0};
    std::atomic<uint32_t> operands{0};
  };
  Slot& slot(uint64_t fingerprint) const { return slots_[fingerprint & mask_]; }

  const size_t mask_;
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace ringdb::storage
