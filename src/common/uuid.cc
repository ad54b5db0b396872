#include "common/uuid.h"

namespace ringdb {

Bytes uuid_v4(uint64_t random_high, uint64_t random_low) {
  Bytes u;
  BufferWriter w(&u);
  w.put_u64(random_high);
  w.put_u64(random_low);
  u[6] = static_cast<char>((u[6] & 0x0f) | 0x40);
  u[8] = static_cast<char>((u[8] & 0x3f) | 0x80);
  return u;
}

Bytes uuid_v1(int64_t uuid_time, uint64_t clock_and_node) {
  // time_low (4 bytes), time_mid (2), version + time_high (2), then clock sequence and node.
  const auto t = static_cast<uint64_t>(uuid_time);
  Bytes u;
  BufferWriter w(&u);
  w.put_u32(static_cast<uint32_t>(t));
  w.put_u16(static_cast<uint16_t>(t >> 32));
  w.put_u16(static_cast<uint16_t>(0x1000 | ((t >> 48) & 0x0fff)));
  w.put_u64(clock_and_node);
  u[8] = static_cast<char>((u[8] & 0x3f) | 0x80);
  return u;
}

int64_t uuid_v1_unix_millis(BytesView u) {
  auto b = [&](int i) { return static_cast<uint64_t>(static_cast<uint8_t>(u[i])); };
  const uint64_t t = (b(6) & 0x0f) << 56 | b(7) << 48 | b(4) << 40 | b(5) << 32 | b(0) << 24 |
                     b(1) << 16 | b(2) << 8 | b(3);
  return (static_cast<int64_t>(t) - kUuidEpochOffset) / 10'000;
}

}  // namespace ringdb
