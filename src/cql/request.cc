#include "cql/request.h"

#include <algorithm>

namespace ringdb::cql {
namespace {

// [query parameters] of QUERY and EXECUTE (v4: one flags byte).
bool read_query_parameters(BodyReader& r, QueryOptions* o, std::string* why) {
  uint16_t consistency;
  uint8_t flags;
  if (!r.get_short(&consistency) || !r.get_byte(&flags)) {
    *why = "truncated query parameters";
    return false;
  }
  o->consistency = static_cast<Consistency>(consistency);
  if (flags & 0x01) {
    uint16_t n;
    if (!r.get_short(&n)) return (*why = "truncated values", false);
    // Each value takes at least its 4-byte length: a short frame cannot make us reserve much.
    const size_t expected = std::min<size_t>(n, r.remaining() / 4);
    o->values.reserve(expected);
    o->unset.reserve(expected);
    for (uint16_t i = 0; i < n; ++i) {
      if (flags & 0x40) {
        std::string name;
        if (!r.get_string(&name)) return (*why = "truncated value name", false);
        o->names.push_back(name);
      }
      std::optional<Bytes> v;
      bool unset = false;
      if (!r.get_value(&v, &unset)) return (*why = "truncated value", false);
      o->values.push_back(std::move(v));
      o->unset.push_back(unset);
    }
  }
  o->skip_metadata = flags & 0x02;
  if (flags & 0x04) {
    int32_t size;
    if (!r.get_int(&size)) return (*why = "truncated page size", false);
    o->page_size = size;
  }
  if (flags & 0x08) {
    std::optional<Bytes> state;
    if (!r.get_value(&state)) return (*why = "truncated paging state", false);
    o->paging_state = state;
  }
  if (flags & 0x10) {
    uint16_t serial;
    if (!r.get_short(&serial)) return (*why = "truncated serial consistency", false);
    o->serial_consistency = static_cast<Consistency>(serial);
  }
  if (flags & 0x20) {
    int64_t ts;
    if (!r.get_long(&ts)) return (*why = "truncated timestamp", false);
    o->timestamp = ts;
  }
  if (flags & 0x80) return (*why = "unknown query flag 0x80", false);
  if (!r.at_end()) return (*why = "trailing bytes after query parameters", false);
  return true;
}

bool read_batch(BodyReader& r, Request* request, std::string* why) {
  uint16_t n;
  if (!r.get_byte(&request->batch_type) || !r.get_short(&n))
    return (*why = "truncated batch header", false);
  for (uint16_t i = 0; i < n; ++i) {
    BatchEntry entry;
    uint8_t kind;
    if (!r.get_byte(&kind)) return (*why = "truncated batch entry", false);
    if (kind == 0) {
      if (!r.get_long_string(&entry.query)) return (*why = "truncated batch query", false);
    } else if (kind == 1) {
      entry.is_prepared = true;
      if (!r.get_short_bytes(&entry.prepared_id)) return (*why = "truncated batch id", false);
    } else {
      return (*why = "invalid batch entry kind " + std::to_string(kind), false);
    }
    uint16_t values;
    if (!r.get_short(&values)) return (*why = "truncated batch values", false);
    for (uint16_t v = 0; v < values; ++v) {
      std::optional<Bytes> value;
      bool unset = false;
      if (!r.get_value(&value, &unset)) return (*why = "truncated batch value", false);
      entry.values.push_back(std::move(value));
      entry.unset.push_back(unset);
    }
    request->entries.push_back(std::move(entry));
  }
  uint16_t consistency;
  uint8_t flags;
  if (!r.get_short(&consistency) || !r.get_byte(&flags))
    return (*why = "truncated batch parameters", false);
  request->options.consistency = static_cast<Consistency>(consistency);
  if (flags & 0x10) {
    uint16_t serial;
    if (!r.get_short(&serial)) return (*why = "truncated serial consistency", false);
  }
  if (flags & 0x20) {
    int64_t ts;
    if (!r.get_long(&ts)) return (*why = "truncated timestamp", false);
    request->options.timestamp = ts;
  }
  if (flags & 0x40) return (*why = "named values in BATCH are not supported", false);
  if (!r.at_end()) return (*why = "trailing bytes", false);
  return true;
}

}  // namespace

Result<Request> decode_request(Opcode opcode, BytesView body) {
  Request request;
  request.opcode = opcode;
  BodyReader r(body);
  std::string why = "malformed body";
  bool ok = false;
  switch (opcode) {
    case Opcode::kQuery:
      ok = r.get_long_string(&request.query) && read_query_parameters(r, &request.options, &why);
      break;
    case Opcode::kPrepare:
      ok = r.get_long_string(&request.query) && r.at_end();
      break;
    case Opcode::kExecute:
      ok = r.get_short_bytes(&request.id) && read_query_parameters(r, &request.options, &why);
      break;
    case Opcode::kBatch:
      ok = read_batch(r, &request, &why);
      break;
    default:
      why = "not a request with a query";
  }
  // Statements are UTF-8: ill-formed bytes read as U+FFFD, as Java reads them in Cassandra, so
  // that names and values taken from the text are UTF-8 wherever they go back to a client.
  if (ok) {
    request.query = utf8_replaced(request.query);
    for (auto& entry : request.entries) entry.query = utf8_replaced(entry.query);
  }
  if (!ok) {
    return Status::invalid_argument("Invalid " +
                                    std::string(opcode == Opcode::kBatch ? "BATCH" : "request") +
                                    " message: " + why);
  }
  return request;
}

}  // namespace ringdb::cql
