// The ringdb command. Subcommands:
//   server   run a node: storage, schema and the CQL native protocol server, until SIGTERM/SIGINT.
#include <arpa/inet.h>

#include <CLI/CLI.hpp>
#include <asio/signal_set.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <thread>

#include "common/config.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/thread_name.h"
#include "common/uuid.h"
#include "cql/server.h"
#include "main/tools.h"
#include "runtime/clock.h"
#include "runtime/event_loop.h"
#include "runtime/rng.h"
#include "runtime/storage_bridge.h"
#include "schema/schema.h"
#include "storage/engine.h"

namespace ringdb {
namespace {

struct ServerFlags {
  std::string config_file;
  std::string data_dir;
  std::string listen_address;
  int cql_port = 0;
  std::string log_level = "info";
};

Result<Bytes> address_bytes(const std::string& text) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) return Bytes(reinterpret_cast<char*>(buf), 4);
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) return Bytes(reinterpret_cast<char*>(buf), 16);
  return Status::invalid_argument("not an IP address: '" + text + "'");
}

// The node's host id: made once, then kept in the data directory so it survives restarts.
Result<Bytes> load_host_id(const std::string& directory, Rng& rng) {
  const std::string path = directory + "/host_id";
  std::ifstream in(path, std::ios::binary);
  Bytes id(16, '\0');
  if (in.read(id.data(), 16) && in.gcount() == 16) return id;
  const uint64_t high = rng.next_u64();
  id = uuid_v4(high, rng.next_u64());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out.write(id.data(), 16) || !out.flush()) return Status::io_error("cannot write " + path);
  return id;
}

Result<NodeConfig> node_config(const ServerFlags& flags) {
  NodeConfig config;
  Status s;
  if (!flags.config_file.empty()) s = config.apply_yaml_file(flags.config_file);
  if (s.is_ok() && !flags.data_dir.empty())
    s = config.apply_override("data_file_directories", flags.data_dir);
  if (s.is_ok() && !flags.listen_address.empty()) {
    s = config.apply_override("listen_address", flags.listen_address);
    if (s.is_ok()) s = config.apply_override("rpc_address", flags.listen_address);
  }
  if (s.is_ok() && flags.cql_port != 0)
    s = config.apply_override("native_transport_port", std::to_string(flags.cql_port));
  if (!s.is_ok()) return s;
  return config;
}

storage::EngineOptions engine_options(const NodeConfig& config) {
  storage::EngineOptions options;
  options.data_directory = config.data_directory();
  options.commitlog_sync = config.commitlog_sync;
  options.commitlog_sync_period_ms = config.commitlog_sync_period_in_ms;
  options.row_cache_bytes = static_cast<size_t>(config.row_cache_size_in_mb) << 20;
  return options;
}

