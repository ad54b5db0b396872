#include "storage/engine.h"

#include <rocksdb/convenience.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <future>

#include "common/check.h"
#include "common/murmur3.h"
#include "storage/keys.h"
#include "storage/row_fragment.h"
#include "storage/wal_files.h"

namespace ringdb::storage {
namespace {

Status from_rocks(const rocksdb::Status& s, const char* what) {
  if (s.ok()) return Status::ok();
  if (s.IsCorruption()) return Status::corruption(std::string(what) + ": " + s.ToString());
  // A memory-only read that needs the disk, or a no_slowdown write that would wait.
  if (s.IsIncomplete()) return Status::would_block(std::string(what) + ": " + s.ToString());
  return Status::io_error(std::string(what) + ": " + s.ToString());
}

BytesView view(const rocksdb::Slice& s) {
  return BytesView(s.data(), s.size());
}
bool starts_with(BytesView s, BytesView prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// The type of a collection element's path: list elements are keyed by timeuuid.
ValueType path_type(const ColumnDescriptor& column) {
  switch (column.type.kind) {
    case ValueKind::kList:
      return ValueType::of(ValueKind::kTimeuuid);
    case ValueKind::kSet:
    case ValueKind::kMap:
      return column.type.params.at(0);
    default:
      return column.type;
  }
}

// A slice's bounds as an interval of encoded clusterings; nullopt when the slice is empty.
Result<std::optional<ClusteringInterval>> to_interval(const TableDescriptor& table,
                                                      const ClusteringBound& start,
                                                      const ClusteringBound& end) {
  ClusteringInterval interval;
  if (!start.prefix.empty()) {
    Bytes enc;
    RINGDB_RETURN_IF_ERROR(encode_clustering(table, start.prefix, &enc));
    if (start.inclusive) {
      interval.lo = std::move(enc);
    } else {
      auto successor = prefix_successor(enc);
      if (!successor) return std::optional<ClusteringInterval>();
      interval.lo = std::move(*successor);
    }
  }
  if (!end.prefix.empty()) {
    Bytes enc;
    RINGDB_RETURN_IF_ERROR(encode_clustering(table, end.prefix, &enc));
    interval.hi = end.inclusive ? prefix_successor(enc) : std::optional<Bytes>(std::move(enc));
  }
  if (interval.empty()) return std::optional<ClusteringInterval>();
  return std::optional<ClusteringInterval>(std::move(interval));
}

struct RangeTombstone {
  ClusteringInterval interval;
  DeletionTime deletion;
};

struct PartitionHeader {
  int64_t max_timestamp = kNoTimestamp;
  DeletionTime deletion;
  std::vector<RangeTombstone> range_tombstones;
  std::vector<RawCell> static_cells;
};

// Reads one partition's header and rows through an iterator it does not own.
class PartitionReader {
 public:
  // A read that visits more than `keys_max` keys gives up with WouldBlock (see
  // Engine::kNonBlockingKeysMax).
  // `it` may be null for a reader that only builds fragment rows (fragment_row).
  PartitionReader(const TableDescriptor& table, rocksdb::Iterator* it, int32_t now_seconds,
                  ReadStats& stats, uint64_t keys_max = UINT64_MAX)
      : table_(table), it_(it), now_(now_seconds), stats_(stats), keys_max_(keys_max) {}

  // Positions at the partition's first key and reads every section before the rows. Leaves
  // the iterator at the first key after them.
  Status read_header(BytesView prefix, PartitionHeader* header) {
    it_->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
    for (; it_->Valid(); it_->Next()) {
      BytesView key = view(it_->key());
      if (!starts_with(key, prefix) || key.size() <= prefix.size()) break;
      const auto section = static_cast<Section>(key[prefix.size()]);
      if (section >= Section::kRow) break;
      ++stats_.keys_visited;
      StoredValue v;
      RINGDB_RETURN_IF_ERROR(decode_stored(view(it_->value()), &v));
      BytesView rest = key.substr(prefix.size() + 1);
      switch (section) {
        case Section::kMaxTimestamp:
          header->max_timestamp = std::max(header->max_timestamp, v.timestamp);
          break;
        case Section::kPartitionDeletion:
          header->deletion.merge({v.timestamp, v.local_time_seconds});
          break;
        case Section::kRangeTombstone: {
          RangeTombstone rt;
          RINGDB_RETURN_IF_ERROR(decode_range_tombstone_suffix(rest, &rt.interval));
          rt.deletion = {v.timestamp, v.local_time_seconds};
          header->range_tombstones.push_back(std::move(rt));
          break;
        }
        case Section::kStatic:
          header->static_cells.push_back({Bytes(rest), std::move(v)});
          break;
        default:
          break;
      }
    }
    return it_->status().ok() ? Status::ok() : from_rocks(it_->status(), "read");
  }

  // Appends the live rows of [interval] (in order, or reversed) to `out`, at most `limit`.
  // The iterator must be where read_header left it.
  Status read_rows(BytesView prefix, const PartitionHeader& header,
                   const ClusteringInterval& interval, bool reversed, uint64_t limit,
                   std::vector<Row>* out, Bytes* last_clustering) {
    const Bytes row_base = section_key(prefix, Section::kRow);
    const Bytes lo_key = row_base + interval.lo;
    const Bytes hi_key = interval.hi ? row_base + *interval.hi : *prefix_successor(row_base);
    if (!reversed) {
      if (!it_->Valid() || view(it_->key()) < BytesView(lo_key)) it_->Seek(lo_key);
    } else {
      it_->SeekForPrev(hi_key);
      if (it_->Valid() && view(it_->key()) == BytesView(hi_key)) it_->Prev();
    }
    std::vector<RawCell> cells;
    Bytes current;  // encoded clustering of the row being gathered
    std::vector<Bytes> current_values;
    size_t row_keys = 0;        // keys gathered into `cells` for the current row
    bool row_fragment = false;  // one of them a row fragment
    auto finish_row = [&]() -> Status {
      if (cells.empty()) return Status::ok();
      if (reversed) std::reverse(cells.begin(), cells.end());
      // A fragment next to separate cell keys (written before fragments existed): one sorted
      // list with one version per column part.
      if (row_fragment && row_keys > 1) normalize_cells(&cells);
      row_keys = 0;
      row_fragment = false;
      Row row;
      row.clustering = std::move(current_values);
      if (build_row(header, current, cells, &row)) {
        out->push_back(std::move(row));
        *last_clustering = current;
      }
      cells.clear();
      return Status::ok();
    };
    while (out->size() < limit && it_->Valid()) {
      BytesView key = view(it_->key());
      if (reversed ? key < BytesView(lo_key) : key >= BytesView(hi_key)) break;
      if (++stats_.keys_visited > keys_max_)
        return Status::would_block("a long read is left to a storage thread");
      BytesView rest = key.substr(row_base.size());
      size_t pos = 0;
      std::vector<Bytes> values;
      RINGDB_RETURN_IF_ERROR(decode_clustering(table_, rest, &pos, &values));
      BytesView encoded = rest.substr(0, pos);
      if (cells.empty() || encoded != BytesView(current)) {
        RINGDB_RETURN_IF_ERROR(finish_row());
        if (out->size() >= limit) break;
        current = Bytes(encoded);
        current_values = std::move(values);
        if (const RangeTombstone* rt = dominating_tombstone(header, current)) {
          // Everything in this range tombstone is older than it: jump over it in one seek.
          ++stats_.range_tombstone_skips;
          if (!reversed) {
            if (!rt->interval.hi) break;
            it_->Seek(row_base + *rt->interval.hi);
          } else {
            it_->SeekForPrev(row_base + rt->interval.lo);
          }
          continue;
        }
      }
      const BytesView value = view(it_->value());
      ++row_keys;
      if (is_row_fragment(value)) {
        row_fragment = true;
        const size_t first = cells.size();
        RINGDB_RETURN_IF_ERROR(decode_row_fragment(value, &cells));
        // Cells gather in key order, or in reverse when reading backwards (undone at the end).
        if (reversed) std::reverse(cells.begin() + static_cast<ptrdiff_t>(first), cells.end());
        // Count its cells as keys, so the bounds on keys visited also bound large rows.
        if (cells.size() > first + 1) stats_.keys_visited += cells.size() - first - 1;
      } else {
        StoredValue v;
        RINGDB_RETURN_IF_ERROR(decode_stored(value, &v));
        cells.push_back({Bytes(rest.substr(pos)), std::move(v)});
      }
      if (reversed) {
        it_->Prev();
      } else {
        it_->Next();
      }
    }
    if (!it_->status().ok()) return from_rocks(it_->status(), "read");
    return finish_row();
  }

  // Appends the row of a table without clustering columns, kept at its row key as one fragment
  // (`value`), if anything in it is live.
  Status fragment_row(const PartitionHeader& header, BytesView value, std::vector<Row>* out) {
    if (!is_row_fragment(value)) return Status::corruption("a row key without a row fragment");
    std::vector<RawCell> cells;
    RINGDB_RETURN_IF_ERROR(decode_row_fragment(value, &cells));
    stats_.keys_visited += cells.size();
    Row row;
    if (build_row(header, BytesView(), cells, &row)) out->push_back(std::move(row));
    return Status::ok();
  }

  std::optional<Row> static_row(const PartitionHeader& header) {
    if (header.static_cells.empty()) return std::nullopt;
    Row row;
    std::vector<RawCell> cells = header.static_cells;
    if (!build_row(header, Bytes(), cells, &row, /*is_static=*/true)) return std::nullopt;
    return row;
  }

 private:
  // The range tombstone covering `encoded` that is at least as new as every write in the
  // partition, so everything under it is deleted; nullptr when there is none.
  const RangeTombstone* dominating_tombstone(const PartitionHeader& header,
                                             BytesView encoded) const {
    const RangeTombstone* best = nullptr;
    for (const auto& rt : header.range_tombstones) {
      if (!rt.interval.contains(encoded) || rt.deletion.marked_for_delete_at < header.max_timestamp)
        continue;
      if (best == nullptr || !rt.interval.hi ||
          (best->interval.hi && *rt.interval.hi > *best->interval.hi))
        best = &rt;
    }
    return best;
  }

  // Applies deletions and expiry to a row's raw cells; true when anything in it is live.
  // Consumes `raw`: cell values move into the row.
  bool build_row(const PartitionHeader& header, BytesView encoded, std::vector<RawCell>& raw,
                 Row* row, bool is_static = false) {
    DeletionTime deletion = header.deletion;
    if (!is_static) {
      for (const auto& rt : header.range_tombstones) {
        if (rt.interval.contains(encoded)) deletion.merge(rt.deletion);
      }
    }
    for (const auto& cell : raw) {  // the row deletion sorts first (column 0)
      if (column_of(cell) == kRowDeletionColumn)
        deletion.merge({cell.value.timestamp, cell.value.local_time_seconds});
    }
    ColumnId deleted_collection = UINT32_MAX;
    DeletionTime collection_deletion;
    for (auto& cell : raw) {
      const ColumnId column = column_of(cell);
      StoredValue& v = cell.value;
      if (column == kRowDeletionColumn) continue;
      const bool element = static_cast<uint8_t>(cell.column_part[4]) == kCollectionElement;
      if (!element && v.is_tombstone()) {  // a cell tombstone, or a collection's deletion
        deleted_collection = column;
        collection_deletion = {v.timestamp, v.local_time_seconds};
        continue;
      }
      if (!v.is_live(now_) || deletion.deletes(v.timestamp)) continue;
      if (element && column == deleted_collection && collection_deletion.deletes(v.timestamp))
        continue;
      if (column == kRowMarkerColumn) {
        row->marker_timestamp = v.timestamp;
        row->marker_ttl_seconds = v.ttl_seconds;
        continue;
      }
      const ColumnDescriptor* descriptor = table_.column(column);
      if (descriptor == nullptr) continue;  // a dropped column's leftovers
      Cell out;
      out.column = column;
      out.timestamp = v.timestamp;
      out.ttl_seconds = v.ttl_seconds;
      out.expiry_seconds = v.local_time_seconds;
      if (element) {
        size_t pos = 5;
        Bytes path;
        if (!decode_comparable(path_type(*descriptor), cell.column_part, false, &pos, &path)
                 .is_ok())
          continue;
        out.path = std::move(path);
      }
      if (v.is_counter()) {
        out.is_counter = true;
        BufferWriter w(&out.value);
        w.put_i64(v.counter_total());
      } else {
        out.value = std::move(v.value);
      }
      row->cells.push_back(std::move(out));
    }
    return row->marker_timestamp != kNoTimestamp || !row->cells.empty();
  }

  static ColumnId column_of(const RawCell& cell) {
    ColumnId c = 0;
    for (size_t i = 0; i < 4; ++i) c = (c << 8) | static_cast<uint8_t>(cell.column_part[i]);
    return c;
  }

  const TableDescriptor& table_;
  rocksdb::Iterator* const it_;
  const int32_t now_;
  ReadStats& stats_;
  const uint64_t keys_max_;
};

// The engine's own keys (the storage format) are under this table id, which no table has.
constexpr TableId kEngineMetaTable = 0;
// The storage format of a database whose rows of tables without clustering columns are all
// row fragments (row_fragment.h).
constexpr char kFormatFragmentsOnly[] = "row-fragments";

// Scan cursors: [0x00][key to seek] starts at a partition boundary; [0x01][u32 n][partition
// prefix (n bytes)][encoded clustering lower bound] resumes inside a partition.
constexpr char kCursorAtKey = 0x00;
constexpr char kCursorInPartition = 0x01;

}  // namespace

Engine::Engine(const EngineOptions& options, const Clock& clock, MetricsRegistry& metrics)
    : options_(options),
      clock_(clock),
      tables_(std::make_unique<TableRegistry>()),
      compaction_counters_(std::make_unique<CompactionFilterCounters>()),
      row_cache_(options.row_cache_bytes),
      header_bounds_(PartitionLocks::kStripes, options.header_timestamp_step_micros),
      row_operand_counts_(size_t{1} << 14),
      writes_(metrics.counter("storage.writes")),
      reads_(metrics.counter("storage.reads")),
      scans_(metrics.counter("storage.scan_pages")),
      write_micros_(metrics.histogram("storage.write_micros")) {}

Engine::~Engine() {
  clear_idle_iterators();
  commit_log_.reset();  // final fsync before the database closes
  if (db_) {
    rocksdb::Status s = db_->Close();
    if (!s.ok()) std::fprintf(stderr, "storage: close failed: %s\n", s.ToString().c_str());
  }
}

namespace {

// After each flush and compaction, drops the engine's idle pooled iterators (see
// Engine::clear_idle_iterators). RocksDB calls these without holding its mutex.
class IdleIteratorDropper final : public rocksdb::EventListener {
 public:
  explicit IdleIteratorDropper(std::function<void()> drop) : drop_(std::move(drop)) {}
  void OnFlushCompleted(rocksdb::DB*, const rocksdb::FlushJobInfo&) override { drop_(); }
  void OnCompactionCompleted(rocksdb::DB*, const rocksdb::CompactionJobInfo&) override { drop_(); }

