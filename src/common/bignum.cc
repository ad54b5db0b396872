#include "common/bignum.h"

#include <algorithm>

namespace ringdb {

BigInt bigint_from_twos_complement(BytesView v) {
  BigInt r;
  if (v.empty()) return r;
  r.negative = static_cast<unsigned char>(v[0]) & 0x80;
  Bytes mag(v);
  if (r.negative) {  // magnitude = -v = ~v + 1
    for (auto& c : mag) c = static_cast<char>(~c);
    for (size_t i = mag.size(); i-- > 0;) {
      if (++reinterpret_cast<unsigned char&>(mag[i]) != 0) break;
    }
  }
  size_t first = 0;
  while (first < mag.size() && mag[first] == 0) ++first;
  r.magnitude = mag.substr(first);
  if (r.magnitude.empty()) r.negative = false;
  return r;
}

Bytes bigint_to_twos_complement(const BigInt& b) {
  if (b.magnitude.empty()) return Bytes(1, '\0');
  Bytes v = Bytes(1, '\0') + b.magnitude;  // room for the sign bit
  if (b.negative) {
    for (auto& c : v) c = static_cast<char>(~c);
    for (size_t i = v.size(); i-- > 0;) {
      if (++reinterpret_cast<unsigned char&>(v[i]) != 0) break;
    }
  }
  // Minimal form: drop a leading byte that only repeats the sign of the next one.
  size_t first = 0;
  while (first + 1 < v.size()) {
    auto lead = static_cast<unsigned char>(v[first]);
    auto next = static_cast<unsigned char>(v[first + 1]);
    if ((lead == 0x00 && !(next & 0x80)) || (lead == 0xff && (next & 0x80))) {
      ++first;
    } else {
      break;
    }
  }
  return v.substr(first);
}

std::string magnitude_to_digits(Bytes mag) {
  std::string digits;
  while (!mag.empty()) {
    unsigned remainder = 0;
    Bytes quotient;
    for (unsigned char c : mag) {
      unsigned cur = remainder * 256 + c;
      unsigned q = cur / 10;
      remainder = cur % 10;
      if (!quotient.empty() || q != 0) quotient.push_back(static_cast<char>(q));
    }
    digits.push_back(static_cast<char>('0' + remainder));
    mag = std::move(quotient);
  }
  std::reverse(digits.begin(), digits.end());
  return digits;
}

Bytes digits_to_magnitude(const std::string& digits) {
  Bytes mag;  // big-endian
  for (char d : digits) {
    unsigned carry = static_cast<unsigned>(d - '0');
    for (size_t i = mag.size(); i-- > 0;) {
      unsigned cur = static_cast<unsigned char>(mag[i]) * 10 + carry;
      mag[i] = static_cast<char>(cur & 0xff);
      carry = cur >> 8;
    }
    while (carry) {
      mag.insert(mag.begin(), static_cast<char>(carry & 0xff));
      carry >>= 8;
    }
  }
  size_t first = 0;
  while (first < mag.size() && mag[first] == 0) ++first;
  return mag.substr(first);
}

Bytes varint_from_int128(__int128 value) {
  BigInt b;
  b.negative = value < 0;
  auto magnitude =
      b.negative ? -static_cast<unsigned __int128>(value) : static_cast<unsigned __int128>(value);
  for (int i = 15; i >= 0; --i) {
    const auto byte = static_cast<char>(magnitude >> (8 * i));
    if (!b.magnitude.empty() || byte != 0) b.magnitude.push_back(byte);
  }
  return bigint_to_twos_complement(b);
}

}  // namespace ringdb
