// Row fragments: the layout of rows of tables without clustering columns.
//
// Such a table has one row per partition and no static or range sections, so all of a row's
// cells (row deletion, row marker, simple cells, collection elements and deletions) are kept
// as one RocksDB value at the row's key, partition prefix + Section::kRow, instead of one key
// per cell. A write is then one memtable entry, whatever the number of columns it sets.
//
//   fragment = 0xF0 [u32 count] count × ([u32 n][column part: n bytes] [u32 m][stored value])
//
// Entries are sorted by column part ([column id][kind][path], as in separate cell keys) and
// unique. Two fragments merge entry by entry with reconcile(), which keeps the merge commutative
// and associative. The tag cannot start an encoded StoredValue (its kinds are 1 to 5).
// Readers also accept separate cell keys written before this layout existed. Pure functions.
#pragma once

#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "storage/cell.h"

namespace ringdb::storage {

constexpr uint8_t kRowFragmentTag = 0xF0;

// One cell of a row: its column part and its stored value.
struct RawCell {
  Bytes column_part;  // [column id u32][kSimpleCell | kCollectionElement][path]
  StoredValue value;
};

inline bool is_row_fragment(BytesView value) {
  return !value.empty() && static_cast<uint8_t>(value[0]) == kRowFragmentTag;
}

// `cells` must be sorted by column part and unique (see normalize_cells).
void encode_row_fragment(const std::vector<RawCell>& cells, Bytes* out);
// Appends the fragment's cells to `out`.
[[nodiscard]] Status decode_row_fragment(BytesView fragment, std::vector<RawCell>* out);
// Sorts by column part (stable) and reconciles cells with the same column part into one.
void normalize_cells(std::vector<RawCell>* cells);

}  // namespace ringdb::storage
