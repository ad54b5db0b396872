#include "schema/schema.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "common/uuid.h"
#include "schema/values.h"

namespace ringdb::schema {
namespace {

constexpr storage::ColumnId kSchemaBlobColumn = 2;
// Version 2 adds each table's dropped columns; version 1 (without them) is still read.
constexpr uint32_t kSerializationVersion = 4;  // 3: user-defined types; 4: indexes
const char kSimple[] = "org.apache.cassandra.locator.SimpleStrategy";
const char kNetwork[] = "org.apache.cassandra.locator.NetworkTopologyStrategy";

void put_string(BufferWriter& w, const std::string& s) {
  w.put_length_prefixed(s);
}
bool get_string(BufferReader& r, std::string* s) {
  BytesView v;
  if (!r.get_length_prefixed(&v)) return false;
  *s = std::string(v);
  return true;
}
void put_map(BufferWriter& w, const std::map<std::string, std::string>& m) {
  w.put_u32(static_cast<uint32_t>(m.size()));
  for (const auto& [k, v] : m) {
    put_string(w, k);
    put_string(w, v);
  }
}
bool get_map(BufferReader& r, std::map<std::string, std::string>* m) {
  uint32_t n;
  if (!r.get_u32(&n)) return false;
  m->clear();
  for (uint32_t i = 0; i < n; ++i) {
    std::string k, v;
    if (!get_string(r, &k) || !get_string(r, &v)) return false;
    (*m)[k] = v;
  }
  return true;
}
void put_double(BufferWriter& w, double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  w.put_u64(bits);
}
bool get_double(BufferReader& r, double* d) {
  uint64_t bits;
  if (!r.get_u64(&bits)) return false;
  std::memcpy(d, &bits, 8);
  return true;
}

bool positive_int(const std::string& s) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() && v >= 0;
}

}  // namespace

const char* column_kind_name(ColumnKind kind) {
  switch (kind) {
    case ColumnKind::kPartitionKey:
      return "partition_key";
    case ColumnKind::kClustering:
      return "clustering";
    case ColumnKind::kRegular:
      return "regular";
    case ColumnKind::kStatic:
      return "static";
  }
  return "regular";
}

bool is_system_keyspace(const std::string& name) {
  return name == "system" || name == "system_schema" || name == "system_virtual_schema";
}

bool is_replicated_system_keyspace(const std::string& name) {
  return name == "system_auth" || name == "system_distributed" || name == "system_traces";
}

