#include "storage/keys.h"

namespace ringdb::storage {
namespace {

void append_u32(uint32_t v, Bytes* out) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void append_u64(uint64_t v, Bytes* out) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}

}  // namespace

Bytes table_prefix(TableId table) {
  Bytes out;
  append_u32(table, &out);
  return out;
}

Bytes table_end(TableId table) {
  Bytes out;
  if (table == UINT32_MAX) return Bytes(5, '\xff');
  append_u32(table + 1, &out);
  return out;
}

Bytes token_prefix(TableId table, int64_t token) {
  Bytes out = table_prefix(table);
  append_u64(static_cast<uint64_t>(token) ^ (uint64_t{1} << 63), &out);
  return out;
}

Bytes partition_prefix(TableId table, int64_t token, BytesView partition_key) {
  Bytes out = token_prefix(table, token);
  append_escaped(partition_key, &out);
  return out;
}

Bytes section_key(BytesView partition_prefix, Section section) {
  Bytes out(partition_prefix);
  out.push_back(static_cast<char>(section));
  return out;
}

int64_t decode_token(BytesView key) {
  uint64_t v = 0;
  for (size_t i = kTablePrefixBytes; i < kTokenPrefixBytes && i < key.size(); ++i) {
    v = (v << 8) | static_cast<uint8_t>(key[i]);
  }
  return static_cast<int64_t>(v ^ (uint64_t{1} << 63));
}

Status encode_clustering(const TableDescriptor& table, const std::vector<Bytes>& values,
                         Bytes* out) {
  if (values.size() > table.clustering.size()) {
    return Status::invalid_argument("too many clustering values for " + table.name);
  }
  for (size_t i = 0; i < values.size(); ++i) {
    RINGDB_RETURN_IF_ERROR(encode_comparable(table.clustering[i].type, values[i],
                                             table.clustering[i].descending, out));
  }
  return Status::ok();
}

Status decode_clustering(const TableDescriptor& table, BytesView key, size_t* position,
                         std::vector<Bytes>* values) {
  values->clear();
  for (const auto& c : table.clustering) {
    Bytes v;
    RINGDB_RETURN_IF_ERROR(decode_comparable(c.type, key, c.descending, position, &v));
    values->push_back(std::move(v));
  }
  return Status::ok();
}

void append_column(ColumnId column, Bytes* out) {
  append_u32(column, out);
  out->push_back(static_cast<char>(kSimpleCell));
}

void append_element(ColumnId column, BytesView encoded_path, Bytes* out) {
  append_u32(column, out);
  out->push_back(static_cast<char>(kCollectionElement));
  out->append(encoded_path);
}

std::optional<Bytes> prefix_successor(BytesView prefix) {
  Bytes out(prefix);
  while (!out.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(out.back());
    if (last != 0xff) {
      ++last;
      return out;
    }
    out.pop_back();
  }
  return std::nullopt;
}

void append_escaped(BytesView raw, Bytes* out) {
  for (char c : raw) {
    out->push_back(c);
    if (c == '\0') out->push_back('\xff');
  }
  out->push_back('\0');
  out->push_back('\0');
}

bool read_escaped(BytesView in, size_t* position, Bytes* raw) {
  size_t i = *position;
  while (i < in.size()) {
    char c = in[i++];
    if (c != '\0') {
      raw->push_back(c);
      continue;
    }
    if (i >= in.size()) return false;
    char follow = in[i++];
    if (follow == '\0') {
      *position = i;
      return true;
    }
    if (follow != '\xff') return false;
    raw->push_back('\0');
  }
  return false;
}

Bytes encode_range_tombstone_suffix(const ClusteringInterval& interval) {
  Bytes out;
  append_escaped(interval.lo, &out);
  if (interval.hi) {
    out.push_back('\x01');
    append_escaped(*interval.hi, &out);
  } else {
    out.push_back('\x02');
  }
  return out;
}

Status decode_range_tombstone_suffix(BytesView suffix, ClusteringInterval* out) {
  size_t pos = 0;
  out->lo.clear();
  out->hi.reset();
  if (!read_escaped(suffix, &pos, &out->lo) || pos >= suffix.size()) {
    return Status::corruption("range tombstone key: bad lower bound");
  }
  const char kind = suffix[pos++];
  if (kind == '\x02')
    return pos == suffix.size() ? Status::ok()
                                : Status::corruption("range tombstone key: trailing bytes");
  Bytes hi;
  if (kind != '\x01' || !read_escaped(suffix, &pos, &hi) || pos != suffix.size()) {
    return Status::corruption("range tombstone key: bad upper bound");
  }
  out->hi = std::move(hi);
  return Status::ok();
}

}  // namespace ringdb::storage
