// CQL data types: parsing from CQL text, printing back, and mapping onto the storage engine's
// value types. Plain values, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/value_type.h"

namespace ringdb::schema {

using storage::ValueKind;

struct CqlType {
  ValueKind kind = ValueKind::kBlob;
  std::vector<CqlType> params;  // list/set: element; map: key, value; tuple: components
  bool frozen = false;          // collections and tuples; tuples are always frozen

  static CqlType of(ValueKind kind) { return CqlType{kind, {}, false}; }

  bool is_collection() const {
    return kind == ValueKind::kList || kind == ValueKind::kSet || kind == ValueKind::kMap;
  }
  // A non-frozen collection stores each element as its own cell.
  bool is_multi_cell() const { return is_collection() && !frozen; }
  bool is_counter() const { return kind == ValueKind::kCounter; }

  // CQL text, as Cassandra prints it in system_schema ("map<text, frozen<list<int>>>").
  std::string to_cql() const;
  storage::ValueType to_storage() const;
  bool operator==(const CqlType&) const = default;

  // Parses CQL type text ("int", "varchar", "frozen<set<uuid>>", "tuple<int, text>").
  [[nodiscard]] static Result<CqlType> parse(std::string_view text);
};

}  // namespace ringdb::schema
