// Value types as the storage engine sees them, and their order-preserving ("comparable") encoding.
//
// Storage knows nothing of CQL text; the schema layer maps each CQL type onto a ValueType. Values
// arrive serialized as in the native protocol v4 (int = 4 bytes big-endian, text = UTF-8, …).
// encode_comparable() turns one value into bytes whose unsigned lexicographic order equals the
// order Cassandra's AbstractType.compare gives that type (ASC), or its reverse (DESC, every byte
// inverted). Every encoding is prefix-free, so components can be concatenated into a clustering
// key and still compare component by component. decode_comparable() inverts it exactly, except
// that decimals come back normalised (1.50 → 1.5: Cassandra compares them equal, so they name
// the same clustering). Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace ringdb::storage {

enum class ValueKind : uint8_t {
  kAscii,
  kBigint,
  kBlob,
  kBoolean,
  kCounter,
  kDate,
  kDecimal,
  kDouble,
  kDuration,
  kFloat,
  kInet,
  kInt,
  kSmallint,
  kText,
  kTime,
  kTimestamp,
  kTimeuuid,
  kTinyint,
  kUuid,
  kVarint,
  kList,   // params: [element]
  kSet,    // params: [element]
  kMap,    // params: [key, value]
  kTuple,  // params: one per component
  kUdt,    // params: one per field; compared like a tuple
};

struct ValueType {
  ValueKind kind = ValueKind::kBlob;
  std::vector<ValueType> params;

  static ValueType of(ValueKind kind) { return ValueType{kind, {}}; }
  static ValueType list_of(ValueType element) {
    return ValueType{ValueKind::kList, {std::move(element)}};
  }
  static ValueType set_of(ValueType element) {
    return ValueType{ValueKind::kSet, {std::move(element)}};
  }
  static ValueType map_of(ValueType key, ValueType value) {
    return ValueType{ValueKind::kMap, {std::move(key), std::move(value)}};
  }
  static ValueType tuple_of(std::vector<ValueType> components) {
    return ValueType{ValueKind::kTuple, std::move(components)};
  }

  bool is_collection() const {
    return kind == ValueKind::kList || kind == ValueKind::kSet || kind == ValueKind::kMap;
  }
  std::string name() const;
};

// Appends the comparable encoding of the serialized `value` to `out`. Fails with
// InvalidArgument when `value` is not a valid serialization of `type`, or NotSupported for
// duration (Cassandra refuses duration in primary keys too).
[[nodiscard]] Status encode_comparable(const ValueType& type, BytesView value, bool descending,
                                       Bytes* out);

// Reads one comparable-encoded value of `type` from `encoded` starting at *position, appends its
// native serialization to `value_out` and advances *position. Corruption on malformed bytes.
[[nodiscard]] Status decode_comparable(const ValueType& type, BytesView encoded, bool descending,
                                       size_t* position, Bytes* value_out);

}  // namespace ringdb::storage
