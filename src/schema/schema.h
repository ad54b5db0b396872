// Keyspaces and tables: the node's schema, its persistence and its version.
//
// A Schema is an immutable snapshot; SchemaManager owns the current one and replaces it on each
// DDL statement (copy, change, persist, swap), so readers take a shared_ptr and never lock for
// long. The schema is persisted in the storage engine under a reserved table, so it survives a
// restart, and its version is the MD5 of its serialized form as a UUID (as Cassandra derives
// schema_version from a digest of its schema tables). Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "runtime/rng.h"
#include "schema/types.h"
#include "storage/engine.h"

namespace ringdb::schema {

enum class ColumnKind : uint8_t { kPartitionKey, kClustering, kRegular, kStatic };
const char* column_kind_name(ColumnKind kind);  // as system_schema.columns.kind

struct ColumnMetadata {
  std::string name;
  CqlType type;
  ColumnKind kind = ColumnKind::kRegular;
  int32_t position = -1;  // within the partition key or clustering; -1 otherwise
  bool descending = false;
  storage::ColumnId id = 0;  // storage column id; 0 for key columns
};

// A column dropped from a table, remembered (as Cassandra does) so that adding a column of that
// name back can be checked against it; listed in system_schema.dropped_columns. A column added
// back gets a new storage id, so it never sees the dropped column's cells.
struct DroppedColumn {
  std::string name;
  CqlType type;
  ColumnKind kind = ColumnKind::kRegular;
  int64_t dropped_time_micros = 0;
};

// A secondary index on one regular column (Cassandra's CREATE INDEX … ON t (c)): a hidden storage
// table whose partitions are the column's values and whose rows name the base rows (by token,
// partition key, then clustering key; empty for a static column) that held the value when
// written. Entries are never removed on overwrite: a
// read checks each candidate against the base row, as Cassandra's index reads check staleness.
struct IndexMetadata {
  std::string name;
  std::string column;
  storage::TableId storage_id = 0;
  // What of the column it indexes: "simple" (the value), "full" (a frozen collection's value),
  // "values" (a non-frozen collection's elements, or a map's values), "keys" (a map's keys).
  std::string target = "simple";
};

struct TableOptions {
  int32_t default_time_to_live = 0;
  int32_t gc_grace_seconds = storage::kDefaultGcGraceSeconds;
  std::string comment;
  double bloom_filter_fp_chance = 0.01;
  double crc_check_chance = 1.0;
  std::string speculative_retry = "99p";
  std::map<std::string, std::string> compaction = {
      {"class", "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy"},
      {"max_threshold", "32"},
      {"min_threshold", "4"}};
  std::map<std::string, std::string> compression = {
      {"chunk_length_in_kb", "16"}, {"class", "org.apache.cassandra.io.compress.LZ4Compressor"}};
  std::map<std::string, std::string> caching = {{"keys", "ALL"}, {"rows_per_partition", "NONE"}};
};

struct TableMetadata {
  std::string keyspace;
  std::string name;
  Bytes id;  // 16-byte UUID, system_schema.tables.id
  storage::TableId storage_id = 0;
  // Partition key columns, then clustering columns (each in key order), then the others by name.
  std::vector<ColumnMetadata> columns;
  TableOptions options;
  storage::ColumnId next_column_id = storage::kFirstUserColumn;
  std::vector<DroppedColumn> dropped_columns;  // one per name: its last drop
  std::vector<IndexMetadata> indexes;

  const ColumnMetadata* column(const std::string& name) const;
  std::vector<const ColumnMetadata*> partition_key() const;
  std::vector<const ColumnMetadata*> clustering() const;
  bool has_static_columns() const;
  bool is_counter_table() const;
  storage::TableDescriptor to_storage() const;
  const IndexMetadata* index_on(const std::string& column) const;
  // The storage table of one of its indexes: partition key the value, clustering (token,
  // partition key, clustering key serialized as a tuple).
  storage::TableDescriptor index_storage(const IndexMetadata& index) const;
};

struct KeyspaceMetadata {
  std::string name;
  std::map<std::string, std::string> replication;  // 'class' plus strategy options
  bool durable_writes = true;
  std::map<std::string, TableMetadata> tables;
  // User-defined types by name (each a kUdt CqlType). Column types and other types hold copies;
  // ALTER TYPE updates every copy with the type.
  std::map<std::string, CqlType> types;
};

struct Schema {
  std::map<std::string, KeyspaceMetadata> keyspaces;
  Bytes version;  // 16-byte UUID
  storage::TableId next_storage_id = 1000;

