#include "storage/rocks_hooks.h"

#include <optional>
#include <vector>

#include "storage/cell.h"
#include "storage/keys.h"
#include "storage/row_fragment.h"

namespace ringdb::storage {

void TableRegistry::put(TableDescriptor table) {
  auto shared = std::make_shared<const TableDescriptor>(std::move(table));
  std::unique_lock lock(mutex_);
  tables_[shared->id] = std::move(shared);
}

void TableRegistry::remove(TableId id) {
  std::unique_lock lock(mutex_);
  tables_.erase(id);
}

std::shared_ptr<const TableDescriptor> TableRegistry::find(TableId id) const {
  std::shared_lock lock(mutex_);
  auto it = tables_.find(id);
  return it == tables_.end() ? nullptr : it->second;
}

namespace {

// Row fragments merge entry by entry (see row_fragment.h).
bool fold_fragments(const rocksdb::Slice* existing, const std::vector<rocksdb::Slice>& operands,
                    std::string* out) {
  std::vector<RawCell> cells;
  auto add = [&](const rocksdb::Slice& s) {
    const BytesView v(s.data(), s.size());
    return is_row_fragment(v) && decode_row_fragment(v, &cells).is_ok();
  };
  if (existing != nullptr && !add(*existing)) return false;
  for (const auto& op : operands) {
    if (!add(op)) return false;
  }
  normalize_cells(&cells);
  out->clear();
  encode_row_fragment(cells, out);
  return true;
}

bool fold(const rocksdb::Slice* existing, const std::vector<rocksdb::Slice>& operands,
          std::string* out) {
  const rocksdb::Slice& first = existing != nullptr ? *existing : operands.front();
  if (is_row_fragment(BytesView(first.data(), first.size())))
    return fold_fragments(existing, operands, out);
  StoredValue acc;
  bool have = false;
  auto add = [&](const rocksdb::Slice& s) {
    StoredValue v;
    if (!decode_stored(BytesView(s.data(), s.size()), &v).is_ok()) return false;
    acc = have ? reconcile(acc, v) : std::move(v);
    have = true;
    return true;
  };
  if (existing != nullptr && !add(*existing)) return false;
  for (const auto& op : operands) {
    if (!add(op)) return false;
  }
  out->clear();
  encode_stored_to(acc, out);
  return true;
}

}  // namespace

bool ReconcilingMergeOperator::FullMergeV2(const MergeOperationInput& in,
                                           MergeOperationOutput* out) const {
  if (in.existing_value == nullptr && in.operand_list.size() == 1) {
    out->existing_operand = in.operand_list.front();  // one version: nothing to reconcile
    return true;
  }
  return fold(in.existing_value, in.operand_list, &out->new_value);
}

bool ReconcilingMergeOperator::PartialMergeMulti(const rocksdb::Slice&,
                                                 const std::deque<rocksdb::Slice>& operands,
                                                 std::string* new_value, rocksdb::Logger*) const {
  return fold(nullptr, std::vector<rocksdb::Slice>(operands.begin(), operands.end()), new_value);
}

namespace {

// Sees one compaction's keys in order and remembers the deletions of the current partition and
// row, so data they shadow can be dropped. Row, range and partition tombstones themselves are
// purged only in a full compaction, where every version of every key they shadow is present
// too; a cell's own tombstone can go in any compaction once its key is fully merged (a plain
// value, never an operand), because then no older version of that key exists below it. (A
// plain value may also be a collapse's, with older versions below it, see row_operand_counts.h.
// Removing it is still safe: RocksDB turns a plain value a filter removes into a deletion,
// which hides them.)
class PurgingCompactionFilter final : public rocksdb::CompactionFilter {
 public:
  PurgingCompactionFilter(const Clock& clock, const TableRegistry& tables,
                          CompactionFilterCounters& counters, bool full_compaction)
      : now_seconds_(clock.now_seconds()),
        tables_(tables),
        counters_(counters),
        full_(full_compaction) {}

  const char* Name() const override { return "RingDBPurge"; }

