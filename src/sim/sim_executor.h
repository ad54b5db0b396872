// The simulated twin of the runtime: virtual time, seeded event order, inline storage.
//
// SimExecutor is an Executor whose clock is virtual: time jumps to the next due event, so a
// simulated hour takes milliseconds. Events due at the same instant run in an order drawn from
// the seeded Rng (not insertion order), so one seed explores one interleaving and replays it
// exactly, and another seed explores another. post() adds a small seeded delay, as a real loop's
// queue would. Single-threaded: every method is called from the thread that drives run_*().
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <tuple>

#include "runtime/executor.h"
#include "runtime/rng.h"
#include "runtime/storage_bridge.h"

namespace ringdb::sim {

class SimClock final : public Clock {
 public:
  explicit SimClock(int64_t start_micros) : now_(start_micros) {}
  int64_t now_micros() const override { return now_; }
  int64_t monotonic_micros() const override { return now_; }
  void advance_to(int64_t micros) { now_ = micros; }

 private:
  int64_t now_;
};

class SimExecutor final : public Executor {
 public:
  // Start of virtual time: 2024-01-01T00:00:00Z, so wall-clock-derived values look real.
  static constexpr int64_t kEpochMicros = 1'704'067'200'000'000;
  static constexpr int64_t kPostJitterMaxMicros = 50;

  explicit SimExecutor(uint64_t seed);

  void post(Task task) override;
  TimerId schedule_after(int64_t delay_micros, Task task) override;
  bool cancel(TimerId id) override;
  Clock& clock() override { return clock_; }
  Rng& rng() { return rng_; }

  // Runs the next due event; false when none is left.
  bool step();
  // Runs events until none is left or `max_events` ran; returns how many ran.
  uint64_t run_until_idle(uint64_t max_events = UINT64_MAX);
  // Runs events due up to now + duration, then leaves the clock there.
  void run_for(int64_t duration_micros);
  size_t pending() const { return queue_.size(); }

 private:
  // Order: due time, then a seeded tie-breaker, then the id for total order.
  using Key = std::tuple<int64_t, uint64_t, TimerId>;

  SimClock clock_;
  SeededRng rng_;
  TimerId next_id_ = 1;
  std::map<Key, Task> queue_;
  std::map<TimerId, Key> keys_;
};

// Runs storage work inline, at a seeded virtual delay, on the SimExecutor. The bound on pending
// jobs matches the production bridge's contract.
class SimStorageBridge final : public StorageBridge {
 public:
  SimStorageBridge(SimExecutor& executor, size_t pending_max, int64_t latency_max_micros);
  Status submit(Task work, Task done) override;

 private:
  SimExecutor& executor_;
  const size_t pending_max_;
  const int64_t latency_max_micros_;
  size_t in_flight_ = 0;
};

}  // namespace ringdb::sim
