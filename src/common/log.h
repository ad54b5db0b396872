// Logging: a thin layer over spdlog so the rest of the code does not depend on its API.
// Thread-safe. Logging never reads the clock for logic; spdlog stamps lines itself.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace ringdb {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };

// Sets the process-wide level; `name` is one of trace, debug, info, warn, error, off.
[[nodiscard]] bool set_log_level(std::string_view name);
void set_log_level(LogLevel level);

}  // namespace ringdb

#define RINGDB_LOG_DEBUG(...) SPDLOG_DEBUG(__VA_ARGS__)
#define RINGDB_LOG_INFO(...) SPDLOG_INFO(__VA_ARGS__)
#define RINGDB_LOG_WARN(...) SPDLOG_WARN(__VA_ARGS__)
#define RINGDB_LOG_ERROR(...) SPDLOG_ERROR(__VA_ARGS__)
