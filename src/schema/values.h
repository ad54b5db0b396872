// Values of CQL types in their native-protocol serialization: built from CQL literals, checked
// when they arrive bound to a prepared statement, and printed back as CQL literals.
//
// Literal rules follow Cassandra: numbers for the numeric types; quoted strings for text types
// and for timestamp ('2024-01-31 10:00:00+0000' or an integer), date ('2024-01-31'),
// time ('10:00:00.123'), inet and duration; bare UUIDs for uuid/timeuuid; 0x… for blob; true/false
// for boolean. Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "schema/types.h"

namespace ringdb::schema {

// What kind of literal token the CQL text had; the type decides what it may become.
enum class LiteralKind { kString, kInteger, kFloat, kBoolean, kUuid, kHex, kDuration };

[[nodiscard]] Result<Bytes> value_from_literal(const CqlType& type, LiteralKind kind,
                                               std::string_view text);

// Checks that bytes sent by a client are a valid serialization of `type`.
[[nodiscard]] Status validate_value(const CqlType& type, BytesView value);

// Serialized collections and tuples from serialized elements (native protocol v4 layout).
Bytes serialize_list(const std::vector<Bytes>& elements);  // also sets
Bytes serialize_map(const std::vector<std::pair<Bytes, Bytes>>& entries);
Bytes serialize_tuple(const std::vector<std::optional<Bytes>>& components);
// Splits a serialized tuple or user-type value into its components (null ones empty); a value
// written before fields were added has fewer.
[[nodiscard]] Status split_tuple(BytesView value, std::vector<std::optional<Bytes>>* components);
// Splits a serialized list/set ([int n][int len][bytes]…) or map (pairs) into its parts.
[[nodiscard]] Status split_collection(BytesView value, bool is_map, std::vector<Bytes>* items);

// CQL literal text for a value (strings quoted, blobs as 0x…, collections in brackets).
std::string format_value(const CqlType& type, BytesView value);
// A double as Java's Double.toString() prints it (Cassandra's messages): 1.0, 6.71E-5.
std::string java_double(double value);
// A keyspace, table or column name as CQL needs it written (Cassandra's maybeQuote): as it is
// when lower-case letters, digits and underscores starting with a letter, else double-quoted.
std::string cql_name(std::string_view name);
// The same as JSON (strings and non-numeric types as JSON strings).
std::string format_json(const CqlType& type, BytesView value);

// Days since 1970-01-01 for a civil date, and back (proleptic Gregorian).
int64_t days_from_civil(int64_t year, unsigned month, unsigned day);
void civil_from_days(int64_t days, int64_t* year, unsigned* month, unsigned* day);

}  // namespace ringdb::schema
