// The memtable representation: RocksDB's skiplist, filled in sorted batches, beside a hash
// index of every entry for point lookups.
//
// A random insert into a skiplist of a few hundred thousand entries is a search with a cache
// miss per level; with many writers it was about 45% of the server's CPU per write. Here a
// write only links its entry into a hash bucket and onto a pending stack (two compare-and-swaps
// on lines it already touches). Pending entries reach the skiplist in batches: sorted, then
// inserted in key order with a splice hint, so each insert searches only the few levels
// between it and the previous one.
//
// Readers see every acknowledged write:
// - Point lookups (DB::Get, MultiGet) read the hash index, which holds pending and inserted
//   entries alike, and never search the skiplist. A lookup walks a key's entries from the
//   newest inserted and stops at a plain value (a Put): the engine writes one only while no
//   other write of that key is under way (see row_operand_counts.h), so every entry inserted
//   before it is older.
// - An iterator's memtable part is created through GetIterator, which first inserts whatever is
//   pending. An iterator refreshed in place (rocksdb::Iterator::Refresh with no new memtable or
//   file) reuses its skiplist iterator: call IndexedMemTableFactory::drain() before Refresh.
// - A helper thread inserts a memtable's pending entries once there are drain_batch of them, so
//   writers never wait for the skiplist. A reader that needs the skiplist inserts what is pending
//   itself, or waits for the batch in progress; pending() tells an event loop how much that is.
//
// The entry format (length-prefixed internal key, length-prefixed value) is RocksDB's; each
// entry gets a 24-byte trailer after it, in the same allocation. Requires
// memtable_protection_bytes_per_key = 0 (the trailer's place is computed from the entry).
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "rocksdb/memtablerep.h"

namespace ringdb::storage {

class IndexedMemTableRep;

class IndexedMemTableFactory final : public rocksdb::MemTableRepFactory {
 public:
  // Pending entries of one memtable that wake the helper thread. Larger batches make each insert
  // cheaper (it searches only the skiplist levels between it and the previous key) and leave more
  // for a reader to insert first.
  static constexpr size_t kDrainBatch = 32768;

  // `write_buffer_bytes` sizes each memtable's hash table (one bucket per 128 bytes).
  explicit IndexedMemTableFactory(size_t write_buffer_bytes, size_t drain_batch = kDrainBatch);
  ~IndexedMemTableFactory() override;

  using rocksdb::MemTableRepFactory::CreateMemTableRep;
  rocksdb::MemTableRep* CreateMemTableRep(const rocksdb::MemTableRep::KeyComparator& cmp,
                                          rocksdb::Allocator* allocator,
                                          const rocksdb::SliceTransform* transform,
                                          rocksdb::Logger* logger) override;
  const char* Name() const override { return "RingDBIndexedMemTableFactory"; }
  bool IsInsertConcurrentlySupported() const override { return true; }
  bool CanHandleDuplicatedKey() const override { return true; }

  // Inserts every memtable's pending entries into its skiplist, or waits while another thread
  // does. Cheap when none are pending.
  void drain();
  // Entries written and not yet in a skiplist, over all memtables.
  uint64_t pending() const { return pending_.load(std::memory_order_acquire); }

  struct Counters {
    std::atomic<uint64_t> indexed_gets{0};   // point lookups answered from the hash index
    std::atomic<uint64_t> fallback_gets{0};  // point lookups that searched the skiplist
    std::atomic<uint64_t> drains{0};         // batches inserted into a skiplist
    std::atomic<uint64_t> drained_entries{0};
  };
  const Counters& counters() const { return counters_; }

 private:
  friend class IndexedMemTableRep;
  void unregister(uint64_t id);
  void wake_helper();
  void helper_loop();
  // Drains, in id order, the memtables with at least `min_pending` entries pending.
  bool drain_each(size_t min_pending);

  const size_t buckets_;
  const size_t drain_batch_;
  std::unique_ptr<rocksdb::MemTableRepFactory> skiplists_;
  Counters counters_;
  // Entries pending in all memtables: drain() returns at once when there are none.
  std::atomic<uint64_t> pending_{0};

  std::mutex registry_mutex_;  // guards reps_ and next_id_; taken before a memtable's drain lock
  std::map<uint64_t, IndexedMemTableRep*> reps_;
  uint64_t next_id_ = 0;

  std::mutex helper_mutex_;
  std::condition_variable helper_wake_;
  bool helper_woken_ = false;  // guarded by helper_mutex_
  bool stopping_ = false;      // guarded by helper_mutex_
  std::thread helper_;
};

}  // namespace ringdb::storage
