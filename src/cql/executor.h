// QueryProcessor: runs parsed CQL against the schema and the storage engine.
//
// It binds values to statements (literals, bind markers, collection literals, functions),
// turns writes into storage Mutations, plans reads (partition keys, clustering slices, token
// ranges, filtering) and shapes RESULT messages, including paging state, prepared metadata
// with partition key indexes, and the virtual system tables the drivers read.
//
// Threading: every method may block on storage and may be called from several threads at once
// (the server runs requests on its storage bridge). The prepared-statement cache is bounded.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "cql/ast.h"
#include "cql/messages.h"
#include "runtime/clock.h"
#include "runtime/rng.h"
#include "schema/schema.h"
#include "storage/engine.h"

namespace ringdb::cql {

class StatementRunner;

struct NodeInfo {
  std::string cluster_name = "Test Cluster";
  std::string data_center = "datacenter1";
  std::string rack = "rack1";
  std::string release_version = "4.0.11";
  std::string cql_version = "3.4.5";
  std::string partitioner = "org.apache.cassandra.dht.Murmur3Partitioner";
  Bytes listen_address;  // 4 or 16 bytes
  Bytes rpc_address;
  int32_t native_port = 9042;
  Bytes host_id;  // 16-byte UUID
  std::vector<int64_t> tokens;
};

struct Session {
  std::string keyspace;
};

struct BatchEntry {
  bool is_prepared = false;
  std::string query;
  Bytes prepared_id;
  std::vector<std::optional<Bytes>> values;
  std::vector<bool> unset;
};

class QueryProcessor {
 public:
  using Outcome = std::variant<ResultMessage, CqlError>;
  static constexpr size_t kPreparedStatementsMax = 10'000;
  static constexpr size_t kInValuesMax = 100'000;        // IN lists × cartesian products
  static constexpr uint64_t kResultRowsMax = 1'000'000;  // rows one unpaged SELECT may read

  QueryProcessor(schema::SchemaManager& schemas, storage::Engine& engine, const Clock& clock,
                 uint64_t seed, NodeInfo node);

  using Done = std::function<void(Outcome)>;

  // Each request comes in two forms. The *_async ones call `done` exactly once: at once for
  // reads, schema changes and errors; for writes, once the write is durable (possibly on the
  // commit log's thread), so the calling thread never waits for an fsync. The plain ones wait.
  //
  // With a WriteGroup, writes are not applied yet: they join the group, and apply_group() later
  // writes the whole group as one storage write (one WAL record), answering each request.
  struct WriteGroup {
    struct Waiter {
      Done done;
      ResultMessage message;
      size_t first;  // this request's mutations: [first, first + count)
      size_t count;
      uint64_t index_generation;  // when its mutations were planned (see enter_apply)
    };
    std::vector<storage::Mutation> mutations;
    std::vector<Waiter> waiting;
    void add(std::vector<storage::Mutation> writes, Done done, ResultMessage message,
             uint64_t index_generation);
    void append(WriteGroup&& other);  // other's requests after this group's
  };
  void query_async(std::string_view text, const QueryOptions& options, Session& session, Done done,
                   WriteGroup* group = nullptr);
  void execute_async(BytesView id, const QueryOptions& options, Session& session, Done done,
                     WriteGroup* group = nullptr);
  void apply_group(WriteGroup group);
  void batch_async(uint8_t type, const std::vector<BatchEntry>& entries,
                   const QueryOptions& options, Session& session, Done done,
                   WriteGroup* group = nullptr);

  // Runs a prepared statement on the calling thread (the event loop) when it can do so without
  // blocking: a SELECT that memory can answer (row cache, memtables, block cache), or an
  // unconditional INSERT, UPDATE or DELETE, whose writes join `group` with the callback
  // make_done() returns (the caller applies the group, and the callback answers once durable).
  // kNo, with nothing done, when the regular path must run it (a disk read, a scan, a
  // lightweight transaction, an unknown id); kAnswered with `*answer` set (reads, errors).
  enum class Inline { kNo, kAnswered, kJoinedGroup };
  Inline try_execute_inline(BytesView id, const QueryOptions& options, Session& session,
                            WriteGroup& group, Outcome* answer,
                            const std::function<Done()>& make_done);
  // Applies `group` if storage takes it without waiting (a write stall would wait); returns
  // false and leaves `group` as it was otherwise, for apply_group on a storage thread.
  bool try_apply_group(WriteGroup& group);

  Outcome query(std::string_view text, const QueryOptions& options, Session& session);
  Outcome prepare(std::string_view text, const Session& session);
  Outcome execute(BytesView id, const QueryOptions& options, Session& session);
  // Whether the prepared statement `id` has a single-row read plan for the current schema
  // (set by its first execution; for tests).
  bool has_single_row_plan(BytesView id);
  Outcome batch(uint8_t type, const std::vector<BatchEntry>& entries, const QueryOptions& options,
                Session& session);

