#include "storage/value_type.h"

#include <algorithm>
#include <cstring>

#include "common/bignum.h"

namespace ringdb::storage {
namespace {

// Component headers. Cassandra allows an empty byte buffer as a value of most types and sorts
// it first, so every component says whether it is empty.
constexpr uint8_t kEmpty = 0x01;
constexpr uint8_t kNonEmpty = 0x02;
// Sign classes for varint and decimal.
constexpr uint8_t kNegative = 0x01;
constexpr uint8_t kZero = 0x02;
constexpr uint8_t kPositive = 0x03;
// Element markers inside frozen collections and tuples.
constexpr uint8_t kEnd = 0x00;
constexpr uint8_t kElement = 0x01;
constexpr uint8_t kTupleNull = 0x01;
constexpr uint8_t kTupleValue = 0x02;

Status invalid(const ValueType& type, const char* why) {
  return Status::invalid_argument("invalid " + type.name() + " value: " + why);
}
Status corrupt(const char* why) {
  return Status::corruption(std::string("comparable encoding: ") + why);
}

int fixed_width(ValueKind kind) {
  switch (kind) {
    case ValueKind::kTinyint:
      return 1;
    case ValueKind::kSmallint:
      return 2;
    case ValueKind::kInt:
      return 4;
    case ValueKind::kBigint:
    case ValueKind::kCounter:
    case ValueKind::kTimestamp:
    case ValueKind::kTime:
      return 8;
    default:
      return 0;
  }
}

void put_u64(Bytes* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t load_be(BytesView v) {
  uint64_t r = 0;
  for (unsigned char c : v) r = (r << 8) | c;
  return r;
}

void store_be(uint64_t v, int width, Bytes* out) {
  for (int i = width - 1; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}

// --- Reading back, with the DESC mask applied byte by byte ---------------------------------

class Reader {
 public:
  Reader(BytesView data, size_t pos, uint8_t mask) : data_(data), pos_(pos), mask_(mask) {}
  bool next(uint8_t* b) {
    if (pos_ >= data_.size()) return false;
    *b = static_cast<uint8_t>(data_[pos_++]) ^ mask_;
    return true;
  }
  bool take(size_t n, Bytes* out) {
    if (data_.size() - pos_ < n) return false;
    for (size_t i = 0; i < n; ++i)
      out->push_back(static_cast<char>(static_cast<uint8_t>(data_[pos_ + i]) ^ mask_));
    pos_ += n;
    return true;
  }
  bool take_u64(uint64_t* v) {
    Bytes b;
    if (!take(8, &b)) return false;
    *v = load_be(b);
    return true;
  }
  size_t position() const { return pos_; }

 private:
  BytesView data_;
  size_t pos_;
  uint8_t mask_;
};

Status encode_body(const ValueType& type, BytesView value, Bytes* out);
Status decode_component(const ValueType& type, Reader& in, Bytes* value_out);

void encode_escaped(BytesView value, Bytes* out) {
  for (char c : value) {
    out->push_back(c);
    if (c == '\0') out->push_back('\xff');
  }
  out->push_back('\0');
  out->push_back('\0');
}

Status decode_escaped(Reader& in, Bytes* value_out) {
  for (;;) {
    uint8_t b;
    if (!in.next(&b)) return corrupt("unterminated string");
    if (b != 0) {
      value_out->push_back(static_cast<char>(b));
      continue;
    }
    uint8_t follow;
    if (!in.next(&follow)) return corrupt("unterminated string escape");
    if (follow == 0x00) return Status::ok();
    if (follow != 0xff) return corrupt("bad string escape");
    value_out->push_back('\0');
  }
}

void encode_bigint_body(const BigInt& b, Bytes* out) {
  if (b.magnitude.empty()) {
    out->push_back(static_cast<char>(kZero));
    return;
  }
  const uint8_t mask = b.negative ? 0xff : 0x00;
  out->push_back(static_cast<char>(b.negative ? kNegative : kPositive));
  auto length = static_cast<uint32_t>(b.magnitude.size());
  store_be(length ^ (mask ? 0xffffffffu : 0u), 4, out);
  for (char c : b.magnitude) out->push_back(static_cast<char>(static_cast<uint8_t>(c) ^ mask));
}

Status decode_bigint_body(Reader& in, BigInt* b) {
  uint8_t sign;
  if (!in.next(&sign)) return corrupt("truncated varint");
  if (sign == kZero) return Status::ok();
  if (sign != kNegative && sign != kPositive) return corrupt("bad varint sign");
  b->negative = sign == kNegative;
  const uint8_t mask = b->negative ? 0xff : 0x00;
  Bytes len_bytes;
  if (!in.take(4, &len_bytes)) return corrupt("truncated varint length");
  uint32_t length = static_cast<uint32_t>(load_be(len_bytes)) ^ (mask ? 0xffffffffu : 0u);
  Bytes mag;
  if (!in.take(length, &mag)) return corrupt("truncated varint magnitude");
  for (auto& c : mag) c = static_cast<char>(static_cast<uint8_t>(c) ^ mask);
  b->magnitude = std::move(mag);
  return Status::ok();
}

Status encode_decimal_body(const ValueType& type, BytesView value, Bytes* out) {
  if (value.size() < 5) return invalid(type, "decimal needs a 4-byte scale and an unscaled value");
  auto scale = static_cast<int32_t>(load_be(value.substr(0, 4)));
  BigInt unscaled = bigint_from_twos_complement(value.substr(4));
  if (unscaled.magnitude.empty()) {
    out->push_back(static_cast<char>(kZero));
    return Status::ok();
  }
  std::string digits = magnitude_to_digits(unscaled.magnitude);
  // value = 0.digits × 10^exponent, with trailing zeros stripped so equal values encode equally.
  int64_t exponent = static_cast<int64_t>(digits.size()) - scale;
  while (digits.back() == '0') digits.pop_back();
  const uint8_t mask = unscaled.negative ? 0xff : 0x00;
  out->push_back(static_cast<char>(unscaled.negative ? kNegative : kPositive));
  put_u64(out, (static_cast<uint64_t>(exponent) ^ (uint64_t{1} << 63)) ^ (mask ? ~uint64_t{0} : 0));
  for (char d : digits) out->push_back(static_cast<char>(static_cast<uint8_t>(d) ^ mask));
  out->push_back(static_cast<char>(mask));  // terminator sorts before any digit
  return Status::ok();
}

Status decode_decimal_body(Reader& in, Bytes* value_out) {
  uint8_t sign;
  if (!in.next(&sign)) return corrupt("truncated decimal");
  BigInt unscaled;
  int64_t scale = 0;
  if (sign != kZero) {
    if (sign != kNegative && sign != kPositive) return corrupt("bad decimal sign");
    unscaled.negative = sign == kNegative;
    const uint8_t mask = unscaled.negative ? 0xff : 0x00;
    uint64_t e;
    if (!in.take_u64(&e)) return corrupt("truncated decimal exponent");
    auto exponent = static_cast<int64_t>((e ^ (mask ? ~uint64_t{0} : 0)) ^ (uint64_t{1} << 63));
    std::string digits;
    for (;;) {
      uint8_t b;
      if (!in.next(&b)) return corrupt("unterminated decimal");
      b ^= mask;
      if (b == 0) break;
      if (b < '0' || b > '9') return corrupt("bad decimal digit");
      digits.push_back(static_cast<char>(b));
    }
    scale = static_cast<int64_t>(digits.size()) - exponent;
    if (scale < INT32_MIN || scale > INT32_MAX) return corrupt("decimal scale out of range");
    unscaled.magnitude = digits_to_magnitude(digits);
  }
  store_be(static_cast<uint32_t>(static_cast<int32_t>(scale)), 4, value_out);
  value_out->append(bigint_to_twos_complement(unscaled));
  return Status::ok();
}

// Reorders a version-1 UUID's timestamp fields (time_hi, time_mid, time_low) so the timestamp
// compares as an unsigned integer; the version nibble is masked off as Cassandra does.
uint64_t timeuuid_msb_order(BytesView u) {
  auto b = [&](int i) { return static_cast<uint64_t>(static_cast<uint8_t>(u[i])); };
  return (b(6) & 0x0f) << 56 | b(7) << 48 | b(4) << 40 | b(5) << 32 | b(0) << 24 | b(1) << 16 |
         b(2) << 8 | b(3);
}

void timeuuid_msb_restore(uint64_t ordered, uint8_t version, Bytes* out) {
  auto byte = [&](int shift) { return static_cast<char>((ordered >> shift) & 0xff); };
  out->push_back(byte(24));
  out->push_back(byte(16));
  out->push_back(byte(8));
  out->push_back(byte(0));
  out->push_back(byte(40));
  out->push_back(byte(32));
  out->push_back(static_cast<char>((version << 4) | ((ordered >> 56) & 0x0f)));
  out->push_back(byte(48));
}

// Frozen collections: [int n] then n elements (maps: n key/value pairs), each [int len][bytes].
Status read_collection_items(const ValueType& type, BytesView value, size_t per_entry,
                             std::vector<BytesView>* items) {
  BufferReader r(value);
  int32_t n;
  if (!r.get_i32(&n) || n < 0) return invalid(type, "bad collection size");
  for (int64_t i = 0; i < static_cast<int64_t>(n) * static_cast<int64_t>(per_entry); ++i) {
    int32_t len;
    BytesView item;
    if (!r.get_i32(&len) || len < 0 || !r.get_bytes(static_cast<size_t>(len), &item)) {
      return invalid(type, "truncated or null collection element");
    }
    items->push_back(item);
  }
  if (!r.at_end()) return invalid(type, "trailing bytes after collection");
  return Status::ok();
}

Status encode_component(const ValueType& type, BytesView value, Bytes* out) {
  if (value.empty()) {
    out->push_back(static_cast<char>(kEmpty));
    return Status::ok();
  }
  out->push_back(static_cast<char>(kNonEmpty));
  return encode_body(type, value, out);
}

Status encode_body(const ValueType& type, BytesView value, Bytes* out) {
  if (int width = fixed_width(type.kind)) {
    if (value.size() != static_cast<size_t>(width)) return invalid(type, "wrong length");
    uint64_t v = load_be(value) ^ (uint64_t{1} << (8 * width - 1));  // flip the sign bit
    store_be(v, width, out);
    return Status::ok();
  }
  switch (type.kind) {
    case ValueKind::kDate:
      if (value.size() != 4) return invalid(type, "wrong length");
      out->append(value);  // unsigned days, epoch at 2^31: already in order
      return Status::ok();
    case ValueKind::kBoolean:
      if (value.size() != 1) return invalid(type, "wrong length");
      out->push_back(static_cast<char>(static_cast<uint8_t>(value[0]) ^ 0x80));  // signed byte
      return Status::ok();
    case ValueKind::kFloat:
    case ValueKind::kDouble: {
      const int width = type.kind == ValueKind::kFloat ? 4 : 8;
      if (value.size() != static_cast<size_t>(width)) return invalid(type, "wrong length");
      uint64_t bits = load_be(value);
      const uint64_t sign = uint64_t{1} << (8 * width - 1);
      const uint64_t all = width == 4 ? 0xffffffffULL : ~uint64_t{0};
      bool is_nan = width == 4 ? ((bits & 0x7f800000) == 0x7f800000 && (bits & 0x007fffff))
                               : ((bits & 0x7ff0000000000000ULL) == 0x7ff0000000000000ULL &&
                                  (bits & 0x000fffffffffffffULL));
      if (is_nan)
        bits = width == 4 ? 0x7fc00000ULL : 0x7ff8000000000000ULL;  // Java's canonical NaN
      bits = (bits & sign) ? (~bits & all) : (bits | sign);
      store_be(bits, width, out);
      return Status::ok();
    }
    case ValueKind::kAscii:
    case ValueKind::kText:
    case ValueKind::kBlob:
    case ValueKind::kInet:
      encode_escaped(value, out);
      return Status::ok();
    case ValueKind::kVarint:
      encode_bigint_body(bigint_from_twos_complement(value), out);
      return Status::ok();
    case ValueKind::kDecimal:
      return encode_decimal_body(type, value, out);
    case ValueKind::kUuid: {
      if (value.size() != 16) return invalid(type, "wrong length");
      const uint8_t version = static_cast<uint8_t>(value[6]) >> 4;
      out->push_back(static_cast<char>(version));
      if (version == 1) {
        put_u64(out, timeuuid_msb_order(value));
      } else {
        out->append(value.substr(0, 8));
      }
      out->append(value.substr(8));  // least significant half compares unsigned
      return Status::ok();
    }
    case ValueKind::kTimeuuid: {
      if (value.size() != 16) return invalid(type, "wrong length");
      put_u64(out, timeuuid_msb_order(value));
      // Cassandra's legacy TimeUUIDType compares the clock/node half as signed bytes.
      for (int i = 8; i < 16; ++i)
        out->push_back(static_cast<char>(static_cast<uint8_t>(value[i]) ^ 0x80));
      out->push_back(static_cast<char>(static_cast<uint8_t>(value[6]) >> 4));
      return Status::ok();
    }
    case ValueKind::kList:
    case ValueKind::kSet:
    case ValueKind::kMap: {
      const bool is_map = type.kind == ValueKind::kMap;
      std::vector<BytesView> items;
      RINGDB_RETURN_IF_ERROR(read_collection_items(type, value, is_map ? 2 : 1, &items));
      for (size_t i = 0; i < items.size(); ++i) {
        if (!is_map || i % 2 == 0) out->push_back(static_cast<char>(kElement));
        const ValueType& item_type = is_map ? type.params[i % 2] : type.params[0];
        RINGDB_RETURN_IF_ERROR(encode_component(item_type, items[i], out));
      }
      out->push_back(static_cast<char>(kEnd));
      return Status::ok();
    }
    case ValueKind::kTuple:
    case ValueKind::kUdt: {
      BufferReader r(value);
      for (size_t i = 0; !r.at_end(); ++i) {
        if (i >= type.params.size()) return invalid(type, "too many components");
        int32_t len;
        if (!r.get_i32(&len)) return invalid(type, "truncated component length");
        if (len < 0) {
          out->push_back(static_cast<char>(kTupleNull));
          continue;
        }
        BytesView item;
        if (!r.get_bytes(static_cast<size_t>(len), &item))
          return invalid(type, "truncated component");
        out->push_back(static_cast<char>(kTupleValue));
        RINGDB_RETURN_IF_ERROR(encode_component(type.params[i], item, out));
      }
      out->push_back(static_cast<char>(kEnd));
      return Status::ok();
    }
    case ValueKind::kDuration:
      return Status::not_supported(
          "duration values cannot be ordered (not allowed in a primary key)");
    default:
      return Status::internal("unhandled value kind");
  }
}

Status decode_body(const ValueType& type, Reader& in, Bytes* value_out) {
  if (int width = fixed_width(type.kind)) {
    Bytes b;
    if (!in.take(static_cast<size_t>(width), &b)) return corrupt("truncated integer");
    store_be(load_be(b) ^ (uint64_t{1} << (8 * width - 1)), width, value_out);
    return Status::ok();
  }
  switch (type.kind) {
    case ValueKind::kDate:
      return in.take(4, value_out) ? Status::ok() : corrupt("truncated date");
    case ValueKind::kBoolean: {
      uint8_t b;
      if (!in.next(&b)) return corrupt("truncated boolean");
      value_out->push_back(static_cast<char>(b ^ 0x80));
      return Status::ok();
    }
    case ValueKind::kFloat:
    case ValueKind::kDouble: {
      const int width = type.kind == ValueKind::kFloat ? 4 : 8;
      Bytes b;
      if (!in.take(static_cast<size_t>(width), &b)) return corrupt("truncated float");
      uint64_t bits = load_be(b);
      const uint64_t sign = uint64_t{1} << (8 * width - 1);
      const uint64_t all = width == 4 ? 0xffffffffULL : ~uint64_t{0};
      bits = (bits & sign) ? (bits & ~sign) : (~bits & all);
      store_be(bits, width, value_out);
      return Status::ok();
    }
    case ValueKind::kAscii:
    case ValueKind::kText:
    case ValueKind::kBlob:
    case ValueKind::kInet:
      return decode_escaped(in, value_out);
    case ValueKind::kVarint: {
      BigInt b;
      RINGDB_RETURN_IF_ERROR(decode_bigint_body(in, &b));
      value_out->append(bigint_to_twos_complement(b));
      return Status::ok();
    }
    case ValueKind::kDecimal:
      return decode_decimal_body(in, value_out);
    case ValueKind::kUuid: {
      uint8_t version;
      if (!in.next(&version)) return corrupt("truncated uuid");
      if (version == 1) {
        uint64_t ordered;
        if (!in.take_u64(&ordered)) return corrupt("truncated uuid");
        timeuuid_msb_restore(ordered, version, value_out);
      } else if (!in.take(8, value_out)) {
        return corrupt("truncated uuid");
      }
      return in.take(8, value_out) ? Status::ok() : corrupt("truncated uuid");
    }
    case ValueKind::kTimeuuid: {
      uint64_t ordered;
      Bytes lsb;
      uint8_t version;
      if (!in.take_u64(&ordered) || !in.take(8, &lsb) || !in.next(&version))
        return corrupt("truncated timeuuid");
      timeuuid_msb_restore(ordered, version, value_out);
      for (char c : lsb) value_out->push_back(static_cast<char>(static_cast<uint8_t>(c) ^ 0x80));
      return Status::ok();
    }
    case ValueKind::kList:
    case ValueKind::kSet:
    case ValueKind::kMap: {
      const bool is_map = type.kind == ValueKind::kMap;
      Bytes items;
      int32_t count = 0;
      for (;;) {
        uint8_t marker;
        if (!in.next(&marker)) return corrupt("unterminated collection");
        if (marker == kEnd) break;
        if (marker != kElement) return corrupt("bad collection marker");
        for (size_t part = 0; part < (is_map ? 2u : 1u); ++part) {
          Bytes item;
          RINGDB_RETURN_IF_ERROR(
              decode_component(is_map ? type.params[part] : type.params[0], in, &item));
          store_be(static_cast<uint32_t>(item.size()), 4, &items);
          items += item;
        }
        ++count;
      }
      store_be(static_cast<uint32_t>(count), 4, value_out);
      value_out->append(items);
      return Status::ok();
    }
    case ValueKind::kTuple:
    case ValueKind::kUdt: {
      for (size_t i = 0;; ++i) {
        uint8_t marker;
        if (!in.next(&marker)) return corrupt("unterminated tuple");
        if (marker == kEnd) return Status::ok();
        if (i >= type.params.size()) return corrupt("too many tuple components");
        if (marker == kTupleNull) {
          store_be(0xffffffffu, 4, value_out);
          continue;
        }
        if (marker != kTupleValue) return corrupt("bad tuple marker");
        Bytes item;
        RINGDB_RETURN_IF_ERROR(decode_component(type.params[i], in, &item));
        store_be(static_cast<uint32_t>(item.size()), 4, value_out);
        value_out->append(item);
      }
    }
    default:
      return corrupt("kind cannot be decoded");
  }
}

Status decode_component(const ValueType& type, Reader& in, Bytes* value_out) {
  uint8_t header;
  if (!in.next(&header)) return corrupt("truncated component");
  if (header == kEmpty) return Status::ok();
  if (header != kNonEmpty) return corrupt("bad component header");
  return decode_body(type, in, value_out);
}

}  // namespace

std::string ValueType::name() const {
  static const char* const kNames[] = {"ascii",     "bigint",   "blob",     "boolean",  "counter",
                                       "date",      "decimal",  "double",   "duration", "float",
                                       "inet",      "int",      "smallint", "text",     "time",
                                       "timestamp", "timeuuid", "tinyint",  "uuid",     "varint",
                                       "list",      "set",      "map",      "tuple",    "udt"};
  std::string n = kNames[static_cast<int>(kind)];
  if (params.empty()) return n;
  n += "<";
  for (size_t i = 0; i < params.size(); ++i) n += (i ? ", " : "") + params[i].name();
  return n + ">";
}

Status encode_comparable(const ValueType& type, BytesView value, bool descending, Bytes* out) {
  const size_t start = out->size();
  Status s = encode_component(type, value, out);
  if (!s.is_ok()) {
    out->resize(start);
    return s;
  }
  if (descending) {
    for (size_t i = start; i < out->size(); ++i) (*out)[i] = static_cast<char>(~(*out)[i]);
  }
  return Status::ok();
}

Status decode_comparable(const ValueType& type, BytesView encoded, bool descending,
                         size_t* position, Bytes* value_out) {
  Reader in(encoded, *position, descending ? 0xff : 0x00);
  RINGDB_RETURN_IF_ERROR(decode_component(type, in, value_out));
  *position = in.position();
  return Status::ok();
}

}  // namespace ringdb::storage