 private:
  const std::function<void()> drop_;
};

}  // namespace

Result<std::unique_ptr<Engine>> Engine::open(const EngineOptions& options, const Clock& clock,
                                             MetricsRegistry& metrics) {
  std::unique_ptr<Engine> engine(new Engine(options, clock, metrics));
  std::error_code ec;
  std::filesystem::create_directories(options.data_directory, ec);
  if (ec) return Status::io_error("cannot create " + options.data_directory + ": " + ec.message());

  rocksdb::Options o;
  o.create_if_missing = true;
  o.merge_operator = std::make_shared<ReconcilingMergeOperator>();
  o.compaction_filter_factory = std::make_shared<PurgingCompactionFilterFactory>(
      clock, *engine->tables_, *engine->compaction_counters_);
  o.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(kTokenPrefixBytes));
  o.memtable_prefix_bloom_size_ratio = 0.05;
  o.write_buffer_size = options.write_buffer_bytes;
  // Writes link their entry into a hash index and reach the skiplist in sorted batches; point
  // lookups read the index (memtable_rep.h). The entry trailer it adds needs no protection bytes.
  engine->memtables_ = std::make_shared<IndexedMemTableFactory>(options.write_buffer_bytes);
  o.memtable_factory = engine->memtables_;
  o.memtable_protection_bytes_per_key = 0;
  o.max_background_jobs = 2;
  o.max_subcompactions = 1;  // the compaction filter must see a partition's keys in one pass
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // Writers insert into the memtable without waiting for each other's write group (about a
  // quarter less CPU per write with two event loops). Readers keep partition isolation through
  // partition_locks_; nothing here reads from a snapshot, whose immutability this relaxes.
  o.unordered_write = true;
  // Deleting obsolete files and memtables, when an iterator or a version is released on a loop
  // thread, is left to a background thread instead of the releasing thread.
  o.avoid_unnecessary_blocking_io = true;
  o.listeners.push_back(std::make_shared<IdleIteratorDropper>(
      [engine = engine.get()] { engine->clear_idle_iterators(); }));
  if (options.wal_zero_ahead_bytes > 0) {
    engine->env_ = rocksdb::NewCompositeEnv(new_zero_ahead_wal_file_system(
        rocksdb::FileSystem::Default(), options.wal_zero_ahead_bytes));
    o.env = engine->env_.get();
  }
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.whole_key_filtering =
      false;  // reads seek by partition, so prefix filters are the useful ones
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  rocksdb::DB* db = nullptr;
  const std::string db_directory = options.data_directory + "/db";
  // When it cannot tell, it takes the database for an older one: slower reads, never wrong ones.
  const bool existed = std::filesystem::exists(db_directory + "/CURRENT", ec) || ec;
  RINGDB_RETURN_IF_ERROR(from_rocks(rocksdb::DB::Open(o, db_directory, &db), "open"));
  engine->db_.reset(db);
  // Databases created before row fragments may hold a row as separate cell keys, which only an
  // iterator finds; a database created since says so, and its fragment rows are read by key.
  const std::string format_key = storage_format_key();
  if (!existed) {
    rocksdb::WriteOptions sync;
    sync.sync = true;
    RINGDB_RETURN_IF_ERROR(
        from_rocks(db->Put(sync, format_key, kFormatFragmentsOnly), "write the storage format"));
    engine->fragments_only_ = true;
  } else {
    std::string format;
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;  // leaves the block cache as cold as the restart left it
    rocksdb::Status s = db->Get(ro, format_key, &format);
    if (!s.ok() && !s.IsNotFound()) return from_rocks(s, "read the storage format");
    engine->fragments_only_ = s.ok() && format == kFormatFragmentsOnly;
  }
  engine->commit_log_ = std::make_unique<CommitLog>(db, options.commitlog_sync,
                                                    options.commitlog_sync_period_ms, metrics);
  return engine;
}

std::string Engine::storage_format_key() {
  return table_prefix(kEngineMetaTable) + "storage_format";
}

namespace {

std::string local_key(std::string_view name) {
  return table_prefix(kEngineMetaTable) + "local/" + std::string(name);
}

}  // namespace

Status Engine::put_local(std::string_view name, BytesView value) {
  rocksdb::WriteOptions sync;
  sync.sync = true;
  return from_rocks(db_->Put(sync, local_key(name), rocksdb::Slice(value.data(), value.size())),
                    "write node-local metadata");
}

Result<std::optional<Bytes>> Engine::get_local(std::string_view name) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), local_key(name), &value);
  if (s.IsNotFound()) return std::optional<Bytes>();
  if (!s.ok()) return from_rocks(s, "read node-local metadata");
  return std::optional<Bytes>(Bytes(value));
}

