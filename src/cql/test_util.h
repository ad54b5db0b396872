// Shared by the cql tests: a query processor over a fresh engine in a temporary directory.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "common/metrics.h"
#include "cql/executor.h"
#include "runtime/clock.h"
#include "runtime/rng.h"
#include "schema/schema.h"
#include "storage/test_util.h"

namespace ringdb::cql::testing {

class ProcessorStack {
 public:
  // Periodic commit log (the tests need no fsync); `row_cache_bytes` 0 leaves the cache off.
  explicit ProcessorStack(const Clock& clock, size_t row_cache_bytes = 0)
      : clock_(clock), row_cache_bytes_(row_cache_bytes) {
    open();
  }
  // Closes everything and opens it again over the same directory, as a node restart does.
  void restart() {
    processor_.reset();
    schemas_.reset();
    engine_.reset();
    open();
  }
  QueryProcessor& processor() { return *processor_; }
  storage::Engine& engine() { return *engine_; }
  schema::SchemaManager& schemas() { return *schemas_; }

 private:
  void open() {
    storage::EngineOptions options;
    options.data_directory = dir_.path();
    options.commitlog_sync = CommitLogSync::kPeriodic;
    options.row_cache_bytes = row_cache_bytes_;
    engine_ = std::move(storage::Engine::open(options, clock_, metrics_)).value();
    schemas_ = std::make_unique<schema::SchemaManager>(*engine_, rng_, clock_);
    EXPECT_TRUE(schemas_->load().is_ok());
    NodeInfo info;
    info.listen_address = info.rpc_address = Bytes("\x7f\x00\x00\x01", 4);
    info.host_id = Bytes(16, '\x01');
    info.tokens = {INT64_MIN};
    processor_ = std::make_unique<QueryProcessor>(*schemas_, *engine_, clock_, 7, info);
  }

  const Clock& clock_;
  const size_t row_cache_bytes_;
  storage::testing::TempDir dir_;
  MetricsRegistry metrics_;
  SeededRng rng_{1};
  std::unique_ptr<storage::Engine> engine_;
  std::unique_ptr<schema::SchemaManager> schemas_;
  std::unique_ptr<QueryProcessor> processor_;
};

}  // namespace ringdb::cql::testing