  const KeyspaceMetadata* keyspace(const std::string& name) const;
  const TableMetadata* table(const std::string& keyspace, const std::string& name) const;
  // Resolves type text against the user-defined types of `keyspace` (the statement's keyspace,
  // used when the text names none), with Cassandra's "Unknown type ks.name".
  [[nodiscard]] Result<CqlType> parse_type(const std::string& keyspace,
                                           std::string_view text) const;
};

// Validates and normalises replication options: class names (short or qualified) become their
// qualified form; SimpleStrategy needs replication_factor, NetworkTopologyStrategy a factor per DC.
[[nodiscard]] Result<std::map<std::string, std::string>> normalize_replication(
    const std::map<std::string, std::string>& options);

class SchemaManager {
 public:
  // Table ids below this are reserved for the engine's own tables (the schema itself).
  static constexpr storage::TableId kSchemaStoreTable = 1;

  SchemaManager(storage::Engine& engine, Rng& rng, const Clock& clock);

  // Loads the persisted schema (if any) and registers every table with the engine.
  [[nodiscard]] Status load();
  std::shared_ptr<const Schema> current() const;

  // Each returns AlreadyExists / NotFound (for the IF [NOT] EXISTS handling of the caller) or
  // InvalidArgument; on success the new schema is persisted and current.
  [[nodiscard]] Status create_keyspace(KeyspaceMetadata keyspace);
  [[nodiscard]] Status alter_keyspace(const std::string& name,
                                      std::map<std::string, std::string> replication,
                                      std::optional<bool> durable_writes);
  [[nodiscard]] Status drop_keyspace(const std::string& name);
  // Assigns ids to the table and its columns.
  [[nodiscard]] Status create_table(TableMetadata table);
  // Replaces an existing table's metadata (ALTER TABLE); the caller derived it from current().
  [[nodiscard]] Status replace_table(TableMetadata table);
  [[nodiscard]] Status drop_table(const std::string& keyspace, const std::string& name);
  // `type` is a kUdt CqlType whose keyspace exists. AlreadyExists-free: Cassandra answers an
  // existing type with Invalid, so does this.
  [[nodiscard]] Status create_type(CqlType type);
  // Replaces the type of `type`'s keyspace and name (which must exist) and every use of it in
  // the keyspace's other types and tables' columns (ALTER TYPE ADD / RENAME).
  [[nodiscard]] Status alter_type(const CqlType& type);
  // NotFound when there is no such type; InvalidArgument while a type or table uses it.
  [[nodiscard]] Status drop_type(const std::string& keyspace, const std::string& name);
  [[nodiscard]] Status truncate_table(const std::string& keyspace, const std::string& name);
  // Adds `index` (its storage id assigned here) to the table; AlreadyExists when the keyspace
  // has an index of that name. The caller fills it from the table's rows.
  [[nodiscard]] Status create_index(const std::string& keyspace, const std::string& table,
                                    IndexMetadata index);
  // NotFound when the keyspace has no index of that name.
  [[nodiscard]] Status drop_index(const std::string& keyspace, const std::string& name);

 private:
  Status commit(std::unique_ptr<Schema> next);  // persist + swap; holds ddl_mutex_
  // Creates the replicated system keyspaces and their tables, those missing (see load()).
  Status create_replicated_system_keyspaces();
  Bytes random_uuid();

  storage::Engine& engine_;
  Rng& rng_;
  const Clock& clock_;
  std::mutex ddl_mutex_;                     // one DDL at a time
  int64_t last_commit_timestamp_ = 0;        // guarded by ddl_mutex_
  mutable std::shared_mutex current_mutex_;  // readers (every request) share it
  std::shared_ptr<const Schema> current_;
};

// Serialization of a whole schema (persistence and digest).
Bytes serialize_schema(const Schema& schema);
[[nodiscard]] Status deserialize_schema(BytesView bytes, Schema* schema);

bool is_system_keyspace(const std::string& name);
// system_auth, system_distributed and system_traces: real keyspaces, created when the node first
// starts, whose replication operators may ALTER but whose tables they may not change.
bool is_replicated_system_keyspace(const std::string& name);

}  // namespace ringdb::schema
