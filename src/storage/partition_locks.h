// PartitionLocks: the partition isolation that RocksDB's unordered_write takes away.
//
// The engine opens RocksDB with unordered_write: writers insert into the memtable without
// waiting for each other, which spares the write group's hand-offs between event loops, but
// a reader may then see some keys of a concurrent WriteBatch and not others. A Cassandra
// mutation is isolated within its partition, so a mutation that writes more than one key
// (a row of a clustered table, several rows, a range tombstone with rows) holds its
// partition's stripe exclusively across the RocksDB write, and every storage read of a
// partition holds its stripe shared while it reads. A mutation of one key (a row fragment)
// is atomic in the memtable; it holds its stripe shared, so that a write that collapses the
// row (reads its merged value and puts it back, see row_operand_counts.h) can hold the stripe
// exclusively and know that no other write of the row is half done.
//
// Stripes are reader-writer locks that prefer writers, so a stream of reads of a hot partition
// cannot hold its writers off. Event-loop threads must never wait: they use the try_ forms
// and hand the request to a storage thread when a stripe is busy. A reader holds at most one
// stripe at a time; a writer takes all of its stripes, shared or exclusive, in increasing
// order before its write: no cycle can form. Thread-safe.
#pragma once

#include <pthread.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "storage/mutation.h"

namespace ringdb::storage {

class PartitionLocks {
 public:
  static constexpr size_t kStripes = 4096;  // a power of two

  PartitionLocks();
  ~PartitionLocks();
  PartitionLocks(const PartitionLocks&) = delete;
  PartitionLocks& operator=(const PartitionLocks&) = delete;

  static size_t stripe_of(TableId table, int64_t token);

  void lock_shared(size_t stripe);
  [[nodiscard]] bool try_lock_shared(size_t stripe);
  void unlock_shared(size_t stripe);

  // A writer's stripes: sorted by stripe, each once. try_lock_all takes all or none.
  struct WriterStripe {
    size_t stripe;
    bool exclusive;
  };
  void lock_all(std::span<const WriterStripe> stripes);
  [[nodiscard]] bool try_lock_all(std::span<const WriterStripe> stripes);
  void unlock_all(std::span<const WriterStripe> stripes);

 private:
  struct alignas(64) Stripe {
    pthread_rwlock_t lock;
  };
  std::unique_ptr<Stripe[]> stripes_;
};

// Holds one stripe shared until destroyed (or never, if the try failed).
class SharedPartitionLock {
 public:
  // Waits unless `try_only`; owns() says whether the stripe is held.
  SharedPartitionLock(PartitionLocks& locks, size_t stripe, bool try_only)
      : locks_(locks), stripe_(stripe) {
    if (try_only) {
      owns_ = locks_.try_lock_shared(stripe_);
    } else {
      locks_.lock_shared(stripe_);
      owns_ = true;
    }
  }
  ~SharedPartitionLock() {
    if (owns_) locks_.unlock_shared(stripe_);
  }
  SharedPartitionLock(const SharedPartitionLock&) = delete;
  SharedPartitionLock& operator=(const SharedPartitionLock&) = delete;
  bool owns() const { return owns_; }

 private:
  PartitionLocks& locks_;
  size_t stripe_;
  bool owns_ = false;
};

}  // namespace ringdb::storage