// `ringdb compact`: a major compaction of a stopped node's data, as `nodetool compact` (but
// offline). It is the only compaction that purges partition and range tombstones older than
// their table's gc_grace_seconds, with the data they shadow; the node's own compactions purge
// cell tombstones and expired cells only.
int run_compact(const NodeConfig& config) {
  (void)set_log_level("warn");  // a known level
  SystemClock clock;
  SeededRng rng(seed_from_os());
  MetricsRegistry metrics;
  storage::EngineOptions options = engine_options(config);
  options.row_cache_bytes = 0;  // nothing reads
  std::error_code ec;
  if (!std::filesystem::exists(options.data_directory + "/db/CURRENT", ec)) {
    std::fprintf(stderr, "ringdb compact: no node data in %s\n", options.data_directory.c_str());
    return 1;
  }
  auto engine = storage::Engine::open(options, clock, metrics);
  if (!engine.is_ok()) {
    std::fprintf(stderr, "ringdb compact: cannot open %s (is a node running on it?): %s\n",
                 options.data_directory.c_str(), engine.status().to_string().c_str());
    return 1;
  }
  // Loading the schema registers the tables, whose gc_grace_seconds the compaction applies.
  schema::SchemaManager schemas(**engine, rng, clock);
  if (Status loaded = schemas.load(); !loaded.is_ok()) {
    std::fprintf(stderr, "ringdb compact: cannot load the schema: %s\n",
                 loaded.to_string().c_str());
    return 1;
  }
  auto sst_bytes = [&] {
    uint64_t bytes = 0;
    (*engine)->rocksdb()->GetIntProperty("rocksdb.total-sst-files-size", &bytes);
    return bytes;
  };
  const uint64_t before = sst_bytes();
  if (Status compacted = (*engine)->compact_all(); !compacted.is_ok()) {
    std::fprintf(stderr, "ringdb compact: %s\n", compacted.to_string().c_str());
    return 1;
  }
  const auto& counters = (*engine)->compaction_counters();
  std::printf(
      "compacted %s: SST files %llu bytes before, %llu after; purged %llu tombstones and %llu "
      "expired cells, dropped %llu shadowed cells\n",
      options.data_directory.c_str(), static_cast<unsigned long long>(before),
      static_cast<unsigned long long>(sst_bytes()),
      static_cast<unsigned long long>(counters.purged_tombstones.load()),
      static_cast<unsigned long long>(counters.purged_expired.load()),
      static_cast<unsigned long long>(counters.dropped_shadowed.load()));
  return 0;
}

