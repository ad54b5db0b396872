#include "storage/commit_log.h"

#include <chrono>

#include "common/thread_name.h"

namespace ringdb::storage {

CommitLog::CommitLog(rocksdb::DB* db, CommitLogSync mode, int32_t period_ms,
                     MetricsRegistry& metrics)
    : db_(db),
      mode_(mode),
      period_ms_(period_ms),
      sync_micros_(metrics.histogram("commit_log.sync_micros")),
      writes_per_sync_(metrics.histogram("commit_log.writes_per_sync")),
      syncer_([this] { syncer_main(); }) {}

CommitLog::~CommitLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  syncer_.join();
}

void CommitLog::on_written(Done done) {
  if (mode_ == CommitLogSync::kPeriodic) {
    done(Status::ok());
    return;
  }
  {
    std::lock_guard lock(mutex_);
    waiting_.push_back(std::move(done));
  }
  cv_.notify_one();
}

uint64_t CommitLog::sync_count() const {
  std::lock_guard lock(mutex_);
  return sync_count_;
}

Status CommitLog::sync_wal() {
  rocksdb::Status s = db_->SyncWAL();
  if (!s.ok()) return Status::io_error("commit log fsync failed: " + s.ToString());
  return Status::ok();
}

void CommitLog::syncer_main() {
  set_thread_name("commitlog-sync");
  std::unique_lock lock(mutex_);
  for (;;) {
    if (mode_ == CommitLogSync::kPeriodic) {
      // The syncer is I/O plumbing, not node logic: it waits on the steady clock directly.
      cv_.wait_for(lock, std::chrono::milliseconds(period_ms_), [this] { return stopping_; });
    } else {
      cv_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
    }
    std::vector<Done> batch;
    batch.swap(waiting_);
    const bool stop = stopping_;
    lock.unlock();
    // Every write whose completion is in `batch` reached the WAL before this fsync starts.
    const auto sync_start = std::chrono::steady_clock::now();
    Status s = sync_wal();
    sync_micros_.record(std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - sync_start)
                            .count());
    writes_per_sync_.record(static_cast<int64_t>(batch.size()));
    for (auto& done : batch) done(s);
    lock.lock();
    ++sync_count_;
    if (stop && waiting_.empty()) return;
  }
}

}  // namespace ringdb::storage
