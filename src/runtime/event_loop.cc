#include "runtime/event_loop.h"

#include <asio/post.hpp>
#include <chrono>

namespace ringdb {

EventLoop::EventLoop(Clock& clock) : clock_(clock), work_(asio::make_work_guard(io_)) {}

EventLoop::~EventLoop() = default;

void EventLoop::post(Task task) {
  asio::post(io_, std::move(task));
}

TimerId EventLoop::schedule_after(int64_t delay_micros, Task task) {
  const TimerId id = next_timer_id_++;
  auto timer = std::make_unique<asio::steady_timer>(io_, std::chrono::microseconds(delay_micros));
  timer->async_wait([this, id, task = std::move(task)](const asio::error_code& error) {
    if (error) return;  // cancelled
    timers_.erase(id);
    task();
  });
  timers_.emplace(id, std::move(timer));
  return id;
}

bool EventLoop::cancel(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return false;
  it->second->cancel();
  timers_.erase(it);
  return true;
}

void EventLoop::run() {
  io_.restart();
  io_.run();
}

void EventLoop::stop() {
  io_.stop();
}

}  // namespace ringdb
