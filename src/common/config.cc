#include "common/config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace ringdb {
namespace {

Status parse_int(const std::string& key, const std::string& text, int32_t min, int32_t max,
                 int32_t* out) {
  int32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max) {
    return Status::invalid_argument("config " + key + ": expected an integer in [" +
                                    std::to_string(min) + ", " + std::to_string(max) + "], got '" +
                                    text + "'");
  }
  *out = v;
  return Status::ok();
}

Status parse_sync(const std::string& text, CommitLogSync* out) {
  // "batch" and "group" are both durable modes in Cassandra; we implement group commit for both.
  if (text == "group" || text == "batch") {
    *out = CommitLogSync::kGroup;
  } else if (text == "periodic") {
    *out = CommitLogSync::kPeriodic;
  } else {
    return Status::invalid_argument(
        "config commitlog_sync: expected group, batch or periodic, got '" + text + "'");
  }
  return Status::ok();
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto b = item.find_first_not_of(' ');
    auto e = item.find_last_not_of(' ');
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

}  // namespace

const char* commit_log_sync_name(CommitLogSync sync) {
  return sync == CommitLogSync::kGroup ? "group" : "periodic";
}

Status NodeConfig::apply_override(const std::string& key, const std::string& value) {
  if (key == "cluster_name") {
    cluster_name = value;
  } else if (key == "num_tokens") {
    return parse_int(key, value, 1, 1024, &num_tokens);
  } else if (key == "seeds") {
    seeds = split_list(value);
  } else if (key == "listen_address") {
    listen_address = value;
  } else if (key == "rpc_address") {
    rpc_address = value;
  } else if (key == "native_transport_port") {
    return parse_int(key, value, 1, 65535, &native_transport_port);
  } else if (key == "storage_port") {
    return parse_int(key, value, 1, 65535, &storage_port);
  } else if (key == "data_file_directories") {
    auto dirs = split_list(value);
    if (dirs.size() != 1) {
      return Status::not_supported("data_file_directories: exactly one directory is supported yet");
    }
    data_file_directories = dirs;
  } else if (key == "commitlog_sync") {
    return parse_sync(value, &commitlog_sync);
  } else if (key == "commitlog_sync_period_in_ms") {
    return parse_int(key, value, 1, 3600 * 1000, &commitlog_sync_period_in_ms);
  } else if (key == "native_transport_event_loops") {
    return parse_int(key, value, 0, 256, &native_transport_event_loops);
  } else if (key == "row_cache_size_in_mb") {
    return parse_int(key, value, 0, 1 << 20, &row_cache_size_in_mb);
  } else if (key == "range_request_timeout_in_ms") {
    return parse_int(key, value, 1, 24 * 3600 * 1000, &range_request_timeout_in_ms);
  } else if (key == "read_request_timeout_in_ms") {
    return parse_int(key, value, 1, 24 * 3600 * 1000, &read_request_timeout_in_ms);
  } else if (key == "endpoint_snitch") {
    endpoint_snitch = value;
  } else if (key == "data_center") {
    data_center = value;
  } else if (key == "rack") {
    rack = value;
  } else {
    return Status::invalid_argument("unknown config key '" + key + "'");
  }
  return Status::ok();
}

Status NodeConfig::apply_yaml(const std::string& yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return Status::invalid_argument(std::string("config: malformed YAML: ") + e.what());
  }
  if (root.IsNull()) return Status::ok();
  if (!root.IsMap()) return Status::invalid_argument("config: top level must be a mapping");
  try {
    for (const auto& entry : root) {
      const auto key = entry.first.as<std::string>();
      const YAML::Node& node = entry.second;
      if (key == "seed_provider") {
        // cassandra.yaml: seed_provider: [{class_name: ..., parameters: [{seeds: "a,b"}]}]
        for (const auto& provider : node) {
          for (const auto& params : provider["parameters"]) {
            if (params["seeds"])
              RINGDB_RETURN_IF_ERROR(apply_override("seeds", params["seeds"].as<std::string>()));
          }
        }
        continue;
      }
      if (node.IsSequence()) {
        std::string joined;
        for (const auto& item : node)
          joined += (joined.empty() ? "" : ",") + item.as<std::string>();
        RINGDB_RETURN_IF_ERROR(apply_override(key, joined));
        continue;
      }
      if (!node.IsScalar())
        return Status::invalid_argument("config " + key + ": expected a scalar");
      RINGDB_RETURN_IF_ERROR(apply_override(key, node.as<std::string>()));
    }
  } catch (const YAML::Exception& e) {
    return Status::invalid_argument(std::string("config: ") + e.what());
  }
  return Status::ok();
}

Status NodeConfig::apply_yaml_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::io_error("config: cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return apply_yaml(ss.str());
}

}  // namespace ringdb
