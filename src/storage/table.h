// What the engine needs to know about a table: ids and types, no CQL text.
//
// The schema layer builds a TableDescriptor from CQL and registers it with the Engine. Column
// ids are assigned by the schema and never reused, so data of a dropped column can never be
// mistaken for a re-added one. Ids 0 and 1 are the engine's own (row deletion, row marker).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/value_type.h"

namespace ringdb::storage {

using TableId = uint32_t;
using ColumnId = uint32_t;

constexpr ColumnId kRowDeletionColumn = 0;
constexpr ColumnId kRowMarkerColumn = 1;
constexpr ColumnId kFirstUserColumn = 2;

constexpr int32_t kDefaultGcGraceSeconds = 864000;  // 10 days, as Cassandra

struct ClusteringColumn {
  ValueType type;
  bool descending = false;
};

struct ColumnDescriptor {
  ColumnId id = kFirstUserColumn;
  ValueType type;
  bool is_static = false;
  // A non-frozen collection: each element is its own cell (list, set, map).
  bool multi_cell = false;
  bool is_counter() const { return type.kind == ValueKind::kCounter; }
};

struct TableDescriptor {
  TableId id = 0;
  std::string name;  // for logs and errors only
  std::vector<ClusteringColumn> clustering;
  std::vector<ColumnDescriptor> columns;
  int32_t default_ttl_seconds = 0;
  int32_t gc_grace_seconds = kDefaultGcGraceSeconds;

  const ColumnDescriptor* column(ColumnId id) const {
    for (const auto& c : columns) {
      if (c.id == id) return &c;
    }
    return nullptr;
  }
};

}  // namespace ringdb::storage
