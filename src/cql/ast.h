// The syntax tree of the CQL statements RingDB understands. Produced by parser.h, bound to the
// schema and run by the executor. Plain values.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "schema/values.h"

namespace ringdb::cql {

// A value expression: a literal, null, a bind marker, a collection or tuple literal, or a
// function call such as now() or token(...).
struct Term {
  enum class Kind { kLiteral, kNull, kBindMarker, kList, kSet, kMap, kTuple, kFunction, kUdt };
  Kind kind = Kind::kNull;
  schema::LiteralKind literal_kind = schema::LiteralKind::kString;
  std::string text;            // literal text; function name
  int bind_index = -1;         // position among the statement's bind markers
  std::string bind_name;       // for :name markers
  std::vector<Term> elements;  // collection elements (maps: key, value, key, …), tuple items, args
  std::vector<std::string> field_names;  // kUdt: {name: value, …}, one per element
};

struct Selector {
  enum class Kind {
    kColumn,
    kStar,
    kCountStar,
    kFunction,
    kWritetime,
    kTtl,
    kCast,
    kTerm,
    kElement,
    kField  // args[0].name: a field of a user-defined type's value
  };
  Kind kind = Kind::kColumn;
  std::string name;  // column or function name
  std::vector<Selector> args;
  std::string cast_type;  // kCast: the target type; kTerm: the type hint, as in (int)1
  Term term;
  std::string alias;
  // kElement: args[0][element], or args[0][range_from..range_to] with either end left open.
  bool range = false;
  std::optional<Term> element, range_from, range_to;
};

struct Relation {
  // kIsNotNull and kLike parse (as Cassandra's grammar does) and are refused when planned.
  enum class Op { kEq, kLt, kLe, kGt, kGe, kNeq, kIn, kContains, kContainsKey, kIsNotNull, kLike };
  std::vector<std::string> columns;  // one, or several for (a, b) > (1, 2)
  bool tuple_notation = false;       // (a, b) op ..., also (a) op (1): a multi-column relation
  bool is_token = false;             // token(a, b) > ...
  Op op = Op::kEq;
  Term value;                       // for IN: a kList term (or a single bind marker)
  std::optional<Term> element_key;  // m['k'] = v in conditions
  std::string field;                // u.f = v in conditions (a user type's field)
};

struct UsingClause {
  std::optional<Term> ttl;
  std::optional<Term> timestamp;
};

struct SelectStatement {
  std::string keyspace;
  std::string table;
  bool distinct = false;
  bool json = false;
  std::vector<Selector> selectors;  // empty: *
  std::vector<Relation> where;
  std::vector<std::string> group_by;
  std::vector<std::pair<std::string, bool>> order_by;  // column, descending
  std::optional<Term> limit;
  std::optional<Term> per_partition_limit;
  bool allow_filtering = false;
};

struct InsertStatement {
  std::string keyspace;
  std::string table;
  std::vector<std::string> columns;
  std::vector<Term> values;
  std::optional<Term> json;
  bool json_default_unset = false;
  bool if_not_exists = false;
  UsingClause using_clause;
};

struct Operation {
  enum class Kind { kSet, kAdd, kSubtract, kPrepend, kSetElement, kSetField };
  Kind kind = Kind::kSet;
  std::string column;
  std::string field;        // kSetField: col.field = value
  std::optional<Term> key;  // col[key] = value
  Term value;
};

struct UpdateStatement {
  std::string keyspace;
  std::string table;
  UsingClause using_clause;
  std::vector<Operation> operations;
  std::vector<Relation> where;
  std::vector<Relation> conditions;
  bool if_exists = false;
};

struct DeleteStatement {
  std::string keyspace;
  std::string table;
  std::vector<std::pair<std::string, std::optional<Term>>> columns;  // column, element key
  std::vector<std::pair<std::string, std::string>> fields;           // DELETE col.field
  UsingClause using_clause;
  std::vector<Relation> where;
  std::vector<Relation> conditions;
  bool if_exists = false;
};

struct BatchStatement {
  enum class Type { kLogged, kUnlogged, kCounter };
  Type type = Type::kLogged;
  UsingClause using_clause;
  std::vector<std::variant<InsertStatement, UpdateStatement, DeleteStatement>> statements;
};

struct CreateKeyspaceStatement {
  std::string name;
  bool if_not_exists = false;
  bool has_replication = false;  // WITH replication = {...} was given (Cassandra requires it)
  std::map<std::string, std::string> replication;
  std::optional<bool> durable_writes;
};

struct AlterKeyspaceStatement {
  std::string name;
  std::map<std::string, std::string> replication;
  std::optional<bool> durable_writes;
};

struct DropKeyspaceStatement {
  std::string name;
  bool if_exists = false;
};

struct ColumnDefinition {
  std::string name;
  std::string type;
  bool is_static = false;
};

// WITH options: name → value text (numbers, strings) or a map literal.
struct TableOption {
  std::string value;
  std::map<std::string, std::string> map;
  bool is_map = false;
};

struct CreateTableStatement {
  std::string keyspace;
  std::string name;
  bool if_not_exists = false;
  std::vector<ColumnDefinition> columns;
  std::vector<std::string> partition_key;
  std::vector<std::string> clustering;
  std::vector<std::pair<std::string, bool>> clustering_order;  // column, descending
  std::map<std::string, TableOption> options;
};

struct AlterTableStatement {
  std::string keyspace;
  std::string name;
  std::vector<ColumnDefinition> add;
  std::vector<std::string> drop;
  std::vector<std::pair<std::string, std::string>> rename;  // old name, new name
  std::map<std::string, TableOption> options;
};

struct DropTableStatement {
  std::string keyspace;
  std::string name;
  bool if_exists = false;
  bool is_type = false;  // DROP TYPE
};

// CREATE TYPE, and ALTER TYPE (`alter` says which form; ADD has its one field in `fields`).
struct CreateTypeStatement {
  enum class Alter { kNone, kAdd, kRename, kAlterField };
  std::string keyspace;
  std::string name;
  bool if_not_exists = false;
  std::vector<std::pair<std::string, std::string>> fields;  // name, type text
  Alter alter = Alter::kNone;
  std::vector<std::pair<std::string, std::string>> renames;  // RENAME old TO new AND …
};

// CREATE INDEX (and DROP INDEX when `drop`): one target column, as `c` or `full(c)`, …
struct IndexStatement {
  bool drop = false;
  std::string keyspace;  // of the table (CREATE) or of the index (DROP)
  std::string table;
  std::string name;        // empty: Cassandra's default name
  bool if_exists = false;  // IF NOT EXISTS for CREATE
  std::string column;
  std::string target = "simple";  // simple, keys, values, entries, full
  bool custom = false;
};

struct TruncateStatement {
  std::string keyspace;
  std::string name;
};

struct UseStatement {
  std::string keyspace;
};

using Statement =
    std::variant<SelectStatement, InsertStatement, UpdateStatement, DeleteStatement, BatchStatement,
                 CreateKeyspaceStatement, AlterKeyspaceStatement, DropKeyspaceStatement,
                 CreateTableStatement, AlterTableStatement, DropTableStatement, TruncateStatement,
                 UseStatement, CreateTypeStatement, IndexStatement>;

struct ParsedStatement {
  Statement statement;
  int bind_count = 0;
  std::vector<std::string> bind_names;  // per marker; empty for '?'
};

}  // namespace ringdb::cql
