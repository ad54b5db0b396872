// Mutations (what a write changes in one partition) and read requests/results.
//
// A Mutation is built by the coordinator and applied by each replica's Engine unchanged, so it
// carries everything that must be identical on every replica: timestamps and the time the
// statement ran (now_seconds, which fixes TTL expiry and local deletion times). Values are
// serialized as in the native protocol. Plain value types.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/bytes.h"
#include "storage/cell.h"
#include "storage/table.h"

namespace ringdb::storage {

constexpr int32_t kUseTableDefaultTtl = -1;
constexpr int32_t kMaxTtlSeconds = 630'720'000;  // 20 years, as Cassandra's MAX_TTL

struct CellWrite {
  enum class Kind : uint8_t {
    kSet,               // write `value`
    kDelete,            // a cell tombstone
    kCounterAdd,        // add `counter_delta` to a counter column
    kCollectionDelete,  // delete a whole non-frozen collection (before an overwrite)
  };
  Kind kind = Kind::kSet;
  ColumnId column = kFirstUserColumn;
  // For one element of a non-frozen collection: the list element's timeuuid, the set element,
  // or the map key (serialized). Absent for simple columns and whole-collection deletes.
  std::optional<Bytes> path;
  Bytes value;
  int64_t timestamp = kNoTimestamp;
  int32_t ttl_seconds = kUseTableDefaultTtl;  // 0 = no TTL even when the table has a default
  int64_t counter_delta = 0;
};

struct RowWrite {
  bool is_static = false;
  std::vector<Bytes> clustering;  // every clustering column; empty for a static row
  // INSERT writes a row marker so the row exists even with all regular columns null.
  std::optional<int64_t> marker_timestamp;
  int32_t marker_ttl_seconds = kUseTableDefaultTtl;
  std::optional<int64_t> deletion_timestamp;  // DELETE of the whole row
  std::vector<CellWrite> cells;
};

// One end of a clustering slice: a prefix of the clustering columns. An empty prefix is
// unbounded on that side.
struct ClusteringBound {
  std::vector<Bytes> prefix;
  bool inclusive = true;
};

struct RangeDeletion {
  ClusteringBound start;
  ClusteringBound end;
  int64_t timestamp = kNoTimestamp;
};

struct Mutation {
  TableId table = 0;
  Bytes partition_key;      // serialized as hashed: one value, or the composite form
  int32_t now_seconds = 0;  // the statement's time; 0 = the engine's clock
  std::optional<int64_t> partition_deletion_timestamp;
  std::vector<RangeDeletion> range_deletions;
  std::vector<RowWrite> rows;
};

struct ReadCommand {
  TableId table = 0;
  Bytes partition_key;
  ClusteringBound start;
  ClusteringBound end;
  bool reversed = false;
  uint64_t row_limit = UINT64_MAX;
  int32_t now_seconds = 0;  // 0 = the engine's clock
};

struct Cell {
  ColumnId column = 0;
  std::optional<Bytes> path;  // collection element key (serialized), for non-frozen collections
  Bytes value;                // for counters: the total as an 8-byte bigint
  int64_t timestamp = kNoTimestamp;
  int32_t ttl_seconds = 0;
  int32_t expiry_seconds = kNoExpiry;
  bool is_counter = false;
};

struct Row {
  std::vector<Bytes> clustering;
  int64_t marker_timestamp = kNoTimestamp;  // set when the row has a live marker
  int32_t marker_ttl_seconds = 0;
  std::vector<Cell> cells;  // live cells in column order, elements in path order
};

struct Partition {
  Bytes partition_key;
  int64_t token = 0;
  std::optional<Row> static_row;
  std::vector<Row> rows;
  // A scan resumed inside this partition: `rows` continue an earlier page's (the static row is
  // repeated for them), so no rows here does not make it a partition of static data only.
  bool continued = false;
};

// Work done by one read; tests use it to prove range tombstones are skipped, not walked.
struct ReadStats {
  uint64_t keys_visited = 0;
  uint64_t range_tombstone_skips = 0;
};

// Scans a token range (start_token, end_token] in token order, one page at a time. An empty
// cursor starts at the beginning; pass the page's cursor back to continue. start_token ==
// INT64_MIN includes the minimum token.
struct ScanCommand {
  TableId table = 0;
  int64_t start_token = INT64_MIN;
  int64_t end_token = INT64_MAX;
  Bytes cursor;
  uint64_t row_limit = 1000;
  int32_t now_seconds = 0;
};

struct ScanPage {
  std::vector<Partition> partitions;
  Bytes cursor;  // empty when the range is exhausted
};

}  // namespace ringdb::storage
