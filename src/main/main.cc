// The ringdb command. Subcommands:
//   server   run a node: opens its storage and serves until SIGTERM or SIGINT.
// The CQL native protocol server, shell, demo and stress tool come with the next milestone; until
// then `server` says so plainly at start-up.
#include <CLI/CLI.hpp>
#include <asio/signal_set.hpp>
#include <cstdio>
#include <memory>

#include "common/config.h"
#include "common/log.h"
#include "common/metrics.h"
#include "runtime/clock.h"
#include "runtime/event_loop.h"
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
  if (!s.is_ok()) {
    std::fprintf(stderr, "ringdb: %s\n", s.to_string().c_str());
    return 2;
  }

  SystemClock clock;
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
  RINGDB_LOG_INFO("cluster '{}': storage open in {} (commitlog_sync: {})", config.cluster_name,
                  options.data_directory, commit_log_sync_name(config.commitlog_sync));
  RINGDB_LOG_WARN(
      "the CQL native protocol server ({}:{}) is not implemented yet; this node serves no clients",
      config.rpc_address, config.native_transport_port);

  EventLoop loop(clock);
  asio::signal_set signals(loop.io_context(), SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code& error, int signal) {
    if (error) return;
    RINGDB_LOG_INFO("signal {}: shutting down", signal);
    loop.stop();
  });
  loop.run();
  engine->reset();  // final commit log sync, then close
  RINGDB_LOG_INFO("stopped cleanly");
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
