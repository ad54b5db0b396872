#include "storage/cell.h"

#include <algorithm>

namespace ringdb::storage {

StoredValue StoredValue::live(int64_t timestamp, BytesView value, int32_t ttl_seconds,
                              int32_t expiry_seconds) {
  StoredValue v;
  v.kind = StoredKind::kLive;
  v.timestamp = timestamp;
  v.ttl_seconds = ttl_seconds;
  v.local_time_seconds = ttl_seconds > 0 ? expiry_seconds : kNoExpiry;
  v.value = Bytes(value);
  return v;
}

StoredValue StoredValue::tombstone(int64_t timestamp, int32_t local_deletion_seconds) {
  StoredValue v;
  v.kind = StoredKind::kTombstone;
  v.timestamp = timestamp;
  v.local_time_seconds = local_deletion_seconds;
  return v;
}

StoredValue StoredValue::counter_delta(int64_t timestamp, uint64_t shard_id, int64_t delta) {
  StoredValue v;
  v.kind = StoredKind::kCounterDelta;
  v.timestamp = timestamp;
  v.shards.push_back({shard_id, 1, delta});
  return v;
}

StoredValue StoredValue::max_timestamp(int64_t timestamp) {
  StoredValue v;
  v.kind = StoredKind::kMaxTimestamp;
  v.timestamp = timestamp;
  return v;
}

bool StoredValue::is_live(int32_t now_seconds) const {
  switch (kind) {
    case StoredKind::kLive:
      return ttl_seconds <= 0 || now_seconds < local_time_seconds;
    case StoredKind::kCounter:
    case StoredKind::kCounterDelta:
      return true;
    default:
      return false;
  }
}

int64_t StoredValue::counter_total() const {
  int64_t total = 0;
  for (const auto& s : shards) total += s.value;
  return total;
}

void encode_stored_to(const StoredValue& v, Bytes* out) {
  BufferWriter w(out);
  w.put_u8(static_cast<uint8_t>(v.kind));
  w.put_i64(v.timestamp);
  switch (v.kind) {
    case StoredKind::kLive:
      w.put_i32(v.ttl_seconds);
      w.put_i32(v.local_time_seconds);
      w.put_bytes(v.value);
      break;
    case StoredKind::kTombstone:
      w.put_i32(v.local_time_seconds);
      break;
    case StoredKind::kCounter:
    case StoredKind::kCounterDelta:
      w.put_u16(static_cast<uint16_t>(v.shards.size()));
      for (const auto& s : v.shards) {
        w.put_u64(s.shard_id);
        w.put_i64(s.clock);
        w.put_i64(s.value);
      }
      break;
    case StoredKind::kMaxTimestamp:
      break;
  }
}

Bytes encode_stored(const StoredValue& v) {
  Bytes out;
  encode_stored_to(v, &out);
  return out;
}

Status decode_stored(BytesView bytes, StoredValue* out) {
  BufferReader r(bytes);
  uint8_t kind;
  if (!r.get_u8(&kind) || !r.get_i64(&out->timestamp))
    return Status::corruption("stored value: truncated header");
  out->kind = static_cast<StoredKind>(kind);
  out->ttl_seconds = 0;
  out->local_time_seconds = kNoExpiry;
  out->value.clear();
  out->shards.clear();
  switch (out->kind) {
    case StoredKind::kLive:
      if (!r.get_i32(&out->ttl_seconds) || !r.get_i32(&out->local_time_seconds)) {
        return Status::corruption("stored value: truncated live cell");
      }
      out->value = Bytes(r.rest());
      return Status::ok();
    case StoredKind::kTombstone:
      if (!r.get_i32(&out->local_time_seconds))
        return Status::corruption("stored value: truncated tombstone");
      break;
    case StoredKind::kCounter:
    case StoredKind::kCounterDelta: {
      uint16_t n;
      if (!r.get_u16(&n)) return Status::corruption("stored value: truncated counter");
      for (uint16_t i = 0; i < n; ++i) {
        CounterShard s;
        if (!r.get_u64(&s.shard_id) || !r.get_i64(&s.clock) || !r.get_i64(&s.value)) {
          return Status::corruption("stored value: truncated counter shard");
        }
        out->shards.push_back(s);
      }
      break;
    }
    case StoredKind::kMaxTimestamp:
      break;
    default:
      return Status::corruption("stored value: unknown kind " + std::to_string(kind));
  }
  if (!r.at_end()) return Status::corruption("stored value: trailing bytes");
  return Status::ok();
}

namespace {

// Counters: shards with the same id keep the higher clock; deltas add to their shard.
StoredValue merge_counters(const StoredValue& a, const StoredValue& b) {
  StoredValue out;
  out.kind = (a.kind == StoredKind::kCounterDelta && b.kind == StoredKind::kCounterDelta)
                 ? StoredKind::kCounterDelta
                 : StoredKind::kCounter;
  out.timestamp = std::max(a.timestamp, b.timestamp);
  out.shards = a.shards;
  for (const auto& s : b.shards) {
    auto it = std::find_if(out.shards.begin(), out.shards.end(),
                           [&](const CounterShard& x) { return x.shard_id == s.shard_id; });
    if (it == out.shards.end()) {
      out.shards.push_back(s);
      continue;
    }
    const bool additive =
        a.kind == StoredKind::kCounterDelta || b.kind == StoredKind::kCounterDelta;
    if (additive) {
      it->clock += s.clock;
      it->value += s.value;
    } else if (s.clock > it->clock || (s.clock == it->clock && s.value > it->value)) {
      *it = s;
    }
  }
  std::sort(out.shards.begin(), out.shards.end(),
            [](const CounterShard& x, const CounterShard& y) { return x.shard_id < y.shard_id; });
  return out;
}

}  // namespace

StoredValue reconcile(const StoredValue& a, const StoredValue& b) {
  if (a.kind == StoredKind::kMaxTimestamp || b.kind == StoredKind::kMaxTimestamp) {
    return a.timestamp >= b.timestamp ? a : b;
  }
  const bool counters = a.is_counter() || b.is_counter();
  if (counters && a.is_tombstone() != b.is_tombstone()) {
    // A tombstone takes precedence over a counter whatever the timestamps (CASSANDRA-7346).
    return a.is_tombstone() ? a : b;
  }
  if (counters && !a.is_tombstone()) return merge_counters(a, b);
  if (a.timestamp != b.timestamp) return a.timestamp > b.timestamp ? a : b;
  if (a.is_tombstone() != b.is_tombstone()) return a.is_tombstone() ? a : b;
  if (a.is_tombstone()) return a.local_time_seconds >= b.local_time_seconds ? a : b;
  if (int c = a.value.compare(b.value)) return c > 0 ? a : b;  // std::string compares unsigned
  if (a.local_time_seconds != b.local_time_seconds)
    return a.local_time_seconds > b.local_time_seconds ? a : b;
  return a.ttl_seconds >= b.ttl_seconds ? a : b;
}

}  // namespace ringdb::storage
