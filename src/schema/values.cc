#include "schema/values.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "common/bignum.h"

namespace ringdb::schema {
namespace {

// Cassandra's raw form of a date or time: an optional minus and digits (^-?\d+$).
bool raw_digits(std::string_view text) {
  if (!text.empty() && text[0] == '-') text.remove_prefix(1);
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

const char* literal_name(LiteralKind kind) {
  switch (kind) {
    case LiteralKind::kString:
      return "STRING";
    case LiteralKind::kInteger:
      return "INTEGER";
    case LiteralKind::kFloat:
      return "FLOAT";
    case LiteralKind::kBoolean:
      return "BOOLEAN";
    case LiteralKind::kUuid:
      return "UUID";
    case LiteralKind::kHex:
      return "HEX";
    case LiteralKind::kDuration:
      return "DURATION";
  }
  return "?";
}

Status mismatch(const CqlType& type, LiteralKind kind, std::string_view text) {
  return Status::invalid_argument("Invalid " + std::string(literal_name(kind)) + " constant (" +
                                  std::string(text) + ") for type " + type.to_cql());
}

Bytes fixed(uint64_t v, int width) {
  Bytes out;
  for (int i = width - 1; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
  return out;
}
uint64_t load_be(BytesView v) {
  uint64_t r = 0;
  for (unsigned char c : v) r = (r << 8) | c;
  return r;
}
int64_t load_signed(BytesView v) {
  const int shift = 64 - 8 * static_cast<int>(v.size());
  return v.empty() ? 0 : static_cast<int64_t>(load_be(v) << shift) >> shift;
}

Result<int64_t> parse_int64(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size())
    return Status::invalid_argument("bad integer");
  return v;
}

// Decimal text ("-12.50e3") as an unscaled varint and a scale.
Result<std::pair<BigInt, int32_t>> parse_decimal(std::string_view text) {
  BigInt b;
  size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) b.negative = text[i++] == '-';
  std::string digits;
  int64_t scale = 0;
  bool point = false, any = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
      any = true;
      if (point) ++scale;
    } else if (c == '.' && !point) {
      point = true;
    } else {
      break;
    }
  }
  if (!any) return Status::invalid_argument("bad number");
  if (i < text.size()) {
    if (text[i] != 'e' && text[i] != 'E') return Status::invalid_argument("bad number");
    auto exponent = parse_int64(text.substr(i + 1 + (i + 1 < text.size() && text[i + 1] == '+')));
    if (!exponent.is_ok() || *exponent > 1'000'000'000 || *exponent < -1'000'000'000) {
      return Status::invalid_argument("bad exponent");
    }
    scale -= *exponent;
  }
  if (scale > INT32_MAX || scale < INT32_MIN) return Status::invalid_argument("scale out of range");
  b.magnitude = digits_to_magnitude(digits);
  if (b.magnitude.empty()) b.negative = false;
  return std::make_pair(b, static_cast<int32_t>(scale));
}

Result<Bytes> parse_uuid(std::string_view text) {
  Bytes out;
  int nibbles = 0;
  unsigned char cur = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '-' && (i == 8 || i == 13 || i == 18 || i == 23)) continue;
    int v = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : -1;
    if (v < 0) return Status::invalid_argument("bad uuid");
    cur = static_cast<unsigned char>((cur << 4) | v);
    if (++nibbles % 2 == 0) out.push_back(static_cast<char>(cur));
  }
  if (out.size() != 16 || text.size() != 36) return Status::invalid_argument("bad uuid");
  return out;
}

// 'yyyy-mm-dd'
Result<int64_t> parse_date_days(std::string_view text) {
  int64_t y;
  unsigned m, d;
  size_t first = text.find('-', text[0] == '-' ? 1 : 0);
  if (first == std::string_view::npos || text.size() < first + 6 || text[first + 3] != '-')
    return Status::invalid_argument("bad date");
  auto year = parse_int64(text.substr(0, first));
  auto month = parse_int64(text.substr(first + 1, 2));
  auto day = parse_int64(text.substr(first + 4));
  if (!year.is_ok() || !month.is_ok() || !day.is_ok()) return Status::invalid_argument("bad date");
  y = *year;
  m = static_cast<unsigned>(*month);
  d = static_cast<unsigned>(*day);
  if (m < 1 || m > 12 || d < 1 || d > 31) return Status::invalid_argument("bad date");
  int64_t days = days_from_civil(y, m, d);
  int64_t yy;
  unsigned mm, dd;
  civil_from_days(days, &yy, &mm, &dd);
  if (mm != m || dd != d) return Status::invalid_argument("bad date");
  return days;
}

// 'hh:mm:ss[.fffffffff]' as nanoseconds since midnight.
Result<int64_t> parse_time_nanos(std::string_view text) {
  if (text.size() < 8 || text[2] != ':' || text[5] != ':')
    return Status::invalid_argument("bad time");
  auto h = parse_int64(text.substr(0, 2)), m = parse_int64(text.substr(3, 2)),
       s = parse_int64(text.substr(6, 2));
  if (!h.is_ok() || !m.is_ok() || !s.is_ok() || *h > 23 || *m > 59 || *s > 59)
    return Status::invalid_argument("bad time");
  int64_t nanos = ((*h * 60 + *m) * 60 + *s) * 1'000'000'000;
  if (text.size() > 8) {
    if (text[8] != '.' || text.size() > 18 || text.size() == 9)
      return Status::invalid_argument("bad time");
    std::string frac(text.substr(9));
    for (char c : frac) {
      if (c < '0' || c > '9') return Status::invalid_argument("bad time");
    }
    frac.resize(9, '0');
    nanos += *parse_int64(frac);
  }
  return nanos;
}

