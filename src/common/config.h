// Node configuration: ringdb.yaml with cassandra.yaml's key names, overridden by flags.
//
// Load order: defaults, then the YAML file (if given), then `key=value` overrides from the
// command line. Unknown keys are an error, so a typo does not silently fall back to a default.
// A plain value type; build it once at start-up and pass it by const reference.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace ringdb {

enum class CommitLogSync {
  kGroup,     // durable: a write is acknowledged after an fsync shared by concurrent writers
  kPeriodic,  // Cassandra's default trade: fsync every commitlog_sync_period_in_ms
};

struct NodeConfig {
  std::string cluster_name = "Test Cluster";
  int32_t num_tokens = 16;
  std::vector<std::string> seeds = {"127.0.0.1"};
  std::string listen_address = "127.0.0.1";
  std::string rpc_address = "127.0.0.1";
  int32_t native_transport_port = 9042;
  int32_t storage_port = 7000;
  std::vector<std::string> data_file_directories = {"./data"};
  CommitLogSync commitlog_sync = CommitLogSync::kGroup;
  int32_t commitlog_sync_period_in_ms = 10000;
  // Whole small partitions cached for point reads; 0 (the default, as in Cassandra) disables.
  int32_t row_cache_size_in_mb = 0;
  // How long a token-range read (a scan, an aggregate over ranges) may run before it answers
  // ReadTimeout, as cassandra.yaml's range_request_timeout_in_ms.
  int32_t range_request_timeout_in_ms = 10000;
  // The same for reads of named partitions (WHERE k = … or k IN …), as read_request_timeout_in_ms.
  int32_t read_request_timeout_in_ms = 5000;
  // Event loops serving CQL connections; 0 means one per core. (RingDB's own key.)
  int32_t native_transport_event_loops = 0;
  std::string endpoint_snitch = "SimpleSnitch";
  std::string data_center = "datacenter1";
  std::string rack = "rack1";

  // Parses YAML text (the contents of ringdb.yaml) on top of the current values.
  [[nodiscard]] Status apply_yaml(const std::string& yaml_text);
  [[nodiscard]] Status apply_yaml_file(const std::string& path);
  // Applies one override, e.g. ("native_transport_port", "9043"). Same keys as the file.
  [[nodiscard]] Status apply_override(const std::string& key, const std::string& value);

  std::string data_directory() const { return data_file_directories.front(); }
};

const char* commit_log_sync_name(CommitLogSync sync);

}  // namespace ringdb