Status Engine::delete_local(std::string_view name) {
  rocksdb::WriteOptions sync;
  sync.sync = true;
  return from_rocks(db_->Delete(sync, local_key(name)), "delete node-local metadata");
}

Status Engine::register_table(TableDescriptor table) {
  if (table.id == kEngineMetaTable)
    return Status::invalid_argument("table id 0 is the engine's own");
  for (const auto& c : table.clustering) {
    if (c.type.kind == ValueKind::kDuration) {
      return Status::invalid_argument("duration type is not supported for PRIMARY KEY column");
    }
  }
  for (const auto& c : table.columns) {
    if (c.id < kFirstUserColumn) return Status::invalid_argument("column ids below 2 are reserved");
    if (c.multi_cell && !c.type.is_collection())
      return Status::invalid_argument("only collections are multi-cell");
  }
  if (table.default_ttl_seconds < 0 || table.default_ttl_seconds > kMaxTtlSeconds) {
    return Status::invalid_argument("default_time_to_live must be in [0, " +
                                    std::to_string(kMaxTtlSeconds) + "]");
  }
  if (table.gc_grace_seconds < 0) return Status::invalid_argument("gc_grace_seconds must be >= 0");
  tables_->put(std::move(table));
  return Status::ok();
}

Status Engine::remove_table_data(TableId table) {
  clear_idle_iterators();
  row_cache_.clear();
  const Bytes begin = table_prefix(table);
  const Bytes end = table_end(table);
  rocksdb::Slice b(begin), e(end);
  auto* cf = db_->DefaultColumnFamily();
  RINGDB_RETURN_IF_ERROR(
      from_rocks(rocksdb::DeleteFilesInRange(db_.get(), cf, &b, &e), "delete files"));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  // With every stripe held, no write is between its HeaderBounds check and its RocksDB write:
  // the bounds forgotten here are exactly those of the headers deleted here.
  std::vector<PartitionLocks::WriterStripe> every_stripe(PartitionLocks::kStripes);
  for (size_t i = 0; i < every_stripe.size(); ++i) every_stripe[i] = {i, true};
  partition_locks_.lock_all(every_stripe);
  const rocksdb::Status deleted = db_->DeleteRange(wo, cf, b, e);
  header_bounds_.clear();
  partition_locks_.unlock_all(every_stripe);
  RINGDB_RETURN_IF_ERROR(from_rocks(deleted, "delete range"));
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  return from_rocks(db_->CompactRange(co, cf, &b, &e), "compact");
}

