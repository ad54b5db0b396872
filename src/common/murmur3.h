// Cassandra's Murmur3Partitioner token function.
//
// MurmurHash3 x64_128 with seed 0, as Cassandra computes it: the tail bytes are sign-extended
// (Java bytes are signed), which differs from the reference hash when a tail byte is >= 0x80.
// The token is the first 64-bit half; Long.MIN_VALUE is normalised to Long.MAX_VALUE and an empty
// key maps to Long.MIN_VALUE (Murmur3Partitioner.getToken). Pure functions, thread-safe.
#pragma once

#include <cstdint>

#include "common/bytes.h"

namespace ringdb {

struct Hash128 {
  uint64_t h1;
  uint64_t h2;
};

Hash128 cassandra_murmur3_x64_128(BytesView key, uint64_t seed = 0);

// The Murmur3Partitioner token of a serialized partition key.
int64_t murmur3_token(BytesView partition_key);

}  // namespace ringdb
