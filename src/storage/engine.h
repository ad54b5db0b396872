// Engine: one node's local storage on one RocksDB instance.
//
// Applies Mutations with Cassandra's semantics (blind writes reconciled by the merge operator,
// timestamped tombstones, TTL), reads partition slices and token-range pages, and manages
// tables' data (drop, truncate, snapshot). Durable by default: apply() returns only after the
// commit log (RocksDB's WAL) is fsynced, with one fsync shared by concurrent writers; with
// commitlog_sync=periodic it returns once the write is in the WAL and the OS.
//
// Threading: every method may block on disk and is safe to call from many threads at once;
// the event loop calls it through a StorageBridge, never directly. Tables must be registered
// (register_table) before they are written or read; the schema layer owns their persistence.
#pragma once

#include <rocksdb/db.h>

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/metrics.h"
#include "common/status.h"
#include "runtime/clock.h"
#include "storage/commit_log.h"
#include "storage/header_bounds.h"
#include "storage/memtable_rep.h"
#include "storage/mutation.h"
#include "storage/partition_locks.h"
#include "storage/rocks_hooks.h"
#include "storage/row_cache.h"
#include "storage/row_operand_counts.h"

namespace ringdb::storage {

struct EngineOptions {
  std::string data_directory;
  CommitLogSync commitlog_sync = CommitLogSync::kGroup;
  int32_t commitlog_sync_period_ms = 10000;
  uint64_t counter_shard_id = 1;  // this node's counter shard (its host id in a cluster)
  size_t block_cache_bytes = size_t{256} << 20;
  size_t write_buffer_bytes = size_t{64} << 20;
  // A scan page stops after visiting this many keys even if it found fewer rows than asked,
  // so a page over a long run of tombstones stays bounded; the cursor resumes it.
  uint64_t scan_keys_visited_max = 100'000;
  // Whole small partitions kept in memory for point reads (row_cache_size_in_mb); 0 disables.
  size_t row_cache_bytes = 0;
  // Zero-filled space kept ahead of the write-ahead log's writer, so that group commits
  // rewrite blocks instead of growing the file (see wal_files.h); 0 turns it off.
  uint64_t wal_zero_ahead_bytes = uint64_t{8} << 20;
  // A clustered partition's header records its writes' highest timestamp rounded up to this
  // step, and at most one write per step adds to it (see header_bounds.h).
  int64_t header_timestamp_step_micros = 1'000'000;
};

class Engine {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Engine>> open(const EngineOptions& options,
                                                            const Clock& clock,
                                                            MetricsRegistry& metrics);
  ~Engine();

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Adds or replaces (ALTER) a table's descriptor. Data is kept across replacement.
  [[nodiscard]] Status register_table(TableDescriptor table);
  // Removes all of a table's data and frees its disk space; the table stays registered.
  [[nodiscard]] Status truncate_table(TableId table);
  // Removes all data and unregisters the table.
  [[nodiscard]] Status drop_table(TableId table);

  // Applies a mutation; returns when it is durable under the commit log mode.
  [[nodiscard]] Status apply(const Mutation& mutation);
  // Applies several mutations atomically (one WAL record): after a crash all or none are there.
  // A concurrent reader sees each partition's part whole (partition isolation, as Cassandra),
  // though not necessarily every partition's part at the same instant.
  [[nodiscard]] Status apply_all(std::span<const Mutation> mutations);
  // Applies the WAL write on the calling thread, then runs `done` once durable (possibly on the
  // commit log's thread). Validation errors are reported through `done` at once.
  void apply_async(const Mutation& mutation, std::function<void(Status)> done);
  void apply_all_async(std::span<const Mutation> mutations, std::function<void(Status)> done);
  // As apply_all_async, but only if RocksDB can take the write without waiting (no write stall,
  // no slowdown, no reader holding a partition it writes) and the mutations are valid: returns
  // false at once, with nothing written and `done` not called, otherwise. The event loop writes
  // through this and hands refused writes to storage threads, where errors are reported.
  // The WAL write itself is a write() into the page cache; the fsync stays on the commit log's
  // thread.
  [[nodiscard]] bool try_apply_all_async(std::span<const Mutation> mutations,
                                         std::function<void(Status)> done);