  Decision FilterV2(int, const rocksdb::Slice& key_slice, ValueType value_type,
                    const rocksdb::Slice& value, std::string* new_value,
                    std::string*) const override {
    if (value_type == ValueType::kBlobIndex) return Decision::kKeep;
    BytesView key(key_slice.data(), key_slice.size());
    if (is_row_fragment(BytesView(value.data(), value.size())))
      return filter_fragment(key, value_type, value, new_value);
    StoredValue v;
    if (key.size() <= kTokenPrefixBytes ||
        !decode_stored(BytesView(value.data(), value.size()), &v).is_ok()) {
      return Decision::kKeep;
    }
    if (!enter_partition(key)) return Decision::kKeep;
    const auto section = static_cast<Section>(key[partition_prefix_length_]);
    const BytesView rest = key.substr(partition_prefix_length_ + 1);
    switch (section) {
      case Section::kMaxTimestamp:
        return Decision::kKeep;
      case Section::kPartitionDeletion:
        partition_deletion_.merge({v.timestamp, v.local_time_seconds});
        return purge_deletion_marker(v);
      case Section::kRangeTombstone: {
        ClusteringInterval interval;
        if (!decode_range_tombstone_suffix(rest, &interval).is_ok()) return Decision::kKeep;
        range_tombstones_.push_back(
            {std::move(interval), DeletionTime{v.timestamp, v.local_time_seconds}});
        return purge_deletion_marker(v);
      }
      case Section::kStatic:
      case Section::kRow:
        return filter_cell(section, rest, value_type, v, new_value);
    }
    return Decision::kKeep;
  }

 private:
  struct RangeTombstone {
    ClusteringInterval interval;
    DeletionTime deletion;
  };

  // A row fragment: each of its cells goes through filter_cell as if it had its own key.
  Decision filter_fragment(BytesView key, ValueType value_type, const rocksdb::Slice& value,
                           std::string* new_value) const {
    std::vector<RawCell> cells;
    if (key.size() <= kTokenPrefixBytes || !enter_partition(key) ||
        static_cast<Section>(key[partition_prefix_length_]) != Section::kRow ||
        !decode_row_fragment(BytesView(value.data(), value.size()), &cells).is_ok()) {
      return Decision::kKeep;
    }
    const Bytes rest(key.substr(partition_prefix_length_ + 1));
    // A separate cell key of this row, written before fragments existed, may sit in a level
    // this compaction does not see: the fragment's tombstones and expired cells therefore stay
    // until a full compaction, where every version of the row is present.
    const ValueType effective = full_ ? value_type : ValueType::kMergeOperand;
    // Separate cell keys of the same row sort after the fragment: they are checked against all
    // of its cells, including tombstones this compaction purges.
    std::vector<RawCell> original = cells;
    std::vector<RawCell> kept;
    bool changed = false;
    for (auto& cell : cells) {
      std::string replaced;
      switch (
          filter_cell(Section::kRow, rest + cell.column_part, effective, cell.value, &replaced)) {
        case Decision::kRemove:
          changed = true;
          break;
        case Decision::kChangeValue: {
          StoredValue v;
          if (!decode_stored(replaced, &v).is_ok()) return Decision::kKeep;
          cell.value = std::move(v);
          changed = true;
          kept.push_back(std::move(cell));
          break;
        }
        default:
          kept.push_back(std::move(cell));
          break;
      }
    }
    // RocksDB filters a fragment's merge operands one by one: gather them all.
    for (auto& cell : original) fragment_cells_.push_back(std::move(cell));
    if (!changed) return Decision::kKeep;
    if (kept.empty()) return Decision::kRemove;
    new_value->clear();
    encode_row_fragment(kept, new_value);
    return Decision::kChangeValue;
  }

  // True when the current row's fragment (one of its operands is enough) holds a version of
  // this cell that already includes `v` (reconciling adds nothing), so `v`, an older separate
  // key, can go: the merged fragment includes it too.
  bool superseded_by_fragment(BytesView column_part, const StoredValue& v) const {
    for (const auto& cell : fragment_cells_) {
      if (BytesView(cell.column_part) == column_part && reconcile(cell.value, v) == cell.value)
        return true;
    }
    return false;
  }

  bool purgeable(int32_t local_deletion_seconds) const {
    return static_cast<int64_t>(local_deletion_seconds) + table_->gc_grace_seconds < now_seconds_;
  }

  Decision purge_deletion_marker(const StoredValue& v) const {
    if (full_ && v.is_tombstone() && purgeable(v.local_time_seconds)) {
      counters_.purged_tombstones.fetch_add(1, std::memory_order_relaxed);
      return Decision::kRemove;
    }
    return Decision::kKeep;
  }

  // Tracks which partition the filter is in; false when the table is unknown (keep everything).
  bool enter_partition(BytesView key) const {
    size_t pos = kTokenPrefixBytes;
    Bytes pk;
    if (!read_escaped(key, &pos, &pk) || pos >= key.size()) return false;
    if (key.substr(0, pos) != current_partition_) {
      current_partition_ = Bytes(key.substr(0, pos));
      partition_prefix_length_ = pos;
      partition_deletion_ = {};
      range_tombstones_.clear();
      current_row_.clear();
      uint32_t table = 0;
      for (size_t i = 0; i < kTablePrefixBytes; ++i)
        table = (table << 8) | static_cast<uint8_t>(key[i]);
      table_ = tables_.find(table);
    }
    return table_ != nullptr;
  }

