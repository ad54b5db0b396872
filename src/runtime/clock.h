// Clock: the only way node logic learns the time.
//
// Logic code receives a Clock& through its constructor and never calls std::chrono directly, so
// the simulator can run it on virtual time. now_micros() is wall time (write timestamps, TTL
// expiry); monotonic_micros() never goes backwards (timeouts, latencies). Implementations are
// thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

namespace ringdb {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch.
  virtual int64_t now_micros() const = 0;
  // Microseconds since an arbitrary fixed point; never decreases.
  virtual int64_t monotonic_micros() const = 0;

  // Seconds since the Unix epoch, as Cassandra's local deletion and expiry times are kept.
  int32_t now_seconds() const { return static_cast<int32_t>(now_micros() / 1'000'000); }
};

// The machine's clocks. Use only at the process edge (main, benchmarks); pass it down.
class SystemClock final : public Clock {
 public:
  int64_t now_micros() const override;
  int64_t monotonic_micros() const override;
};

// A clock that moves only when told to; for unit tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_micros = 1'700'000'000'000'000) : now_(now_micros) {}
  int64_t now_micros() const override { return now_.load(std::memory_order_relaxed); }
  int64_t monotonic_micros() const override { return now_micros(); }
  void advance_micros(int64_t delta) { now_.fetch_add(delta, std::memory_order_relaxed); }
  void advance_seconds(int64_t delta) { advance_micros(delta * 1'000'000); }
  void set_micros(int64_t now) { now_.store(now, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace ringdb
