// UUIDs as CQL serializes them (16 bytes, RFC 4122 layout). Pure functions, thread-safe.
#pragma once

#include <cstdint>

#include "common/bytes.h"

namespace ringdb {

// 100-ns intervals between the UUID epoch (1582-10-15) and the Unix epoch.
constexpr int64_t kUuidEpochOffset = 0x01b21dd213814000LL;

// A random (version 4) UUID from 128 random bits.
Bytes uuid_v4(uint64_t random_high, uint64_t random_low);
// A time-based (version 1) UUID: `uuid_time` in 100-ns units since the UUID epoch, and the
// clock-sequence/node half (its variant bits are set here).
Bytes uuid_v1(int64_t uuid_time, uint64_t clock_and_node);
// The Unix time in milliseconds of a version 1 UUID.
int64_t uuid_v1_unix_millis(BytesView uuid);

}  // namespace ringdb
