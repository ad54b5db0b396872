// StorageBridge: runs blocking storage calls off the loop and brings their completions back.
//
// The event loop must never block, but RocksDB calls may (a read that misses the cache, a write
// stall). submit(work, done) runs `work` on another thread and then posts `done` to the loop's
// Executor. The number of submitted-but-unfinished jobs is bounded by `pending_max`; past it,
// submit() returns Overloaded at once and runs nothing (an empty `done` is allowed: the work then
// reports back by itself), which callers turn into back-pressure
// (CQL Overloaded). ThreadPoolBridge is the production implementation; sim::SimStorageBridge runs
// work inline on virtual time. submit() is called on the loop thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/status.h"
#include "runtime/executor.h"

namespace ringdb {

class StorageBridge {
 public:
  virtual ~StorageBridge() = default;
  [[nodiscard]] virtual Status submit(Task work, Task done) = 0;

  // Runs `work` (returning T) off the loop and hands its result to `done` on the loop.
  template <typename T, typename Work, typename Done>
  [[nodiscard]] Status run(Work work, Done done) {
    auto result = std::make_shared<std::optional<T>>();
    return submit([result, work = std::move(work)]() mutable { result->emplace(work()); },
                  [result, done = std::move(done)]() mutable { done(std::move(**result)); });
  }
};

class ThreadPoolBridge final : public StorageBridge {
 public:
  ThreadPoolBridge(Executor& loop, size_t thread_count, size_t pending_max);
  ~ThreadPoolBridge() override;  // finishes queued work, then joins

  Status submit(Task work, Task done) override;
  size_t pending() const;

 private:
  void worker_main();

  Executor& loop_;
  const size_t pending_max_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::pair<Task, Task>> queue_;
  size_t in_flight_ = 0;  // queued plus running
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace ringdb