  // How a read may wait. kNonBlocking reads only memory (the row cache, RocksDB's memtables and
  // block cache) and answers WouldBlock when it would need the disk; it is safe on the event loop.
  enum class ReadMode { kBlocking, kNonBlocking };
  // A non-blocking read that visits more keys than this (a large partition) also answers
  // WouldBlock, so one read cannot hold an event loop for long.
  static constexpr uint64_t kNonBlockingKeysMax = 4096;
  // A read on an event loop that would first insert more pending memtable writes than this
  // into the skiplists (see memtable_rep.h) returns WouldBlock.
  static constexpr uint64_t kNonBlockingPendingMax = 1024;
  // Every write merges an operand into each key it writes: once a key (a whole row of a table
  // without clustering columns, one cell of a clustered table) has this many since its last
  // collapse, the next write puts the key's merged value under its own operand, so a read
  // folds at most about this many (see row_operand_counts.h).
  static constexpr uint32_t kRowOperandsMax = 32;

  // The key of the database's storage format (see Engine::open).
  static std::string storage_format_key();
  // Node-local facts kept beside the data, under the engine's own table (not a table of the
  // schema, so nothing replicates, scans or purges them), by name. A put is in the commit log
  // after every write acknowledged before it, so after a crash it is present only if they are.
  // put_local returns once it is durable, whatever commitlog_sync is.
  [[nodiscard]] Status put_local(std::string_view name, BytesView value);
  [[nodiscard]] Result<std::optional<Bytes>> get_local(std::string_view name);
  [[nodiscard]] Status delete_local(std::string_view name);
  const IndexedMemTableFactory::Counters& memtable_counters() const {
    return memtables_->counters();
  }
  [[nodiscard]] Result<Partition> read(const ReadCommand& command, ReadStats* stats = nullptr,
                                       ReadMode mode = ReadMode::kBlocking);
  // As read(), but the result is immutable and may be the row cache's own copy (no copying).
  [[nodiscard]] Result<std::shared_ptr<const Partition>> read_shared(
      const ReadCommand& command, ReadStats* stats = nullptr, ReadMode mode = ReadMode::kBlocking);
  [[nodiscard]] Result<ScanPage> scan(const ScanCommand& command, ReadStats* stats = nullptr);
  // A scan cursor that resumes right after one row (or after the whole partition when
  // `clustering` is null), for callers that stop part-way through a page.
  [[nodiscard]] Result<Bytes> scan_cursor_after(TableId table, BytesView partition_key,
                                                const std::vector<Bytes>* clustering) const;

  // A consistent copy of all data in <data_directory>/snapshots/<name> (hard links, cheap).
  [[nodiscard]] Status snapshot(const std::string& name);
  // Compacts everything: the only compaction that purges row, range and partition tombstones.
  [[nodiscard]] Status compact_all();
  // Flushes memtables to SST files (for tests and a clean shutdown).
  [[nodiscard]] Status flush();

  // Bytes of live SST files holding `table` (approximate, from RocksDB's index).
  uint64_t table_disk_bytes(TableId table);
  const CompactionFilterCounters& compaction_counters() const { return *compaction_counters_; }
  uint64_t commit_log_syncs() const { return commit_log_->sync_count(); }
  uint64_t row_cache_hits() const { return row_cache_.hits(); }
  std::shared_ptr<const TableDescriptor> table(TableId id) const { return tables_->find(id); }
  rocksdb::DB* rocksdb() { return db_.get(); }

