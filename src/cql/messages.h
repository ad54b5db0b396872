// What the query layer gives back to the protocol layer: RESULT bodies and typed errors, plus
// the parameters a QUERY or EXECUTE arrived with. Plain values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cql/protocol.h"
#include "schema/types.h"

namespace ringdb::cql {

struct ColumnSpec {
  std::string keyspace;
  std::string table;
  std::string name;
  schema::CqlType type;
};

using RowValues = std::vector<std::optional<Bytes>>;

struct ResultMessage {
  enum class Kind : int32_t {
    kVoid = 1,
    kRows = 2,
    kSetKeyspace = 3,
    kPrepared = 4,
    kSchemaChange = 5
  };
  Kind kind = Kind::kVoid;
  // Rows
  std::vector<ColumnSpec> columns;
  std::vector<RowValues> rows;
  std::optional<Bytes> paging_state;
  // SetKeyspace
  std::string keyspace;
  // SchemaChange: change CREATED|UPDATED|DROPPED, target KEYSPACE|TABLE, keyspace, name
  std::string change;
  std::string target;
  std::string change_keyspace;
  std::string change_name;
  // Prepared
  Bytes prepared_id;
  std::vector<ColumnSpec> bind_columns;
  std::vector<uint16_t> partition_key_indexes;
};

// A CQL ERROR body: the code, the message, and the code's extra fields where it has them.
struct CqlError {
  ErrorCode code = ErrorCode::kServerError;
  std::string message;
  std::string keyspace;                         // AlreadyExists
  std::string table;                            // AlreadyExists
  Bytes unprepared_id;                          // Unprepared
  Consistency consistency = Consistency::kOne;  // Unavailable, timeouts
  int32_t required = 0;
  int32_t alive = 0;                   // received, for the read and write errors
  int32_t failures = 0;                // ReadFailure
  std::string function_keyspace;       // FunctionFailure
  std::string function_name;           // FunctionFailure
  std::vector<std::string> arg_types;  // FunctionFailure
};

struct QueryOptions {
  Consistency consistency = Consistency::kOne;
  std::vector<std::optional<Bytes>> values;
  std::vector<bool> unset;         // per value: the client sent "not set"
  std::vector<std::string> names;  // per value, when the client named them
  bool skip_metadata = false;
  int32_t page_size = -1;
  std::optional<Bytes> paging_state;
  std::optional<Consistency> serial_consistency;
  std::optional<int64_t> timestamp;
};

}  // namespace ringdb::cql
