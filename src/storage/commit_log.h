// Group commit over RocksDB's write-ahead log, which is the engine's commit log.
//
// Writers append to the WAL without syncing (RocksDB batches concurrent writers into one WAL
// write), then hand a completion to CommitLog. In group mode one syncer thread repeatedly takes
// every completion queued so far, issues one fsync (SyncWAL) for all of them, and then runs
// them: an fsync is shared by all writers that arrived while the previous one ran. In periodic
// mode completions run at once and the syncer fsyncs every period, as Cassandra's
// `commitlog_sync: periodic`. The number of queued completions is bounded by the callers' own
// bound on concurrent writes (the storage bridge's pending_max). Thread-safe.
#pragma once

#include <rocksdb/db.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/config.h"
#include "common/metrics.h"
#include "common/status.h"

namespace ringdb::storage {

class CommitLog {
 public:
  using Done = std::function<void(Status)>;

  // Records commit_log.sync_micros (one fsync) and commit_log.writes_per_sync in `metrics`.
  CommitLog(rocksdb::DB* db, CommitLogSync mode, int32_t period_ms, MetricsRegistry& metrics);
  ~CommitLog();  // syncs what is pending, runs its completions, joins the syncer

  // Call after the write reached the WAL. `done` runs once the write is durable (group mode,
  // on the syncer thread) or at once (periodic mode, on the caller's thread).
  void on_written(Done done);
  CommitLogSync mode() const { return mode_; }
  uint64_t sync_count() const;

 private:
  void syncer_main();
  Status sync_wal();

  rocksdb::DB* const db_;
  const CommitLogSync mode_;
  const int32_t period_ms_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Done> waiting_;
  bool stopping_ = false;
  uint64_t sync_count_ = 0;
  Histogram& sync_micros_;
  Histogram& writes_per_sync_;
  std::thread syncer_;
};

}  // namespace ringdb::storage
