#include "storage/partition_locks.h"

#include "common/check.h"

namespace ringdb::storage {

PartitionLocks::PartitionLocks() : stripes_(new Stripe[kStripes]) {
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  // glibc prefers readers by default, which would let overlapping reads starve a writer.
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  for (size_t i = 0; i < kStripes; ++i) {
    RINGDB_CHECK(pthread_rwlock_init(&stripes_[i].lock, &attr) == 0);
  }
  pthread_rwlockattr_destroy(&attr);
}

PartitionLocks::~PartitionLocks() {
  for (size_t i = 0; i < kStripes; ++i) pthread_rwlock_destroy(&stripes_[i].lock);
}

size_t PartitionLocks::stripe_of(TableId table, int64_t token) {
  // Tokens are already uniform (Murmur3); mixing in the table keeps equal tokens of different
  // tables apart.
  const uint64_t h = (static_cast<uint64_t>(token) ^ (uint64_t{table} * 0x9E3779B97F4A7C15ull)) *
                     0xBF58476D1CE4E5B9ull;
  return static_cast<size_t>(h >> 52) & (kStripes - 1);
}

void PartitionLocks::lock_shared(size_t stripe) {
  RINGDB_CHECK(pthread_rwlock_rdlock(&stripes_[stripe].lock) == 0);
}

bool PartitionLocks::try_lock_shared(size_t stripe) {
  return pthread_rwlock_tryrdlock(&stripes_[stripe].lock) == 0;
}

void PartitionLocks::unlock_shared(size_t stripe) { pthread_rwlock_unlock(&stripes_[stripe].lock); }

void PartitionLocks::lock_all(std::span<const WriterStripe> stripes) {
  for (const auto& s : stripes) {
    pthread_rwlock_t* lock = &stripes_[s.stripe].lock;
    RINGDB_CHECK((s.exclusive ? pthread_rwlock_wrlock(lock) : pthread_rwlock_rdlock(lock)) == 0);
  }
}

bool PartitionLocks::try_lock_all(std::span<const WriterStripe> stripes) {
  for (size_t i = 0; i < stripes.size(); ++i) {
    pthread_rwlock_t* lock = &stripes_[stripes[i].stripe].lock;
    if ((stripes[i].exclusive ? pthread_rwlock_trywrlock(lock) : pthread_rwlock_tryrdlock(lock)) !=
        0) {
      unlock_all(stripes.first(i));
      return false;
    }
  }
  return true;
}

void PartitionLocks::unlock_all(std::span<const WriterStripe> stripes) {
  for (const auto& s : stripes) pthread_rwlock_unlock(&stripes_[s.stripe].lock);
}

}  // namespace ringdb::storage