// 'yyyy-mm-dd[(T| )hh:mm[:ss[.fff]]][Z|(+|-)hh[:]mm]' or milliseconds as digits.
Result<int64_t> parse_timestamp_millis(std::string_view text) {
  if (auto ms = parse_int64(text); ms.is_ok()) return *ms;
  size_t split = text.find_first_of("T ", 1);
  std::string_view date = text.substr(0, split);
  int64_t offset_minutes = 0;
  int64_t millis_of_day = 0;
  if (split != std::string_view::npos) {
    std::string_view rest = text.substr(split + 1);
    size_t zone = rest.find_first_of("Z+-");
    std::string_view clock = rest.substr(0, zone);
    if (zone != std::string_view::npos) {
      std::string_view z = rest.substr(zone);
      if (z != "Z") {
        std::string digits;
        for (char c : z.substr(1)) {
          if (c != ':') digits.push_back(c);
        }
        if (digits.size() != 4) return Status::invalid_argument("bad time zone");
        auto hh = parse_int64(digits.substr(0, 2)), mm = parse_int64(digits.substr(2));
        if (!hh.is_ok() || !mm.is_ok()) return Status::invalid_argument("bad time zone");
        offset_minutes = (*hh * 60 + *mm) * (z[0] == '-' ? -1 : 1);
      }
    }
    std::string c(clock);
    while (!c.empty() && c.back() == ' ') c.pop_back();
    if (c.size() == 5) c += ":00";
    RINGDB_ASSIGN_OR_RETURN(int64_t nanos, parse_time_nanos(c));
    millis_of_day = nanos / 1'000'000;
  } else {
    // A date alone may carry a zone: '2024-01-01+0000'.
    size_t zone = text.find_first_of("Z+", 8);
    if (zone != std::string_view::npos) date = text.substr(0, zone);
  }
  RINGDB_ASSIGN_OR_RETURN(int64_t days, parse_date_days(date));
  return days * 86'400'000 + millis_of_day - offset_minutes * 60'000;
}

void put_vint(int64_t v, Bytes* out) {  // Cassandra's zig-zag unsigned vint
  uint64_t u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  int extra = 0;
  // With `extra` more bytes there are 7 * extra + 7 bits for the value.
  while (extra < 8 && (u >> (7 * (extra + 1))) != 0) ++extra;
  // First byte: `extra` leading one bits, then the high bits of the value.
  int total = extra + 1;
  if (extra == 8) {
    out->push_back('\xff');
    for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(u >> (8 * i)));
    return;
  }
  uint8_t first = static_cast<uint8_t>(~(0xff >> extra)) | static_cast<uint8_t>(u >> (8 * extra));
  out->push_back(static_cast<char>(first));
  for (int i = total - 2; i >= 0; --i) out->push_back(static_cast<char>(u >> (8 * i)));
}

bool get_vint(BytesView in, size_t* pos, int64_t* v) {
  if (*pos >= in.size()) return false;
  uint8_t first = static_cast<uint8_t>(in[(*pos)++]);
  int extra = 0;
  while (extra < 8 && (first & (0x80 >> extra))) ++extra;
  if (in.size() - *pos < static_cast<size_t>(extra)) return false;
  uint64_t u = extra == 8 ? 0 : (first & (0xff >> extra));
  for (int i = 0; i < extra; ++i) u = (u << 8) | static_cast<uint8_t>(in[(*pos)++]);
  *v = static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
  return true;
}

// total += n * unit, false on overflow (a duration too large is bad input, not a wrap).
bool add_scaled(int64_t* total, int64_t n, int64_t unit) {
  int64_t product;
  return !__builtin_mul_overflow(n, unit, &product) &&
         !__builtin_add_overflow(*total, product, total);
}