  // For tests: a build of an index fails with what `fault` returns (when not OK) once its
  // entries are written and before it is marked built, as a crash or an I/O error there would.
  void set_index_build_fault(std::function<Status()> fault) {
    index_build_fault_ = std::move(fault);
  }

  const NodeInfo& node() const { return node_; }
  // Builds every index of the schema that is not marked built (a build that a crash or an
  // older version left unfinished). Run before serving; reads of those indexes fail until then.
  [[nodiscard]] Status rebuild_indexes();
  // How long a token-range read may run before it answers ReadTimeout (cassandra.yaml's
  // range_request_timeout_in_ms). Set before serving.
  void set_range_request_timeout_micros(int64_t micros) { range_timeout_micros_ = micros; }
  // The same for reads of named partitions (read_request_timeout_in_ms).
  void set_read_request_timeout_micros(int64_t micros) { read_timeout_micros_ = micros; }

  struct Prepared;  // defined in executor.cc

 private:
  friend class StatementRunner;
  void finish(StatementRunner& runner, Result<ResultMessage> result, const Statement& statement,
              const std::string& keyspace, Done done, WriteGroup* group);
  Outcome wait(const std::function<void(Done)>& start);
  void answer_group(const std::shared_ptr<WriteGroup>& shared, Status s);
  int64_t next_timestamp();
  Bytes new_timeuuid(int64_t unix_micros);
  // Timeuuids for `count` elements prepended to a list at `unix_micros`: each call's lie before
  // every earlier call's (Cassandra's decreasing prepend times), in the elements' order.
  std::vector<Bytes> prepend_timeuuids(int64_t unix_micros, size_t count);
  Bytes random_uuid();
  std::shared_ptr<const Prepared> find_prepared(BytesView id);

  // Writes planned before CREATE INDEX published its schema but applied after its build scan
  // passed their partition would be missing from the index. So every application of planned
  // writes registers (enter_apply, exit_apply once storage has them); a request planned under an
  // older index generation gets the current schema's index entries first (plan_index_writes);
  // and CREATE INDEX, once its schema is published, starts a generation and waits for the
  // applications registered under the previous one before it scans (a barrier like Cassandra's
  // OpOrder, which its index builds wait on).
  uint64_t index_generation() const { return index_generation_.load(std::memory_order_seq_cst); }
  uint64_t enter_apply();
  void exit_apply(uint64_t generation);
  void start_index_generation();
  // Reads use an index only once it is built: filled from the table's rows, then marked in a
  // node-local key (Engine::put_local) that outlives restarts. An index whose build a crash
  // cut short has no marker, and rebuild_indexes builds it at the next start.
  void load_built_indexes();
  bool index_available(storage::TableId index);
  void forget_index(storage::TableId index);  // after DROP INDEX
  // Fills the index from the table's rows, then marks it built.
  Status build_index(const std::string& keyspace, const std::string& index_name);
  // Index entries of the current schema for `base` (and removals of the values it overwrites,
  // read before the write through `read`), appended to `out`.
  using PartitionRead =
      std::function<Result<std::shared_ptr<const storage::Partition>>(const storage::ReadCommand&)>;
  Status index_writes(const schema::Schema& schema, const storage::Mutation& base,
                      const PartitionRead& read, std::vector<storage::Mutation>* out);
  // Adds the current schema's index entries to the requests of `group` planned before
  // `generation`. WouldBlock when `mode` is non-blocking and a read needs the disk.
  Status plan_index_writes(WriteGroup& group, uint64_t generation, storage::Engine::ReadMode mode);
  // Applies the writes of one request planned under `planned`, waiting until they are durable.
  Status apply_planned(std::vector<storage::Mutation> mutations, uint64_t planned);

  schema::SchemaManager& schemas_;
  storage::Engine& engine_;
  const Clock& clock_;
  NodeInfo node_;
  int64_t range_timeout_micros_ = 10'000'000;
  int64_t read_timeout_micros_ = 5'000'000;
  std::mutex rng_mutex_;
  SeededRng rng_;
  std::atomic<int64_t> last_timestamp_{0};
  int64_t last_uuid_time_ = 0;     // guarded by rng_mutex_
  int64_t last_prepend_time_ = 0;  // guarded by rng_mutex_
  // Lightweight transactions on one partition run one at a time (striped by token).
  std::array<std::mutex, 64> lwt_locks_;
  std::shared_mutex prepared_mutex_;  // EXECUTEs share it; PREPARE takes it alone
  std::unordered_map<std::string, std::shared_ptr<const Prepared>> prepared_;
  std::list<std::string> prepared_order_;  // insertion order, for eviction
  std::atomic<uint64_t> index_generation_{0};
  std::array<std::atomic<int64_t>, 2> applying_{};  // registered applications, by generation parity
  std::mutex index_generation_mutex_;               // one CREATE INDEX barrier at a time
  std::function<Status()> index_build_fault_;
  std::mutex built_mutex_;
  std::set<storage::TableId> built_indexes_;  // guarded by built_mutex_
};

CqlError to_cql_error(const Status& status);

}  // namespace ringdb::cql
