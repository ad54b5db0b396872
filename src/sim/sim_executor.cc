#include "sim/sim_executor.h"

#include "common/check.h"

namespace ringdb::sim {

SimExecutor::SimExecutor(uint64_t seed) : clock_(kEpochMicros), rng_(seed) {}

void SimExecutor::post(Task task) {
  schedule_after(static_cast<int64_t>(rng_.uniform(kPostJitterMaxMicros + 1)), std::move(task));
}

TimerId SimExecutor::schedule_after(int64_t delay_micros, Task task) {
  RINGDB_CHECK(delay_micros >= 0);
  const TimerId id = next_id_++;
  Key key{clock_.now_micros() + delay_micros, rng_.next_u64(), id};
  queue_.emplace(key, std::move(task));
  keys_.emplace(id, key);
  return id;
}

bool SimExecutor::cancel(TimerId id) {
  auto it = keys_.find(id);
  if (it == keys_.end()) return false;
  queue_.erase(it->second);
  keys_.erase(it);
  return true;
}

bool SimExecutor::step() {
  if (queue_.empty()) return false;
  auto node = queue_.extract(queue_.begin());
  keys_.erase(std::get<2>(node.key()));
  clock_.advance_to(std::get<0>(node.key()));
  node.mapped()();
  return true;
}

uint64_t SimExecutor::run_until_idle(uint64_t max_events) {
  uint64_t ran = 0;
  while (ran < max_events && step()) ++ran;
  return ran;
}

void SimExecutor::run_for(int64_t duration_micros) {
  const int64_t until = clock_.now_micros() + duration_micros;
  while (!queue_.empty() && std::get<0>(queue_.begin()->first) <= until) step();
  clock_.advance_to(until);
}

SimStorageBridge::SimStorageBridge(SimExecutor& executor, size_t pending_max,
                                   int64_t latency_max_micros)
    : executor_(executor), pending_max_(pending_max), latency_max_micros_(latency_max_micros) {}

Status SimStorageBridge::submit(Task work, Task done) {
  if (in_flight_ >= pending_max_) {
    return Status::overloaded("storage queue full (" + std::to_string(pending_max_) + " pending)");
  }
  ++in_flight_;
  const auto latency =
      static_cast<int64_t>(executor_.rng().uniform(static_cast<uint64_t>(latency_max_micros_) + 1));
  executor_.schedule_after(latency, [this, work = std::move(work), done = std::move(done)] {
    work();
    --in_flight_;
    if (done) done();
  });
  return Status::ok();
}

}  // namespace ringdb::sim
