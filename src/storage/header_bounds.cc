#include "storage/header_bounds.h"

#include <limits>
#include <utility>

#include "common/check.h"

namespace ringdb::storage {

HeaderBounds::HeaderBounds(size_t stripes, int64_t step_micros)
    : stripes_(stripes), step_micros_(step_micros), slots_(new Slot[stripes * kSlotsPerStripe]) {
  RINGDB_CHECK(step_micros_ >= 1);
}

int64_t HeaderBounds::round_up(int64_t timestamp) const {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (timestamp > kMax - step_micros_) return kMax;
  const int64_t rest = timestamp % step_micros_;  // <= 0 for a negative timestamp
  if (rest == 0) return timestamp;
  return rest > 0 ? timestamp + (step_micros_ - rest) : timestamp - rest;
}

const HeaderBounds::Slot& HeaderBounds::slot(size_t stripe, int64_t token) const {
  RINGDB_CHECK(stripe < stripes_);
  // The stripe came from the token's high bits; the slot within it from its low ones.
  const size_t within = static_cast<size_t>(static_cast<uint64_t>(token) % kSlotsPerStripe);
  return slots_[stripe * kSlotsPerStripe + within];
}

HeaderBounds::Slot& HeaderBounds::slot(size_t stripe, int64_t token) {
  return const_cast<Slot&>(std::as_const(*this).slot(stripe, token));
}

bool HeaderBounds::covers(size_t stripe, int64_t token, BytesView partition_prefix,
                          int64_t timestamp) const {
  const Slot& s = slot(stripe, token);
  return !s.partition_prefix.empty() && s.partition_prefix == partition_prefix &&
         timestamp <= s.bound;
}

void HeaderBounds::record(size_t stripe, int64_t token, BytesView partition_prefix, int64_t bound) {
  Slot& s = slot(stripe, token);
  if (s.partition_prefix == partition_prefix) {
    if (bound > s.bound) s.bound = bound;
    return;
  }
  s.partition_prefix.assign(partition_prefix);
  s.bound = bound;
}

void HeaderBounds::clear() {
  for (size_t i = 0; i < stripes_ * kSlotsPerStripe; ++i) {
    slots_[i].partition_prefix.clear();
    slots_[i].bound = 0;
  }
}

}  // namespace ringdb::storage
