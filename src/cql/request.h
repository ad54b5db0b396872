// Decoding of request bodies (QUERY, PREPARE, EXECUTE, BATCH) into plain values. Input comes from
// strangers: every malformed body yields an error message for a protocol ERROR, never a crash.
// Pure functions, thread-safe; also the entry point of the frame fuzzer.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "cql/executor.h"
#include "cql/protocol.h"

namespace ringdb::cql {

struct Request {
  Opcode opcode = Opcode::kQuery;
  std::string query;  // QUERY, PREPARE
  Bytes id;           // EXECUTE
  QueryOptions options;
  uint8_t batch_type = 0;
  std::vector<BatchEntry> entries;
};

// Decodes the body of a QUERY, PREPARE, EXECUTE or BATCH frame (already decompressed).
[[nodiscard]] Result<Request> decode_request(Opcode opcode, BytesView body);

}  // namespace ringdb::cql
