// Helper process for storage_crash_test: writes rows in durable mode from several threads and
// reports each acknowledged write (8 bytes, big-endian row id) on stdout, until it is killed.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/clock.h"
#include "storage/engine.h"
#include "storage/test_util.h"

using namespace ringdb;
using namespace ringdb::storage;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: crash_writer DIR THREADS FIRST_ID\n");
    return 2;
  }
  SystemClock clock;
  MetricsRegistry metrics;
  EngineOptions options;
  options.data_directory = argv[1];
  options.commitlog_sync = CommitLogSync::kGroup;
  auto engine = Engine::open(options, clock, metrics);
  if (!engine.is_ok()) {
    std::fprintf(stderr, "open failed: %s\n", engine.status().to_string().c_str());
    return 1;
  }
  TableDescriptor table;
  table.id = 1;
  table.columns = {{2, ValueType::of(ValueKind::kBigint), false, false}};
  if (!(*engine)->register_table(table).is_ok()) return 1;

  const int threads = std::atoi(argv[2]);
  std::atomic<int64_t> next_id{std::atoll(argv[3])};
  std::mutex out_mutex;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (;;) {
        const int64_t id = next_id.fetch_add(1);
        Mutation m;
        m.table = 1;
        m.partition_key = storage::testing::int64_value(id);
        RowWrite row;
        row.marker_timestamp = 1;
        row.cells.push_back(
            {CellWrite::Kind::kSet, 2, std::nullopt, storage::testing::int64_value(id), 1, 0, 0});
        m.rows.push_back(row);
        if (!(*engine)->apply(m).is_ok()) std::abort();
        const Bytes ack = storage::testing::int64_value(id);
        std::lock_guard lock(out_mutex);
        if (write(STDOUT_FILENO, ack.data(), ack.size()) != 8) std::abort();
      }
    });
  }
  for (auto& w : workers) w.join();
}
