// The ringdb command. Subcommands:
//   server   run a node: storage, schema and the CQL native protocol server, until SIGTERM/SIGINT.
#include <arpa/inet.h>

#include <CLI/CLI.hpp>
#include <asio/signal_set.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "common/config.h"
#include "common/log.h"
#include "common/metrics.h"
#include "cql/server.h"
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
  BufferWriter w(&id);
  id.clear();
  w.put_u64(rng.next_u64());
  w.put_u64(rng.next_u64());
  id[6] = static_cast<char>((id[6] & 0x0f) | 0x40);
  id[8] = static_cast<char>((id[8] & 0x3f) | 0x80);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out.write(id.data(), 16) || !out.flush()) return Status::io_error("cannot write " + path);
  return id;
}

int run_server(const ServerFlags& flags) {
  if (!set_log_level(flags.log_level)) {
    std::fprintf(stderr, "unknown log level '%s'\n", flags.log_level.c_str());
    return 2;
  }
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
  auto listen = address_bytes(config.listen_address);
  auto rpc = address_bytes(config.rpc_address);
  if (s.is_ok() && !listen.is_ok()) s = listen.status();
  if (s.is_ok() && !rpc.is_ok()) s = rpc.status();
  if (!s.is_ok()) {
    std::fprintf(stderr, "ringdb: %s\n", s.to_string().c_str());
    return 2;
  }

  SystemClock clock;
  SeededRng rng(seed_from_os());
  MetricsRegistry metrics;
  storage::EngineOptions options;
  options.data_directory = config.data_directory();
  options.commitlog_sync = config.commitlog_sync;
  options.commitlog_sync_period_ms = config.commitlog_sync_period_in_ms;
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

  EventLoop loop(clock);
  // Blocking storage work runs here; 64 queued requests per core keep the fsync groups full.
  ThreadPoolBridge bridge(loop, 4, 4096);
  cql::ServerOptions server_options;
  server_options.address = config.rpc_address;
  server_options.port = static_cast<uint16_t>(config.native_transport_port);
  cql::CqlServer server(loop, bridge, processor, server_options);
  if (Status started = server.start(); !started.is_ok()) {
    RINGDB_LOG_ERROR("{}", started.to_string());
    return 1;
  }
  RINGDB_LOG_INFO("cluster '{}': storage in {} (commitlog_sync: {}); CQL on {}:{}",
                  config.cluster_name, options.data_directory,
                  commit_log_sync_name(config.commitlog_sync), config.rpc_address, server.port());
  std::fflush(stdout);

  asio::signal_set signals(loop.io_context(), SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code& error, int signal) {
    if (error) return;
    RINGDB_LOG_INFO("signal {}: draining in-flight requests, then shutting down", signal);
    server.drain(10'000'000, [&loop] { loop.stop(); });
  });
  loop.run();
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
  CLI11_PARSE(app, argc, argv);
  if (server->parsed()) return ringdb::run_server(flags);
  return 0;
}
