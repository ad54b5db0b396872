// HeaderBounds: which clustered partitions' headers already hold a bound on a new write's
// timestamp, so that the write need not merge one more.
//
// A clustered partition's header key (Section::kMaxTimestamp) holds an upper bound on the write
// timestamps of its rows; a read that meets a range tombstone at least as new as the bound skips
// everything under it in one seek. Every write used to merge its own timestamp into that key,
// and a read folds every operand the memtables hold for it: one partition written 100k times
// since the last flush took about 19 ms per single-row read. Now a write merges its timestamp
// rounded up to `step_micros`, and a write whose timestamp is at or below a bound this cache has
// seen written adds nothing: a hot partition gets about one header operand per step of time.
// The bound is still an upper bound, which is all readers need; the rounding only means a range
// tombstone must be newer than the partition's writes by the rest of their step to be skipped.
//
// The cache forgets: a partition that lost its slot (a bounded table of kSlotsPerStripe slots
// per PartitionLocks stripe) or was written before a restart merges its bound again.
//
// Thread-safety: the slots of a stripe are touched only by a thread that holds that
// PartitionLocks stripe exclusively; clear() needs every stripe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/bytes.h"

namespace ringdb::storage {

class HeaderBounds {
 public:
  static constexpr size_t kSlotsPerStripe = 4;

  HeaderBounds(size_t stripes, int64_t step_micros);

  // `timestamp` rounded up to a multiple of the step (saturating at the largest timestamp).
  int64_t round_up(int64_t timestamp) const;
  // True when the partition's header is known to hold a bound of at least `timestamp`.
  bool covers(size_t stripe, int64_t token, BytesView partition_prefix, int64_t timestamp) const;
  // Notes that the partition's header now holds `bound` (the write that merged it succeeded).
  void record(size_t stripe, int64_t token, BytesView partition_prefix, int64_t bound);
  // Forgets everything (after a table's data is removed, headers included).
  void clear();

 private:
  struct Slot {
    Bytes partition_prefix;  // empty: unused
    int64_t bound = 0;
  };
  const Slot& slot(size_t stripe, int64_t token) const;
  Slot& slot(size_t stripe, int64_t token);

  const size_t stripes_;
  const int64_t step_micros_;
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace ringdb::storage
