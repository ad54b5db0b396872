// EventLoop: the production Executor, a single-threaded Asio io_context.
//
// run() executes tasks on the calling thread until stop(); stop() and post() may be called from
// any thread. Timers use the steady clock for waiting; clock() is the SystemClock given at
// construction. The loop owns its io_context so networking code can attach sockets to it.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <memory>
#include <unordered_map>

#include "runtime/executor.h"

namespace ringdb {

class EventLoop final : public Executor {
 public:
  explicit EventLoop(Clock& clock);
  ~EventLoop() override;

  void post(Task task) override;
  TimerId schedule_after(int64_t delay_micros, Task task) override;
  bool cancel(TimerId id) override;
  Clock& clock() override { return clock_; }

  // Runs until stop() is called. Tasks posted before stop() that have not run are dropped.
  void run();
  void stop();
  asio::io_context& io_context() { return io_; }

 private:
  Clock& clock_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  TimerId next_timer_id_ = 1;
  std::unordered_map<TimerId, std::unique_ptr<asio::steady_timer>> timers_;
};

}  // namespace ringdb
