// CQL native protocol v4: frame header, opcodes, error codes, and the body notation's codecs
// ([string], [long string], [bytes], [value], [string map], …), per
// doc/native_protocol_v4.spec in Apache Cassandra.
//
// BodyReader never reads past the end of a body: every get_* returns false on truncated input,
// and the caller answers with a protocol error. Plain values; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"

namespace ringdb::cql {

constexpr uint8_t kProtocolVersion = 4;
constexpr size_t kHeaderBytes = 9;

enum class Opcode : uint8_t {
  kError = 0x00,
  kStartup = 0x01,
  kReady = 0x02,
  kAuthenticate = 0x03,
  kOptions = 0x05,
  kSupported = 0x06,
  kQuery = 0x07,
  kResult = 0x08,
  kPrepare = 0x09,
  kExecute = 0x0A,
  kRegister = 0x0B,
  kEvent = 0x0C,
  kBatch = 0x0D,
  kAuthChallenge = 0x0E,
  kAuthResponse = 0x0F,
  kAuthSuccess = 0x10,
};

constexpr uint8_t kFlagCompression = 0x01;
constexpr uint8_t kFlagTracing = 0x02;
constexpr uint8_t kFlagCustomPayload = 0x04;
constexpr uint8_t kFlagWarning = 0x08;

enum class ErrorCode : int32_t {
  kServerError = 0x0000,
  kProtocolError = 0x000A,
  kBadCredentials = 0x0100,
  kUnavailable = 0x1000,
  kOverloaded = 0x1001,
  kIsBootstrapping = 0x1002,
  kTruncateError = 0x1003,
  kWriteTimeout = 0x1100,
  kReadTimeout = 0x1200,
  kReadFailure = 0x1300,
  kFunctionFailure = 0x1400,
  kWriteFailure = 0x1500,
  kSyntaxError = 0x2000,
  kUnauthorized = 0x2100,
  kInvalid = 0x2200,
  kConfigError = 0x2300,
  kAlreadyExists = 0x2400,
  kUnprepared = 0x2500,
};

enum class Consistency : uint16_t {
  kAny = 0x0000,
  kOne = 0x0001,
  kTwo = 0x0002,
  kThree = 0x0003,
  kQuorum = 0x0004,
  kAll = 0x0005,
  kLocalQuorum = 0x0006,
  kEachQuorum = 0x0007,
  kSerial = 0x0008,
  kLocalSerial = 0x0009,
  kLocalOne = 0x000A,
};
const char* consistency_name(Consistency c);

struct FrameHeader {
  uint8_t version = 0;  // with the direction bit
  uint8_t flags = 0;
  int16_t stream = 0;
  Opcode opcode = Opcode::kError;
  uint32_t length = 0;
};

FrameHeader decode_header(const uint8_t* bytes);  // exactly kHeaderBytes
void encode_header(const FrameHeader& header, Bytes* out);

class BodyReader {
 public:
  explicit BodyReader(BytesView body) : r_(body) {}
  [[nodiscard]] bool get_byte(uint8_t* v) { return r_.get_u8(v); }
  [[nodiscard]] bool get_short(uint16_t* v) { return r_.get_u16(v); }
  [[nodiscard]] bool get_int(int32_t* v) { return r_.get_i32(v); }
  [[nodiscard]] bool get_long(int64_t* v) { return r_.get_i64(v); }
  [[nodiscard]] bool get_string(std::string* v);
  [[nodiscard]] bool get_long_string(std::string* v);
  [[nodiscard]] bool get_short_bytes(Bytes* v);
  // [bytes] / [value]: nullopt for null (-1); `unset` reports -2 ("not set", values only).
  [[nodiscard]] bool get_value(std::optional<Bytes>* v, bool* unset = nullptr);
  [[nodiscard]] bool get_string_list(std::vector<std::string>* v);
  [[nodiscard]] bool get_string_map(std::map<std::string, std::string>* v);
  bool at_end() const { return r_.at_end(); }
  size_t remaining() const { return r_.remaining(); }

 private:
  BufferReader r_;
};

class BodyWriter {
 public:
  void byte(uint8_t v) { w_.put_u8(v); }
  void short_(uint16_t v) { w_.put_u16(v); }
  void int_(int32_t v) { w_.put_i32(v); }
  void long_(int64_t v) { w_.put_i64(v); }
  void string(std::string_view v);
  void long_string(std::string_view v);
  void short_bytes(BytesView v);
  void bytes(BytesView v);
  void null_bytes() { w_.put_i32(-1); }
  void optional_bytes(const std::optional<Bytes>& v) { v ? bytes(*v) : null_bytes(); }
  void string_list(const std::vector<std::string>& v);
  void string_multimap(const std::map<std::string, std::vector<std::string>>& v);
  void inet(BytesView address, int32_t port);
  void raw(BytesView v) { w_.put_bytes(v); }
  Bytes& data() { return w_.data(); }
  Bytes release() { return w_.release(); }

 private:
  BufferWriter w_;
};

}  // namespace ringdb::cql
