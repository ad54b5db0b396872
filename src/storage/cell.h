// Stored cells and their reconciliation: the heart of Cassandra's data semantics.
//
// Every RocksDB value (and merge operand) in the engine is one StoredValue: a live cell, a
// tombstone (cell, row, range, partition or collection deletion), a counter, a counter delta,
// or a partition's highest write timestamp. reconcile() picks or combines two versions of the
// same key exactly as Cassandra does (Cells.reconcile, Conflicts.resolveCounter):
//   - the higher write timestamp wins;
//   - on a tie a tombstone beats a live cell (an expiring cell counts as live, CASSANDRA-14592);
//   - two tombstones: the later local deletion time wins;
//   - two live cells: the greater value (unsigned bytes) wins, then the later expiry;
//   - a counter tombstone beats any counter cell whatever the timestamps; counter shards merge
//     by highest clock, and deltas for one shard add up.
// reconcile is commutative and associative, so replicas converge whatever order writes arrive
// in; the merge operator relies on this. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace ringdb::storage {

constexpr int64_t kNoTimestamp = std::numeric_limits<int64_t>::min();
constexpr int32_t kNoExpiry = std::numeric_limits<int32_t>::max();

enum class StoredKind : uint8_t {
  kLive = 1,
  kTombstone = 2,
  kCounter = 3,
  kCounterDelta = 4,
  kMaxTimestamp = 5,
};

struct CounterShard {
  uint64_t shard_id = 0;  // the node that owns this shard
  int64_t clock = 0;
  int64_t value = 0;
  bool operator==(const CounterShard&) const = default;
};

struct StoredValue {
  StoredKind kind = StoredKind::kLive;
  int64_t timestamp = kNoTimestamp;
  int32_t ttl_seconds = 0;                 // live cells: 0 = no TTL
  int32_t local_time_seconds = kNoExpiry;  // live: expiry time; tombstone: local deletion time
  Bytes value;                             // live cells only
  std::vector<CounterShard> shards;        // counters (sorted by shard_id) and deltas (one shard)

  static StoredValue live(int64_t timestamp, BytesView value, int32_t ttl_seconds,
                          int32_t expiry_seconds);
  static StoredValue tombstone(int64_t timestamp, int32_t local_deletion_seconds);
  static StoredValue counter_delta(int64_t timestamp, uint64_t shard_id, int64_t delta);
  static StoredValue max_timestamp(int64_t timestamp);

  bool is_tombstone() const { return kind == StoredKind::kTombstone; }
  bool is_counter() const {
    return kind == StoredKind::kCounter || kind == StoredKind::kCounterDelta;
  }
  bool is_expiring() const { return kind == StoredKind::kLive && ttl_seconds > 0; }
  // Live at `now`: a live cell not yet expired, or a counter. Tombstones never are.
  bool is_live(int32_t now_seconds) const;
  int64_t counter_total() const;

  bool operator==(const StoredValue&) const = default;
};

Bytes encode_stored(const StoredValue& v);
void encode_stored_to(const StoredValue& v, Bytes* out);
[[nodiscard]] Status decode_stored(BytesView bytes, StoredValue* out);

// The version that survives when `a` and `b` are two writes to the same key.
StoredValue reconcile(const StoredValue& a, const StoredValue& b);

// A deletion marker's view of a tombstone: shadows anything written at or before it.
struct DeletionTime {
  int64_t marked_for_delete_at = kNoTimestamp;
  int32_t local_deletion_seconds = kNoExpiry;

  bool is_live() const { return marked_for_delete_at == kNoTimestamp; }
  bool deletes(int64_t timestamp) const { return timestamp <= marked_for_delete_at; }
  // Keeps the stronger of the two deletions.
  void merge(const DeletionTime& other) {
    if (other.marked_for_delete_at > marked_for_delete_at) *this = other;
  }
};

}  // namespace ringdb::storage