 private:
  Engine(const EngineOptions& options, const Clock& clock, MetricsRegistry& metrics);
  // One mutation's partition as the write path sees it: where it is, how the write holds its
  // stripe, and what it wrote that HeaderBounds and RowOperandCounts keep track of.
  struct PartitionWrite {
    std::shared_ptr<const TableDescriptor> table;  // null: unknown (build_batch refuses it)
    Bytes partition_prefix;
    int64_t token = 0;
    size_t stripe = 0;
    bool first_in_group = true;  // no earlier mutation of the batch writes this partition
    // Writes one row fragment and nothing else: holds its stripe shared unless it collapses
    // (every other write holds it exclusively).
    bool lone_fragment = false;
    // The row fragment of a one-row mutation of a table without clustering columns, counted in
    // RowOperandCounts after the write (0: none; a clustered table's keys count on their own).
    uint64_t row_fingerprint = 0;
    bool collapse = false;   // puts the fragment's merged value under this write's operand
    bool collapsed = false;  // ... and did
    // Its rows' highest timestamp (kNoTimestamp: no header write needed); add_headers turns
    // it into the bound written, or kNoTimestamp when the header already has one.
    int64_t max_timestamp = kNoTimestamp;
  };
  // Where each mutation's partition is, how its stripe is held and whether it collapses.
  std::vector<PartitionWrite> plan_partitions(std::span<const Mutation> mutations) const;
  // The stripes to take for them, sorted, each once, exclusive if any partition wants it so.
  static std::vector<PartitionLocks::WriterStripe> writer_stripes(
      const std::vector<PartitionWrite>& partitions);
  // Adds the mutation's keys to `batch`, except its partition header, which it describes in
  // `partition`. Called with the partition's stripe held. `blocking`: may read the disk (to
  // collapse a key).
  Status build_batch(const Mutation& mutation, PartitionWrite* partition,
                     rocksdb::WriteBatch* batch, bool blocking) const;
  // Before the batch's first operand for `key`, with the stripe held exclusively: puts the
  // key's current merged value under it and sets `collapsed`, unless that needs the disk and
  // `blocking` is false. The caller makes sure no operand of `key` is in the batch yet.
  // `operand_bytes`: about the size of this write's operand; a merged value more than
  // 2 * kRowOperandsMax times that is left alone (`collapsed` still set: counting starts again).
  Status collapse_key(const Bytes& key, size_t operand_bytes, rocksdb::WriteBatch* batch,
                      bool blocking, bool* collapsed) const;
  static constexpr size_t kCellOverheadBytes = 32;  // a stored cell's encoding beside its value
  // With the stripes held: merges each header whose bound HeaderBounds does not know into
  // `batch` (rounded up), and leaves the others' max_timestamp at kNoTimestamp.
  Status add_headers(std::vector<PartitionWrite>& partitions, rocksdb::WriteBatch* batch);
  // With the same stripes held, once the batch is written: notes what it wrote.
  void record_writes(const std::vector<PartitionWrite>& partitions);
  Status remove_table_data(TableId table);
  Result<Partition> read_storage(const ReadCommand& command, ReadStats* stats, ReadMode mode);
  // Shared by apply_all_async and try_apply_all_async: false when `no_slowdown` refused it.
  bool apply_all_async(std::span<const Mutation> mutations, std::function<void(Status)>& done,
                       bool no_slowdown);
  // Point reads reuse idle iterators: creating one costs about as much as the read itself, and
  // Refresh() brings an idle one up to date cheaply. An idle iterator pins the files and
  // memtables it saw, so the pool is small and emptied whenever files are dropped.
  // Memory-only (kBlockCacheTier) iterators for non-blocking reads have their own pool.
  std::unique_ptr<rocksdb::Iterator> acquire_point_iterator(ReadMode mode);
  void release_point_iterator(std::unique_ptr<rocksdb::Iterator> it, ReadMode mode);
  // Drops every idle pooled iterator (each pins the memtables and files it last read). Runs after
  // each flush and compaction (from RocksDB's background thread), so a pool whose thread stopped
  // reading does not keep replaced memtables in memory and replaced files on the disk.
  void clear_idle_iterators();
  static constexpr size_t kIdleIteratorsMax = 8;  // per pool and mode
  // One pool per stripe of threads, so event loops on different cores do not share a lock.
  static constexpr size_t kIteratorPools = 8;
  struct IteratorPool {
    std::mutex mutex;
    std::vector<std::unique_ptr<rocksdb::Iterator>> idle[2];  // by ReadMode
  };
  IteratorPool& iterator_pool();

  const EngineOptions options_;
  const Clock& clock_;
  std::unique_ptr<TableRegistry> tables_;
  std::unique_ptr<CompactionFilterCounters> compaction_counters_;
  std::unique_ptr<rocksdb::Env> env_;  // the database's files go through it: outlives db_
  std::shared_ptr<IndexedMemTableFactory> memtables_;  // drained before an iterator refresh
  // Every row of a table without clustering columns is one fragment (no older cell keys), so
  // its partition reads are point lookups.
  bool fragments_only_ = false;
  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<CommitLog> commit_log_;
  RowCache row_cache_;
  PartitionLocks partition_locks_;
  HeaderBounds header_bounds_;                   // guarded by partition_locks_'s stripes
  mutable RowOperandCounts row_operand_counts_;  // lock-free: counted while batches are built
  std::array<IteratorPool, kIteratorPools> iterator_pools_;
  Counter& writes_;
  Counter& reads_;
  Counter& scans_;
  Histogram& write_micros_;
};

}  // namespace ringdb::storage