// Runs a node until SIGINT/SIGTERM; `on_ready` runs once the CQL port accepts connections.
int run_node(const NodeConfig& config, const std::string& log_level,
             const std::function<void()>& on_ready) {
  if (!set_log_level(log_level)) {
    std::fprintf(stderr, "unknown log level '%s'\n", log_level.c_str());
    return 2;
  }
  auto listen = address_bytes(config.listen_address);
  auto rpc = address_bytes(config.rpc_address);
  if (!listen.is_ok() || !rpc.is_ok()) {
    std::fprintf(stderr, "ringdb: %s\n",
                 (listen.is_ok() ? rpc.status() : listen.status()).to_string().c_str());
    return 2;
  }

  SystemClock clock;
  SeededRng rng(seed_from_os());
  MetricsRegistry metrics;
  const storage::EngineOptions options = engine_options(config);
  auto engine = storage::Engine::open(options, clock, metrics);
  if (!engine.is_ok()) {
    RINGDB_LOG_ERROR("cannot open storage in {}: {}", options.data_directory,
                     engine.status().to_string());
    return 1;
  }
  schema::SchemaManager schemas(**engine, rng, clock);
  if (Status loaded = schemas.load(); !loaded.is_ok()) {
    RINGDB_LOG_ERROR("cannot load the schema: {}", loaded.to_string());
    return 1;
  }
  auto host_id = load_host_id(options.data_directory, rng);
  if (!host_id.is_ok()) {
    RINGDB_LOG_ERROR("{}", host_id.status().to_string());
    return 1;
  }
  cql::NodeInfo node;
  node.cluster_name = config.cluster_name;
  node.data_center = config.data_center;
  node.rack = config.rack;
  node.listen_address = *listen;
  node.rpc_address = *rpc;
  node.native_port = config.native_transport_port;
  node.host_id = *host_id;
  node.tokens = {INT64_MIN};  // one node owns the whole ring until the ring milestone brings vnodes
  cql::QueryProcessor processor(schemas, **engine, clock, rng.next_u64(), node);
  processor.set_range_request_timeout_micros(int64_t{config.range_request_timeout_in_ms} * 1000);
  processor.set_read_request_timeout_micros(int64_t{config.read_request_timeout_in_ms} * 1000);
  // Indexes whose build a crash cut short are built before the node serves. One that cannot
  // be built stays unavailable (its reads fail with INDEX_NOT_AVAILABLE); the rest serves.
  if (Status rebuilt = processor.rebuild_indexes(); !rebuilt.is_ok()) {
    RINGDB_LOG_ERROR("secondary indexes left unbuilt: {}", rebuilt.to_string());
  }

  EventLoop loop(clock);
  // Storage work runs on two threads (one per core here); writes do not hold them while the
  // commit log syncs, and 4096 queued jobs bound the backlog before clients see Overloaded.
  ThreadPoolBridge bridge(loop, 2, 4096);
  cql::ServerOptions server_options;
  server_options.address = config.rpc_address;
  server_options.port = static_cast<uint16_t>(config.native_transport_port);
  // One event loop per core serves client connections (this thread's loop among them), in the
  // manner of a shard-per-core server; native_transport_event_loops overrides the count.
  const size_t loop_count = config.native_transport_event_loops > 0
                                ? static_cast<size_t>(config.native_transport_event_loops)
                                : std::max<size_t>(1, std::thread::hardware_concurrency());
  std::vector<std::unique_ptr<EventLoop>> extra_loops;
  std::vector<EventLoop*> connection_loops{&loop};
  for (size_t i = 1; i < loop_count; ++i) {
    extra_loops.push_back(std::make_unique<EventLoop>(clock));
    connection_loops.push_back(extra_loops.back().get());
  }
  cql::CqlServer server(loop, connection_loops, bridge, processor, server_options);
  if (Status started = server.start(); !started.is_ok()) {
    RINGDB_LOG_ERROR("{}", started.to_string());
    return 1;
  }
  RINGDB_LOG_INFO("cluster '{}': storage in {} (commitlog_sync: {}); CQL on {}:{}",
                  config.cluster_name, options.data_directory,
                  commit_log_sync_name(config.commitlog_sync), config.rpc_address, server.port());
  std::fflush(stdout);
  if (on_ready) on_ready();

  asio::signal_set signals(loop.io_context(), SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code& error, int signal) {
    if (error) return;
    RINGDB_LOG_INFO("signal {}: draining in-flight requests, then shutting down", signal);
    server.drain(10'000'000, [&loop] { loop.stop(); });
  });
  // The main thread runs the first loop and keeps the process's name.
  std::vector<std::thread> loop_threads;
  for (size_t i = 0; i < extra_loops.size(); ++i) {
    loop_threads.emplace_back([&l = extra_loops[i], i] {
      set_thread_name("cql-loop-" + std::to_string(i + 1));
      l->run();
    });
  }
  loop.run();
  for (auto& l : extra_loops) l->stop();
  for (auto& t : loop_threads) t.join();
  // Until metrics are exported, the figures of the run (commit log syncs, writes per sync,
  // write latency) go to the log once, at shutdown.
  RINGDB_LOG_INFO("metrics at shutdown:\n{}", metrics.dump_text());
  return 0;
}

}  // namespace
}  // namespace ringdb

