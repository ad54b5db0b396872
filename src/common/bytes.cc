#include "common/bytes.h"

namespace ringdb {

std::string utf8_escaped(BytesView s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t length = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xe  ? 3
                    : (c >> 3) == 0x1e ? 4
                                       : 0;
    bool ok = length > 0 && s.size() - i >= length;
    for (size_t k = 1; ok && k < length; ++k)
      ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    // Overlong two-byte forms (C0, C1) are not UTF-8 either.
    if (ok && length == 2 && c < 0xc2) ok = false;
    if (!ok) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
      ++i;
      continue;
    }
    out.append(s.data() + i, length);
    i += length;
  }
  return out;
}

std::string to_hex(BytesView bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

}  // namespace ringdb
