// Arbitrary-precision integers as CQL serializes them (varint: minimal two's complement,
// big-endian), converted to and from sign + magnitude and decimal digit strings. Used by the
// varint/decimal codecs and their comparable encodings. Pure functions, thread-safe.
#pragma once

#include <string>

#include "common/bytes.h"

namespace ringdb {

struct BigInt {
  bool negative = false;
  Bytes magnitude;  // big-endian, no leading zero bytes; empty means zero
};

BigInt bigint_from_twos_complement(BytesView v);
// Minimal two's complement form (one byte for zero).
Bytes bigint_to_twos_complement(const BigInt& b);
// The minimal two's complement (varint) form of a 128-bit integer.
Bytes varint_from_int128(__int128 value);
// Decimal digits of a magnitude, most significant first ("" for zero).
std::string magnitude_to_digits(Bytes magnitude);
// The magnitude of a string of decimal digits ('0'..'9' only).
Bytes digits_to_magnitude(const std::string& digits);

}  // namespace ringdb
