// libFuzzer target: a CQL frame as the server decodes it (header, then a request body).
// Build with `make fuzz`; run e.g. `./build-fuzz/fuzz/frame_fuzzer -max_total_time=60`.
#include <cstddef>
#include <cstdint>

#include "cql/protocol.h"
#include "cql/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringdb::cql;
  if (size < kHeaderBytes) return 0;
  const FrameHeader header = decode_header(data);
  ringdb::BytesView body(reinterpret_cast<const char*>(data) + kHeaderBytes, size - kHeaderBytes);
  auto request = decode_request(header.opcode, body);
  (void)request.is_ok();
  BodyReader r(body);
  std::map<std::string, std::string> startup;
  (void)r.get_string_map(&startup);
  return 0;
}
