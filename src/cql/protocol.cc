#include "cql/protocol.h"

namespace ringdb::cql {

const char* consistency_name(Consistency c) {
  switch (c) {
    case Consistency::kAny:
      return "ANY";
    case Consistency::kOne:
      return "ONE";
    case Consistency::kTwo:
      return "TWO";
    case Consistency::kThree:
      return "THREE";
    case Consistency::kQuorum:
      return "QUORUM";
    case Consistency::kAll:
      return "ALL";
    case Consistency::kLocalQuorum:
      return "LOCAL_QUORUM";
    case Consistency::kEachQuorum:
      return "EACH_QUORUM";
    case Consistency::kSerial:
      return "SERIAL";
    case Consistency::kLocalSerial:
      return "LOCAL_SERIAL";
    case Consistency::kLocalOne:
      return "LOCAL_ONE";
  }
  return "UNKNOWN";
}

FrameHeader decode_header(const uint8_t* b) {
  FrameHeader h;
  h.version = b[0];
  h.flags = b[1];
  h.stream = static_cast<int16_t>((b[2] << 8) | b[3]);
  h.opcode = static_cast<Opcode>(b[4]);
  h.length = (static_cast<uint32_t>(b[5]) << 24) | (static_cast<uint32_t>(b[6]) << 16) |
             (static_cast<uint32_t>(b[7]) << 8) | b[8];
  return h;
}

void encode_header(const FrameHeader& h, Bytes* out) {
  BufferWriter w(out);
  w.put_u8(h.version);
  w.put_u8(h.flags);
  w.put_i16(h.stream);
  w.put_u8(static_cast<uint8_t>(h.opcode));
  w.put_u32(h.length);
}

bool BodyReader::get_string(std::string* v) {
  uint16_t n;
  BytesView s;
  if (!r_.get_u16(&n) || !r_.get_bytes(n, &s)) return false;
  *v = std::string(s);
  return true;
}

bool BodyReader::get_long_string(std::string* v) {
  int32_t n;
  BytesView s;
  if (!r_.get_i32(&n) || n < 0 || !r_.get_bytes(static_cast<size_t>(n), &s)) return false;
  *v = std::string(s);
  return true;
}

bool BodyReader::get_short_bytes(Bytes* v) {
  uint16_t n;
  BytesView s;
  if (!r_.get_u16(&n) || !r_.get_bytes(n, &s)) return false;
  *v = Bytes(s);
  return true;
}

bool BodyReader::get_value(std::optional<Bytes>* v, bool* unset) {
  int32_t n;
  if (!r_.get_i32(&n)) return false;
  if (unset) *unset = n == -2;
  if (n < 0) {
    if (n < -2 || (n == -2 && unset == nullptr)) return false;
    v->reset();
    return true;
  }
  BytesView s;
  if (!r_.get_bytes(static_cast<size_t>(n), &s)) return false;
  *v = Bytes(s);
  return true;
}

bool BodyReader::get_string_list(std::vector<std::string>* v) {
  uint16_t n;
  if (!r_.get_u16(&n)) return false;
  v->clear();
  for (uint16_t i = 0; i < n; ++i) {
    std::string s;
    if (!get_string(&s)) return false;
    v->push_back(std::move(s));
  }
  return true;
}

bool BodyReader::get_string_map(std::map<std::string, std::string>* v) {
  uint16_t n;
  if (!r_.get_u16(&n)) return false;
  v->clear();
  for (uint16_t i = 0; i < n; ++i) {
    std::string k, s;
    if (!get_string(&k) || !get_string(&s)) return false;
    (*v)[k] = s;
  }
  return true;
}

void BodyWriter::string(std::string_view v) {
  w_.put_u16(static_cast<uint16_t>(v.size()));
  w_.put_bytes(v);
}
void BodyWriter::long_string(std::string_view v) {
  w_.put_i32(static_cast<int32_t>(v.size()));
  w_.put_bytes(v);
}
void BodyWriter::short_bytes(BytesView v) {
  w_.put_u16(static_cast<uint16_t>(v.size()));
  w_.put_bytes(v);
}
void BodyWriter::bytes(BytesView v) {
  w_.put_i32(static_cast<int32_t>(v.size()));
  w_.put_bytes(v);
}
void BodyWriter::string_list(const std::vector<std::string>& v) {
  w_.put_u16(static_cast<uint16_t>(v.size()));
  for (const auto& s : v) string(s);
}
void BodyWriter::string_multimap(const std::map<std::string, std::vector<std::string>>& v) {
  w_.put_u16(static_cast<uint16_t>(v.size()));
  for (const auto& [k, list] : v) {
    string(k);
    string_list(list);
  }
}
void BodyWriter::inet(BytesView address, int32_t port) {
  w_.put_u8(static_cast<uint8_t>(address.size()));
  w_.put_bytes(address);
  w_.put_i32(port);
}

}  // namespace ringdb::cql
