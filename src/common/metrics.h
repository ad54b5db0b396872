// Metric counters and latency histograms, and a registry that owns them by name.
//
// Counter and Histogram are lock-free (relaxed atomics) and may be updated from any thread.
// A histogram has fixed log-linear buckets (4 sub-buckets per power of two, up to 2^40), so its
// memory is bounded and percentiles are accurate to about 20%. The registry is owned by a node
// (never a global) and hands out stable references; registering takes a mutex, updating does not.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace ringdb {

class Counter {
 public:
  void add(int64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class Histogram {
 public:
  static constexpr int kSubBuckets = 4;
  static constexpr int kMaxPowerOfTwo = 40;
  static constexpr int kBucketCount = kMaxPowerOfTwo * kSubBuckets + 1;

  // Records one observation (e.g. a latency in microseconds). Negative values count as 0.
  void record(int64_t value);
  int64_t count() const { return count_.load(std::memory_order_relaxed); }
  int64_t sum() const { return sum_.load(std::memory_order_relaxed); }
  int64_t max() const { return max_.load(std::memory_order_relaxed); }
  // The upper bound of the bucket holding the q-quantile, q in [0, 1]; 0 when empty.
  int64_t percentile(double q) const;
  void merge_from(const Histogram& other);

  static int bucket_of(int64_t value);
  // The largest integer value that falls in `bucket`.
  static int64_t bucket_upper_bound(int bucket);

 private:
  std::array<std::atomic<int64_t>, kBucketCount> buckets_{};
  std::atomic<int64_t> count_{0};
  std::atomic<int64_t> sum_{0};
  std::atomic<int64_t> max_{0};
};

class MetricsRegistry {
 public:
  Counter& counter(const std::string& name);
  Histogram& histogram(const std::string& name);
  // One line per metric: "name value" or "name count=… p50=… p99=… max=…", sorted by name.
  std::string dump_text() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Counter>> counters_;
  std::map<std::string, std::unique_ptr<Histogram>> histograms_;
};

}  // namespace ringdb
