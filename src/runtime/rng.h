// Rng: the only source of randomness for node logic.
//
// SeededRng is xoshiro256** seeded through splitmix64: the same seed gives the same sequence on
// every machine, which is what lets the simulator replay a run. The process seeds its node Rng
// once, at start-up, from the OS; logic never calls rand() or std::random_device itself.
// Not thread-safe: each owner (one event loop) has its own.
#pragma once

#include <cstdint>

namespace ringdb {

class Rng {
 public:
  virtual ~Rng() = default;
  virtual uint64_t next_u64() = 0;

  // Uniform in [0, bound); bound must be > 0. Uses rejection so there is no modulo bias.
  uint64_t uniform(uint64_t bound);
  // Uniform in [low, high].
  int64_t uniform_range(int64_t low, int64_t high);
  // Uniform in [0, 1).
  double next_double() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  bool chance(double probability) { return next_double() < probability; }
};

class SeededRng final : public Rng {
 public:
  explicit SeededRng(uint64_t seed);
  uint64_t next_u64() override;

 private:
  uint64_t state_[4];
};

// A seed from the operating system; for main() only.
uint64_t seed_from_os();

}  // namespace ringdb