Status Engine::truncate_table(TableId table) {
  if (!tables_->find(table)) return Status::not_found("unknown table id " + std::to_string(table));
  return remove_table_data(table);
}

Status Engine::drop_table(TableId table) {
  if (!tables_->find(table)) return Status::not_found("unknown table id " + std::to_string(table));
  RINGDB_RETURN_IF_ERROR(remove_table_data(table));
  tables_->remove(table);
  return Status::ok();
}

Status Engine::build_batch(const Mutation& m, PartitionWrite* partition, rocksdb::WriteBatch* batch,
                           bool blocking) const {
  const TableDescriptor* table = partition->table.get();
  if (!table) return Status::invalid_argument("unknown table id " + std::to_string(m.table));
  const int32_t now = m.now_seconds != 0 ? m.now_seconds : clock_.now_seconds();
  const Bytes& prefix = partition->partition_prefix;
  int64_t max_timestamp = kNoTimestamp;
  Bytes key, value;

  auto merge = [&](const Bytes& k, const StoredValue& v) -> Status {
    value.clear();
    encode_stored_to(v, &value);
    return from_rocks(batch->Merge(k, value), "batch");
  };
  auto expiry = [&](int32_t requested_ttl, int32_t* ttl, int32_t* expiry_seconds) -> Status {
    *ttl = requested_ttl == kUseTableDefaultTtl ? table->default_ttl_seconds : requested_ttl;
    if (*ttl < 0 || *ttl > kMaxTtlSeconds) {
      return Status::invalid_argument("ttl must be in [0, " + std::to_string(kMaxTtlSeconds) + "]");
    }
    const int64_t at = static_cast<int64_t>(now) + *ttl;
    // Cassandra 4.0's default expiration overflow policy: REJECT (CASSANDRA-14092).
    if (*ttl > 0 && at > INT32_MAX - 1) {
      return Status::invalid_argument("ttl " + std::to_string(*ttl) +
                                      " would expire after 2038-01-19");
    }
    *expiry_seconds = static_cast<int32_t>(at);
    return Status::ok();
  };

  if (m.partition_deletion_timestamp) {
    RINGDB_RETURN_IF_ERROR(merge(section_key(prefix, Section::kPartitionDeletion),
                                 StoredValue::tombstone(*m.partition_deletion_timestamp, now)));
  }
  for (const auto& rd : m.range_deletions) {
    RINGDB_ASSIGN_OR_RETURN(auto interval, to_interval(*table, rd.start, rd.end));
    if (!interval) continue;  // an empty slice deletes nothing
    key = section_key(prefix, Section::kRangeTombstone) + encode_range_tombstone_suffix(*interval);
    RINGDB_RETURN_IF_ERROR(merge(key, StoredValue::tombstone(rd.timestamp, now)));
  }
  // Tables without clustering columns keep each row as one fragment (see row_fragment.h): the
  // row's cells gather here and go to the batch as one operand.
  const bool fragments = table->clustering.empty();
  std::vector<RawCell> fragment;
  // Keys of a clustered table this mutation has written: a plain value put under a second
  // operand of one of them would hide the first.
  std::vector<Bytes> written_keys;
  for (const auto& row : m.rows) {
    Bytes row_key;
    if (row.is_static) {
      row_key = section_key(prefix, Section::kStatic);
    } else {
      if (row.clustering.size() != table->clustering.size()) {
        return Status::invalid_argument("a row write needs all " +
                                        std::to_string(table->clustering.size()) +
                                        " clustering values");
      }
      row_key = section_key(prefix, Section::kRow);
      RINGDB_RETURN_IF_ERROR(encode_clustering(*table, row.clustering, &row_key));
    }
    const bool as_fragment = fragments && !row.is_static;
    // A cell of this row, at `key` (row_key + its column part).
    auto cell_write = [&](const Bytes& k, StoredValue v) -> Status {
      if (!as_fragment) {
        // A key of a clustered table is counted, and collapses here, on its own: the stripe is
        // held exclusively. (Counted before the write lands: a count only times collapses.)
        const uint64_t fingerprint = RowOperandCounts::fingerprint(k);
        bool collapsed = false;
        if (partition->first_in_group &&
            row_operand_counts_.operands(fingerprint) + 1 >= kRowOperandsMax &&
            std::find(written_keys.begin(), written_keys.end(), k) == written_keys.end()) {
          RINGDB_RETURN_IF_ERROR(
              collapse_key(k, v.value.size() + kCellOverheadBytes, batch, blocking, &collapsed));
        }
        row_operand_counts_.record(fingerprint, collapsed);
        written_keys.push_back(k);
        return merge(k, v);
      }
      fragment.push_back({k.substr(row_key.size()), std::move(v)});
      return Status::ok();
    };
    if (row.deletion_timestamp) {
      if (row.is_static)
        return Status::invalid_argument("a static row cannot be deleted on its own");
      key = row_key;
      append_column(kRowDeletionColumn, &key);
      RINGDB_RETURN_IF_ERROR(cell_write(key, StoredValue::tombstone(*row.deletion_timestamp, now)));
    }
    if (row.marker_timestamp) {
      int32_t ttl, at;
      RINGDB_RETURN_IF_ERROR(expiry(row.marker_ttl_seconds, &ttl, &at));
      key = row_key;
      append_column(kRowMarkerColumn, &key);
      RINGDB_RETURN_IF_ERROR(
          cell_write(key, StoredValue::live(*row.marker_timestamp, "", ttl, at)));
      max_timestamp = std::max(max_timestamp, *row.marker_timestamp);
    }
    for (const auto& cell : row.cells) {
      const ColumnDescriptor* column = table->column(cell.column);
      if (column == nullptr)
        return Status::invalid_argument("unknown column id " + std::to_string(cell.column));
      if (column->is_static != row.is_static) {
        return Status::invalid_argument("column " + std::to_string(cell.column) +
                                        (column->is_static ? " is static" : " is not static"));
      }
      key = row_key;
      if (cell.path) {
        if (!column->multi_cell)
          return Status::invalid_argument("element access on a frozen or simple column");
        Bytes encoded_path;
        RINGDB_RETURN_IF_ERROR(
            encode_comparable(path_type(*column), *cell.path, false, &encoded_path));
        append_element(cell.column, encoded_path, &key);
      } else {
        append_column(cell.column, &key);
      }
      switch (cell.kind) {
        case CellWrite::Kind::kSet: {
          if (column->is_counter())
            return Status::invalid_argument("counter columns only take increments");
          int32_t ttl, at;
          RINGDB_RETURN_IF_ERROR(expiry(cell.ttl_seconds, &ttl, &at));
          RINGDB_RETURN_IF_ERROR(
              cell_write(key, StoredValue::live(cell.timestamp, cell.value, ttl, at)));
          if (!row.is_static) max_timestamp = std::max(max_timestamp, cell.timestamp);
          break;
        }
        case CellWrite::Kind::kDelete:
        case CellWrite::Kind::kCollectionDelete:
          if (cell.kind == CellWrite::Kind::kCollectionDelete &&
              (!column->multi_cell || cell.path)) {
            return Status::invalid_argument(
                "collection delete needs a non-frozen collection column");
          }
          RINGDB_RETURN_IF_ERROR(cell_write(key, StoredValue::tombstone(cell.timestamp, now)));
          break;
        case CellWrite::Kind::kCounterAdd:
          if (!column->is_counter())
            return Status::invalid_argument("increment of a non-counter column");
          RINGDB_RETURN_IF_ERROR(
              cell_write(key, StoredValue::counter_delta(cell.timestamp, options_.counter_shard_id,
                                                         cell.counter_delta)));
          if (!row.is_static) max_timestamp = std::max(max_timestamp, cell.timestamp);
          break;
      }
    }
    if (as_fragment && !fragment.empty()) {
      normalize_cells(&fragment);
      value.clear();
      encode_row_fragment(fragment, &value);
      if (partition->collapse) {
        // Planned only for a mutation of one row: this is the key's first operand in the batch.
        RINGDB_RETURN_IF_ERROR(
            collapse_key(row_key, value.size(), batch, blocking, &partition->collapsed));
      }
      RINGDB_RETURN_IF_ERROR(from_rocks(batch->Merge(row_key, value), "batch"));
      fragment.clear();
    }
  }
  // Only reads of clustered partitions use it (to skip range tombstones), and only tables with
  // clustering columns can have range tombstones.
  if (!table->clustering.empty()) partition->max_timestamp = max_timestamp;
  return Status::ok();
}

