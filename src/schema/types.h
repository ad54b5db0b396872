// CQL data types: parsing from CQL text, printing back, and mapping onto the storage engine's
// value types. Plain values, thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/value_type.h"

namespace ringdb::schema {

using storage::ValueKind;

struct CqlType {
  ValueKind kind = ValueKind::kBlob;
  // list/set: element; map: key, value; tuple: components; user-defined type: field types
  std::vector<CqlType> params;
  bool frozen = false;  // collections, tuples and user-defined types; tuples are always frozen
  // A user-defined type (kUdt): its keyspace, its name and its field names, one per param.
  std::string keyspace;
  std::string name;
  std::vector<std::string> field_names;

  static CqlType make(ValueKind kind, std::vector<CqlType> params, bool frozen) {
    CqlType t;
    t.kind = kind;
    t.params = std::move(params);
    t.frozen = frozen;
    return t;
  }
  static CqlType of(ValueKind kind) {
    CqlType t;
    t.kind = kind;
    return t;
  }

  bool is_collection() const {
    return kind == ValueKind::kList || kind == ValueKind::kSet || kind == ValueKind::kMap;
  }
  // A non-frozen collection stores each element as its own cell, a non-frozen user-defined type
  // each field (keyed by its position, as Cassandra's cell paths).
  bool is_multi_cell() const { return (is_collection() || kind == ValueKind::kUdt) && !frozen; }
  bool is_counter() const { return kind == ValueKind::kCounter; }

  bool is_udt() const { return kind == ValueKind::kUdt; }
  // A user-defined type's field by name: its position among field_names and params.
  std::optional<size_t> field_position(std::string_view field) const {
    for (size_t i = 0; i < field_names.size(); ++i) {
      if (field_names[i] == field) return i;
    }
    return std::nullopt;
  }
  // Does this type, or a type inside it, use the user-defined type `keyspace`.`name`?
  bool references(const std::string& keyspace, const std::string& name) const;
  // The same type with every user-defined type in it replaced by a tuple of its field types, as
  // Cassandra records the type of a dropped column (its values decode the same way).
  CqlType expand_user_types() const;
  // Puts `updated` (an altered user-defined type) wherever this type uses the type of that
  // keyspace and name, keeping each use's frozenness. True when anything changed.
  bool replace_user_type(const CqlType& updated);

  // CQL text, as Cassandra prints it in system_schema ("map<text, frozen<list<int>>>"); a
  // user-defined type by its name ("frozen<address>").
  std::string to_cql() const;
  // The engine's type: a non-frozen user-defined type is a map<smallint, blob> of its fields.
  storage::ValueType to_storage() const;
  bool operator==(const CqlType&) const = default;

  // Finds the user-defined type named in type text: `keyspace` is empty when the text did not
  // name one. Returns InvalidArgument when there is no such type.
  using UdtResolver =
      std::function<Result<CqlType>(const std::string& keyspace, const std::string& name)>;

  // Parses CQL type text ("int", "varchar", "frozen<set<uuid>>", "tuple<int, text>"). Other names
  // ("address", "ks.address", "\"Address\"") are user-defined types, found through `resolver`;
  // without one they are refused.
  [[nodiscard]] static Result<CqlType> parse(std::string_view text,
                                             const UdtResolver* resolver = nullptr);
};

}  // namespace ringdb::schema
