// FragmentCounts: how many operands the row of a recently written partition of a table
// without clustering columns has collected since it was last collapsed.
//
// Such a row is one RocksDB key (its fragment, see row_fragment.h), and every write merges one
// more operand into it. A read folds every operand the memtables hold for the key, so a row
// written thousands of times between flushes got slow to read: 100 keys written 110k times in
// all answered a mixed workload at about 3,500 op/s. The engine counts each partition's
// operands here and, once a partition reaches Engine::kFragmentOperandsMax, collapses it: it
// puts the merged row as a plain value under the next write's operand, with the partition's
// stripe held exclusively (see PartitionLocks), so a read folds a bounded number of operands.
//
// The counts only decide when to collapse, never whether a collapse is safe, so they are kept
// without locks and may be off: a partition is known by a 64-bit fingerprint in a fixed table
// of slots, and a partition that loses its slot, or was written before a restart, starts again
// from zero. Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "storage/mutation.h"

namespace ringdb::storage {

class FragmentCounts {
 public:
  explicit FragmentCounts(size_t slots);  // a power of two

  static uint64_t fingerprint(TableId table, int64_t token);
  // Operands the partition has collected since its last collapse, as far as known.
  uint32_t operands(uint64_t fingerprint) const;
  // One more operand written; or, `collapsed`, the row is one plain value with one operand on
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