Status Engine::collapse_key(const Bytes& key, size_t operand_bytes, rocksdb::WriteBatch* batch,
                            bool blocking, bool* collapsed) const {
  // Every writer of this key holds its stripe across its RocksDB write, and this one holds it
  // exclusively: the read sees every version written before the batch, and the plain value
  // put under the batch's operand hides none that it does not include.
  rocksdb::ReadOptions ro;
  if (!blocking) ro.read_tier = rocksdb::kBlockCacheTier;
  std::string merged;
  const rocksdb::Status got = db_->Get(ro, db_->DefaultColumnFamily(), key, &merged);
  if (got.IsIncomplete()) return Status::ok();  // needs the disk: a later write collapses it
  *collapsed = true;
  if (got.IsNotFound()) return Status::ok();  // nothing below the new operand
  RINGDB_RETURN_IF_ERROR(from_rocks(got, "read a key to collapse"));
  // A value much larger than the operands it would replace (a big collection written an element
  // at a time) would grow the memtable and the commit log more than its operands do: left as it
  // is, and counted from zero again.
  if (merged.size() > 2 * kRowOperandsMax * std::max<size_t>(operand_bytes, kCellOverheadBytes))
    return Status::ok();
  return from_rocks(batch->Put(key, merged), "batch");
}

Status Engine::add_headers(std::vector<PartitionWrite>& partitions, rocksdb::WriteBatch* batch) {
  Bytes value;
  for (auto& p : partitions) {
    if (p.max_timestamp == kNoTimestamp) continue;
    if (header_bounds_.covers(p.stripe, p.token, p.partition_prefix, p.max_timestamp)) {
      p.max_timestamp = kNoTimestamp;  // nothing to write, nothing to record
      continue;
    }
    p.max_timestamp = header_bounds_.round_up(p.max_timestamp);
    value.clear();
    encode_stored_to(StoredValue::max_timestamp(p.max_timestamp), &value);
    RINGDB_RETURN_IF_ERROR(from_rocks(
        batch->Merge(section_key(p.partition_prefix, Section::kMaxTimestamp), value), "batch"));
  }
  return Status::ok();
}

void Engine::record_writes(const std::vector<PartitionWrite>& partitions) {
  for (const auto& p : partitions) {
    if (p.max_timestamp != kNoTimestamp)
      header_bounds_.record(p.stripe, p.token, p.partition_prefix, p.max_timestamp);
    if (p.row_fingerprint != 0) row_operand_counts_.record(p.row_fingerprint, p.collapsed);
  }
}

void Engine::apply_async(const Mutation& mutation, std::function<void(Status)> done) {
  apply_all_async(std::span<const Mutation>(&mutation, 1), std::move(done));
}

Status Engine::apply_all(std::span<const Mutation> mutations) {
  std::promise<Status> promise;
  auto future = promise.get_future();
  apply_all_async(mutations, [&promise](Status s) { promise.set_value(std::move(s)); });
  return future.get();
}

void Engine::apply_all_async(std::span<const Mutation> mutations,
                             std::function<void(Status)> done) {
  (void)apply_all_async(mutations, done, false);
}

