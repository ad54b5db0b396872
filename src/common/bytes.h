// Byte encoders and decoders for wire formats and stored keys/values.
//
// BufferWriter appends big-endian integers and length-prefixed blobs to a std::string it owns.
// BufferReader walks a view it does not own (the viewed bytes must outlive it); every read is
// bounds-checked and returns false on truncated input instead of reading past the end, because
// the bytes may come from a stranger or a damaged disk. Neither type is thread-safe.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ringdb {

using Bytes = std::string;           // owned bytes; std::string for cheap small-buffer storage
using BytesView = std::string_view;  // a view that never outlives the buffer it points into

class BufferWriter {
 public:
  BufferWriter() = default;
  explicit BufferWriter(Bytes* out) : external_(out) {}

  void put_u8(uint8_t v) { out().push_back(static_cast<char>(v)); }
  void put_u16(uint16_t v) { put_be(v); }
  void put_u32(uint32_t v) { put_be(v); }
  void put_u64(uint64_t v) { put_be(v); }
  void put_i16(int16_t v) { put_be(static_cast<uint16_t>(v)); }
  void put_i32(int32_t v) { put_be(static_cast<uint32_t>(v)); }
  void put_i64(int64_t v) { put_be(static_cast<uint64_t>(v)); }
  void put_bytes(BytesView v) { out().append(v.data(), v.size()); }
  // [u32 length][bytes]
  void put_length_prefixed(BytesView v) {
    put_u32(static_cast<uint32_t>(v.size()));
    put_bytes(v);
  }

  Bytes& data() { return out(); }
  Bytes release() { return std::move(out()); }
  size_t size() const { return external_ ? external_->size() : own_.size(); }

 private:
  template <typename U>
  void put_be(U v) {
    char b[sizeof(U)];
    for (size_t i = 0; i < sizeof(U); ++i) b[i] = static_cast<char>(v >> (8 * (sizeof(U) - 1 - i)));
    out().append(b, sizeof(U));
  }
  Bytes& out() { return external_ ? *external_ : own_; }
  const Bytes& out() const { return external_ ? *external_ : own_; }

  Bytes own_;
  Bytes* external_ = nullptr;
};

class BufferReader {
 public:
  explicit BufferReader(BytesView data) : data_(data) {}

  [[nodiscard]] bool get_u8(uint8_t* v) { return get_be(v); }
  [[nodiscard]] bool get_u16(uint16_t* v) { return get_be(v); }
  [[nodiscard]] bool get_u32(uint32_t* v) { return get_be(v); }
  [[nodiscard]] bool get_u64(uint64_t* v) { return get_be(v); }
  [[nodiscard]] bool get_i16(int16_t* v) { return get_signed<uint16_t>(v); }
  [[nodiscard]] bool get_i32(int32_t* v) { return get_signed<uint32_t>(v); }
  [[nodiscard]] bool get_i64(int64_t* v) { return get_signed<uint64_t>(v); }
  [[nodiscard]] bool get_bytes(size_t n, BytesView* v) {
    if (remaining() < n) return false;
    *v = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  [[nodiscard]] bool get_length_prefixed(BytesView* v) {
    uint32_t n;
    return get_u32(&n) && get_bytes(n, v);
  }
  [[nodiscard]] bool skip(size_t n) {
    if (remaining() < n) return false;
    pos_ += n;
    return true;
  }

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool at_end() const { return pos_ == data_.size(); }
  BytesView rest() const { return data_.substr(pos_); }

 private:
  template <typename U>
  bool get_be(U* v) {
    if (remaining() < sizeof(U)) return false;
    U r = 0;
    for (size_t i = 0; i < sizeof(U); ++i)
      r = static_cast<U>((r << 8) | static_cast<uint8_t>(data_[pos_ + i]));
    *v = r;
    pos_ += sizeof(U);
    return true;
  }
  template <typename U, typename S>
  bool get_signed(S* v) {
    U u;
    if (!get_be(&u)) return false;
    *v = static_cast<S>(u);
    return true;
  }

  BytesView data_;
  size_t pos_ = 0;
};

// Hex of `bytes`, lower case, for logs and test messages.
std::string to_hex(BytesView bytes);
// `s` with ASCII letters in lower case (CQL keywords and unquoted names are case-insensitive).
std::string ascii_lower(std::string_view s);
// `s` with ASCII letters in upper case (keywords quoted back in messages).
std::string ascii_upper(std::string_view s);
// `s` with each byte that is not part of a well-formed UTF-8 sequence written as \xNN, so that
// text quoted from untrusted input can go where the protocol requires UTF-8 (error messages).
std::string utf8_escaped(BytesView s);
// `s` with each such byte replaced by U+FFFD, as Java decodes text (Cassandra reads statements so).
std::string utf8_replaced(BytesView s);

}  // namespace ringdb
