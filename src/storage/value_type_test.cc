// Property tests: the comparable encoding sorts exactly as Cassandra compares each type.
// The reference comparators below are written from the types' definitions (numbers, Java's
// Float.compare, UUIDType/TimeUUIDType rules), not from the encoding.
#include "storage/value_type.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "runtime/rng.h"

namespace ringdb::storage {
namespace {

using Int128 = __int128;

Bytes be(uint64_t v, int width) {
  Bytes out;
  for (int i = width - 1; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
  return out;
}
uint64_t from_be(BytesView v) {
  uint64_t r = 0;
  for (unsigned char c : v) r = (r << 8) | c;
  return r;
}
int sign(int64_t v) {
  return (v > 0) - (v < 0);
}
int compare_bytes(BytesView a, BytesView b) {
  return sign(a.compare(b));
}

Bytes varint_bytes(Int128 v) {
  Bytes out;
  for (int i = 15; i >= 0; --i)
    out.push_back(static_cast<char>(static_cast<unsigned __int128>(v) >> (8 * i)));
  size_t first = 0;
  while (first + 1 < out.size() &&
         ((out[first] == 0 && !(out[first + 1] & 0x80)) ||
          (static_cast<uint8_t>(out[first]) == 0xff && (out[first + 1] & 0x80)))) {
    ++first;
  }
  return out.substr(first);
}
Int128 varint_value(BytesView v) {
  Int128 r = (!v.empty() && (v[0] & 0x80)) ? -1 : 0;
  for (unsigned char c : v) r = (r << 8) | c;
  return r;
}

struct Case {
  ValueType type;
  std::function<Bytes(Rng&)> generate;
  std::function<int(BytesView, BytesView)> compare;  // Cassandra's order; empty values first
  bool exact_round_trip = true;
};

int with_empty_first(BytesView a, BytesView b, const std::function<int(BytesView, BytesView)>& f) {
  if (a.empty() || b.empty()) return (!a.empty()) - (!b.empty());
  return f(a, b);
}

Case signed_int(ValueKind kind, int width) {
  return {ValueType::of(kind),
          [width](Rng& r) {
            uint64_t v = r.next_u64();
            if (r.chance(0.2)) v = r.uniform(3) - 1;  // -1, 0, 1
            if (r.chance(0.05)) return Bytes();
            return be(v, width);
          },
          [width](BytesView a, BytesView b) {
            const int shift = 64 - 8 * width;
            auto va = static_cast<int64_t>(from_be(a) << shift) >> shift;
            auto vb = static_cast<int64_t>(from_be(b) << shift) >> shift;
            return (va > vb) - (va < vb);
          }};
}

int java_double_compare(double a, double b) {
  if (a < b) return -1;
  if (a > b) return 1;
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) - std::isnan(b);
  return std::signbit(b) - std::signbit(a);  // -0.0 < 0.0
}

Bytes random_double_bits(Rng& r, bool is_float) {
  static const double kSpecial[] = {0.0,
                                    -0.0,
                                    1.0,
                                    -1.0,
                                    std::numeric_limits<double>::infinity(),
                                    -std::numeric_limits<double>::infinity(),
                                    std::nan(""),
                                    1e-310};
  double d = r.chance(0.3) ? kSpecial[r.uniform(8)]
                           : (r.next_double() - 0.5) * std::pow(10.0, r.uniform_range(-30, 30));
  if (is_float) {
    float f = static_cast<float>(d);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    return be(bits, 4);
  }
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  return be(bits, 8);
}

double read_double(BytesView v) {
  if (v.size() == 4) {
    auto bits = static_cast<uint32_t>(from_be(v));
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  uint64_t bits = from_be(v);
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}

Bytes random_text(Rng& r) {
  static const char kAlphabet[] = {'\0', '\x01', 'a', 'b', 'z', '\x7f', '\x80', '\xff'};
  Bytes s;
  auto n = r.uniform(6);
  for (uint64_t i = 0; i < n; ++i) s.push_back(kAlphabet[r.uniform(sizeof(kAlphabet))]);
  return s;
}

Bytes random_uuid(Rng& r, int version) {
  Bytes u = be(r.next_u64(), 8) + be(r.next_u64(), 8);
  if (r.chance(0.3)) u[15] = 0;  // ties in the high halves
  if (r.chance(0.5)) u.replace(0, 4, Bytes(4, '\x11'));
  u[6] = static_cast<char>((version << 4) | (u[6] & 0x0f));
  return u;
}

uint64_t timestamp_order(BytesView u) {
  auto b = [&](int i) { return static_cast<uint64_t>(static_cast<uint8_t>(u[i])); };
  return (b(6) & 0x0f) << 56 | b(7) << 48 | b(4) << 40 | b(5) << 32 | b(0) << 24 | b(1) << 16 |
         b(2) << 8 | b(3);
}

int uuid_compare(BytesView a, BytesView b) {  // UUIDType
  int va = static_cast<uint8_t>(a[6]) >> 4, vb = static_cast<uint8_t>(b[6]) >> 4;
  if (va != vb) return va < vb ? -1 : 1;
  uint64_t ma = va == 1 ? timestamp_order(a) : from_be(a.substr(0, 8));
  uint64_t mb = vb == 1 ? timestamp_order(b) : from_be(b.substr(0, 8));
  if (ma != mb) return ma < mb ? -1 : 1;
  uint64_t la = from_be(a.substr(8)), lb = from_be(b.substr(8));
  return (la > lb) - (la < lb);
}

int timeuuid_compare(BytesView a, BytesView b) {  // TimeUUIDType: timestamp, then signed bytes
  uint64_t ma = timestamp_order(a), mb = timestamp_order(b);
  if (ma != mb) return ma < mb ? -1 : 1;
  for (int i = 8; i < 16; ++i) {
    auto x = static_cast<int8_t>(a[i]), y = static_cast<int8_t>(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

Bytes frozen_list(const std::vector<Bytes>& items) {
  Bytes out = be(items.size(), 4);
  for (const auto& i : items) out += be(i.size(), 4) + i;
  return out;
}

std::vector<Bytes> split_frozen(BytesView v) {
  std::vector<Bytes> items;
  size_t n = from_be(v.substr(0, 4)), pos = 4;
  for (size_t i = 0; i < n; ++i) {
    size_t len = from_be(v.substr(pos, 4));
    items.emplace_back(v.substr(pos + 4, len));
    pos += 4 + len;
  }
  return items;
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  cases.push_back(signed_int(ValueKind::kTinyint, 1));
  cases.push_back(signed_int(ValueKind::kSmallint, 2));
  cases.push_back(signed_int(ValueKind::kInt, 4));
  cases.push_back(signed_int(ValueKind::kBigint, 8));
  cases.push_back(signed_int(ValueKind::kTimestamp, 8));
  cases.push_back(signed_int(ValueKind::kTime, 8));
  cases.push_back({ValueType::of(ValueKind::kDate), [](Rng& r) { return be(r.next_u64(), 4); },
                   [](BytesView a, BytesView b) {
                     return sign(static_cast<int64_t>(from_be(a)) -
                                 static_cast<int64_t>(from_be(b)));
                   }});
  cases.push_back({ValueType::of(ValueKind::kBoolean),
                   [](Rng& r) { return Bytes(1, static_cast<char>(r.uniform(2))); },
                   [](BytesView a, BytesView b) {
                     return sign(static_cast<int8_t>(a[0]) - static_cast<int8_t>(b[0]));
                   }});
  for (bool is_float : {true, false}) {
    cases.push_back({ValueType::of(is_float ? ValueKind::kFloat : ValueKind::kDouble),
                     [is_float](Rng& r) { return random_double_bits(r, is_float); },
                     [](BytesView a, BytesView b) {
                       return java_double_compare(read_double(a), read_double(b));
                     },
                     false});
  }
  for (ValueKind k : {ValueKind::kText, ValueKind::kAscii, ValueKind::kBlob}) {
    cases.push_back({ValueType::of(k), random_text, compare_bytes});
  }
  cases.push_back({ValueType::of(ValueKind::kVarint),
                   [](Rng& r) {
                     Int128 v = (static_cast<Int128>(static_cast<int64_t>(r.next_u64())) << 64) |
                                r.next_u64();
                     v >>= r.uniform(127);
                     return varint_bytes(v);
                   },
                   [](BytesView a, BytesView b) {
                     Int128 x = varint_value(a), y = varint_value(b);
                     return (x > y) - (x < y);
                   }});
  cases.push_back({ValueType::of(ValueKind::kDecimal),
                   [](Rng& r) {
                     auto unscaled = static_cast<int64_t>(r.next_u64()) >> (24 + r.uniform(40));
                     if (r.chance(0.3)) unscaled = (unscaled % 7) * 1000;  // trailing zeros
                     auto scale = static_cast<int32_t>(r.uniform_range(-6, 6));
                     return be(static_cast<uint32_t>(scale), 4) + varint_bytes(unscaled);
                   },
                   [](BytesView a, BytesView b) {
                     auto sa = static_cast<int32_t>(from_be(a.substr(0, 4)));
                     auto sb = static_cast<int32_t>(from_be(b.substr(0, 4)));
                     Int128 ua = varint_value(a.substr(4)), ub = varint_value(b.substr(4));
                     // ua × 10^-sa vs ub × 10^-sb  ⇔  ua × 10^sb vs ub × 10^sa
                     const int common = std::min(sa, sb);
                     for (int i = common; i < sb; ++i) ua *= 10;
                     for (int i = common; i < sa; ++i) ub *= 10;
                     return (ua > ub) - (ua < ub);
                   },
                   false});
  cases.push_back({ValueType::of(ValueKind::kUuid),
                   [](Rng& r) { return random_uuid(r, r.chance(0.5) ? 1 : 4); }, uuid_compare});
  cases.push_back({ValueType::of(ValueKind::kTimeuuid), [](Rng& r) { return random_uuid(r, 1); },
                   timeuuid_compare});
  // frozen<list<int>>: element by element, then the shorter list first.
  auto int_case = signed_int(ValueKind::kInt, 4);
  cases.push_back({ValueType::list_of(ValueType::of(ValueKind::kInt)),
                   [](Rng& r) {
                     std::vector<Bytes> items;
                     auto n = r.uniform(4);
                     for (uint64_t i = 0; i < n; ++i)
                       items.push_back(be(r.uniform_range(-2, 2), 4));
                     return frozen_list(items);
                   },
                   [int_case](BytesView a, BytesView b) {
                     auto x = split_frozen(a), y = split_frozen(b);
                     for (size_t i = 0; i < std::min(x.size(), y.size()); ++i) {
                       if (int c = int_case.compare(x[i], y[i])) return c;
                     }
                     return sign(static_cast<int64_t>(x.size()) - static_cast<int64_t>(y.size()));
                   }});
  // frozen<map<text, int>>: key, then value, pair by pair.
  cases.push_back(
      {ValueType::map_of(ValueType::of(ValueKind::kText), ValueType::of(ValueKind::kInt)),
       [](Rng& r) {
         std::vector<Bytes> items;
         auto n = r.uniform(3);
         for (uint64_t i = 0; i < n; ++i) {
           items.push_back(Bytes(1, static_cast<char>('a' + i + r.uniform(2))));
           items.push_back(be(r.uniform_range(-1, 1), 4));
         }
         Bytes out = be(n, 4);
         for (const auto& i : items) out += be(i.size(), 4) + i;
         return out;
       },
       [int_case](BytesView a, BytesView b) {
         auto x = split_frozen(Bytes(be(from_be(a.substr(0, 4)) * 2, 4)) + Bytes(a.substr(4)));
         auto y = split_frozen(Bytes(be(from_be(b.substr(0, 4)) * 2, 4)) + Bytes(b.substr(4)));
         for (size_t i = 0; i < std::min(x.size(), y.size()); ++i) {
           int c = i % 2 == 0 ? compare_bytes(x[i], y[i]) : int_case.compare(x[i], y[i]);
           if (c) return c;
         }
         return sign(static_cast<int64_t>(x.size()) - static_cast<int64_t>(y.size()));
       }});
  // tuple<int, text>: component by component; a null component sorts before any value.
  cases.push_back(
      {ValueType::tuple_of({ValueType::of(ValueKind::kInt), ValueType::of(ValueKind::kText)}),
       [](Rng& r) {
         Bytes out;
         if (r.chance(0.2))
           out += be(0xffffffff, 4);
         else
           out += be(4, 4) + be(r.uniform_range(-1, 1), 4);
         if (r.chance(0.2))
           out += be(0xffffffff, 4);
         else if (r.chance(0.8)) {
           Bytes t = random_text(r);
           out += be(t.size(), 4) + t;
         }
         return out;
       },
       [int_case](BytesView a, BytesView b) {
         size_t pa = 0, pb = 0;
         for (int i = 0; pa < a.size() && pb < b.size(); ++i) {
           auto la = static_cast<int32_t>(from_be(a.substr(pa, 4)));
           auto lb = static_cast<int32_t>(from_be(b.substr(pb, 4)));
           pa += 4;
           pb += 4;
           if (la < 0 || lb < 0) {
             if (la < 0 && lb < 0) continue;
             return la < 0 ? -1 : 1;
           }
           BytesView x = a.substr(pa, la), y = b.substr(pb, lb);
           pa += la;
           pb += lb;
           int c = i == 0 ? int_case.compare(x, y) : compare_bytes(x, y);
           if (c) return c;
         }
         return sign(static_cast<int64_t>(a.size() - pa) - static_cast<int64_t>(b.size() - pb));
       }});
  return cases;
}

TEST(ComparableEncoding, SortsAsCassandraComparesForAscAndDesc) {
  SeededRng rng(20261122);
  for (const Case& c : all_cases()) {
    SCOPED_TRACE(c.type.name());
    for (int i = 0; i < 3000; ++i) {
      Bytes a = c.generate(rng);
      Bytes b = rng.chance(0.1) ? a : c.generate(rng);
      const int expected = with_empty_first(a, b, c.compare);
      for (bool desc : {false, true}) {
        Bytes ea, eb;
        ASSERT_TRUE(encode_comparable(c.type, a, desc, &ea).is_ok()) << to_hex(a);
        ASSERT_TRUE(encode_comparable(c.type, b, desc, &eb).is_ok()) << to_hex(b);
        ASSERT_EQ(compare_bytes(ea, eb), desc ? -expected : expected)
            << "a=" << to_hex(a) << " b=" << to_hex(b) << (desc ? " DESC" : " ASC");
        // Prefix-free: a suffix after the component never changes the order of unequal values.
        if (expected != 0) {
          ASSERT_EQ(compare_bytes(ea + "\xff\xff", eb), desc ? -expected : expected);
        }
        size_t pos = 0;
        Bytes decoded;
        ASSERT_TRUE(decode_comparable(c.type, ea + "trailer", desc, &pos, &decoded).is_ok());
        EXPECT_EQ(pos, ea.size());
        if (c.exact_round_trip) {
          EXPECT_EQ(decoded, a);
        } else {
          EXPECT_EQ(with_empty_first(decoded, a, c.compare), 0)
              << to_hex(a) << " -> " << to_hex(decoded);
        }
      }
    }
  }
}

TEST(ComparableEncoding, RejectsMalformedValuesAndDuration) {
  Bytes out;
  EXPECT_EQ(encode_comparable(ValueType::of(ValueKind::kInt), "abc", false, &out).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(encode_comparable(ValueType::of(ValueKind::kUuid), "short", false, &out).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(encode_comparable(ValueType::list_of(ValueType::of(ValueKind::kInt)),
                              Bytes("\0\0\0\x02", 4), false, &out)
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      encode_comparable(ValueType::of(ValueKind::kDuration), "\x01\x02\x03", false, &out).code(),
      StatusCode::kNotSupported);
  EXPECT_TRUE(out.empty());
  size_t pos = 0;
  Bytes value;
  EXPECT_EQ(decode_comparable(ValueType::of(ValueKind::kText),
                              "\x02"
                              "abc",
                              false, &pos, &value)
                .code(),
            StatusCode::kCorruption);
}

}  // namespace
}  // namespace ringdb::storage