const ColumnMetadata* TableMetadata::column(const std::string& name) const {
  for (const auto& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::vector<const ColumnMetadata*> TableMetadata::partition_key() const {
  std::vector<const ColumnMetadata*> out;
  for (const auto& c : columns) {
    if (c.kind == ColumnKind::kPartitionKey) out.push_back(&c);
  }
  return out;
}

std::vector<const ColumnMetadata*> TableMetadata::clustering() const {
  std::vector<const ColumnMetadata*> out;
  for (const auto& c : columns) {
    if (c.kind == ColumnKind::kClustering) out.push_back(&c);
  }
  return out;
}

bool TableMetadata::has_static_columns() const {
  return std::any_of(columns.begin(), columns.end(),
                     [](const auto& c) { return c.kind == ColumnKind::kStatic; });
}

bool TableMetadata::is_counter_table() const {
  if (std::any_of(columns.begin(), columns.end(),
                  [](const auto& c) { return c.type.is_counter(); })) {
    return true;
  }
  // A counter table stays one when its counters are dropped (Cassandra keeps a table flag): it
  // then has no regular or static column, and its dropped columns are counters.
  const bool only_key = std::all_of(columns.begin(), columns.end(), [](const auto& c) {
    return c.kind == ColumnKind::kPartitionKey || c.kind == ColumnKind::kClustering;
  });
  return only_key && std::any_of(dropped_columns.begin(), dropped_columns.end(),
                                 [](const auto& d) { return d.type.is_counter(); });
}

storage::TableDescriptor TableMetadata::to_storage() const {
  storage::TableDescriptor t;
  t.id = storage_id;
  t.name = keyspace + "." + name;
  for (const auto* c : clustering()) t.clustering.push_back({c->type.to_storage(), c->descending});
  for (const auto& c : columns) {
    if (c.kind != ColumnKind::kRegular && c.kind != ColumnKind::kStatic) continue;
    t.columns.push_back(
        {c.id, c.type.to_storage(), c.kind == ColumnKind::kStatic, c.type.is_multi_cell()});
  }
  t.default_ttl_seconds = options.default_time_to_live;
  t.gc_grace_seconds = options.gc_grace_seconds;
  return t;
}

const IndexMetadata* TableMetadata::index_on(const std::string& column_name) const {
  for (const auto& i : indexes) {
    if (i.column == column_name) return &i;
  }
  return nullptr;
}

storage::TableDescriptor TableMetadata::index_storage(const IndexMetadata& index) const {
  storage::TableDescriptor t;
  t.id = index.storage_id;
  t.name = keyspace + "." + name + "." + index.name;
  t.clustering.push_back({storage::ValueType::of(ValueKind::kBigint), false});
  t.clustering.push_back({storage::ValueType::of(ValueKind::kBlob), false});
  t.clustering.push_back({storage::ValueType::of(ValueKind::kBlob), false});
  t.gc_grace_seconds = options.gc_grace_seconds;
  return t;
}

const KeyspaceMetadata* Schema::keyspace(const std::string& name) const {
  auto it = keyspaces.find(name);
  return it == keyspaces.end() ? nullptr : &it->second;
}

const TableMetadata* Schema::table(const std::string& ks, const std::string& name) const {
  const KeyspaceMetadata* k = keyspace(ks);
  if (k == nullptr) return nullptr;
  auto it = k->tables.find(name);
  return it == k->tables.end() ? nullptr : &it->second;
}

Result<CqlType> Schema::parse_type(const std::string& ks, std::string_view text) const {
  CqlType::UdtResolver resolve = [&](const std::string& named_keyspace,
                                     const std::string& name) -> Result<CqlType> {
    const std::string& in = named_keyspace.empty() ? ks : named_keyspace;
    if (in != ks) {
      return Status::invalid_argument("Statement on keyspace " + ks +
                                      " cannot refer to a user type in keyspace " + in +
                                      "; user types can only be used in the keyspace they are "
                                      "defined in");
    }
    const KeyspaceMetadata* k = keyspace(in);
    if (k != nullptr) {
      if (auto it = k->types.find(name); it != k->types.end()) return it->second;
    }
    return Status::invalid_argument("Unknown type " + cql_name(in) + "." + cql_name(name));
  };
  return CqlType::parse(text, &resolve);
}

Result<std::map<std::string, std::string>> normalize_replication(
    const std::map<std::string, std::string>& options) {
  auto cls = options.find("class");
  if (cls == options.end()) return Status::config_error("Missing replication strategy class");
  std::map<std::string, std::string> out;
  const std::string& name = cls->second;
  if (name == "SimpleStrategy" || name == kSimple) {
    out["class"] = kSimple;
    auto rf = options.find("replication_factor");
    if (rf == options.end())
      return Status::config_error("SimpleStrategy requires a replication_factor strategy option.");
    for (const auto& [k, v] : options) {
      if (k != "class" && k != "replication_factor") {
        return Status::config_error("Unrecognized strategy option {" + k +
                                    "} passed to SimpleStrategy");
      }
    }
    if (!positive_int(rf->second)) {
      return Status::config_error("Replication factor must be non-negative; found " + rf->second);
    }
    out["replication_factor"] = rf->second;
    return out;
  }
  if (name == "NetworkTopologyStrategy" || name == kNetwork) {
    out["class"] = kNetwork;
    for (const auto& [k, v] : options) {
      if (k == "class") continue;
      if (!positive_int(v))
        return Status::config_error("Replication factor must be non-negative; found " + v);
      out[k] = v;
    }
    return out;
  }
  if (name == "LocalStrategy" || name == "org.apache.cassandra.locator.LocalStrategy") {
    return Status::invalid_argument("LocalStrategy is only for system keyspaces");
  }
  const std::string full =
      name.find('.') == std::string::npos ? "org.apache.cassandra.locator." + name : name;
  return Status::config_error("Unable to find replication strategy class '" + full + "'");
}

Bytes serialize_schema(const Schema& schema) {
  BufferWriter w;
  w.put_u32(kSerializationVersion);
  w.put_u32(schema.next_storage_id);
  w.put_u32(static_cast<uint32_t>(schema.keyspaces.size()));
  for (const auto& [name, ks] : schema.keyspaces) {
    put_string(w, ks.name);
    put_map(w, ks.replication);
    w.put_u8(ks.durable_writes);
    w.put_u32(static_cast<uint32_t>(ks.types.size()));
    for (const auto& [type_name, type] : ks.types) {
      put_string(w, type_name);
      w.put_u32(static_cast<uint32_t>(type.params.size()));
      for (size_t i = 0; i < type.params.size(); ++i) {
        put_string(w, type.field_names[i]);
        put_string(w, type.params[i].to_cql());
      }
    }
    w.put_u32(static_cast<uint32_t>(ks.tables.size()));
    for (const auto& [table_name, t] : ks.tables) {
      put_string(w, t.name);
      w.put_length_prefixed(t.id);
      w.put_u32(t.storage_id);
      w.put_u32(t.next_column_id);
      w.put_i32(t.options.default_time_to_live);
      w.put_i32(t.options.gc_grace_seconds);
      put_string(w, t.options.comment);
      put_double(w, t.options.bloom_filter_fp_chance);
      put_double(w, t.options.crc_check_chance);
      put_string(w, t.options.speculative_retry);
      put_map(w, t.options.compaction);
      put_map(w, t.options.compression);
      put_map(w, t.options.caching);
      w.put_u32(static_cast<uint32_t>(t.columns.size()));
      for (const auto& c : t.columns) {
        put_string(w, c.name);
        put_string(w, c.type.to_cql());
        w.put_u8(static_cast<uint8_t>(c.kind));
        w.put_i32(c.position);
        w.put_u8(c.descending);
        w.put_u32(c.id);
      }
      w.put_u32(static_cast<uint32_t>(t.dropped_columns.size()));
      for (const auto& d : t.dropped_columns) {
        put_string(w, d.name);
        put_string(w, d.type.to_cql());
        w.put_u8(static_cast<uint8_t>(d.kind));
        w.put_i64(d.dropped_time_micros);
      }
      w.put_u32(static_cast<uint32_t>(t.indexes.size()));
      for (const auto& index : t.indexes) {
        put_string(w, index.name);
        put_string(w, index.column);
        w.put_u32(index.storage_id);
        put_string(w, index.target);
      }
    }
  }
  return w.release();
}

Status deserialize_schema(BytesView bytes, Schema* schema) {
  BufferReader r(bytes);
  auto bad = [] { return Status::corruption("persisted schema does not decode"); };
  uint32_t version, n;
  if (!r.get_u32(&version) || version < 1 || version > kSerializationVersion) return bad();
  if (!r.get_u32(&schema->next_storage_id) || !r.get_u32(&n)) return bad();
  for (uint32_t i = 0; i < n; ++i) {
    KeyspaceMetadata ks;
    uint8_t durable;
    uint32_t tables;
    if (!get_string(r, &ks.name) || !get_map(r, &ks.replication) || !r.get_u8(&durable))
      return bad();
    ks.durable_writes = durable;
    // User-defined types, as field names and type texts; a field may name another type of the
    // keyspace, resolved (once) whatever their order.
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> type_texts;
    uint32_t types = 0;
    if (version >= 3 && !r.get_u32(&types)) return bad();
    for (uint32_t j = 0; j < types; ++j) {
      std::string type_name;
      uint32_t fields;
      if (!get_string(r, &type_name) || !r.get_u32(&fields)) return bad();
      auto& texts = type_texts[type_name];
      for (uint32_t k = 0; k < fields; ++k) {
        std::string field, text;
        if (!get_string(r, &field) || !get_string(r, &text)) return bad();
        texts.emplace_back(std::move(field), std::move(text));
      }
    }
    int depth = 0;
    CqlType::UdtResolver resolve = [&](const std::string& keyspace,
                                       const std::string& type_name) -> Result<CqlType> {
      if (!keyspace.empty() && keyspace != ks.name) return Status::corruption("foreign type");
      if (auto it = ks.types.find(type_name); it != ks.types.end()) return it->second;
      auto texts = type_texts.find(type_name);
      if (texts == type_texts.end() || ++depth > 64) return Status::corruption("unknown type");
      CqlType t;
      t.kind = ValueKind::kUdt;
      t.keyspace = ks.name;
      t.name = type_name;
      for (const auto& [field, text] : texts->second) {
        RINGDB_ASSIGN_OR_RETURN(CqlType field_type, CqlType::parse(text, &resolve));
        t.field_names.push_back(field);
        t.params.push_back(std::move(field_type));
      }
      --depth;
      ks.types.emplace(type_name, t);
      return t;
    };
    for (const auto& [type_name, texts] : type_texts) {
      if (!resolve(ks.name, type_name).is_ok()) return bad();
    }
    if (!r.get_u32(&tables)) return bad();
    for (uint32_t j = 0; j < tables; ++j) {
      TableMetadata t;
      t.keyspace = ks.name;
      BytesView id;
      uint32_t columns;
      if (!get_string(r, &t.name) || !r.get_length_prefixed(&id) || !r.get_u32(&t.storage_id) ||
          !r.get_u32(&t.next_column_id) || !r.get_i32(&t.options.default_time_to_live) ||
          !r.get_i32(&t.options.gc_grace_seconds) || !get_string(r, &t.options.comment) ||
          !get_double(r, &t.options.bloom_filter_fp_chance) ||
          !get_double(r, &t.options.crc_check_chance) ||
          !get_string(r, &t.options.speculative_retry) || !get_map(r, &t.options.compaction) ||
          !get_map(r, &t.options.compression) || !get_map(r, &t.options.caching) ||
          !r.get_u32(&columns)) {
        return bad();
      }
      t.id = Bytes(id);
      for (uint32_t k = 0; k < columns; ++k) {
        ColumnMetadata c;
        std::string type;
        uint8_t kind, desc;
        if (!get_string(r, &c.name) || !get_string(r, &type) || !r.get_u8(&kind) ||
            !r.get_i32(&c.position) || !r.get_u8(&desc) || !r.get_u32(&c.id)) {
          return bad();
        }
        auto parsed = CqlType::parse(type, &resolve);
        if (!parsed.is_ok()) return bad();
        c.type = *parsed;
        c.kind = static_cast<ColumnKind>(kind);
        c.descending = desc;
        t.columns.push_back(std::move(c));
      }
      uint32_t dropped = 0;
      if (version >= 2 && !r.get_u32(&dropped)) return bad();
      for (uint32_t k = 0; k < dropped; ++k) {
        DroppedColumn d;
        std::string type;
        uint8_t kind;
        if (!get_string(r, &d.name) || !get_string(r, &type) || !r.get_u8(&kind) ||
            !r.get_i64(&d.dropped_time_micros)) {
          return bad();
        }
        auto parsed = CqlType::parse(type);
        if (!parsed.is_ok()) return bad();
        d.type = *parsed;
        d.kind = static_cast<ColumnKind>(kind);
        t.dropped_columns.push_back(std::move(d));
      }
      uint32_t indexes = 0;
      if (version >= 4 && !r.get_u32(&indexes)) return bad();
      for (uint32_t k = 0; k < indexes; ++k) {
        IndexMetadata index;
        if (!get_string(r, &index.name) || !get_string(r, &index.column) ||
            !r.get_u32(&index.storage_id) || !get_string(r, &index.target)) {
          return bad();
        }
        t.indexes.push_back(std::move(index));
      }
      ks.tables.emplace(t.name, std::move(t));
    }
    schema->keyspaces.emplace(ks.name, std::move(ks));
  }
  if (!r.at_end()) return bad();
  return Status::ok();
}

namespace {

Bytes digest_uuid(BytesView bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &length, EVP_md5(), nullptr);
  md[6] = static_cast<unsigned char>((md[6] & 0x0f) | 0x30);  // version 3 (name-based, MD5)
  md[8] = static_cast<unsigned char>((md[8] & 0x3f) | 0x80);  // IETF variant
  return Bytes(reinterpret_cast<char*>(md), 16);
}

storage::TableDescriptor schema_store_descriptor() {
  storage::TableDescriptor t;
  t.id = SchemaManager::kSchemaStoreTable;
  t.name = "ringdb.schema";
  t.columns = {{kSchemaBlobColumn, storage::ValueType::of(ValueKind::kBlob), false, false}};
  return t;
}

}  // namespace

SchemaManager::SchemaManager(storage::Engine& engine, Rng& rng, const Clock& clock)
    : engine_(engine), rng_(rng), clock_(clock) {
  auto empty = std::make_shared<Schema>();
  empty->version = digest_uuid(serialize_schema(*empty));
  current_ = std::move(empty);
}

std::shared_ptr<const Schema> SchemaManager::current() const {
  std::shared_lock lock(current_mutex_);
  return current_;
}

Status SchemaManager::load() {
  RINGDB_RETURN_IF_ERROR(engine_.register_table(schema_store_descriptor()));
  storage::ReadCommand read;
  read.table = kSchemaStoreTable;
  read.partition_key = "schema";
  RINGDB_ASSIGN_OR_RETURN(storage::Partition p, engine_.read(read));
  if (p.rows.empty() || p.rows[0].cells.empty()) return create_replicated_system_keyspaces();
  auto schema = std::make_shared<Schema>();
  RINGDB_RETURN_IF_ERROR(deserialize_schema(p.rows[0].cells[0].value, schema.get()));
  schema->version = digest_uuid(p.rows[0].cells[0].value);
  for (const auto& [name, ks] : schema->keyspaces) {
    for (const auto& [table_name, t] : ks.tables) {
      RINGDB_RETURN_IF_ERROR(engine_.register_table(t.to_storage()));
      for (const auto& index : t.indexes)
        RINGDB_RETURN_IF_ERROR(engine_.register_table(t.index_storage(index)));
    }
  }
  {
    std::lock_guard lock(current_mutex_);
    current_ = std::move(schema);
  }
  return create_replicated_system_keyspaces();
}

namespace {

// Cassandra 4's replicated system keyspaces: their default replication and their tables (name,
// columns as "name type", partition key, clustering), as Cassandra defines them.
struct SystemTableDef {
  const char* name;
  std::vector<std::pair<const char*, const char*>> columns;
  std::vector<const char*> partition_key;
  std::vector<const char*> clustering;
};
struct SystemKeyspaceDef {
  const char* name;
  const char* replication_factor;
  std::vector<SystemTableDef> tables;
};

const std::vector<SystemKeyspaceDef>& replicated_system_keyspaces() {
  static const std::vector<SystemKeyspaceDef> defs = {
      {"system_auth",
       "1",
       {{"network_permissions", {{"role", "text"}, {"dcs", "frozen<set<text>>"}}, {"role"}, {}},
        {"resource_role_permissons_index",
         {{"resource", "text"}, {"role", "text"}},
         {"resource"},
         {"role"}},
        {"role_members", {{"role", "text"}, {"member", "text"}}, {"role"}, {"member"}},
        {"role_permissions",
         {{"role", "text"}, {"resource", "text"}, {"permissions", "set<text>"}},
         {"role"},
         {"resource"}},
        {"roles",
         {{"role", "text"},
          {"can_login", "boolean"},
          {"is_superuser", "boolean"},
          {"member_of", "set<text>"},
          {"salted_hash", "text"}},
         {"role"},
         {}}}},
      {"system_distributed",
       "3",
       {{"parent_repair_history",
         {{"parent_id", "timeuuid"},
          {"columnfamily_names", "set<text>"},
          {"exception_message", "text"},
          {"exception_stacktrace", "text"},
          {"finished_at", "timestamp"},
          {"keyspace_name", "text"},
          {"options", "map<text, text>"},
          {"requested_ranges", "set<text>"},
          {"started_at", "timestamp"},
          {"successful_ranges", "set<text>"}},
         {"parent_id"},
         {}},
        {"repair_history",
         {{"keyspace_name", "text"},
          {"columnfamily_name", "text"},
          {"id", "timeuuid"},
          {"coordinator", "inet"},
          {"coordinator_port", "int"},
          {"exception_message", "text"},
          {"exception_stacktrace", "text"},
          {"finished_at", "timestamp"},
          {"parent_id", "timeuuid"},
          {"participants", "set<inet>"},
          {"participants_v2", "set<text>"},
          {"range_begin", "text"},
          {"range_end", "text"},
          {"started_at", "timestamp"},
          {"status", "text"}},
         {"keyspace_name", "columnfamily_name"},
         {"id"}},
        {"view_build_status",
         {{"keyspace_name", "text"},
          {"view_name", "text"},
          {"host_id", "uuid"},
          {"status", "text"}},
         {"keyspace_name", "view_name"},
         {"host_id"}}}},
      {"system_traces",
       "2",
       {{"events",
         {{"session_id", "uuid"},
          {"event_id", "timeuuid"},
          {"activity", "text"},
          {"source", "inet"},
          {"source_elapsed", "int"},
          {"source_port", "int"},
          {"thread", "text"}},
         {"session_id"},
         {"event_id"}},
        {"sessions",
         {{"session_id", "uuid"},
          {"client", "inet"},
          {"command", "text"},
          {"coordinator", "inet"},
          {"coordinator_port", "int"},
          {"duration", "int"},
          {"parameters", "map<text, text>"},
          {"request", "text"},
          {"started_at", "timestamp"}},
         {"session_id"},
         {}}}},
  };
  return defs;
}

}  // namespace

Status SchemaManager::create_replicated_system_keyspaces() {
  std::lock_guard ddl(ddl_mutex_);
  auto next = std::make_unique<Schema>(*current());
  bool changed = false;
  for (const auto& def : replicated_system_keyspaces()) {
    if (next->keyspaces.count(def.name)) continue;
    KeyspaceMetadata ks;
    ks.name = def.name;
    RINGDB_ASSIGN_OR_RETURN(
        ks.replication, normalize_replication({{"class", "SimpleStrategy"},
                                               {"replication_factor", def.replication_factor}}));
    for (const auto& t : def.tables) {
      TableMetadata table;
      table.keyspace = def.name;
      table.name = t.name;
      // As Cassandra's TableId.forSystemTable: a name-based UUID of keyspace and table names.
      table.id = digest_uuid(std::string(def.name) + t.name);
      table.storage_id = next->next_storage_id++;
      auto position = [](const std::vector<const char*>& names, const char* name) {
        for (size_t i = 0; i < names.size(); ++i) {
          if (std::string(names[i]) == name) return static_cast<int32_t>(i);
        }
        return -1;
      };
      for (const auto& [name, type_text] : t.columns) {
        RINGDB_ASSIGN_OR_RETURN(CqlType type, CqlType::parse(type_text));
        ColumnMetadata c;
        c.name = name;
        c.type = type;
        if (int32_t p = position(t.partition_key, name); p >= 0) {
          c.kind = ColumnKind::kPartitionKey;
          c.position = p;
        } else if (int32_t q = position(t.clustering, name); q >= 0) {
          c.kind = ColumnKind::kClustering;
          c.position = q;
        } else {
          c.id = table.next_column_id++;
        }
        table.columns.push_back(std::move(c));
      }
      RINGDB_RETURN_IF_ERROR(engine_.register_table(table.to_storage()));
      ks.tables.emplace(table.name, std::move(table));
    }
    next->keyspaces.emplace(ks.name, std::move(ks));
    changed = true;
  }
  if (!changed) return Status::ok();
  return commit(std::move(next));
}

Status SchemaManager::commit(std::unique_ptr<Schema> next) {
  const Bytes blob = serialize_schema(*next);
  storage::Mutation m;
  m.table = kSchemaStoreTable;
  m.partition_key = "schema";
  storage::RowWrite row;
  // The persisted schema must move forward even if the wall clock steps back.
  static_assert(sizeof(int64_t) == 8);
  int64_t ts = std::max<int64_t>(clock_.now_micros(), last_commit_timestamp_ + 1);
  last_commit_timestamp_ = ts;
  row.cells.push_back(
      {storage::CellWrite::Kind::kSet, kSchemaBlobColumn, std::nullopt, blob, ts, 0, 0});
  m.rows.push_back(std::move(row));
  RINGDB_RETURN_IF_ERROR(engine_.apply(m));
  next->version = digest_uuid(blob);
  std::lock_guard lock(current_mutex_);
  current_ = std::shared_ptr<const Schema>(std::move(next));
  return Status::ok();
}

Bytes SchemaManager::random_uuid() {
  const uint64_t high = rng_.next_u64();
  return uuid_v4(high, rng_.next_u64());
}

Status SchemaManager::create_keyspace(KeyspaceMetadata keyspace) {
  std::lock_guard ddl(ddl_mutex_);
  auto next = std::make_unique<Schema>(*current());
  if (is_system_keyspace(keyspace.name) || next->keyspace(keyspace.name)) {
    return Status::already_exists("Cannot add existing keyspace \"" + keyspace.name + "\"");
  }
  RINGDB_ASSIGN_OR_RETURN(keyspace.replication, normalize_replication(keyspace.replication));
  next->keyspaces.emplace(keyspace.name, std::move(keyspace));
  return commit(std::move(next));
}

Status SchemaManager::alter_keyspace(const std::string& name,
                                     std::map<std::string, std::string> replication,
                                     std::optional<bool> durable_writes) {
  std::lock_guard ddl(ddl_mutex_);
  auto next = std::make_unique<Schema>(*current());
  auto it = next->keyspaces.find(name);
  if (it == next->keyspaces.end())
    return Status::invalid_argument("Keyspace '" + name + "' doesn't exist");
  if (!replication.empty()) {
    RINGDB_ASSIGN_OR_RETURN(it->second.replication, normalize_replication(replication));
  }
  if (durable_writes) it->second.durable_writes = *durable_writes;
  return commit(std::move(next));
}

Status SchemaManager::drop_keyspace(const std::string& name) {
  std::lock_guard ddl(ddl_mutex_);
  auto next = std::make_unique<Schema>(*current());
  auto it = next->keyspaces.find(name);
  if (it == next->keyspaces.end())
    return Status::not_found("Keyspace '" + name + "' doesn't exist");
  std::vector<storage::TableId> dropped;
  for (const auto& [table_name, t] : it->second.tables) {
    dropped.push_back(t.storage_id);
    for (const auto& index : t.indexes) dropped.push_back(index.storage_id);
  }
  next->keyspaces.erase(it);
  RINGDB_RETURN_IF_ERROR(commit(std::move(next)));
  for (storage::TableId id : dropped) RINGDB_RETURN_IF_ERROR(engine_.drop_table(id));
  return Status::ok();
}

Status SchemaManager::create_table(TableMetadata table) {
  std::lock_guard ddl(ddl_mutex_);
  auto next = std::make_unique<Schema>(*current());
  auto ks = next->keyspaces.find(table.keyspace);
  if (ks == next->keyspaces.end())
    return Status::invalid_argument("Keyspace " + table.keyspace + " does not exist");
  if (ks->second.tables.count(table.name)) {
    return Status::already_exists("Cannot add already existing table \"" + table.name +
                                  "\" to keyspace \"" + table.keyspace + "\"");
  }
  table.id = random_uuid();
  table.storage_id = next->next_storage_id++;
  for (auto& c : table.columns) {
    if (c.kind == ColumnKind::kRegular || c.kind == ColumnKind::kStatic)
      c.id = table.next_column_id++;
  }
  RINGDB_RETURN_IF_ERROR(engine_.register_table(table.to_storage()));
  ks->second.tables.emplace(table.name, std::move(table));
  return commit(std::move(next));
}

Status SchemaManager::replace_table(TableMetadata table) {
  std::lock_guard ddl(ddl_mutex_);
  auto next = std::make_unique<Schema>(*current());
  auto ks = next->keyspaces.find(table.keyspace);
  if (ks == next->keyspaces.end() || !ks->second.tables.count(table.name)) {
    return Status::invalid_argument("Table " + table.keyspace + "." + table.name +
                                    " does not exist");
  }
  for (auto& c : table.columns) {
    if ((c.kind == ColumnKind::kRegular || c.kind == ColumnKind::kStatic) && c.id == 0)
      c.id = table.next_column_id++;
  }
  RINGDB_RETURN_IF_ERROR(engine_.register_table(table.to_storage()));
  for (const auto& index : table.indexes)
    RINGDB_RETURN_IF_ERROR(engine_.register_table(table.index_storage(index)));
  ks->second.tables[table.name] = std::move(table);
  return commit(std::move(next));
}

Status SchemaManager::drop_table(const std::string& keyspace, const std::string& name) {
  std::lock_guard ddl(ddl_mutex_);
  auto next = std::make_unique<Schema>(*current());
  auto ks = next->keyspaces.find(keyspace);
  if (ks == next->keyspaces.end())
    return Status::not_found("Table '" + keyspace + "." + name + "' doesn't exist");
  auto it = ks->second.tables.find(name);
  if (it == ks->second.tables.end())
    return Status::not_found("Table " + keyspace + "." + name + " doesn't exist");
  std::vector<storage::TableId> dropped{it->second.storage_id};
  for (const auto& index : it->second.indexes) dropped.push_back(index.storage_id);
  ks->second.tables.erase(it);
  RINGDB_RETURN_IF_ERROR(commit(std::move(next)));
  for (storage::TableId id : dropped) RINGDB_RETURN_IF_ERROR(engine_.drop_table(id));
  return Status::ok();
}

Status SchemaManager::create_index(const std::string& keyspace, const std::string& table,
                                   IndexMetadata index) {
  std::lock_guard ddl(ddl_mutex_);
  auto next = std::make_unique<Schema>(*current());
  auto ks = next->keyspaces.find(keyspace);
  if (ks == next->keyspaces.end())
    return Status::invalid_argument("Keyspace " + keyspace + " does not exist");
  auto t = ks->second.tables.find(table);
  if (t == ks->second.tables.end())
    return Status::invalid_argument("Table " + keyspace + "." + table + " does not exist");
  for (const auto& [name, other] : ks->second.tables) {
    for (const auto& i : other.indexes) {
      if (i.name == index.name)
        return Status::invalid_argument("Index '" + index.name + "' already exists");
    }
  }
  index.storage_id = next->next_storage_id++;
  RINGDB_RETURN_IF_ERROR(engine_.register_table(t->second.index_storage(index)));
  t->second.indexes.push_back(std::move(index));
  return commit(std::move(next));
}

Status SchemaManager::drop_index(const std::string& keyspace, const std::string& name) {
  std::lock_guard ddl(ddl_mutex_);
  auto next = std::make_unique<Schema>(*current());
  auto ks = next->keyspaces.find(keyspace);
  if (ks == next->keyspaces.end())
    return Status::not_found("Index '" + name +
                             "' could not be found in any of the tables of keyspace '" + keyspace +
                             "'");
  for (auto& [table_name, t] : ks->second.tables) {
    for (auto i = t.indexes.begin(); i != t.indexes.end(); ++i) {
      if (i->name != name) continue;
      const storage::TableId id = i->storage_id;
      t.indexes.erase(i);
      RINGDB_RETURN_IF_ERROR(commit(std::move(next)));
      return engine_.drop_table(id);
    }
  }
  return Status::not_found("Index '" + name +
                           "' could not be found in any of the tables of keyspace '" + keyspace +
                           "'");
}

Status SchemaManager::create_type(CqlType type) {
  std::lock_guard ddl(ddl_mutex_);
  auto next = std::make_unique<Schema>(*current());
  auto ks = next->keyspaces.find(type.keyspace);
  if (ks == next->keyspaces.end())
    return Status::invalid_argument("Keyspace '" + type.keyspace + "' doesn't exist");
  if (ks->second.types.count(type.name)) {
    return Status::invalid_argument("A user type with name '" + type.name + "' already exists");
  }
  type.frozen = false;
  ks->second.types.emplace(type.name, std::move(type));
  return commit(std::move(next));
}

Status SchemaManager::alter_type(const CqlType& type) {
  std::lock_guard ddl(ddl_mutex_);
  auto next = std::make_unique<Schema>(*current());
  auto ks = next->keyspaces.find(type.keyspace);
  if (ks == next->keyspaces.end() || !ks->second.types.count(type.name))
    return Status::not_found("Type " + type.keyspace + "." + type.name + " doesn't exist");
  for (auto& [name, t] : ks->second.types) t.replace_user_type(type);
  for (auto& [name, table] : ks->second.tables) {
    for (auto& c : table.columns) c.type.replace_user_type(type);
  }
  return commit(std::move(next));
}

Status SchemaManager::drop_type(const std::string& keyspace, const std::string& name) {
  std::lock_guard ddl(ddl_mutex_);
  auto next = std::make_unique<Schema>(*current());
  auto ks = next->keyspaces.find(keyspace);
  if (ks == next->keyspaces.end() || !ks->second.types.count(name))
    return Status::not_found("Type '" + keyspace + "." + name + "' doesn't exist");
  // As Cassandra: a type some other type or some table still uses stays.
  std::string users;
  for (const auto& [other, t] : ks->second.types) {
    if (other != name && t.references(keyspace, name)) users += (users.empty() ? "" : ", ") + other;
  }
  if (!users.empty()) {
    return Status::invalid_argument("Cannot drop user type '" + keyspace + "." + name +
                                    "' as it is still used by user types " + users);
  }
  for (const auto& [table_name, t] : ks->second.tables) {
    for (const auto& c : t.columns) {
      if (c.type.references(keyspace, name)) {
        users += (users.empty() ? "" : ", ") + table_name;
        break;
      }
    }
  }
  if (!users.empty()) {
    return Status::invalid_argument("Cannot drop user type '" + keyspace + "." + name +
                                    "' as it is still used by tables " + users);
  }
  ks->second.types.erase(name);
  return commit(std::move(next));
}

Status SchemaManager::truncate_table(const std::string& keyspace, const std::string& name) {
  auto schema = current();
  const TableMetadata* t = schema->table(keyspace, name);
  if (t == nullptr) return Status::invalid_argument("unconfigured table " + name);
  RINGDB_RETURN_IF_ERROR(engine_.truncate_table(t->storage_id));
  for (const auto& index : t->indexes)
    RINGDB_RETURN_IF_ERROR(engine_.truncate_table(index.storage_id));
  return Status::ok();
}

}  // namespace ringdb::schema