bool Engine::try_apply_all_async(std::span<const Mutation> mutations,
                                 std::function<void(Status)> done) {
  return apply_all_async(mutations, done, true);
}

std::vector<Engine::PartitionWrite> Engine::plan_partitions(
    std::span<const Mutation> mutations) const {
  std::vector<PartitionWrite> partitions(mutations.size());
  for (size_t i = 0; i < mutations.size(); ++i) {
    const Mutation& m = mutations[i];
    PartitionWrite& p = partitions[i];
    p.token = murmur3_token(m.partition_key);
    p.partition_prefix = partition_prefix(m.table, p.token, m.partition_key);
    p.stripe = PartitionLocks::stripe_of(m.table, p.token);
    for (size_t j = 0; j < i && p.first_in_group; ++j) {
      // A plain value put under this mutation's operands would hide the earlier one's.
      if (partitions[j].stripe == p.stripe && partitions[j].partition_prefix == p.partition_prefix)
        p.first_in_group = false;
    }
    p.table = tables_->find(m.table);
    // Exclusive; a clustered row's collapse is decided while the batch is built.
    if (!p.table || !p.table->clustering.empty()) continue;
    // One row of a table without clustering columns is one key: its stripe shared is enough,
    // unless it collapses.
    p.lone_fragment = !m.partition_deletion_timestamp.has_value() && m.rows.size() == 1;
    if (m.rows.size() == 1) {
      p.row_fingerprint =
          RowOperandCounts::fingerprint(section_key(p.partition_prefix, Section::kRow));
      p.collapse = p.first_in_group &&
                   row_operand_counts_.operands(p.row_fingerprint) + 1 >= kRowOperandsMax;
    }
  }
  return partitions;
}

std::vector<PartitionLocks::WriterStripe> Engine::writer_stripes(
    const std::vector<PartitionWrite>& partitions) {
  std::vector<PartitionLocks::WriterStripe> stripes;
  stripes.reserve(partitions.size());
  for (const auto& p : partitions) stripes.push_back({p.stripe, !p.lone_fragment || p.collapse});
  std::sort(stripes.begin(), stripes.end(), [](const auto& a, const auto& b) {
    return a.stripe != b.stripe ? a.stripe < b.stripe : a.exclusive > b.exclusive;
  });
  // The first of a stripe's entries is exclusive if any is.
  stripes.erase(std::unique(stripes.begin(), stripes.end(),
                            [](const auto& a, const auto& b) { return a.stripe == b.stripe; }),
                stripes.end());
  return stripes;
}

bool Engine::apply_all_async(std::span<const Mutation> mutations, std::function<void(Status)>& done,
                             bool no_slowdown) {
  const int64_t start = clock_.monotonic_micros();
  // Every write holds the stripes of the partitions it touches from before its batch is built
  // until RocksDB has it (see PartitionLocks): exclusively, but for a lone row fragment.
  std::vector<PartitionWrite> partitions = plan_partitions(mutations);
  std::vector<PartitionLocks::WriterStripe> stripes = writer_stripes(partitions);
  // A loop thread must not wait for a reader on a storage thread: refused, it goes there.
  if (no_slowdown && !partition_locks_.try_lock_all(stripes)) {
    // Collapses are optional: a busy stripe that only a collapse wanted exclusively (a hot row
    // the other loop is writing too) is tried again shared, and a later write collapses.
    bool dropped = false;
    for (auto& p : partitions) {
      dropped = dropped || p.collapse;
      p.collapse = false;
    }
    if (!dropped) return false;
    stripes = writer_stripes(partitions);
    if (!partition_locks_.try_lock_all(stripes)) return false;
  } else if (!no_slowdown) {
    partition_locks_.lock_all(stripes);
  }
  rocksdb::WriteBatch batch;
  Status s;
  for (size_t i = 0; i < mutations.size() && s.is_ok(); ++i)
    s = build_batch(mutations[i], &partitions[i], &batch, !no_slowdown);
  if (s.is_ok()) s = add_headers(partitions, &batch);
  rocksdb::Status written;
  if (s.is_ok()) {
    rocksdb::WriteOptions wo;
    wo.no_slowdown = no_slowdown;
    written = db_->Write(wo, &batch);
    if (written.ok()) record_writes(partitions);
  }
  partition_locks_.unlock_all(stripes);
  // On the loop, an invalid group goes to a storage thread, where the caller's retry of each
  // request on its own (to find the culprit) may wait.
  if (no_slowdown && (!s.is_ok() || written.IsIncomplete())) return false;
  if (s.is_ok()) s = from_rocks(written, "write");
  if (!s.is_ok()) {
    done(s);
    return true;
  }
  for (const auto& mutation : mutations)
    row_cache_.invalidate(mutation.table, mutation.partition_key);
  writes_.add();
  commit_log_->on_written([this, start, done = std::move(done)](Status status) {
    write_micros_.record(clock_.monotonic_micros() - start);
    done(std::move(status));
  });
  return true;
}

Status Engine::apply(const Mutation& mutation) {
  std::promise<Status> promise;
  auto future = promise.get_future();
  apply_async(mutation, [&promise](Status s) { promise.set_value(std::move(s)); });
  return future.get();
}

namespace {

// Answers a whole-partition read from a complete copy: reversed and limited in memory.
Partition shape(const ReadCommand& command, Partition p) {
  if (command.reversed) std::reverse(p.rows.begin(), p.rows.end());
  if (p.rows.size() > command.row_limit) p.rows.resize(command.row_limit);
  return p;
}

}  // namespace

Result<Partition> Engine::read(const ReadCommand& command, ReadStats* stats, ReadMode mode) {
  const bool whole_partition = command.start.prefix.empty() && command.end.prefix.empty();
  if (!row_cache_.enabled() || !whole_partition) return read_storage(command, stats, mode);
  RINGDB_ASSIGN_OR_RETURN(std::shared_ptr<const Partition> p, read_shared(command, stats, mode));
  return Partition(*p);  // the row cache may hold the same partition
}

Result<std::shared_ptr<const Partition>> Engine::read_shared(const ReadCommand& command,
                                                             ReadStats* stats, ReadMode mode) {
  const bool whole_partition = command.start.prefix.empty() && command.end.prefix.empty();
  if (!row_cache_.enabled() || !whole_partition) {
    RINGDB_ASSIGN_OR_RETURN(Partition p, read_storage(command, stats, mode));
    return std::make_shared<const Partition>(std::move(p));
  }
  RowCache::Key key = RowCache::key_of(command.table, command.partition_key);
  if (auto cached = row_cache_.lookup(key)) {
    reads_.add();
    if (!command.reversed && cached->rows.size() <= command.row_limit) return cached;
    return std::make_shared<const Partition>(shape(command, *cached));
  }
  const uint64_t version = row_cache_.version(key);
  RINGDB_ASSIGN_OR_RETURN(Partition read, read_storage(command, stats, mode));
  auto p = std::make_shared<const Partition>(std::move(read));
  // Fewer rows than the limit means the read saw the whole partition: cache it in order.
  if (p->rows.size() < command.row_limit && p->rows.size() <= RowCache::kRowsMax) {
    if (!command.reversed) {
      row_cache_.insert(std::move(key), version, p);
    } else {
      Partition in_order = *p;
      std::reverse(in_order.rows.begin(), in_order.rows.end());
      row_cache_.insert(std::move(key), version,
                        std::make_shared<const Partition>(std::move(in_order)));
    }
  }
  return p;
}

