// libFuzzer target: CQL statement text through the lexer and parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cql/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed =
      ringdb::cql::parse_statement(std::string_view(reinterpret_cast<const char*>(data), size));
  (void)parsed.is_ok();
  return 0;
}
