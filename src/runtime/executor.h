// Executor: where a node's logic runs. One thread (the loop) executes its tasks in order.
//
// Logic components take an Executor& and use it for deferred work and timers; they never start
// threads or sleep. EventLoop (event_loop.h) is the production implementation over Asio;
// sim::SimExecutor runs the same logic on virtual time under a seed.
//
// Thread-safety: post() may be called from any thread (it is how completions come back from the
// storage pool). schedule_after(), cancel() and clock() are called on the loop thread only.
#pragma once

#include <cstdint>
#include <functional>

#include "runtime/clock.h"

namespace ringdb {

using Task = std::function<void()>;
using TimerId = uint64_t;

class Executor {
 public:
  virtual ~Executor() = default;
  // Runs `task` on the loop soon, after tasks already posted.
  virtual void post(Task task) = 0;
  // Runs `task` on the loop once `delay_micros` have passed on clock().
  virtual TimerId schedule_after(int64_t delay_micros, Task task) = 0;
  // Cancels a pending timer; false when it already ran or was cancelled.
  virtual bool cancel(TimerId id) = 0;
  virtual Clock& clock() = 0;
};

}  // namespace ringdb