Result<Partition> Engine::read_storage(const ReadCommand& command, ReadStats* stats,
                                       ReadMode mode) {
  auto table = tables_->find(command.table);
  if (!table) return Status::invalid_argument("unknown table id " + std::to_string(command.table));
  ReadStats local_stats;
  ReadStats& st = stats ? *stats : local_stats;
  reads_.add();
  Partition partition;
  partition.partition_key = command.partition_key;
  partition.token = murmur3_token(command.partition_key);
  const Bytes prefix = partition_prefix(command.table, partition.token, command.partition_key);
  RINGDB_ASSIGN_OR_RETURN(auto interval, to_interval(*table, command.start, command.end));
  SharedPartitionLock isolation(partition_locks_,
                                PartitionLocks::stripe_of(command.table, partition.token),
                                mode == ReadMode::kNonBlocking);
  if (!isolation.owns()) return Status::would_block("partition is being written");
  const int32_t now = command.now_seconds ? command.now_seconds : clock_.now_seconds();
  if (table->clustering.empty() && fragments_only_) {
    // The partition is at most two keys, its deletion and its row's fragment: two point
    // lookups, which the memtables answer from their hash indexes, with no iterator. (Not one
    // MultiGet: RocksDB 7.8's returned OK with an empty value for some keys read from files.)
    const Bytes deletion_key = section_key(prefix, Section::kPartitionDeletion);
    const Bytes row_key = section_key(prefix, Section::kRow);
    std::array<rocksdb::Slice, 2> keys = {rocksdb::Slice(deletion_key), rocksdb::Slice(row_key)};
    std::array<rocksdb::PinnableSlice, 2> values;
    std::array<rocksdb::Status, 2> statuses;
    rocksdb::ReadOptions ro;
    if (mode == ReadMode::kNonBlocking) ro.read_tier = rocksdb::kBlockCacheTier;
    for (size_t i = 0; i < keys.size(); ++i)
      statuses[i] = db_->Get(ro, db_->DefaultColumnFamily(), keys[i], &values[i]);
    for (const auto& status : statuses) {
      if (!status.ok() && !status.IsNotFound()) return from_rocks(status, "read");
    }
    PartitionReader reader(*table, nullptr, now, st);
    PartitionHeader header;
    if (statuses[0].ok()) {
      ++st.keys_visited;
      StoredValue v;
      RINGDB_RETURN_IF_ERROR(decode_stored(view(values[0]), &v));
      header.deletion.merge({v.timestamp, v.local_time_seconds});
    }
    if (statuses[1].ok() && interval && command.row_limit > 0)
      RINGDB_RETURN_IF_ERROR(reader.fragment_row(header, view(values[1]), &partition.rows));
    return partition;
  }
  // An iterator first puts the memtables' pending writes into their skiplists: many of them
  // are a storage thread's work.
  if (mode == ReadMode::kNonBlocking && memtables_->pending() > kNonBlockingPendingMax)
    return Status::would_block("memtable writes to sort first");
  std::unique_ptr<rocksdb::Iterator> it = acquire_point_iterator(mode);
  PartitionReader reader(*table, it.get(), now, st,
                         mode == ReadMode::kNonBlocking ? kNonBlockingKeysMax : UINT64_MAX);
  PartitionHeader header;
  Status s = reader.read_header(prefix, &header);
  if (s.is_ok()) {
    partition.static_row = reader.static_row(header);
    if (interval && command.row_limit > 0) {
      Bytes last;
      s = reader.read_rows(prefix, header, *interval, command.reversed, command.row_limit,
                           &partition.rows, &last);
    }
  }
  release_point_iterator(std::move(it), mode);
  if (!s.is_ok()) return s;
  return partition;
}

Engine::IteratorPool& Engine::iterator_pool() {
  static std::atomic<size_t> next_stripe{0};
  thread_local const size_t stripe = next_stripe.fetch_add(1, std::memory_order_relaxed);
  return iterator_pools_[stripe % kIteratorPools];
}

std::unique_ptr<rocksdb::Iterator> Engine::acquire_point_iterator(ReadMode mode) {
  IteratorPool& pool = iterator_pool();
  std::unique_ptr<rocksdb::Iterator> it;
  {
    std::lock_guard lock(pool.mutex);
    auto& idle = pool.idle[static_cast<int>(mode)];
    if (!idle.empty()) {
      it = std::move(idle.back());
      idle.pop_back();
    }
  }
  // A refresh keeps the memtable iterators it has when no memtable or file changed: what writes
  // left pending must be in the skiplists first.
  memtables_->drain();
  if (it && it->Refresh().ok()) return it;
  rocksdb::ReadOptions ro;
  ro.prefix_same_as_start = true;  // partitions of one token only; lets prefix blooms skip files
  if (mode == ReadMode::kNonBlocking) ro.read_tier = rocksdb::kBlockCacheTier;
  return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(ro));
}

void Engine::release_point_iterator(std::unique_ptr<rocksdb::Iterator> it, ReadMode mode) {
  // An iterator that met an error (or, memory-only, a block not in the cache) is not reused.
  if (!it->status().ok()) return;
  IteratorPool& pool = iterator_pool();
  std::lock_guard lock(pool.mutex);
  auto& idle = pool.idle[static_cast<int>(mode)];
  if (idle.size() < kIdleIteratorsMax) idle.push_back(std::move(it));
}

void Engine::clear_idle_iterators() {
  std::vector<std::unique_ptr<rocksdb::Iterator>> dropped;
  for (auto& pool : iterator_pools_) {
    std::lock_guard lock(pool.mutex);
    for (auto& idle : pool.idle) {
      for (auto& it : idle) dropped.push_back(std::move(it));
      idle.clear();
    }
  }
  // Destroyed outside the pools' locks: releasing the last reference to a version takes RocksDB's
  // own mutex (file deletion itself goes to a background thread: avoid_unnecessary_blocking_io).
  dropped.clear();
}

