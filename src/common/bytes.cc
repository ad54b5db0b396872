#include "common/bytes.h"

namespace ringdb {

namespace {

// The length of the well-formed UTF-8 sequence at s[i], or 0 when the byte there starts none
// (a stray continuation byte, a cut-short or overlong sequence, a byte UTF-8 never uses).
size_t utf8_sequence_at(BytesView s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const size_t length = c < 0x80                ? 1
                        : c >= 0xc2 && c < 0xe0 ? 2
                        : (c >> 4) == 0xe       ? 3
                        : c >= 0xf0 && c < 0xf5 ? 4
                                                : 0;
  if (length == 0 || s.size() - i < length) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  }
  return length;
}

template <typename OnBad>
std::string utf8_rewritten(BytesView s, OnBad on_bad) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t length = utf8_sequence_at(s, i);
    if (length == 0) {
      on_bad(static_cast<unsigned char>(s[i]), &out);
      ++i;
      continue;
    }
    out.append(s.data() + i, length);
    i += length;
  }
  return out;
}

}  // namespace

std::string utf8_escaped(BytesView s) {
  return utf8_rewritten(s, [](unsigned char c, std::string* out) {
    static const char kHex[] = "0123456789abcdef";
    *out += "\\x";
    out->push_back(kHex[c >> 4]);
    out->push_back(kHex[c & 0xf]);
  });
}

std::string utf8_replaced(BytesView s) {
  return utf8_rewritten(s, [](unsigned char, std::string* out) { *out += "\xef\xbf\xbd"; });
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
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
