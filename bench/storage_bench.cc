// Storage engine throughput side by side with raw RocksDB on the same machine in the same run.
//
//   write/point-read: the engine (periodic commit log, so neither side fsyncs) against raw
//   RocksDB Put/Get of the same keys (8-byte ids) and values (100 bytes).
//   durable vs periodic: the engine's group commit against its periodic mode, with 1, 16 and
//   64 concurrent writers.
// Prints ratios at the end; the machines are noisy, so compare ratios, not absolute numbers.
#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/table.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "runtime/clock.h"
#include "runtime/rng.h"
#include "storage/engine.h"

namespace ringdb::storage {
namespace {

constexpr int64_t kPreloadKeys = 200'000;
const std::string kValue(100, 'v');

// Row ids arrive in a scrambled order (a bijection of 0, 1, 2, …), as user keys do; both sides
// see the same key bytes in the same order.
Bytes id_key(int64_t id) {
  uint64_t z = static_cast<uint64_t>(id) * 0x9e3779b97f4a7c15ULL;
  z ^= z >> 29;
  BufferWriter w;
  w.put_u64(z);
  return w.release();
}

struct Workspace {
  std::string root;
  SystemClock clock;
  MetricsRegistry metrics;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<rocksdb::DB> raw;
  std::atomic<int64_t> next_id{0};
};
Workspace* workspace = nullptr;

std::string fresh_dir(const char* name) {
  std::string dir = workspace->root + "/" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

void open_engine(CommitLogSync sync) {
  workspace->engine.reset();
  EngineOptions options;
  options.data_directory = fresh_dir("engine");
  options.commitlog_sync = sync;
  auto engine = Engine::open(options, workspace->clock, workspace->metrics);
  if (!engine.is_ok()) std::abort();
  workspace->engine = std::move(engine).value();
  TableDescriptor t;
  t.id = 1;
  t.columns = {{2, ValueType::of(ValueKind::kBlob), false, false}};
  if (!workspace->engine->register_table(t).is_ok()) std::abort();
  workspace->next_id = 0;
}

void open_raw() {
  workspace->raw.reset();
  rocksdb::Options o;
  o.create_if_missing = true;
  o.write_buffer_size = size_t{64} << 20;
  o.max_background_jobs = 2;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(size_t{256} << 20);
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* db;
  if (!rocksdb::DB::Open(o, fresh_dir("raw"), &db).ok()) std::abort();
  workspace->raw.reset(db);
  workspace->next_id = 0;
}

Mutation single_cell(int64_t id) {
  Mutation m;
  m.table = 1;
  m.partition_key = id_key(id);
  RowWrite row;
  row.cells.push_back({CellWrite::Kind::kSet, 2, std::nullopt, kValue, 1, 0, 0});
  m.rows.push_back(std::move(row));
  return m;
}

void preload_engine(const benchmark::State&) {
  open_engine(CommitLogSync::kPeriodic);
  for (int64_t i = 0; i < kPreloadKeys; ++i) {
    if (!workspace->engine->apply(single_cell(i)).is_ok()) std::abort();
  }
  if (!workspace->engine->flush().is_ok()) std::abort();
}

void preload_raw(const benchmark::State&) {
  open_raw();
  for (int64_t i = 0; i < kPreloadKeys; ++i)
    workspace->raw->Put(rocksdb::WriteOptions(), id_key(i), kValue);
  workspace->raw->Flush(rocksdb::FlushOptions());
}

void BM_RawRocksDBPut(benchmark::State& state) {
  for (auto _ : state) {
    const Bytes key = id_key(workspace->next_id.fetch_add(1));
    if (!workspace->raw->Put(rocksdb::WriteOptions(), key, kValue).ok())
      state.SkipWithError("put failed");
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_EngineWrite(benchmark::State& state) {
  for (auto _ : state) {
    if (!workspace->engine->apply(single_cell(workspace->next_id.fetch_add(1))).is_ok())
      state.SkipWithError("apply failed");
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RawRocksDBGet(benchmark::State& state) {
  SeededRng rng(1 + state.thread_index());
  std::string value;
  for (auto _ : state) {
    const Bytes key = id_key(static_cast<int64_t>(rng.uniform(kPreloadKeys)));
    if (!workspace->raw->Get(rocksdb::ReadOptions(), key, &value).ok())
      state.SkipWithError("get failed");
    benchmark::DoNotOptimize(value);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_EngineRead(benchmark::State& state) {
  SeededRng rng(1 + state.thread_index());
  ReadCommand read;
  read.table = 1;
  for (auto _ : state) {
    read.partition_key = id_key(static_cast<int64_t>(rng.uniform(kPreloadKeys)));
    auto p = workspace->engine->read(read);
    if (!p.is_ok() || p->rows.empty()) state.SkipWithError("read failed");
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}

void setup_raw(const benchmark::State&) {
  open_raw();
}
void setup_periodic(const benchmark::State&) {
  open_engine(CommitLogSync::kPeriodic);
}
void setup_durable(const benchmark::State&) {
  open_engine(CommitLogSync::kGroup);
}

// Each figure is the median of three repetitions: single runs on these machines vary by 30%.
benchmark::internal::Benchmark* repeated(benchmark::internal::Benchmark* b) {
  return b->UseRealTime()->MinTime(1.0)->Repetitions(3)->ReportAggregatesOnly(true);
}
BENCHMARK(BM_RawRocksDBPut)->Setup(setup_raw)->Apply([](auto* b) { repeated(b); });
BENCHMARK(BM_EngineWrite)
    ->Name("BM_EngineWrite/periodic")
    ->Setup(setup_periodic)
    ->Apply([](auto* b) { repeated(b); });
BENCHMARK(BM_RawRocksDBGet)->Setup(preload_raw)->Apply([](auto* b) { repeated(b); });
BENCHMARK(BM_EngineRead)->Setup(preload_engine)->Apply([](auto* b) { repeated(b); });
BENCHMARK(BM_EngineWrite)
    ->Name("BM_Writers/periodic")
    ->Setup(setup_periodic)
    ->Threads(1)
    ->Threads(16)
    ->Threads(64)
    ->Apply([](auto* b) { repeated(b); });
BENCHMARK(BM_EngineWrite)
    ->Name("BM_Writers/durable")
    ->Setup(setup_durable)
    ->Threads(1)
    ->Threads(16)
    ->Threads(64)
    ->Apply([](auto* b) { repeated(b); });

// Collects items/s per benchmark so main() can print the ratios the targets are stated in.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      auto it = run.counters.find("items_per_second");
      if (it == run.counters.end()) continue;
      if (run.run_type != Run::RT_Aggregate || run.aggregate_name != "median") continue;
      std::string name = run.run_name.str();
      const std::string min_time = "/min_time:1.000";
      if (auto at = name.find(min_time); at != std::string::npos) name.erase(at, min_time.size());
      const std::string repeats = "/repeats:3";
      if (auto at = name.find(repeats); at != std::string::npos) name.erase(at, repeats.size());
      rates[name] = it->second.value;
    }
  }
  std::map<std::string, double> rates;
};

}  // namespace
}  // namespace ringdb::storage

int main(int argc, char** argv) {
  using namespace ringdb::storage;
  Workspace space;
  space.root = (std::filesystem::temp_directory_path() / "ringdb-bench").string();
  std::filesystem::create_directories(space.root);
  workspace = &space;
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  space.engine.reset();
  space.raw.reset();
  std::filesystem::remove_all(space.root);

  auto rate = [&](const std::string& name) {
    auto it = reporter.rates.find(name);
    return it == reporter.rates.end() ? 0.0 : it->second;
  };
  auto ratio = [&](const char* what, const std::string& ours, const std::string& peer,
                   double target) {
    const double a = rate(ours), b = rate(peer);
    if (a == 0 || b == 0) return;
    std::printf("%-44s %12.0f /s vs %12.0f /s  ratio %.2f", what, a, b, a / b);
    if (target > 0)
      std::printf("  (target >= %.1f: %s)", target, a / b >= target ? "met" : "NOT met");
    std::printf("\n");
  };
  std::printf("\n== ratios of medians (same machine, same run) ==\n");
  ratio("engine write / raw RocksDB Put", "BM_EngineWrite/periodic/real_time",
        "BM_RawRocksDBPut/real_time", 0.5);
  ratio("engine point read / raw RocksDB Get", "BM_EngineRead/real_time",
        "BM_RawRocksDBGet/real_time", 0.5);
  for (const char* threads : {"1", "16", "64"}) {
    const std::string suffix = std::string("/real_time/threads:") + threads;
    ratio((std::string("durable / periodic, ") + threads + " writers").c_str(),
          "BM_Writers/durable" + suffix, "BM_Writers/periodic" + suffix,
          std::string(threads) == "64" ? 0.5 : 0.0);
  }
  return 0;
}