Result<ScanPage> Engine::scan(const ScanCommand& command, ReadStats* stats) {
  auto table = tables_->find(command.table);
  if (!table) return Status::invalid_argument("unknown table id " + std::to_string(command.table));
  if (command.row_limit == 0) return Status::invalid_argument("scan row_limit must be > 0");
  ReadStats local_stats;
  ReadStats& st = stats ? *stats : local_stats;
  scans_.add();
  const int32_t now = command.now_seconds ? command.now_seconds : clock_.now_seconds();

  Bytes seek_key;
  Bytes resume_prefix;  // set when resuming inside a partition
  Bytes resume_lo;
  if (command.cursor.empty()) {
    seek_key = command.start_token == INT64_MIN
                   ? table_prefix(command.table)
                   : token_prefix(command.table, command.start_token + 1);
  } else if (command.cursor[0] == kCursorAtKey) {
    seek_key = command.cursor.substr(1);
  } else if (command.cursor[0] == kCursorInPartition) {
    BufferReader r(BytesView(command.cursor).substr(1));
    BytesView p;
    if (!r.get_length_prefixed(&p)) return Status::invalid_argument("malformed scan cursor");
    resume_prefix = Bytes(p);
    resume_lo = Bytes(r.rest());
    seek_key = resume_prefix;
  } else {
    return Status::invalid_argument("malformed scan cursor");
  }
  if (!starts_with(seek_key, table_prefix(command.table)))
    return Status::invalid_argument("scan cursor of another table");

  const Bytes end_key = command.end_token == INT64_MAX
                            ? table_end(command.table)
                            : token_prefix(command.table, command.end_token + 1);
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  rocksdb::Slice upper_slice(end_key);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  PartitionReader reader(*table, it.get(), now, st);

  ScanPage page;
  uint64_t rows = 0;
  it->Seek(seek_key);
  while (it->Valid()) {
    if (rows >= command.row_limit || st.keys_visited >= options_.scan_keys_visited_max) {
      page.cursor = Bytes(1, kCursorAtKey) + Bytes(view(it->key()));
      return page;
    }
    BytesView key = view(it->key());
    size_t pos = kTokenPrefixBytes;
    Bytes partition_key;
    if (!read_escaped(key, &pos, &partition_key))
      return Status::corruption("scan: bad partition key");
    const Bytes prefix(key.substr(0, pos));
    const bool resuming = !resume_prefix.empty() && prefix == resume_prefix;
    // Scans run on storage threads, which may wait. read_header seeks again once it is held.
    SharedPartitionLock isolation(
        partition_locks_, PartitionLocks::stripe_of(command.table, decode_token(prefix)), false);
    // A write this iterator's sequence includes may have finished its memtable inserts only
    // after the iterator was made, and those entries wait in the memtables' pending lists,
    // where the iterator's skiplists do not see them: the scan would read part of a mutation
    // (EngineTest.ReadersNeverSeePartOfAMutation, about 1 run in 20 on a loaded machine).
    // The lock just taken means any such write is done; putting its entries into the skiplists
    // makes all of them visible to the seek below.
    memtables_->drain();
    PartitionHeader header;
    RINGDB_RETURN_IF_ERROR(reader.read_header(prefix, &header));
    Partition partition;
    partition.partition_key = std::move(partition_key);
    partition.token = decode_token(prefix);
    // Rows read after a resume need their partition's static values too. The static row does
    // not use up the page's budget: a page never ends between a static row and the partition's
    // first row (which would hide the partition's rows from readers of static-only partitions).
    partition.static_row = reader.static_row(header);
    partition.continued = resuming;
    ClusteringInterval interval;
    if (resuming) interval.lo = resume_lo;
    Bytes last;
    const uint64_t budget = command.row_limit - rows;  // > 0, checked at the top of the loop
    RINGDB_RETURN_IF_ERROR(
        reader.read_rows(prefix, header, interval, false, budget, &partition.rows, &last));
    rows += partition.rows.size() + (partition.static_row && !resuming ? 1 : 0);
    const bool any = partition.static_row || !partition.rows.empty();
    if (rows >= command.row_limit && !last.empty()) {
      // The page may have stopped inside this partition: resume right after its last row.
      BufferWriter w;
      w.put_u8(static_cast<uint8_t>(kCursorInPartition));
      w.put_length_prefixed(prefix);
      w.put_bytes(*prefix_successor(last));
      page.cursor = w.release();
      if (any) page.partitions.push_back(std::move(partition));
      return page;
    }
    if (any) page.partitions.push_back(std::move(partition));
    it->Seek(*prefix_successor(prefix));
  }
  RINGDB_RETURN_IF_ERROR(from_rocks(it->status(), "scan"));
  return page;
}

Result<Bytes> Engine::scan_cursor_after(TableId table_id, BytesView partition_key,
                                        const std::vector<Bytes>* clustering) const {
  auto table = tables_->find(table_id);
  if (!table) return Status::invalid_argument("unknown table id " + std::to_string(table_id));
  const Bytes prefix = partition_prefix(table_id, murmur3_token(partition_key), partition_key);
  if (clustering == nullptr || clustering->empty())
    return Bytes(1, kCursorAtKey) + *prefix_successor(prefix);
  Bytes encoded;
  RINGDB_RETURN_IF_ERROR(encode_clustering(*table, *clustering, &encoded));
  auto lo = prefix_successor(encoded);
  if (!lo) return Bytes(1, kCursorAtKey) + *prefix_successor(prefix);
  BufferWriter w;
  w.put_u8(static_cast<uint8_t>(kCursorInPartition));
  w.put_length_prefixed(prefix);
  w.put_bytes(*lo);
  return w.release();
}

Status Engine::snapshot(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    return Status::invalid_argument("bad snapshot name '" + name + "'");
  }
  const std::string dir = options_.data_directory + "/snapshots";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::io_error("cannot create " + dir + ": " + ec.message());
  if (std::filesystem::exists(dir + "/" + name))
    return Status::already_exists("snapshot " + name + " exists");
  rocksdb::Checkpoint* raw = nullptr;
  RINGDB_RETURN_IF_ERROR(from_rocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  return from_rocks(checkpoint->CreateCheckpoint(dir + "/" + name), "checkpoint");
}

Status Engine::compact_all() {
  clear_idle_iterators();
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  return from_rocks(db_->CompactRange(co, nullptr, nullptr), "compact");
}

Status Engine::flush() {
  clear_idle_iterators();
  return from_rocks(db_->Flush(rocksdb::FlushOptions()), "flush");
}

uint64_t Engine::table_disk_bytes(TableId table) {
  const Bytes begin = table_prefix(table), end = table_end(table);
  rocksdb::Range range(begin, end);
  uint64_t size = 0;
  rocksdb::SizeApproximationOptions so;
  so.include_files = true;
  so.include_memtables = false;
  rocksdb::Status s = db_->GetApproximateSizes(so, db_->DefaultColumnFamily(), &range, 1, &size);
  return s.ok() ? size : 0;
}

}  // namespace ringdb::storage
