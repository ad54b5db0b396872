// The key layout of the engine's single RocksDB keyspace.
//
//   [table u32][token u64, sign-flipped][partition key, escaped]   = partition prefix
//   prefix + 0x01                                 partition's highest write timestamp
//   prefix + 0x02                                 partition deletion
//   prefix + 0x03 + [lo][hi]                      range tombstone over encoded clusterings [lo, hi)
//   prefix + 0x04 + column part                   static row cells
//   prefix + 0x05 + clustering + column part      row cells
//   column part = [column id u32] + 0x00            simple cell, or a collection's own deletion
//               | [column id u32] + 0x01 + path     one collection element (comparable-encoded)
//
// Sorting by bytes gives: tables, then token order (Murmur3, signed), then partition key bytes,
// then the partition's header sections, then rows in clustering order (ASC/DESC per column),
// then columns. A token range is one contiguous key range. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "storage/table.h"

namespace ringdb::storage {

enum class Section : uint8_t {
  kMaxTimestamp = 0x01,
  kPartitionDeletion = 0x02,
  kRangeTombstone = 0x03,
  kStatic = 0x04,
  kRow = 0x05,
};

constexpr uint8_t kSimpleCell = 0x00;
constexpr uint8_t kCollectionElement = 0x01;
constexpr size_t kTablePrefixBytes = 4;
constexpr size_t kTokenPrefixBytes = 12;  // table + token: the RocksDB prefix-bloom length

Bytes table_prefix(TableId table);
// The first key after every key of `table`.
Bytes table_end(TableId table);
Bytes token_prefix(TableId table, int64_t token);
Bytes partition_prefix(TableId table, int64_t token, BytesView partition_key);
Bytes section_key(BytesView partition_prefix, Section section);

// Appends the comparable encoding of a clustering prefix (up to all clustering columns).
[[nodiscard]] Status encode_clustering(const TableDescriptor& table,
                                       const std::vector<Bytes>& values, Bytes* out);
// Decodes a full clustering from `key` at *position, advancing it.
[[nodiscard]] Status decode_clustering(const TableDescriptor& table, BytesView key,
                                       size_t* position, std::vector<Bytes>* values);

void append_column(ColumnId column, Bytes* out);
void append_element(ColumnId column, BytesView encoded_path, Bytes* out);

// The smallest byte string greater than every string starting with `prefix`; nullopt when there
// is none (prefix is all 0xff), meaning "unbounded".
std::optional<Bytes> prefix_successor(BytesView prefix);

// A half-open interval [lo, hi) of encoded clusterings; hi == nullopt is unbounded.
struct ClusteringInterval {
  Bytes lo;
  std::optional<Bytes> hi;
  bool contains(BytesView encoded) const { return encoded >= lo && (!hi || encoded < *hi); }
  bool empty() const { return hi && *hi <= lo; }
};

Bytes encode_range_tombstone_suffix(const ClusteringInterval& interval);
[[nodiscard]] Status decode_range_tombstone_suffix(BytesView suffix, ClusteringInterval* out);

// Escaped, prefix-free form of raw bytes (0x00 → 0x00 0xff, terminated by 0x00 0x00).
void append_escaped(BytesView raw, Bytes* out);
[[nodiscard]] bool read_escaped(BytesView in, size_t* position, Bytes* raw);

int64_t decode_token(BytesView key);  // key starts with a table prefix

}  // namespace ringdb::storage