int main(int argc, char** argv) {
  CLI::App app{"RingDB: a masterless, Cassandra-compatible distributed database"};
  app.require_subcommand(1);

  ringdb::ServerFlags flags;
  CLI::App* server = app.add_subcommand("server", "Run a node");
  server->add_option("--config", flags.config_file, "ringdb.yaml (cassandra.yaml key names)");
  server->add_option("--data-dir", flags.data_dir, "data directory (data_file_directories)");
  server->add_option("--listen-address", flags.listen_address, "listen_address and rpc_address");
  server->add_option("--cql-port", flags.cql_port, "native_transport_port")
      ->check(CLI::Range(1, 65535));
  server->add_option("--log-level", flags.log_level, "trace, debug, info, warn, error or off");

  ringdb::tools::ShellOptions shell;
  CLI::App* cql = app.add_subcommand("cql", "Interactive CQL shell (like cqlsh)");
  cql->add_option("host", shell.host, "node address");
  cql->add_option("port", shell.port, "native transport port");
  cql->add_option("-e,--execute", shell.execute, "run these statements and exit");
  cql->add_option("-f,--file", shell.file, "run the statements in this file and exit");
  cql->add_option("-k,--keyspace", shell.keyspace, "keyspace to USE first");

  ringdb::tools::StressOptions stress;
  CLI::App* stress_cmd = app.add_subcommand("stress", "Load generator (like cassandra-stress)");
  stress_cmd->add_option("workload", stress.workload, "write, read or mixed")->required();
  stress_cmd->add_option("--host", stress.host, "node address");
  stress_cmd->add_option("--port", stress.port, "native transport port");
  stress_cmd->add_option("-c,--connections", stress.connections, "connections");
  stress_cmd->add_option("-i,--in-flight", stress.in_flight,
                         "requests in flight across all connections");
  stress_cmd->add_option("-n,--operations", stress.operations, "operations to run");
  stress_cmd->add_option("-d,--duration", stress.seconds, "seconds to run (instead of a count)");
  stress_cmd->add_option("--keys", stress.keys, "distinct keys (rows)");
  stress_cmd->add_option("--rows-per-partition", stress.rows_per_partition,
                         "rows per partition: above 1, a table with a clustering column, read "
                         "one row at a time");
  stress_cmd->add_option("--value-bytes", stress.value_bytes, "bytes per value");
  stress_cmd->add_option("--read-ratio", stress.read_ratio, "share of reads in the mixed workload");
  stress_cmd->add_option("--seed", stress.seed, "random seed");

  ringdb::ServerFlags compact_flags;
  CLI::App* compact = app.add_subcommand(
      "compact",
      "Major compaction of a stopped node's data (like nodetool compact): purges partition and "
      "range tombstones older than gc_grace_seconds");
  compact->add_option("--config", compact_flags.config_file, "ringdb.yaml");
  compact->add_option("--data-dir", compact_flags.data_dir, "data directory");

  ringdb::tools::DemoOptions demo;
  std::string demo_dir = "./data/demo";
  CLI::App* demo_cmd = app.add_subcommand("demo", "Start a node with sample data and show queries");
  demo_cmd->add_option("--data-dir", demo_dir, "data directory");
  demo_cmd->add_option("--cql-port", demo.port, "native transport port");
  demo_cmd->add_option("--events", demo.events, "rows of generated sample data");
  demo_cmd->add_option("--seed", demo.seed, "random seed for the sample data");
  bool demo_exit = false;
  demo_cmd->add_flag("--exit", demo_exit, "stop after printing the queries (for scripts)");

  CLI11_PARSE(app, argc, argv);
  if (server->parsed()) {
    auto config = ringdb::node_config(flags);
    if (!config.is_ok()) {
      std::fprintf(stderr, "ringdb: %s\n", config.status().to_string().c_str());
      return 2;
    }
    return ringdb::run_node(*config, flags.log_level, nullptr);
  }
  if (compact->parsed()) {
    auto config = ringdb::node_config(compact_flags);
    if (!config.is_ok()) {
      std::fprintf(stderr, "ringdb: %s\n", config.status().to_string().c_str());
      return 2;
    }
    return ringdb::run_compact(*config);
  }
  if (cql->parsed()) return ringdb::tools::run_shell(shell);
  if (stress_cmd->parsed()) return ringdb::tools::run_stress(stress);
  if (demo_cmd->parsed()) {
    flags.data_dir = demo_dir;
    flags.cql_port = demo.port;
    auto config = ringdb::node_config(flags);
    if (!config.is_ok()) {
      std::fprintf(stderr, "ringdb: %s\n", config.status().to_string().c_str());
      return 2;
    }
    demo.listen_address = config->rpc_address;
    std::thread loader;
    int load_result = 0;
    const int served = ringdb::run_node(*config, "warn", [&] {
      loader = std::thread([&] {
        load_result = ringdb::tools::load_demo(demo);
        if (demo_exit) kill(getpid(), SIGTERM);
      });
    });
    if (loader.joinable()) loader.join();
    return served != 0 ? served : load_result;
  }
  return 0;
}
