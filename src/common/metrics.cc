#include "common/metrics.h"

#include <bit>
#include <sstream>

namespace ringdb {

int Histogram::bucket_of(int64_t value) {
  if (value <= 0) return 0;
  auto v = static_cast<uint64_t>(value);
  int power = 63 - std::countl_zero(v);  // floor(log2 v)
  if (power >= kMaxPowerOfTwo) return kBucketCount - 1;
  // Sub-bucket from the two bits after the leading one.
  int sub = power >= 2 ? static_cast<int>((v >> (power - 2)) & 3)
                       : static_cast<int>((v << (2 - power)) & 3);
  return 1 + power * kSubBuckets + sub;
}

int64_t Histogram::bucket_upper_bound(int bucket) {
  if (bucket <= 0) return 0;
  if (bucket >= kBucketCount - 1) return int64_t{1} << kMaxPowerOfTwo;
  int power = (bucket - 1) / kSubBuckets;
  int sub = (bucket - 1) % kSubBuckets;
  // Bucket covers [2^p * (4 + sub) / 4, 2^p * (5 + sub) / 4); return its largest integer.
  int64_t scaled = (int64_t{1} << power) * (5 + sub);  // 4 × the exclusive upper end
  return (scaled + 3) / 4 - 1;
}

void Histogram::record(int64_t value) {
  if (value < 0) value = 0;
  buckets_[bucket_of(value)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  int64_t seen = max_.load(std::memory_order_relaxed);
  while (value > seen && !max_.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

int64_t Histogram::percentile(double q) const {
  int64_t total = count();
  if (total == 0) return 0;
  auto rank = static_cast<int64_t>(q * static_cast<double>(total));
  if (rank >= total) rank = total - 1;
  int64_t seen = 0;
  for (int b = 0; b < kBucketCount; ++b) {
    seen += buckets_[b].load(std::memory_order_relaxed);
    if (seen > rank) return std::min(bucket_upper_bound(b), max());
  }
  return max();
}

void Histogram::merge_from(const Histogram& other) {
  for (int b = 0; b < kBucketCount; ++b) {
    buckets_[b].fetch_add(other.buckets_[b].load(std::memory_order_relaxed),
                          std::memory_order_relaxed);
  }
  count_.fetch_add(other.count(), std::memory_order_relaxed);
  sum_.fetch_add(other.sum(), std::memory_order_relaxed);
  int64_t seen = max_.load(std::memory_order_relaxed);
  int64_t value = other.max();
  while (value > seen && !max_.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

Counter& MetricsRegistry::counter(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto& slot = counters_[name];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Histogram& MetricsRegistry::histogram(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto& slot = histograms_[name];
  if (!slot) slot = std::make_unique<Histogram>();
  return *slot;
}

std::string MetricsRegistry::dump_text() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  for (const auto& [name, c] : counters_) out << name << ' ' << c->value() << '\n';
  for (const auto& [name, h] : histograms_) {
    out << name << " count=" << h->count() << " p50=" << h->percentile(0.5)
        << " p99=" << h->percentile(0.99) << " max=" << h->max() << '\n';
  }
  return out.str();
}

}  // namespace ringdb
