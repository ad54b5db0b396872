// The ringdb subcommands other than `server`: the shell, the load generator and the demo.
// Each returns the process exit code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ringdb::tools {

struct ShellOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 9042;
  std::string execute;   // -e
  std::string file;      // -f
  std::string keyspace;  // -k
};
int run_shell(const ShellOptions& options);

struct StressOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 9042;
  std::string workload = "write";  // write, read, mixed
  int connections = 4;
  int in_flight = 64;           // requests outstanding across all connections
  int64_t operations = 100000;  // 0 = run for `seconds`
  double seconds = 0;
  int64_t keys = 100000;           // distinct rows
  int64_t rows_per_partition = 1;  // > 1: a clustered table, keys / rows_per_partition partitions
  int value_bytes = 100;
  double read_ratio = 0.5;  // mixed workload
  uint64_t seed = 1;
  std::string keyspace = "stress";
};
int run_stress(const StressOptions& options);

struct DemoOptions {
  std::string listen_address = "127.0.0.1";
  uint16_t port = 9042;
  int64_t events = 300000;
  uint64_t seed = 42;
};
// Loads the sample data into a running node and prints the demo queries.
int load_demo(const DemoOptions& options);

}  // namespace ringdb::tools
