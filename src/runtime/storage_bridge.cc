#include "runtime/storage_bridge.h"

#include "common/check.h"
#include "common/thread_name.h"

namespace ringdb {

ThreadPoolBridge::ThreadPoolBridge(Executor& loop, size_t thread_count, size_t pending_max)
    : loop_(loop), pending_max_(pending_max) {
  RINGDB_CHECK(thread_count > 0 && pending_max > 0);
  for (size_t i = 0; i < thread_count; ++i) threads_.emplace_back([this] { worker_main(); });
}

ThreadPoolBridge::~ThreadPoolBridge() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

Status ThreadPoolBridge::submit(Task work, Task done) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return Status::unavailable("storage bridge is stopping");
    if (in_flight_ >= pending_max_) {
      return Status::overloaded("storage queue full (" + std::to_string(pending_max_) +
                                " pending)");
    }
    ++in_flight_;
    queue_.emplace_back(std::move(work), std::move(done));
  }
  cv_.notify_one();
  return Status::ok();
}

size_t ThreadPoolBridge::pending() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

void ThreadPoolBridge::worker_main() {
  set_thread_name("storage");
  for (;;) {
    std::pair<Task, Task> job;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job.first();
    {
      std::lock_guard lock(mutex_);
      --in_flight_;
    }
    if (job.second) loop_.post(std::move(job.second));  // work may answer on its own
  }
}

}  // namespace ringdb
