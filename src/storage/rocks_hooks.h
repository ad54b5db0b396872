// The engine's RocksDB plug-ins: the merge operator that reconciles versions of a key, the
// compaction filter that purges expired data and old tombstones, and the table registry both read.
//
// Thread-safety: RocksDB calls these from its background threads. TableRegistry is guarded by a
// shared mutex; the merge operator is stateless; each compaction gets its own filter instance.
#pragma once

#include <rocksdb/compaction_filter.h>
#include <rocksdb/merge_operator.h>

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "runtime/clock.h"
#include "storage/table.h"

namespace ringdb::storage {

class TableRegistry {
 public:
  void put(TableDescriptor table);
  void remove(TableId id);
  std::shared_ptr<const TableDescriptor> find(TableId id) const;

 private:
  mutable std::shared_mutex mutex_;
  std::map<TableId, std::shared_ptr<const TableDescriptor>> tables_;
};

class ReconcilingMergeOperator final : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override;
  bool PartialMergeMulti(const rocksdb::Slice& key, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* logger) const override;
  const char* Name() const override { return "RingDBReconcile"; }
};

struct CompactionFilterCounters {
  std::atomic<uint64_t> purged_tombstones{0};
  std::atomic<uint64_t> purged_expired{0};
  std::atomic<uint64_t> dropped_shadowed{0};
};

class PurgingCompactionFilterFactory final : public rocksdb::CompactionFilterFactory {
 public:
  PurgingCompactionFilterFactory(const Clock& clock, const TableRegistry& tables,
                                 CompactionFilterCounters& counters)
      : clock_(clock), tables_(tables), counters_(counters) {}
  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context& context) override;
  const char* Name() const override { return "RingDBPurge"; }

 private:
  const Clock& clock_;
  const TableRegistry& tables_;
  CompactionFilterCounters& counters_;
};

}  // namespace ringdb::storage