  Decision filter_cell(Section section, BytesView rest, ValueType value_type, const StoredValue& v,
                       std::string* new_value) const {
    size_t pos = 0;
    Bytes encoded_clustering;
    if (section == Section::kRow) {
      std::vector<Bytes> values;
      if (!decode_clustering(*table_, rest, &pos, &values).is_ok()) return Decision::kKeep;
      encoded_clustering = Bytes(rest.substr(0, pos));
    }
    if (rest.size() < pos + 5) return Decision::kKeep;
    const Bytes row_id = Bytes(1, static_cast<char>(section)) + encoded_clustering;
    if (row_id != current_row_) {
      current_row_ = row_id;
      row_deletion_ = partition_deletion_;
      if (section == Section::kRow) {
        for (const auto& rt : range_tombstones_) {
          if (rt.interval.contains(encoded_clustering)) row_deletion_.merge(rt.deletion);
        }
      }
      column_deletion_column_ = UINT32_MAX;
      column_deletion_ = {};
      fragment_cells_.clear();
    }
    if (!fragment_cells_.empty() && superseded_by_fragment(rest.substr(pos), v)) {
      counters_.dropped_shadowed.fetch_add(1, std::memory_order_relaxed);
      return Decision::kRemove;
    }
    uint32_t column = 0;
    for (size_t i = 0; i < 4; ++i) column = (column << 8) | static_cast<uint8_t>(rest[pos + i]);
    const bool element = static_cast<uint8_t>(rest[pos + 4]) == kCollectionElement;

    if (column == kRowDeletionColumn) {
      row_deletion_.merge({v.timestamp, v.local_time_seconds});
      return purge_deletion_marker(v);
    }
    DeletionTime shadow = row_deletion_;
    if (element && column == column_deletion_column_) shadow.merge(column_deletion_);
    if (!element && v.is_tombstone()) {  // may be a whole-collection deletion: remember it
      column_deletion_column_ = column;
      column_deletion_ = {v.timestamp, v.local_time_seconds};
    }
    if (!v.is_tombstone() && shadow.deletes(v.timestamp)) {
      counters_.dropped_shadowed.fetch_add(1, std::memory_order_relaxed);
      return Decision::kRemove;
    }
    if (value_type != ValueType::kValue) return Decision::kKeep;
    if (v.is_tombstone()) {
      if (!purgeable(v.local_time_seconds)) return Decision::kKeep;
      counters_.purged_tombstones.fetch_add(1, std::memory_order_relaxed);
      return Decision::kRemove;
    }
    if (v.kind == StoredKind::kLive && !v.is_live(now_seconds_)) {
      // Expired: becomes a tombstone dated at its write (expiry - ttl), or goes entirely once
      // its expiry is older than gc_grace_seconds (Cassandra's ExpiringCell purge rule).
      counters_.purged_expired.fetch_add(1, std::memory_order_relaxed);
      if (purgeable(v.local_time_seconds)) return Decision::kRemove;
      encode_stored_to(StoredValue::tombstone(v.timestamp, v.local_time_seconds - v.ttl_seconds),
                       new_value);
      return Decision::kChangeValue;
    }
    return Decision::kKeep;
  }

  const int64_t now_seconds_;
  const TableRegistry& tables_;
  CompactionFilterCounters& counters_;
  const bool full_;
  // Per-partition and per-row state, advanced as keys stream past in order.
  mutable Bytes current_partition_;
  mutable size_t partition_prefix_length_ = 0;
  mutable std::shared_ptr<const TableDescriptor> table_;
  mutable DeletionTime partition_deletion_;
  mutable std::vector<RangeTombstone> range_tombstones_;
  mutable Bytes current_row_;
  mutable DeletionTime row_deletion_;
  mutable ColumnId column_deletion_column_ = UINT32_MAX;
  mutable DeletionTime column_deletion_;
  mutable std::vector<RawCell> fragment_cells_;  // the current row's fragment, if it has one
};

}  // namespace

std::unique_ptr<rocksdb::CompactionFilter> PurgingCompactionFilterFactory::CreateCompactionFilter(
    const rocksdb::CompactionFilter::Context& context) {
  return std::make_unique<PurgingCompactionFilter>(clock_, tables_, counters_,
                                                   context.is_full_compaction);
}

}  // namespace ringdb::storage