// ISO 8601 durations, as Cassandra's Duration.from reads them: P[nY][nM][nD][T[nH][nM][nS]],
// PnW, and the alternative PYYYY-MM-DDThh:mm:ss. False when `text` (after any sign) is not one.
bool parse_iso_duration(std::string_view text, int64_t* months, int64_t* days, int64_t* nanos) {
  if (text.empty() || (text[0] != 'P' && text[0] != 'p')) return false;
  std::string t(text.substr(1));
  for (auto& c : t) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto digits = [](std::string_view d) {
    return !d.empty() && d.size() <= 18 &&
           std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  auto number = [](std::string_view d) {
    int64_t n = 0;
    for (char c : d) n = n * 10 + (c - '0');
    return n;
  };
  // The alternative format: YYYY-MM-DDThh:mm:ss.
  if (t.size() == 19 && t[4] == '-' && t[7] == '-' && t[10] == 'T' && t[13] == ':' &&
      t[16] == ':') {
    const std::string_view v(t);
    for (auto [at, n] : {std::pair{0, 4}, {5, 2}, {8, 2}, {11, 2}, {14, 2}, {17, 2}}) {
      if (!digits(v.substr(static_cast<size_t>(at), static_cast<size_t>(n)))) return false;
    }
    *months = number(v.substr(0, 4)) * 12 + number(v.substr(5, 2));
    *days = number(v.substr(8, 2));
    *nanos = number(v.substr(11, 2)) * 3'600'000'000'000 +
             number(v.substr(14, 2)) * 60'000'000'000 + number(v.substr(17, 2)) * 1'000'000'000;
    return true;
  }
  // PnW.
  if (t.size() >= 2 && t.back() == 'W') {
    const std::string_view n = std::string_view(t).substr(0, t.size() - 1);
    if (!digits(n)) return false;
    *months = 0;
    *days = 0;
    if (!add_scaled(days, number(n), 7)) return false;
    *nanos = 0;
    return true;
  }
  // Designators, each at most once and in order: Y M D, then after T: H M S.
  *months = *days = *nanos = 0;
  bool in_time = false;
  const std::string date_units = "YMD", time_units = "HMS";
  size_t next_unit = 0, i = 0;
  while (i < t.size()) {
    if (t[i] == 'T') {
      if (in_time) return false;
      in_time = true;
      next_unit = 0;
      ++i;
      continue;
    }
    size_t start = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    if (!digits(std::string_view(t).substr(start, i - start)) || i >= t.size()) return false;
    const std::string& units = in_time ? time_units : date_units;
    const size_t unit = units.find(t[i], next_unit);
    if (unit == std::string::npos) return false;
    const int64_t n = number(std::string_view(t).substr(start, i - start));
    if (!in_time) {
      if (!(unit == 0   ? add_scaled(months, n, 12)
            : unit == 1 ? add_scaled(months, n, 1)
                        : add_scaled(days, n, 1)))
        return false;
    } else {
      if (!add_scaled(nanos, n,
                      unit == 0   ? 3'600'000'000'000
                      : unit == 1 ? 60'000'000'000
                                  : 1'000'000'000))
        return false;
    }
    next_unit = unit + 1;
    ++i;
  }
  return true;  // every part is optional in Cassandra's pattern: P and PT are zero
}

// '1h30m', '2d', '1y2mo', '-3w', '500ms', and the ISO 8601 forms 'P1DT2H', 'P2W',
// 'P0001-02-03T04:05:06'.
Result<Bytes> parse_duration(std::string_view text) {
  bool negative = !text.empty() && text[0] == '-';
  size_t i = negative ? 1 : 0;
  int64_t months = 0, days = 0, nanos = 0;
  if (i >= text.size()) return Status::invalid_argument("bad duration");
  if (parse_iso_duration(text.substr(i), &months, &days, &nanos)) i = text.size();
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (start == i) return Status::invalid_argument("bad duration");
    auto n = parse_int64(text.substr(start, i - start));
    if (!n.is_ok()) return Status::invalid_argument("bad duration");
    size_t unit_start = i;
    // Letters, and the bytes of the micro sign in "µs" (UTF-8).
    while (i < text.size() && (std::isalpha(static_cast<unsigned char>(text[i])) ||
                               static_cast<unsigned char>(text[i]) >= 0x80)) {
      ++i;
    }
    std::string unit(text.substr(unit_start, i - unit_start));
    for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool fits = true;
    if (unit == "y")
      fits = add_scaled(&months, *n, 12);
    else if (unit == "mo")
      fits = add_scaled(&months, *n, 1);
    else if (unit == "w")
      fits = add_scaled(&days, *n, 7);
    else if (unit == "d")
      fits = add_scaled(&days, *n, 1);
    else if (unit == "h")
      fits = add_scaled(&nanos, *n, 3'600'000'000'000);
    else if (unit == "m")
      fits = add_scaled(&nanos, *n, 60'000'000'000);
    else if (unit == "s")
      fits = add_scaled(&nanos, *n, 1'000'000'000);
    else if (unit == "ms")
      fits = add_scaled(&nanos, *n, 1'000'000);
    else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs")  // µs: micro sign, mu
      fits = add_scaled(&nanos, *n, 1'000);
    else if (unit == "ns")
      fits = add_scaled(&nanos, *n, 1);
    else
      return Status::invalid_argument("bad duration unit '" + unit + "'");
    if (!fits) return Status::invalid_argument("duration too large");
  }
  // Cassandra keeps months and days as 32-bit integers.
  if (months > INT32_MAX || days > INT32_MAX) return Status::invalid_argument("duration too large");
  if (negative) {
    months = -months;
    days = -days;
    nanos = -nanos;
  }
  Bytes out;
  put_vint(months, &out);
  put_vint(days, &out);
  put_vint(nanos, &out);
  return out;
}

bool valid_utf8(BytesView s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t continuation;
    if (c < 0x80) {
      continuation = 0;
    } else if ((c >> 5) == 0x6) {
      continuation = 1;
    } else if ((c >> 4) == 0xe) {
      continuation = 2;
    } else if ((c >> 3) == 0x1e) {
      continuation = 3;
    } else {
      return false;
    }
    if (s.size() - i <= continuation) return false;
    for (size_t k = 1; k <= continuation; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += continuation + 1;
  }
  return true;
}

std::string two_digits(int64_t v) {
  return (v < 10 ? "0" : "") + std::to_string(v);
}

std::string format_uuid(BytesView u) {
  std::string hex = to_hex(u);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

std::string format_date(int64_t days) {
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  return std::to_string(y) + "-" + two_digits(m) + "-" + two_digits(d);
}

std::string format_timestamp(int64_t millis) {
  int64_t days = millis >= 0 ? millis / 86'400'000 : -((-millis + 86'399'999) / 86'400'000);
  int64_t ms = millis - days * 86'400'000;
  char buf[64];
  std::snprintf(buf, sizeof buf, " %02lld:%02lld:%02lld.%03lld+0000",
                static_cast<long long>(ms / 3'600'000), static_cast<long long>(ms / 60'000 % 60),
                static_cast<long long>(ms / 1000 % 60), static_cast<long long>(ms % 1000));
  return format_date(days) + buf;
}

std::string format_time(int64_t nanos) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld.%09lld",
                static_cast<long long>(nanos / 3'600'000'000'000),
                static_cast<long long>(nanos / 60'000'000'000 % 60),
                static_cast<long long>(nanos / 1'000'000'000 % 60),
                static_cast<long long>(nanos % 1'000'000'000));
  return buf;
}

std::string format_varint(BytesView v) {
  BigInt b = bigint_from_twos_complement(v);
  std::string digits = magnitude_to_digits(b.magnitude);
  if (digits.empty()) return "0";
  return (b.negative ? "-" : "") + digits;
}

// As Java's BigDecimal.toString(), which Cassandra's toJson and casts print: plain digits when
// the scale is not negative and the adjusted exponent is at least -6, else one digit, a point,
// the others and E+n / E-n (1.23E-12, 1E+3).
std::string format_decimal(BytesView v) {
  const auto scale = static_cast<int64_t>(static_cast<int32_t>(load_be(v.substr(0, 4))));
  BigInt b = bigint_from_twos_complement(v.substr(4));
  std::string digits = magnitude_to_digits(b.magnitude);
  if (digits.empty()) digits = "0";
  const std::string sign = b.negative ? "-" : "";
  const int64_t adjusted = -scale + static_cast<int64_t>(digits.size()) - 1;
  if (scale >= 0 && adjusted >= -6) {
    if (scale == 0) return sign + digits;
    const auto frac = static_cast<size_t>(scale);
    if (digits.size() <= frac) digits.insert(0, frac - digits.size() + 1, '0');
    return sign + digits.substr(0, digits.size() - frac) + "." +
           digits.substr(digits.size() - frac);
  }
  std::string out = sign + digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  return out + "E" + (adjusted >= 0 ? "+" : "") + std::to_string(adjusted);
}

// As Java's Double.toString() and Float.toString(), which Cassandra's toJson and casts print:
// the shortest digits that read back to the same value; plain (123.0, 0.001) for magnitudes in
// [1e-3, 1e7), else one digit, a point and at least one more, and En (1.0E7, 1.5E-5).
template <typename F>
std::string format_double(F value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  const std::string sci(buf, end);  // [-]d[.ddd]e(+|-)dd
  const size_t e = sci.find('e');
  const bool negative = sci[0] == '-';
  std::string digits;
  for (size_t i = negative ? 1 : 0; i < e; ++i) {
    if (sci[i] != '.') digits.push_back(sci[i]);
  }
  const int exponent = std::stoi(sci.substr(e + 1));
  std::string out = negative ? "-" : "";
  const F magnitude = std::fabs(value);
  if (magnitude >= static_cast<F>(1e-3) && magnitude < static_cast<F>(1e7)) {
    if (exponent >= 0) {
      const auto point = static_cast<size_t>(exponent) + 1;
      if (digits.size() < point) digits.append(point - digits.size(), '0');
      std::string frac = digits.substr(point);
      out += digits.substr(0, point) + "." + (frac.empty() ? "0" : frac);
    } else {
      out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    }
    return out;
  }
  out += digits.substr(0, 1) + "." + (digits.size() > 1 ? digits.substr(1) : "0");
  return out + "E" + std::to_string(exponent);
}

std::string quote(BytesView s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "''";
    else
      out.push_back(c);
  }
  return out + "'";
}

std::string json_string(BytesView s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out + "\"";
}

std::string format_any(const CqlType& type, BytesView v, bool json);

std::string format_collection(const CqlType& type, BytesView v, bool json) {
  const bool is_map = type.kind == ValueKind::kMap;
  std::vector<Bytes> items;
  if (!split_collection(v, is_map, &items).is_ok()) return "0x" + to_hex(v);
  std::string out =
      type.kind == ValueKind::kList || (json && type.kind == ValueKind::kSet) ? "[" : "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (is_map) {
      if (i % 2 == 0) {
        out += (i ? ", " : "");
        std::string key = format_any(type.params[0], items[i], json);
        if (json && key[0] != '"') key = json_string(key);
        out += key + ": ";
      } else {
        out += format_any(type.params[1], items[i], json);
      }
    } else {
      out += (i ? ", " : "") + format_any(type.params[0], items[i], json);
    }
  }
  return out +
         (type.kind == ValueKind::kList || (json && type.kind == ValueKind::kSet) ? "]" : "}");
}

std::string format_any(const CqlType& type, BytesView v, bool json) {
  if (v.empty() && type.kind != ValueKind::kText && type.kind != ValueKind::kAscii &&
      type.kind != ValueKind::kBlob) {
    return json ? "null" : "";
  }
  auto str = [&](const std::string& s) { return json ? json_string(s) : s; };
  switch (type.kind) {
    case ValueKind::kAscii:
    case ValueKind::kText:
      return json ? json_string(v) : quote(v);
    case ValueKind::kBlob:
      return str("0x" + to_hex(v));
    case ValueKind::kBoolean:
      return v[0] ? "true" : "false";
    case ValueKind::kTinyint:
    case ValueKind::kSmallint:
    case ValueKind::kInt:
    case ValueKind::kBigint:
    case ValueKind::kCounter:
      return std::to_string(load_signed(v));
    case ValueKind::kVarint:
      return format_varint(v);
    case ValueKind::kDecimal:
      return v.size() < 5 ? "?" : format_decimal(v);
    case ValueKind::kFloat: {
      auto bits = static_cast<uint32_t>(load_be(v));
      float f;
      std::memcpy(&f, &bits, 4);
      return format_double(f);
    }
    case ValueKind::kDouble: {
      uint64_t bits = load_be(v);
      double d;
      std::memcpy(&d, &bits, 8);
      return format_double(d);
    }
    case ValueKind::kUuid:
    case ValueKind::kTimeuuid:
      return str(format_uuid(v));
    case ValueKind::kTimestamp: {
      // JSON takes Cassandra's JSON date format (yyyy-MM-dd HH:mm:ss.SSSX in UTC: ...000Z).
      std::string text = format_timestamp(load_signed(v));
      if (!json) return quote(text);
      text.replace(text.size() - 5, 5, "Z");
      return json_string(text);
    }
    case ValueKind::kDate: {
      std::string s = format_date(static_cast<int64_t>(load_be(v)) - (int64_t{1} << 31));
      return json ? json_string(s) : quote(s);
    }
    case ValueKind::kTime:
      return json ? json_string(format_time(load_signed(v))) : quote(format_time(load_signed(v)));
    case ValueKind::kInet: {
      char buf[INET6_ADDRSTRLEN] = "?";
      inet_ntop(v.size() == 4 ? AF_INET : AF_INET6, v.data(), buf, sizeof buf);
      return json ? json_string(buf) : quote(buf);
    }
    case ValueKind::kDuration: {
      size_t pos = 0;
      int64_t months = 0, days = 0, nanos = 0;
      if (!get_vint(v, &pos, &months) || !get_vint(v, &pos, &days) || !get_vint(v, &pos, &nanos))
        return "?";
      std::string out = (months < 0 || days < 0 || nanos < 0) ? "-" : "";
      months = std::llabs(months);
      days = std::llabs(days);
      nanos = std::llabs(nanos);
      if (months / 12) out += std::to_string(months / 12) + "y";
      if (months % 12) out += std::to_string(months % 12) + "mo";
      if (days) out += std::to_string(days) + "d";
      const std::pair<int64_t, const char*> units[] = {
          {3'600'000'000'000, "h"}, {60'000'000'000, "m"}, {1'000'000'000, "s"},
          {1'000'000, "ms"},        {1'000, "us"},         {1, "ns"}};
      for (const auto& [size, name] : units) {
        if (nanos >= size) {
          out += std::to_string(nanos / size) + name;
          nanos %= size;
        }
      }
      if (out.empty() || out == "-") out += "0s";
      return str(out);
    }
    case ValueKind::kList:
    case ValueKind::kSet:
    case ValueKind::kMap:
      return format_collection(type, v, json);
    case ValueKind::kUdt: {
      // {street: 'Main', zip: 1}; as JSON {"street": "Main", "zip": 1}. Fields the value does
      // not reach (it was written before the type had them) are null.
      BufferReader r(v);
      std::string out = "{";
      for (size_t i = 0; i < type.params.size(); ++i) {
        const std::string& field = i < type.field_names.size() ? type.field_names[i] : "";
        out += i ? ", " : "";
        if (json) {
          // Cassandra's UserType.toJSONString: a name with capitals keeps its CQL quotes.
          const bool lower =
              std::none_of(field.begin(), field.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
          out += json_string(lower ? field : "\"" + field + "\"");
        } else {
          out += cql_name(field);
        }
        out += ": ";
        int32_t len = -1;
        BytesView item;
        if (!r.at_end() &&
            (!r.get_i32(&len) || (len >= 0 && !r.get_bytes(static_cast<size_t>(len), &item)))) {
          break;
        }
        out += len < 0 ? "null" : format_any(type.params[i], item, json);
      }
      return out + "}";
    }
    case ValueKind::kTuple: {
      BufferReader r(v);
      std::string out = json ? "[" : "(";
      for (size_t i = 0; !r.at_end() && i < type.params.size(); ++i) {
        int32_t len;
        BytesView item;
        if (!r.get_i32(&len)) break;
        out += i ? ", " : "";
        if (len < 0) {
          out += "null";
          continue;
        }
        if (!r.get_bytes(static_cast<size_t>(len), &item)) break;
        out += format_any(type.params[i], item, json);
      }
      return out + (json ? "]" : ")");
    }
  }
  return "0x" + to_hex(v);
}

}  // namespace

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t* year, unsigned* month, unsigned* day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *day = doy - (153 * mp + 2) / 5 + 1;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = static_cast<int64_t>(yoe) + era * 400 + (*month <= 2);
}

Result<Bytes> value_from_literal(const CqlType& type, LiteralKind kind, std::string_view text) {
  auto bad = [&] { return mismatch(type, kind, text); };
  switch (type.kind) {
    case ValueKind::kTinyint:
    case ValueKind::kSmallint:
    case ValueKind::kInt:
    case ValueKind::kBigint:
    case ValueKind::kCounter: {
      if (kind != LiteralKind::kInteger) return bad();
      auto v = parse_int64(text);
      const int width = type.kind == ValueKind::kTinyint    ? 1
                        : type.kind == ValueKind::kSmallint ? 2
                        : type.kind == ValueKind::kInt      ? 4
                                                            : 8;
      const int64_t max = width == 8 ? INT64_MAX : (int64_t{1} << (8 * width - 1)) - 1;
      if (!v.is_ok() || *v > max || *v < -max - 1) {
        // Cassandra's words: the Java type behind each CQL type.
        const char* java = width == 1 ? "byte" : width == 2 ? "short" : width == 4 ? "int" : "long";
        return Status::invalid_argument("Unable to make " + std::string(java) + " from '" +
                                        std::string(text) + "'");
      }
      return fixed(static_cast<uint64_t>(*v), width);
    }
    case ValueKind::kVarint: {
      if (kind != LiteralKind::kInteger) return bad();
      RINGDB_ASSIGN_OR_RETURN(auto parsed, parse_decimal(text));
      return bigint_to_twos_complement(parsed.first);
    }
    case ValueKind::kDecimal: {
      if (kind != LiteralKind::kInteger && kind != LiteralKind::kFloat) return bad();
      RINGDB_ASSIGN_OR_RETURN(auto parsed, parse_decimal(text));
      return fixed(static_cast<uint32_t>(parsed.second), 4) +
             bigint_to_twos_complement(parsed.first);
    }
    case ValueKind::kFloat:
    case ValueKind::kDouble: {
      if (kind != LiteralKind::kInteger && kind != LiteralKind::kFloat) return bad();
      double d = 0;
      if (text == "NaN") {
        d = std::numeric_limits<double>::quiet_NaN();
      } else if (text == "Infinity" || text == "-Infinity") {
        d = text[0] == '-' ? -std::numeric_limits<double>::infinity()
                           : std::numeric_limits<double>::infinity();
      } else {
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
        if (ec != std::errc() || end != text.data() + text.size()) return bad();
      }
      if (type.kind == ValueKind::kFloat) {
        float f = static_cast<float>(d);
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        return fixed(bits, 4);
      }
      uint64_t bits;
      std::memcpy(&bits, &d, 8);
      return fixed(bits, 8);
    }
    case ValueKind::kBoolean:
      if (kind != LiteralKind::kBoolean) return bad();
      return Bytes(1, text == "true" ? '\x01' : '\x00');
    case ValueKind::kAscii:
      if (kind != LiteralKind::kString) return bad();
      for (unsigned char c : text) {
        if (c > 127) return Status::invalid_argument("Invalid ASCII character in string literal");
      }
      return Bytes(text);
    case ValueKind::kText:
      if (kind != LiteralKind::kString) return bad();
      if (!valid_utf8(text)) return Status::invalid_argument("Invalid UTF-8 in string literal");
      return Bytes(text);
    case ValueKind::kBlob: {
      if (kind != LiteralKind::kHex) return bad();
      std::string_view hex = text.substr(2);
      if (hex.size() % 2) return Status::invalid_argument("Hex string is odd length");
      Bytes out;
      for (size_t i = 0; i < hex.size(); i += 2) {
        unsigned v;
        auto [end, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, v, 16);
        if (ec != std::errc() || end != hex.data() + i + 2) return bad();
        out.push_back(static_cast<char>(v));
      }
      return out;
    }
    case ValueKind::kUuid:
    case ValueKind::kTimeuuid: {
      if (kind != LiteralKind::kUuid && kind != LiteralKind::kString) return bad();
      auto u = parse_uuid(text);
      if (!u.is_ok())
        return Status::invalid_argument("Unable to make UUID from '" + std::string(text) + "'");
      if (type.kind == ValueKind::kTimeuuid && (static_cast<uint8_t>((*u)[6]) >> 4) != 1) {
        return Status::invalid_argument("Unsupported UUID for timeuuid: version 1 required");
      }
      return u;
    }
    case ValueKind::kTimestamp: {
      if (kind != LiteralKind::kString && kind != LiteralKind::kInteger) return bad();
      auto ms = parse_timestamp_millis(text);
      if (!ms.is_ok())
        return Status::invalid_argument("Unable to coerce '" + std::string(text) +
                                        "' to a formatted date (long)");
      return fixed(static_cast<uint64_t>(*ms), 8);
    }
    case ValueKind::kDate: {
      if (kind != LiteralKind::kString && kind != LiteralKind::kInteger) return bad();
      if (raw_digits(text)) {  // the day number as sent, unsigned with the epoch at 2^31
        auto raw = parse_int64(text);
        if (!raw.is_ok() || *raw < 0 || *raw > int64_t{0xFFFFFFFF}) {
          return Status::invalid_argument("Unable to make unsigned int (for date) from: '" +
                                          std::string(text) + "'");
        }
        return fixed(static_cast<uint64_t>(*raw), 4);
      }
      auto days = parse_date_days(text);
      if (!days.is_ok() || *days < -(int64_t{1} << 31) || *days >= (int64_t{1} << 31)) {
        return Status::invalid_argument("Unable to coerce '" + std::string(text) +
                                        "' to a formatted date (long)");
      }
      return fixed(static_cast<uint64_t>(*days + (int64_t{1} << 31)), 4);
    }
    case ValueKind::kTime: {
      if (kind != LiteralKind::kString && kind != LiteralKind::kInteger) return bad();
      if (raw_digits(text)) {  // nanoseconds since midnight
        auto raw = parse_int64(text);
        if (!raw.is_ok() || *raw < 0 || *raw >= 86'400'000'000'000) {
          return Status::invalid_argument("Unable to make long (for time) from: '" +
                                          std::string(text) + "'");
        }
        return fixed(static_cast<uint64_t>(*raw), 8);
      }
      Result<int64_t> nanos = parse_time_nanos(text);
      if (!nanos.is_ok() || *nanos < 0 || *nanos >= 86'400'000'000'000) {
        return Status::invalid_argument("Unable to coerce '" + std::string(text) +
                                        "' to a formatted time (long)");
      }
      return fixed(static_cast<uint64_t>(*nanos), 8);
    }
    case ValueKind::kInet: {
      if (kind != LiteralKind::kString) return bad();
      std::string s(text);
      unsigned char buf[16];
      if (inet_pton(AF_INET, s.c_str(), buf) == 1) return Bytes(reinterpret_cast<char*>(buf), 4);
      if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return Bytes(reinterpret_cast<char*>(buf), 16);
      return Status::invalid_argument("Unable to make inet address from '" + s + "'");
    }
    case ValueKind::kDuration: {
      if (kind != LiteralKind::kDuration && kind != LiteralKind::kString &&
          kind != LiteralKind::kInteger)
        return bad();
      auto d = parse_duration(text);
      if (!d.is_ok())
        return Status::invalid_argument("Unable to convert '" + std::string(text) +
                                        "' to a duration");
      return d;
    }
    default:
      return bad();
  }
}

Status validate_value(const CqlType& type, BytesView v) {
  auto bad = [&](const char* why) {
    return Status::invalid_argument("Invalid value for type " + type.to_cql() + ": " + why);
  };
  // Cassandra's serializers' rules and words: most types also take the empty value; tinyint,
  // smallint, date, time and duration do not.
  const std::string n = "(" + std::to_string(v.size()) + ")";
  auto sized = [&](size_t want, bool empty_ok, const std::string& message) {
    return v.size() == want || (empty_ok && v.empty())
               ? Status::ok()
               : Status::invalid_argument(message + " " + n);
  };
  switch (type.kind) {
    case ValueKind::kTinyint:
      return sized(1, false, "Expected 1 byte for a tinyint");
    case ValueKind::kSmallint:
      return sized(2, false, "Expected 2 bytes for a smallint");
    case ValueKind::kInt:
      return sized(4, true, "Expected 4 or 0 byte int");
    case ValueKind::kBigint:
    case ValueKind::kCounter:
      return sized(8, true, "Expected 8 or 0 byte long");
    case ValueKind::kFloat:
      return sized(4, true, "Expected 4 or 0 byte value for a float");
    case ValueKind::kDouble:
      return sized(8, true, "Expected 8 or 0 byte value for a double");
    case ValueKind::kTimestamp:
      return sized(8, true, "Expected 8 or 0 byte long for date");
    case ValueKind::kDate:
      return sized(4, false, "Expected 4 byte long for date");
    case ValueKind::kTime: {
      RINGDB_RETURN_IF_ERROR(sized(8, false, "Expected 8 byte long for time"));
      int64_t nanos = load_signed(v);
      return nanos >= 0 && nanos < 86'400'000'000'000 ? Status::ok() : bad("time out of range");
    }
    case ValueKind::kBoolean:
      return sized(1, true, "Expected 1 or 0 byte value");
    case ValueKind::kUuid:
      return sized(16, true, "UUID should be 16 or 0 bytes");
    case ValueKind::kTimeuuid:
      RINGDB_RETURN_IF_ERROR(sized(16, true, "UUID should be 16 or 0 bytes"));
      return v.empty() || (static_cast<uint8_t>(v[6]) >> 4) == 1
                 ? Status::ok()
                 : Status::invalid_argument("Invalid version for TimeUUID type.");
    case ValueKind::kInet:
      return v.empty() || v.size() == 4 || v.size() == 16
                 ? Status::ok()
                 : Status::invalid_argument("Expected 4 or 16 byte inetaddress; got " + to_hex(v));
    case ValueKind::kDecimal:
      return v.empty() || v.size() >= 4
                 ? Status::ok()
                 : Status::invalid_argument("Expected 0 or at least 4 bytes " + n);
    case ValueKind::kAscii:
      for (unsigned char c : v) {
        if (c > 127)
          return Status::invalid_argument(
              "Invalid byte for ascii: " +
              std::to_string(static_cast<int>(static_cast<signed char>(c))));
      }
      return Status::ok();
    case ValueKind::kText:
      return valid_utf8(v) ? Status::ok() : Status::invalid_argument("String didn't validate.");
    case ValueKind::kVarint:
    case ValueKind::kBlob:
      return Status::ok();
    default:
      break;
  }
  if (v.empty() && type.kind != ValueKind::kDuration) return Status::ok();
  switch (type.kind) {
    case ValueKind::kDuration: {
      if (v.size() < 3) {
        return Status::invalid_argument("Expected at least 3 bytes for a duration " + n);
      }
      size_t pos = 0;
      int64_t a, b, c;
      if (!get_vint(v, &pos, &a) || !get_vint(v, &pos, &b) || !get_vint(v, &pos, &c) ||
          pos != v.size()) {
        return bad("malformed duration");
      }
      return Status::ok();
    }
    case ValueKind::kList:
    case ValueKind::kSet:
    case ValueKind::kMap: {
      const bool is_map = type.kind == ValueKind::kMap;
      std::vector<Bytes> items;
      if (!split_collection(v, is_map, &items).is_ok()) return bad("malformed collection");
      for (size_t i = 0; i < items.size(); ++i) {
        RINGDB_RETURN_IF_ERROR(
            validate_value(is_map ? type.params[i % 2] : type.params[0], items[i]));
      }
      return Status::ok();
    }
    case ValueKind::kTuple:
    case ValueKind::kUdt: {
      BufferReader r(v);
      for (size_t i = 0; !r.at_end(); ++i) {
        int32_t len;
        BytesView item;
        if (i >= type.params.size() || !r.get_i32(&len)) return bad("malformed tuple");
        if (len < 0) continue;
        if (!r.get_bytes(static_cast<size_t>(len), &item)) return bad("malformed tuple");
        RINGDB_RETURN_IF_ERROR(validate_value(type.params[i], item));
      }
      return Status::ok();
    }
    default:
      return Status::ok();  // blob, varint: any bytes
  }
}

Bytes serialize_list(const std::vector<Bytes>& elements) {
  BufferWriter w;
  w.put_i32(static_cast<int32_t>(elements.size()));
  for (const auto& e : elements) {
    w.put_i32(static_cast<int32_t>(e.size()));
    w.put_bytes(e);
  }
  return w.release();
}

Bytes serialize_map(const std::vector<std::pair<Bytes, Bytes>>& entries) {
  BufferWriter w;
  w.put_i32(static_cast<int32_t>(entries.size()));
  for (const auto& [k, v] : entries) {
    w.put_i32(static_cast<int32_t>(k.size()));
    w.put_bytes(k);
    w.put_i32(static_cast<int32_t>(v.size()));
    w.put_bytes(v);
  }
  return w.release();
}

Status split_tuple(BytesView value, std::vector<std::optional<Bytes>>* components) {
  BufferReader r(value);
  components->clear();
  while (!r.at_end()) {
    int32_t len;
    BytesView item;
    if (!r.get_i32(&len)) return Status::invalid_argument("Invalid tuple value: truncated");
    if (len < 0) {
      components->emplace_back();
      continue;
    }
    if (!r.get_bytes(static_cast<size_t>(len), &item))
      return Status::invalid_argument("Invalid tuple value: truncated");
    components->emplace_back(Bytes(item));
  }
  return Status::ok();
}

Bytes serialize_tuple(const std::vector<std::optional<Bytes>>& components) {
  BufferWriter w;
  for (const auto& c : components) {
    if (!c) {
      w.put_i32(-1);
      continue;
    }
    w.put_i32(static_cast<int32_t>(c->size()));
    w.put_bytes(*c);
  }
  return w.release();
}

Status split_collection(BytesView value, bool is_map, std::vector<Bytes>* items) {
  BufferReader r(value);
  int32_t n;
  if (!r.get_i32(&n) || n < 0 || static_cast<size_t>(n) > value.size())
    return Status::invalid_argument("malformed collection");
  for (int64_t i = 0; i < static_cast<int64_t>(n) * (is_map ? 2 : 1); ++i) {
    int32_t len;
    BytesView item;
    if (!r.get_i32(&len) || len < 0 || !r.get_bytes(static_cast<size_t>(len), &item)) {
      return Status::invalid_argument("malformed collection");
    }
    items->emplace_back(item);
  }
  if (!r.at_end()) return Status::invalid_argument("malformed collection");
  return Status::ok();
}

std::string format_value(const CqlType& type, BytesView value) {
  return format_any(type, value, false);
}
std::string format_json(const CqlType& type, BytesView value) {
  return format_any(type, value, true);
}

std::string java_double(double value) {
  return format_double(value);
}

std::string cql_name(std::string_view name) {
  const bool plain = !name.empty() && name[0] >= 'a' && name[0] <= 'z' &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                     });
  if (plain) return std::string(name);
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace ringdb::schema
