#include "storage/row_fragment.h"

#include <algorithm>

namespace ringdb::storage {

void encode_row_fragment(const std::vector<RawCell>& cells, Bytes* out) {
  BufferWriter w(out);
  w.put_u8(kRowFragmentTag);
  w.put_u32(static_cast<uint32_t>(cells.size()));
  Bytes value;
  for (const auto& cell : cells) {
    w.put_length_prefixed(cell.column_part);
    value.clear();
    encode_stored_to(cell.value, &value);
    w.put_length_prefixed(value);
  }
}

Status decode_row_fragment(BytesView fragment, std::vector<RawCell>* out) {
  BufferReader r(fragment);
  uint8_t tag = 0;
  uint32_t count = 0;
  if (!r.get_u8(&tag) || tag != kRowFragmentTag || !r.get_u32(&count))
    return Status::corruption("malformed row fragment header");
  // Each entry takes at least 8 bytes, which bounds what a corrupt count can make us reserve.
  if (count > r.remaining() / 8) return Status::corruption("row fragment count too large");
  out->reserve(out->size() + count);
  for (uint32_t i = 0; i < count; ++i) {
    BytesView column_part, value;
    if (!r.get_length_prefixed(&column_part) || !r.get_length_prefixed(&value))
      return Status::corruption("truncated row fragment");
    RawCell cell;
    cell.column_part = Bytes(column_part);
    RINGDB_RETURN_IF_ERROR(decode_stored(value, &cell.value));
    out->push_back(std::move(cell));
  }
  if (!r.at_end()) return Status::corruption("trailing bytes after a row fragment");
  return Status::ok();
}

void normalize_cells(std::vector<RawCell>* cells) {
  std::stable_sort(cells->begin(), cells->end(), [](const RawCell& a, const RawCell& b) {
    return a.column_part < b.column_part;
  });
  size_t kept = 0;
  for (size_t i = 0; i < cells->size(); ++i) {
    if (kept > 0 && (*cells)[kept - 1].column_part == (*cells)[i].column_part) {
      (*cells)[kept - 1].value = reconcile((*cells)[kept - 1].value, (*cells)[i].value);
    } else {
      if (kept != i) (*cells)[kept] = std::move((*cells)[i]);
      ++kept;
    }
  }
  cells->resize(kept);
}

}  // namespace ringdb::storage
