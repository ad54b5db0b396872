#include "cql/executor.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "common/bignum.h"
#include "common/log.h"
#include "common/murmur3.h"
#include "common/uuid.h"
#include "cql/parser.h"
#include "schema/values.h"
#include "storage/keys.h"

namespace ringdb::cql {

using schema::ColumnKind;
using schema::ColumnMetadata;
using schema::CqlType;
using schema::TableMetadata;
using storage::ValueKind;

CqlError to_cql_error(const Status& status) {
  CqlError e;
  e.message = status.message();
  switch (status.code()) {
    case StatusCode::kSyntaxError:
      e.code = ErrorCode::kSyntaxError;
      break;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kNotSupported:
      e.code = ErrorCode::kInvalid;
      break;
    case StatusCode::kAlreadyExists:
      e.code = ErrorCode::kAlreadyExists;
      break;
    case StatusCode::kConfigError:
      e.code = ErrorCode::kConfigError;
      break;
    case StatusCode::kUnauthorized:
      e.code = ErrorCode::kUnauthorized;
      break;
    case StatusCode::kFunctionFailure: {
      // "execution of 'ks.name[t1, t2]' failed: ..." (see StatusCode::kFunctionFailure).
      e.code = ErrorCode::kFunctionFailure;
      const std::string& m = e.message;
      const size_t open = m.find('\''), bracket = m.find('[', open), close = m.find("]'", bracket);
      if (open != std::string::npos && bracket != std::string::npos && close != std::string::npos) {
        const std::string name = m.substr(open + 1, bracket - open - 1);
        const size_t dot = name.find('.');
        e.function_keyspace = dot == std::string::npos ? "" : name.substr(0, dot);
        e.function_name = dot == std::string::npos ? name : name.substr(dot + 1);
        std::string types = m.substr(bracket + 1, close - bracket - 1);
        for (size_t start = 0; !types.empty() && start <= types.size();) {
          size_t comma = types.find(", ", start);
          if (comma == std::string::npos) comma = types.size();
          e.arg_types.push_back(types.substr(start, comma - start));
          start = comma + 2;
        }
      }
      break;
    }
    case StatusCode::kOverloaded:
      e.code = ErrorCode::kOverloaded;
      break;
    case StatusCode::kUnavailable:
      e.code = ErrorCode::kUnavailable;
      break;
    case StatusCode::kTimeout:
      e.code = ErrorCode::kWriteTimeout;
      break;
    case StatusCode::kReadTimeout:
      // As a coordinator whose one replica did not answer in time (consistency ONE).
      e.code = ErrorCode::kReadTimeout;
      e.required = 1;
      e.alive = 0;
      break;
    case StatusCode::kReadFailure:  // as a coordinator whose one replica failed the read
      e.code = ErrorCode::kReadFailure;
      e.required = 1;
      e.alive = 0;
      e.failures = 1;
      break;
    default:
      e.code = ErrorCode::kServerError;
      break;
  }
  return e;
}

struct SingleRowRead;  // below, next to the SELECT code

struct QueryProcessor::Prepared {
  std::string query;
  std::string keyspace;  // the session's keyspace when prepared
  ParsedStatement parsed;
  std::vector<ColumnSpec> bind_columns;
  std::vector<uint16_t> partition_key_indexes;
  std::vector<ColumnSpec> result_columns;
  // A SELECT's plan for the schema it was made against, replaced after a schema change.
  mutable std::atomic<std::shared_ptr<const SingleRowRead>> single_row_read;
};

namespace {
// A JSON value as the serialized value of `type` (defined with INSERT JSON below). Errors carry
// Cassandra's messages for the value alone; callers say where it came from.
Result<std::optional<Bytes>> json_value(const CqlType& type, const nlohmann::json& j);
}  // namespace

namespace {

Status invalid(const std::string& m) {
  return Status::invalid_argument(m);
}

// Builds a JSON document as nlohmann's DOM parser does, except that an integer too large for 64
// bits keeps its digits (as a binary value, which JSON text never produces otherwise): Cassandra's
// parser reads it as a BigInteger, exactly, where a double would round it.
class BigIntegerKeepingSax : public nlohmann::detail::json_sax_dom_parser<nlohmann::json> {
 public:
  using Base = nlohmann::detail::json_sax_dom_parser<nlohmann::json>;
  using Base::Base;
  bool number_float(double value, const std::string& text) {
    if (text.find_first_of(".eE") == std::string::npos) {
      nlohmann::json::binary_t digits(std::vector<uint8_t>(text.begin(), text.end()));
      return Base::binary(digits);
    }
    return Base::number_float(value, text);
  }
};

// The document, or a discarded value when `text` is not JSON.
nlohmann::json parse_json(const std::string& text) {
  nlohmann::json doc;
  BigIntegerKeepingSax sax(doc, false);
  if (!nlohmann::json::sax_parse(text, &sax) || sax.is_errored())
    return nlohmann::json(nlohmann::json::value_t::discarded);
  return doc;
}

// The digits of an integer beyond 64 bits (see BigIntegerKeepingSax).
bool is_big_integer(const nlohmann::json& j) {
  return j.is_binary();
}
std::string big_integer_text(const nlohmann::json& j) {
  const auto& digits = j.get_binary();
  return std::string(digits.begin(), digits.end());
}

// The node's own keyspaces, whose schema and data only the node changes: Cassandra refuses any
// change to them as Unauthorized, in these words.
bool is_local_system_keyspace(const std::string& ks) {
  return ks == "system" || ks == "system_schema";
}
Status not_user_modifiable(const std::string& ks) {
  return Status::unauthorized(ks + " keyspace is not user-modifiable.");
}
// Schema changes to the replicated system keyspaces other than ALTER KEYSPACE, refused as
// Cassandra refuses them: "Cannot DROP <table system_auth.roles>".
Status cannot_change_system(const char* permission, const std::string& ks,
                            const std::string& table = "") {
  return Status::unauthorized(std::string("Cannot ") + permission + " <" +
                              (table.empty() ? "keyspace " + ks : "table " + ks + "." + table) +
                              ">");
}

constexpr const char* kRequiresAllowFiltering =
    "Cannot execute this query as it might involve data filtering and thus may have unpredictable "
    "performance. If you want to execute this query despite the performance unpredictability, use "
    "ALLOW FILTERING";

// Whether a receiver of type `to` takes a function result of type `from` as it is (Cassandra's
// isValueCompatibleWith for function results): the same type, any result into a blob, a timeuuid
// into a uuid, timestamps and bigints either way, integers into a varint, ascii into text.
bool value_compatible(const CqlType& to, const CqlType& from) {
  if (to.to_cql() == from.to_cql()) return true;
  switch (to.kind) {
    case ValueKind::kBlob:
      return true;
    case ValueKind::kUuid:
      return from.kind == ValueKind::kTimeuuid;
    case ValueKind::kBigint:
      return from.kind == ValueKind::kTimestamp;
    case ValueKind::kTimestamp:
      return from.kind == ValueKind::kBigint;
    case ValueKind::kVarint:
      return from.kind == ValueKind::kInt || from.kind == ValueKind::kBigint ||
             from.kind == ValueKind::kTimestamp;
    case ValueKind::kText:
      return from.kind == ValueKind::kAscii;
    default:
      return false;
  }
}

std::string term_text(const Term& t);

// One signature of a native function of one argument.
struct Signature {
  ValueKind param;
  ValueKind result;
};

// The signatures of the native functions whose argument's type picks the overload, in the order
// Cassandra registers them (its errors list them in that order). Empty for other functions.
std::vector<Signature> native_signatures(const std::string& f) {
  using K = ValueKind;
  if (f == "dateof") return {{K::kTimeuuid, K::kTimestamp}};
  if (f == "unixtimestampof") return {{K::kTimeuuid, K::kBigint}};
  if (f == "todate") return {{K::kTimeuuid, K::kDate}, {K::kTimestamp, K::kDate}};
  if (f == "totimestamp") return {{K::kTimeuuid, K::kTimestamp}, {K::kDate, K::kTimestamp}};
  if (f == "tounixtimestamp")
    return {{K::kTimeuuid, K::kBigint}, {K::kTimestamp, K::kBigint}, {K::kDate, K::kBigint}};
  if (f == "sum" || f == "avg") {
    return {{K::kTinyint, K::kTinyint}, {K::kSmallint, K::kSmallint}, {K::kInt, K::kInt},
            {K::kBigint, K::kBigint},   {K::kFloat, K::kFloat},       {K::kDouble, K::kDouble},
            {K::kDecimal, K::kDecimal}, {K::kVarint, K::kVarint},     {K::kCounter, K::kBigint}};
  }
  constexpr size_t kSuffix = 6;  // "asblob", "blobas"
  if (f.size() > kSuffix && f.compare(f.size() - kSuffix, kSuffix, "asblob") == 0) {
    auto t = CqlType::parse(f.substr(0, f.size() - kSuffix));
    if (t.is_ok() && t->params.empty() && t->kind != K::kBlob) return {{t->kind, K::kBlob}};
  }
  if (f.size() > kSuffix && f.rfind("blobas", 0) == 0) {
    auto t = CqlType::parse(f.substr(kSuffix));
    if (t.is_ok() && t->params.empty() && t->kind != K::kBlob) return {{K::kBlob, t->kind}};
  }
  return {};
}

std::string signature_text(const std::string& f, const Signature& sig) {
  return "system." + f + " : (" + CqlType::of(sig.param).to_cql() + ") -> " +
         CqlType::of(sig.result).to_cql();
}

// Cassandra's FunctionResolver refusing a call of an overloaded function: several `candidates`
// left (ambiguous, listing them) or none (listing every signature).
Status unresolved_call(const std::string& f, const std::vector<Signature>& signatures,
                       const std::vector<Signature>& candidates) {
  std::string listed;
  for (const auto& sig : candidates.empty() ? signatures : candidates)
    listed += (listed.empty() ? "" : ", ") + signature_text(f, sig);
  if (!candidates.empty()) {
    return invalid("Ambiguous call to function " + f +
                   " (can be matched by following signatures: " + listed +
                   "): use type casts to disambiguate");
  }
  return invalid("Invalid call to function " + f +
                 ", none of its type signatures match (known type signatures: " + listed + ")");
}

// Cassandra's choice among `signatures` for a call with arguments of `types` (written `texts`):
// an exact match, else the one signature whose parameter reads the argument as it is.
Result<ValueKind> resolve_call(const std::string& f, const std::vector<Signature>& signatures,
                               const std::vector<CqlType>& types,
                               const std::vector<std::string>& texts) {
  if (signatures.size() == 1 && types.size() != 1) {
    return invalid("Invalid number of arguments in call to function system." + f +
                   ": 1 required but " + std::to_string(types.size()) + " provided");
  }
  std::vector<Signature> weak;
  if (types.size() == 1) {
    for (const auto& sig : signatures) {
      const CqlType param = CqlType::of(sig.param);
      if (param.to_cql() == types[0].to_cql()) return sig.result;
      if (value_compatible(param, types[0])) weak.push_back(sig);
    }
  }
  if (weak.size() == 1) return weak[0].result;
  if (weak.empty() && signatures.size() == 1) {
    return invalid("Type error: " + texts[0] +
                   " cannot be passed as argument 0 of function system." + f + " of type " +
                   CqlType::of(signatures[0].param).to_cql());
  }
  return unresolved_call(f, signatures, weak);
}

// How a literal (or a bind marker) assigns to a parameter of `param` type, as Cassandra's
// Constants.Literal.testAssignment: 2 exactly (the literal's preferred type), 1 weakly, 0 not.
int literal_assignment(const Term& t, ValueKind param) {
  using K = ValueKind;
  using L = schema::LiteralKind;
  if (t.kind == Term::Kind::kBindMarker) return 1;
  if (t.kind != Term::Kind::kLiteral) return 0;
  auto among = [&](std::initializer_list<K> kinds) {
    return std::find(kinds.begin(), kinds.end(), param) != kinds.end() ? 1 : 0;
  };
  switch (t.literal_kind) {
    case L::kString:
      if (param == K::kText) return 2;
      return among({K::kAscii, K::kInet, K::kDate, K::kTime, K::kTimestamp});
    case L::kInteger: {
      errno = 0;
      char* end = nullptr;
      const long long v = std::strtoll(t.text.c_str(), &end, 10);
      const K preferred = errno == ERANGE || *end != '\0'    ? K::kVarint
                          : v >= INT32_MIN && v <= INT32_MAX ? K::kInt
                                                             : K::kBigint;
      if (param == preferred) return 2;
      return among({K::kBigint, K::kCounter, K::kDate, K::kDecimal, K::kDouble, K::kDuration,
                    K::kFloat, K::kInt, K::kSmallint, K::kTime, K::kTimestamp, K::kTinyint,
                    K::kVarint});
    }
    case L::kFloat:
      if (param == K::kDouble) return 2;
      return among({K::kDecimal, K::kFloat});
    case L::kUuid: {
      const bool v1 = t.text.size() > 14 && t.text[14] == '1';
      if (param == (v1 ? K::kTimeuuid : K::kUuid)) return 2;
      return among({K::kUuid, K::kTimeuuid});
    }
    case L::kBoolean:
      return param == K::kBoolean ? 2 : 0;
    case L::kHex:
      return param == K::kBlob ? 2 : 0;
    case L::kDuration:
      return param == K::kDuration ? 2 : 0;
  }
  return 0;
}

// The signatures of an overloaded function an untyped value can be the argument of: the exact
// one if there is one, else every weakly assignable one (Cassandra's FunctionResolver).
std::vector<Signature> literal_candidates(const std::vector<Signature>& signatures, const Term& t) {
  std::vector<Signature> weak;
  for (const auto& sig : signatures) {
    const int a = literal_assignment(t, sig.param);
    if (a == 2) return {sig};
    if (a == 1) weak.push_back(sig);
  }
  return weak;
}

// The parameter an untyped value (a string, a number or a marker) takes as the one argument of a
// function of `signatures`, or Cassandra's refusal when it fits several or none.
Result<ValueKind> resolve_untyped(const std::string& f, const std::vector<Signature>& signatures,
                                  const Term& t) {
  const std::vector<Signature> candidates = literal_candidates(signatures, t);
  if (candidates.size() == 1) return candidates[0].param;
  return unresolved_call(f, signatures, candidates);
}

// The type an untyped value in the selection takes as the argument of `call`: the parameter of
// the function's one signature, or of the one overload it can be the argument of.
std::optional<CqlType> selection_argument_type(const Selector& call, const Selector& arg) {
  if (call.kind != Selector::Kind::kFunction || arg.kind != Selector::Kind::kTerm ||
      !arg.cast_type.empty() || call.args.size() != 1)
    return std::nullopt;
  const std::vector<Signature> signatures = native_signatures(call.name);
  if (signatures.size() == 1) return CqlType::of(signatures[0].param);
  if (call.name == "min" || call.name == "max") {
    // Defined for every type: a literal's preferred type matches exactly.
    for (ValueKind k : {ValueKind::kText, ValueKind::kInt, ValueKind::kBigint, ValueKind::kVarint,
                        ValueKind::kDouble, ValueKind::kUuid, ValueKind::kTimeuuid,
                        ValueKind::kBoolean, ValueKind::kBlob, ValueKind::kDuration}) {
      if (literal_assignment(arg.term, k) == 2) return CqlType::of(k);
    }
    return std::nullopt;
  }
  if (signatures.empty()) return std::nullopt;
  const std::vector<Signature> candidates = literal_candidates(signatures, arg.term);
  if (candidates.size() != 1) return std::nullopt;
  return CqlType::of(candidates[0].param);
}

// The type a term's value has on its own: a function's result, or a uuid literal (a timeuuid for
// the time functions); none for strings, numbers and markers, which take their receiver's type.
std::optional<ValueKind> natural_kind(const Term& t) {
  if (t.kind == Term::Kind::kLiteral && t.literal_kind == schema::LiteralKind::kUuid)
    return ValueKind::kTimeuuid;
  if (t.kind != Term::Kind::kFunction) return std::nullopt;
  const std::string& f = t.text;
  if (f == "now" || f == "currenttimeuuid" || f == "mintimeuuid" || f == "maxtimeuuid")
    return ValueKind::kTimeuuid;
  if (f == "currenttimestamp" || f == "totimestamp" || f == "dateof") return ValueKind::kTimestamp;
  if (f == "currentdate" || f == "todate") return ValueKind::kDate;
  if (f == "tounixtimestamp" || f == "unixtimestampof") return ValueKind::kBigint;
  if (f == "currenttime") return ValueKind::kTime;
  if (f == "uuid") return ValueKind::kUuid;
  return std::nullopt;
}

// True when an IF condition names a column that is not static.
bool conditions_name_regular_columns(const TableMetadata& table,
                                     const std::vector<Relation>& conditions) {
  for (const auto& r : conditions) {
    for (const auto& name : r.columns) {
      const ColumnMetadata* c = table.column(name);
      if (c != nullptr && c->kind != ColumnKind::kStatic) return true;
    }
  }
  return false;
}

// Whether values written as `old_type` read correctly as `new_type` (Cassandra's
// isValueCompatibleWith, in its common cases): the same type, a blob for any single-cell value,
// text for ascii. A collection and a single-cell type never are.
bool readable_as(const CqlType& new_type, const CqlType& old_type) {
  if (new_type.to_cql() == old_type.to_cql()) return true;
  if (new_type.is_multi_cell() || old_type.is_multi_cell()) return false;
  if (new_type.kind == ValueKind::kBlob) return true;
  return new_type.kind == ValueKind::kText && old_type.kind == ValueKind::kAscii;
}

// blobAsX(b): the bytes must be a valid X, in Cassandra's words.
Status blob_conversion_check(const std::string& function, const CqlType& type, BytesView value) {
  if (schema::validate_value(type, value).is_ok()) return Status::ok();
  return invalid("In call to function system." + function + ", value 0x" + to_hex(value) +
                 " is not a valid binary representation for type " + type.to_cql());
}

Bytes be64(int64_t v) {
  BufferWriter w;
  w.put_i64(v);
  return w.release();
}
Bytes be32(int32_t v) {
  BufferWriter w;
  w.put_i32(v);
  return w.release();
}
int64_t load_signed(BytesView v) {
  uint64_t r = 0;
  for (unsigned char c : v) r = (r << 8) | c;
  const int shift = 64 - 8 * static_cast<int>(v.size());
  return v.empty() ? 0 : static_cast<int64_t>(r << shift) >> shift;
}

// Whether `t` can be assigned to a receiver of `type` at all (Cassandra's testAssignment): a
// literal of the right kind, a collection, tuple or user-type literal whose elements all can.
// A value that merely fails to parse is assignable; binding reports it. Markers, nulls and
// function calls are checked when bound.
bool assignable(const Term& t, const CqlType& type) {
  auto all = [&](size_t first, size_t step, const CqlType& element) {
    for (size_t i = first; i < t.elements.size(); i += step) {
      if (!assignable(t.elements[i], element)) return false;
    }
    return true;
  };
  switch (t.kind) {
    case Term::Kind::kNull:
    case Term::Kind::kBindMarker:
    case Term::Kind::kFunction:
      return true;
    case Term::Kind::kLiteral: {
      auto v = schema::value_from_literal(type, t.literal_kind, t.text);
      const std::string& m = v.status().message();
      return v.is_ok() || m.rfind("Invalid ", 0) != 0 || m.find(" constant (") == std::string::npos;
    }
    case Term::Kind::kList:
      return type.kind == ValueKind::kList && all(0, 1, type.params[0]);
    case Term::Kind::kSet:  // {} is also an empty map
      if (type.kind == ValueKind::kMap) return t.elements.empty();
      return type.kind == ValueKind::kSet && all(0, 1, type.params[0]);
    case Term::Kind::kMap:
      return type.kind == ValueKind::kMap && all(0, 2, type.params[0]) && all(1, 2, type.params[1]);
    case Term::Kind::kTuple:  // a user type is a tuple with names (Cassandra 4 takes one)
      if (type.kind != ValueKind::kTuple && !type.is_udt()) return false;
      if (t.elements.size() > type.params.size()) return false;
      for (size_t i = 0; i < t.elements.size(); ++i) {
        if (!assignable(t.elements[i], type.params[i])) return false;
      }
      return true;
    case Term::Kind::kUdt:
      if (!type.is_udt()) return false;
      for (size_t i = 0; i < t.elements.size(); ++i) {
        const auto field = type.field_position(t.field_names[i]);
        if (!field) continue;  // refused as an unknown field
        if (!assignable(t.elements[i], type.params[*field])) return false;
      }
      return true;
  }
  return false;
}

// --- Binding values ---------------------------------------------------------------------------

struct Bound {
  std::optional<Bytes> value;  // nullopt: null
  bool unset = false;
};

class Binder {
 public:
  Binder(const QueryOptions& options, const ParsedStatement& parsed, QueryProcessor& qp,
         std::function<Bytes(int64_t)> timeuuid, std::function<Bytes()> uuid, const Clock& clock)
      : options_(options),
        parsed_(parsed),
        timeuuid_(std::move(timeuuid)),
        uuid_(std::move(uuid)),
        clock_(clock) {}

  Result<Bound> bind(const Term& term, const CqlType& type, const std::string& receiver) {
    switch (term.kind) {
      case Term::Kind::kNull:
        return Bound{};
      case Term::Kind::kBindMarker:
        return bind_marker(term, type, receiver);
      case Term::Kind::kLiteral: {
        auto v = schema::value_from_literal(type, term.literal_kind, term.text);
        if (!v.is_ok()) {
          std::string m = v.status().message();
          if (m.rfind("Invalid ", 0) == 0)
            m = m.substr(0, m.find(" for type")) + " for \"" + receiver + "\" of type " +
                type.to_cql();
          return invalid(m);
        }
        return Bound{std::move(v).value(), false};
      }
      case Term::Kind::kList:
      case Term::Kind::kSet:
      case Term::Kind::kMap:
      case Term::Kind::kTuple:
        return bind_collection(term, type, receiver);
      case Term::Kind::kUdt:
        return bind_user_value(term, type, receiver);
      case Term::Kind::kFunction:
        return call(term, type, receiver);
    }
    return invalid("unsupported value");
  }

  // The value of a term that must not be null or unset.
  Result<Bytes> bind_required(const Term& term, const CqlType& type, const std::string& receiver) {
    RINGDB_ASSIGN_OR_RETURN(Bound b, bind(term, type, receiver));
    if (b.unset) return invalid("Invalid unset value for " + receiver);
    if (!b.value) return invalid("Invalid null value for " + receiver);
    return std::move(*b.value);
  }

 private:
  Result<Bound> bind_marker(const Term& term, const CqlType& type, const std::string& receiver) {
    size_t index = static_cast<size_t>(term.bind_index);
    if (!options_.names.empty()) {
      const std::string& name = parsed_.bind_names[index];
      auto it =
          std::find(options_.names.begin(), options_.names.end(), name.empty() ? receiver : name);
      if (it == options_.names.end()) return invalid("Invalid unset value for " + receiver);
      index = static_cast<size_t>(it - options_.names.begin());
    }
    if (index >= options_.values.size()) {
      return invalid("There were " + std::to_string(parsed_.bind_count) +
                     " markers(?) in CQL but " + std::to_string(options_.values.size()) +
                     " bound variables");
    }
    if (index < options_.unset.size() && options_.unset[index]) return Bound{std::nullopt, true};
    const auto& v = options_.values[index];
    if (v) RINGDB_RETURN_IF_ERROR(schema::validate_value(type, *v));
    return Bound{v, false};
  }

  // {field: value, …} (Cassandra's UserTypes.Literal): fields in any order, those left out null.
  Result<Bound> bind_user_value(const Term& term, const CqlType& type,
                                const std::string& receiver) {
    if (!type.is_udt()) {
      return invalid("Invalid user type literal for " + receiver + " of type " + type.to_cql());
    }
    // Cassandra's order: each field's type in the type's order, then unknown fields.
    for (size_t field = 0; field < type.field_names.size(); ++field) {
      for (size_t i = 0; i < term.elements.size(); ++i) {
        if (term.field_names[i] != type.field_names[field]) continue;
        if (!assignable(term.elements[i], type.params[field])) {
          return invalid("Invalid user type literal for " + receiver + ": field " +
                         schema::cql_name(type.field_names[field]) + " is not of type " +
                         type.params[field].to_cql());
        }
      }
    }
    std::vector<std::optional<Bytes>> fields(type.params.size());
    for (size_t i = 0; i < term.elements.size(); ++i) {
      const std::string& name = term.field_names[i];
      const auto position = type.field_position(name);
      if (!position) {
        return invalid("Unknown field '" + name + "' in value of user defined type " + type.name);
      }
      const size_t field = *position;
      RINGDB_ASSIGN_OR_RETURN(Bound b,
                              bind(term.elements[i], type.params[field], receiver + "." + name));
      if (b.unset)
        return invalid("Invalid unset value for field '" + name + "' of user defined type " +
                       type.name);
      fields[field] = std::move(b.value);
    }
    return Bound{schema::serialize_tuple(fields), false};
  }

  Result<Bound> bind_collection(const Term& term, const CqlType& type,
                                const std::string& receiver) {
    auto mismatch = [&] {
      const char* kind = term.kind == Term::Kind::kList  ? "list"
                         : term.kind == Term::Kind::kMap ? "map"
                         : term.kind == Term::Kind::kSet ? "set"
                                                         : "tuple";
      return invalid(std::string("Invalid ") + kind + " literal for " + receiver + " of type " +
                     type.to_cql());
    };
    if (term.kind == Term::Kind::kTuple) {
      if (type.kind != ValueKind::kTuple && !type.is_udt()) {
        return invalid("Invalid tuple type literal for " + receiver + " of type " + type.to_cql());
      }
      if (term.elements.size() > type.params.size()) {
        return invalid("Invalid tuple literal for " + receiver + ": too many elements. Type " +
                       type.to_cql() + " expects " + std::to_string(type.params.size()) +
                       " but got " + std::to_string(term.elements.size()));
      }
      for (size_t i = 0; i < term.elements.size(); ++i) {
        if (!assignable(term.elements[i], type.params[i])) {
          return invalid("Invalid tuple literal for " + receiver + ": component " +
                         std::to_string(i) + " is not of type " + type.params[i].to_cql());
        }
      }
      std::vector<std::optional<Bytes>> items;
      for (size_t i = 0; i < term.elements.size(); ++i) {
        RINGDB_ASSIGN_OR_RETURN(Bound b, bind(term.elements[i], type.params[i], receiver));
        if (b.unset)
          return invalid("Invalid unset value for tuple field number " + std::to_string(i));
        items.push_back(b.value);
      }
      return Bound{schema::serialize_tuple(items), false};
    }
    // An element of a collection literal: never null; an unset one makes the whole collection
    // unset (Cassandra's rules). `*unset` is set then.
    bool unset = false;
    auto element = [&](const Term& e, const CqlType& t) -> Result<Bytes> {
      RINGDB_ASSIGN_OR_RETURN(Bound b, bind(e, t, receiver));
      if (b.unset) {
        unset = true;
        return Bytes();
      }
      if (!b.value) return invalid("null is not supported inside collections");
      return std::move(*b.value);
    };
    // An empty {} is a set or a map literal, whichever the receiver is.
    const bool empty_braces = term.kind == Term::Kind::kSet && term.elements.empty();
    // Each element must be of the element type before any is bound (Cassandra's messages).
    auto check = [&](const Term& e, const CqlType& t, const char* kind,
                     const char* what) -> Status {
      if (assignable(e, t)) return Status::ok();
      return invalid(std::string("Invalid ") + kind + " literal for " + receiver + ": " + what +
                     " " + term_text(e) + " is not of type " + t.to_cql());
    };
    if (type.kind == ValueKind::kMap && term.kind == Term::Kind::kMap) {
      for (size_t i = 0; i + 1 < term.elements.size(); i += 2) {
        RINGDB_RETURN_IF_ERROR(check(term.elements[i], type.params[0], "map", "key"));
        RINGDB_RETURN_IF_ERROR(check(term.elements[i + 1], type.params[1], "map", "value"));
      }
    } else if (type.kind == ValueKind::kSet && term.kind == Term::Kind::kSet) {
      for (const auto& e : term.elements)
        RINGDB_RETURN_IF_ERROR(check(e, type.params[0], "set", "value"));
    } else if (type.kind == ValueKind::kList && term.kind == Term::Kind::kList) {
      for (const auto& e : term.elements)
        RINGDB_RETURN_IF_ERROR(check(e, type.params[0], "list", "value"));
    }
    if (type.kind == ValueKind::kMap && (term.kind == Term::Kind::kMap || empty_braces)) {
      std::map<Bytes, std::pair<Bytes, Bytes>> sorted;  // comparable key → (key, value)
      for (size_t i = 0; i + 1 < term.elements.size(); i += 2) {
        RINGDB_ASSIGN_OR_RETURN(Bytes k, element(term.elements[i], type.params[0]));
        RINGDB_ASSIGN_OR_RETURN(Bytes v, element(term.elements[i + 1], type.params[1]));
        if (unset) return Bound{std::nullopt, true};
        Bytes order;
        RINGDB_RETURN_IF_ERROR(
            storage::encode_comparable(type.params[0].to_storage(), k, false, &order));
        sorted[order] = {k, v};
      }
      std::vector<std::pair<Bytes, Bytes>> entries;
      for (auto& [order, kv] : sorted) entries.push_back(std::move(kv));
      return Bound{schema::serialize_map(entries), false};
    }
    if (type.kind == ValueKind::kSet && (term.kind == Term::Kind::kSet)) {
      std::map<Bytes, Bytes> sorted;
      for (const auto& e : term.elements) {
        RINGDB_ASSIGN_OR_RETURN(Bytes v, element(e, type.params[0]));
        if (unset) return Bound{std::nullopt, true};
        Bytes order;
        RINGDB_RETURN_IF_ERROR(
            storage::encode_comparable(type.params[0].to_storage(), v, false, &order));
        sorted[order] = v;
      }
      std::vector<Bytes> items;
      for (auto& [order, v] : sorted) items.push_back(std::move(v));
      return Bound{schema::serialize_list(items), false};
    }
    if (type.kind == ValueKind::kList && term.kind == Term::Kind::kList) {
      std::vector<Bytes> items;
      for (const auto& e : term.elements) {
        RINGDB_ASSIGN_OR_RETURN(Bytes v, element(e, type.params[0]));
        if (unset) return Bound{std::nullopt, true};
        items.push_back(std::move(v));
      }
      return Bound{schema::serialize_list(items), false};
    }
    return mismatch();
  }

  Result<Bound> call(const Term& term, const CqlType& type, const std::string& receiver) {
    const std::string& f = term.text;
    const int64_t now_micros = clock_.now_micros();
    // Arguments are named as Cassandra names them (argN(system.f)), and may not be unset.
    const std::string arg0 = "arg0(system." + f + ")";
    for (size_t i = 0; i < term.elements.size(); ++i) {
      if (term.elements[i].kind == Term::Kind::kBindMarker) {
        RINGDB_ASSIGN_OR_RETURN(Bound b, bind(term.elements[i], CqlType::of(ValueKind::kBlob),
                                              "arg" + std::to_string(i) + "(system." + f + ")"));
        if (b.unset) return invalid("Invalid unset value for argument in call to function " + f);
      }
    }
    auto expect_type = [&](ValueKind kind) -> Status {
      if (!value_compatible(type, CqlType::of(kind))) {
        return invalid("Type error: cannot assign result of function " + f + " (type " +
                       CqlType::of(kind).to_cql() + ") to " + receiver + " (type " + type.to_cql() +
                       ")");
      }
      return Status::ok();
    };
    if (f == "now" && term.elements.empty()) {
      RINGDB_RETURN_IF_ERROR(expect_type(ValueKind::kTimeuuid));
      return Bound{timeuuid_(now_micros), false};
    }
    if (f == "uuid" && term.elements.empty()) {
      RINGDB_RETURN_IF_ERROR(expect_type(ValueKind::kUuid));
      return Bound{uuid_(), false};
    }
    if (f == "currenttimestamp" && term.elements.empty()) {
      RINGDB_RETURN_IF_ERROR(expect_type(ValueKind::kTimestamp));
      return Bound{be64(now_micros / 1000), false};
    }
    // The time conversions, of a value whose type its term says (another function's result or
    // a uuid literal); a bare string or marker would match several of their signatures.
    if ((f == "totimestamp" || f == "dateof" || f == "todate" || f == "tounixtimestamp" ||
         f == "unixtimestampof") &&
        term.elements.size() == 1) {
      const ValueKind result = f == "todate" ? ValueKind::kDate
                               : f == "tounixtimestamp" || f == "unixtimestampof"
                                   ? ValueKind::kBigint
                                   : ValueKind::kTimestamp;
      RINGDB_RETURN_IF_ERROR(expect_type(result));
      std::optional<ValueKind> arg = natural_kind(term.elements[0]);
      if (!arg) {  // a string, a number or a marker: the overload it assigns to
        RINGDB_ASSIGN_OR_RETURN(arg, resolve_untyped(f, native_signatures(f), term.elements[0]));
      }
      RINGDB_RETURN_IF_ERROR(resolve_call(f, native_signatures(f), {CqlType::of(*arg)},
                                          std::vector<std::string>{term_text(term.elements[0])})
                                 .status());
      RINGDB_ASSIGN_OR_RETURN(Bytes v, bind_required(term.elements[0], CqlType::of(*arg), arg0));
      int64_t millis = 0;
      if (*arg == ValueKind::kTimeuuid) {
        millis = uuid_v1_unix_millis(v);
      } else if (*arg == ValueKind::kTimestamp || *arg == ValueKind::kBigint) {
        millis = load_signed(v);
      } else {
        millis =
            (static_cast<int64_t>(static_cast<uint32_t>(load_signed(v))) - (int64_t{1} << 31)) *
            86'400'000;
      }
      if (result == ValueKind::kDate) {
        const int64_t days =
            millis >= 0 ? millis / 86'400'000 : -((-millis + 86'399'999) / 86'400'000);
        return Bound{be32(static_cast<int32_t>(static_cast<uint32_t>(days + (int64_t{1} << 31)))),
                     false};
      }
      return Bound{be64(millis), false};
    }
    if (f == "currenttimeuuid" && term.elements.empty()) {
      RINGDB_RETURN_IF_ERROR(expect_type(ValueKind::kTimeuuid));
      return Bound{timeuuid_(now_micros), false};
    }
    if (f == "currenttime" && term.elements.empty()) {
      RINGDB_RETURN_IF_ERROR(expect_type(ValueKind::kTime));
      return Bound{be64(now_micros % 86'400'000'000LL * 1000), false};
    }
    if (f == "fromjson" && term.elements.size() == 1) {
      RINGDB_ASSIGN_OR_RETURN(Bound text,
                              bind(term.elements[0], CqlType::of(ValueKind::kText), arg0));
      if (text.unset)
        return invalid("Invalid unset value for argument in call to function fromjson");
      if (!text.value) return Bound{std::nullopt, false};  // fromJson(null) is null
      // Cassandra reports what the function met as a FunctionFailure.
      const std::string failed = "execution of 'system.fromjson[text]' failed: ";
      nlohmann::json doc = parse_json(*text.value);
      if (doc.is_discarded()) {
        return Status::function_failure(failed + "Could not decode JSON string '" + *text.value +
                                        "'");
      }
      auto v = json_value(type, doc);
      if (!v.is_ok() && v.status().code() == StatusCode::kInvalidArgument)
        return Status::function_failure(failed + v.status().message());
      RINGDB_RETURN_IF_ERROR(v.status());
      return Bound{std::move(v).value(), false};
    }
    if (f == "currentdate" && term.elements.empty()) {
      RINGDB_RETURN_IF_ERROR(expect_type(ValueKind::kDate));
      const int64_t days = now_micros / 86'400'000'000LL;
      return Bound{be32(static_cast<int32_t>(static_cast<uint32_t>(days + (int64_t{1} << 31)))),
                   false};
    }
    if ((f == "mintimeuuid" || f == "maxtimeuuid") && term.elements.size() == 1) {
      RINGDB_RETURN_IF_ERROR(expect_type(ValueKind::kTimeuuid));
      RINGDB_ASSIGN_OR_RETURN(
          Bytes ts, bind_required(term.elements[0], CqlType::of(ValueKind::kTimestamp), arg0));
      // The smallest and largest timeuuids of that millisecond, as Cassandra makes them: the
      // first or last 100-ns tick, and a clock/node half of 0x80 or 0x7f bytes (the extremes of
      // the signed byte order that timeuuids compare by).
      const int64_t millis = load_signed(ts);
      const bool min = f == "mintimeuuid";
      const int64_t ticks = (min ? millis * 10'000 : (millis + 1) * 10'000 - 1) + kUuidEpochOffset;
      Bytes u = uuid_v1(ticks, 0);
      for (int i = 8; i < 16; ++i) u[static_cast<size_t>(i)] = min ? '\x80' : '\x7f';
      return Bound{u, false};
    }
    if (f.size() > 6 && f.rfind("blobas", 0) == 0 && term.elements.size() == 1) {
      RINGDB_ASSIGN_OR_RETURN(Bound b, bind(term.elements[0], CqlType::of(ValueKind::kBlob), arg0));
      if (b.value) RINGDB_RETURN_IF_ERROR(blob_conversion_check(f, type, *b.value));
      return b;
    }
    if (f.size() > 6 && f.substr(f.size() - 6) == "asblob" && term.elements.size() == 1) {
      RINGDB_RETURN_IF_ERROR(expect_type(ValueKind::kBlob));
      auto source = CqlType::parse(f.substr(0, f.size() - 6));
      if (!source.is_ok()) return invalid("Unknown function " + f);
      return bind(term.elements[0], *source, arg0);
    }
    if (f == "tojson") return invalid("toJson() may only be used within the selection clause");
    return invalid("Unknown function '" + f + "' (or it is not supported in this position yet)");
  }

  const QueryOptions& options_;
  const ParsedStatement& parsed_;
  std::function<Bytes(int64_t)> timeuuid_;
  std::function<Bytes()> uuid_;
  const Clock& clock_;
};

// Cassandra's order for values of `type` (defined with the read path below).
int compare_values(const CqlType& type, BytesView a, BytesView b);

// --- Partition keys ------------------------------------------------------------------------

// Single-column keys are the value itself; composite keys use CompositeType's form:
// for each component [u16 length][bytes][0x00] (what the drivers hash for routing too).
Bytes compose_partition_key(const std::vector<Bytes>& components) {
  if (components.size() == 1) return components[0];
  BufferWriter w;
  for (const auto& c : components) {
    w.put_u16(static_cast<uint16_t>(c.size()));
    w.put_bytes(c);
    w.put_u8(0);
  }
  return w.release();
}

std::vector<Bytes> decompose_partition_key(BytesView key, size_t count) {
  if (count == 1) return {Bytes(key)};
  std::vector<Bytes> out;
  BufferReader r(key);
  for (size_t i = 0; i < count; ++i) {
    uint16_t n;
    BytesView v;
    uint8_t end;
    if (!r.get_u16(&n) || !r.get_bytes(n, &v) || !r.get_u8(&end)) break;
    out.emplace_back(v);
  }
  out.resize(count);
  return out;
}

}  // namespace

namespace {

// What a WHERE clause is for: the statements restrict the primary key differently.
enum class WhereUse { kSelect, kUpdate, kDelete };

struct Filter {
  const ColumnMetadata* column = nullptr;
  Relation::Op op = Relation::Op::kEq;
  std::vector<Bytes> values;  // one, or the IN list
  // A multi-column relation (a, b) op (x, y) on clustering columns: `column` is the first of
  // them, `tuple` all of them, and each of `values` their comparable encodings in value order.
  std::vector<const ColumnMetadata*> tuple;
  // m[key] = value on a map column: `values` holds the value.
  std::optional<Bytes> element_key;
};

// The partition key of an index entry for a cell (its path, for an element of a collection, and
// its value): the value for simple and full() indexes, the set element or map key (the path) for
// values() of a set and keys(), the element's value for values() of a list or map, and the key and
// value as a tuple for entries().
Bytes index_entry_key(const schema::IndexMetadata& index, const CqlType& type,
                      const std::optional<Bytes>& path, const Bytes& value) {
  if (!path || index.target == "simple" || index.target == "full") return value;
  if (index.target == "entries") return schema::serialize_tuple({*path, value});
  if (type.kind == ValueKind::kSet || index.target == "keys") return *path;
  return value;
}

struct TokenRange {
  int64_t start = INT64_MIN;  // exclusive, except INT64_MIN which includes everything
  int64_t end = INT64_MAX;    // inclusive
};

// What a WHERE clause says about the primary key.
struct KeyPlan {
  std::vector<std::vector<Bytes>>
      partition_values;  // per partition key column; empty when unrestricted
  bool partition_complete = false;
  // How many leading clustering columns = and IN restrict, and the combinations of their values
  // in clustering order without duplicates (one empty prefix when there are none).
  size_t clustering_prefix_length = 0;
  std::vector<std::vector<Bytes>> clustering_prefixes{{}};
  // A slice on the column(s) right after that prefix, applied under each prefix: the bounds'
  // values follow the prefix's (the prefix is not included). In clustering order: a slice on DESC
  // columns has its value bounds swapped.
  std::optional<storage::ClusteringBound> slice_start;
  std::optional<storage::ClusteringBound> slice_end;
  // A DELETE's multi-column slice over ASC and DESC columns: not one range in clustering order
  // but these ranges (in clustering order, relative to the prefix as slice_start/slice_end are).
  std::vector<std::pair<storage::ClusteringBound, storage::ClusteringBound>> slice_ranges;
  bool mixed_slice = false;  // slice_ranges holds the slice (possibly no range at all)
  std::optional<TokenRange> token;
  std::vector<Filter> filters;
  bool needs_filtering = false;
  // Every clustering restriction as a filter too: what a token-range scan applies row by row.
  std::vector<Filter> clustering_filters;
  // The clustering columns no relation restricts, in order.
  std::vector<const ColumnMetadata*> unrestricted_clustering;
  // UPDATE and DELETE: columns outside the primary key that the WHERE clause names (an error the
  // statement reports after its key checks).
  std::vector<std::string> non_key_columns;
  Status check_key_only() const {
    if (non_key_columns.empty()) return Status::ok();
    std::string names;
    for (const auto& n : non_key_columns) names += (names.empty() ? "" : ", ") + n;
    return Status::invalid_argument("Non PRIMARY KEY columns found in where clause: " + names);
  }

  bool has_slice() const { return slice_start.has_value() || slice_end.has_value() || mixed_slice; }
  // Every clustering column restricted to one value each (possibly several combinations).
  bool selects_rows(size_t clustering_columns) const {
    return clustering_prefix_length == clustering_columns && !has_slice();
  }
  // The clustering bounds of the slice under `prefix`, or of the prefix itself without a slice.
  std::pair<storage::ClusteringBound, storage::ClusteringBound> bounds_under(
      const std::vector<Bytes>& prefix) const {
    auto extend = [&](const std::optional<storage::ClusteringBound>& b) {
      if (!b) return storage::ClusteringBound{prefix, true};  // an empty prefix: unbounded
      storage::ClusteringBound out{prefix, b->inclusive};
      out.prefix.insert(out.prefix.end(), b->prefix.begin(), b->prefix.end());
      return out;
    };
    return {extend(slice_start), extend(slice_end)};
  }
};

// One side of a multi-column slice: (c1, ..., cn) > or >= (v1, ..., vn), in value order.
struct TupleBound {
  std::vector<Bytes> values;
  bool inclusive = false;
};

// A multi-column slice over clustering columns of mixed ASC/DESC order, starting at clustering
// column `first`, as the ranges of clustering order it is made of. In value order,
// (c1..cn) > (v1..vn) holds when, for some i, c1..c(i-1) equal v1..v(i-1) and ci > vi; each such
// term is one range under the prefix v1..v(i-1), at the start or the end of it as ci is DESC or
// ASC (plus the point v1..vn itself when inclusive). With both bounds, the ranges are the
// non-empty intersections of a lower term and an upper term. Bounds are relative to `first`.
Result<std::vector<std::pair<storage::ClusteringBound, storage::ClusteringBound>>>
mixed_order_ranges(const TableMetadata& table, size_t first, const std::optional<TupleBound>& lower,
                   const std::optional<TupleBound>& upper) {
  using Bound = storage::ClusteringBound;
  using Range = std::pair<Bound, Bound>;
  const auto ck = table.clustering();
  // The clustering columns from `first` on, to encode the bounds for comparison.
  storage::TableDescriptor columns;
  for (size_t i = first; i < ck.size(); ++i)
    columns.clustering.push_back({ck[i]->type.to_storage(), ck[i]->descending});
  auto terms = [&](const TupleBound& b, bool is_lower) {
    std::vector<Range> out;
    for (size_t i = 0; i < b.values.size(); ++i) {
      std::vector<Bytes> prefix(b.values.begin(), b.values.begin() + static_cast<long>(i));
      std::vector<Bytes> at = prefix;
      at.push_back(b.values[i]);
      // Values past v(i) in value order lie after it in clustering order on an ASC column.
      const bool after = is_lower != ck[first + i]->descending;
      if (after) {
        out.push_back({Bound{at, false}, Bound{prefix, true}});
      } else {
        out.push_back({Bound{prefix, true}, Bound{at, false}});
      }
    }
    if (b.inclusive) out.push_back({Bound{b.values, true}, Bound{b.values, true}});
    return out;
  };
  // A bound's position among encoded clusterings: starts at their first key (or after their
  // prefix when exclusive), ends after their prefix (or before it when exclusive); nullopt is
  // past everything.
  auto position = [&](const Bound& b, bool is_start) -> Result<std::optional<Bytes>> {
    Bytes enc;
    RINGDB_RETURN_IF_ERROR(storage::encode_clustering(columns, b.prefix, &enc));
    if (is_start == b.inclusive) return std::optional<Bytes>(enc);
    return storage::prefix_successor(enc);
  };
  auto before = [](const std::optional<Bytes>& x, const std::optional<Bytes>& y) {
    return x && (!y || *x < *y);
  };
  std::vector<Range> lowers, uppers;
  if (lower) lowers = terms(*lower, true);
  if (upper) uppers = terms(*upper, false);
  if (!lower) return uppers;
  if (!upper) return lowers;
  std::vector<Range> out;
  for (const auto& l : lowers) {
    for (const auto& u : uppers) {
      RINGDB_ASSIGN_OR_RETURN(auto l_start, position(l.first, true));
      RINGDB_ASSIGN_OR_RETURN(auto u_start, position(u.first, true));
      RINGDB_ASSIGN_OR_RETURN(auto l_end, position(l.second, false));
      RINGDB_ASSIGN_OR_RETURN(auto u_end, position(u.second, false));
      const bool lower_start = before(u_start, l_start);  // the later start wins
      const bool lower_end = before(l_end, u_end);        // the earlier end wins
      const auto& start = lower_start ? l_start : u_start;
      const auto& end = lower_end ? l_end : u_end;
      if (!before(start, end)) continue;  // empty
      out.push_back({lower_start ? l.first : u.first, lower_end ? l.second : u.second});
    }
  }
  return out;
}

// Every combination of one tuple from each group, concatenated: for groups sorted in clustering
// order and taken in column order, the combinations are in clustering order too.
std::vector<std::vector<Bytes>> cartesian_concat(
    const std::vector<std::vector<std::vector<Bytes>>>& groups, size_t limit, bool* too_many) {
  std::vector<std::vector<Bytes>> out{{}};
  for (const auto& tuples : groups) {
    std::vector<std::vector<Bytes>> next;
    for (const auto& prefix : out) {
      for (const auto& t : tuples) {
        auto p = prefix;
        p.insert(p.end(), t.begin(), t.end());
        next.push_back(std::move(p));
        if (next.size() > limit) {
          *too_many = true;
          return {};
        }
      }
    }
    out = std::move(next);
  }
  return out;
}

// A term as Cassandra prints it in error messages.
std::string term_text(const Term& t) {
  auto join = [](const std::vector<Term>& items, const char* open, const char* close) {
    std::string out = open;
    for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + term_text(items[i]);
    return out + close;
  };
  switch (t.kind) {
    case Term::Kind::kNull:
      return "NULL";
    case Term::Kind::kBindMarker:
      return t.bind_name.empty() ? "?" : ":" + t.bind_name;
    case Term::Kind::kLiteral:
      if (t.literal_kind != schema::LiteralKind::kString) return t.text;
      {
        std::string quoted = "'";
        for (char ch : t.text) quoted += ch == '\'' ? std::string("''") : std::string(1, ch);
        return quoted + "'";
      }
    case Term::Kind::kList:
      return join(t.elements, "[", "]");
    case Term::Kind::kSet:
      return join(t.elements, "{", "}");
    case Term::Kind::kTuple:
      return join(t.elements, "(", ")");
    case Term::Kind::kUdt: {
      std::string out = "{";
      for (size_t i = 0; i < t.elements.size(); ++i) {
        out +=
            (i ? ", " : "") + schema::cql_name(t.field_names[i]) + ": " + term_text(t.elements[i]);
      }
      return out + "}";
    }
    case Term::Kind::kMap: {
      std::string out = "{";
      for (size_t i = 0; i + 1 < t.elements.size(); i += 2) {
        out += (i ? ", " : "") + term_text(t.elements[i]) + ": " + term_text(t.elements[i + 1]);
      }
      return out + "}";
    }
    case Term::Kind::kFunction:
      return join(t.elements, (t.text + "(").c_str(), ")");
  }
  return "";
}

const char* op_text(Relation::Op op) {
  switch (op) {
    case Relation::Op::kEq:
      return "=";
    case Relation::Op::kLt:
      return "<";
    case Relation::Op::kLe:
      return "<=";
    case Relation::Op::kGt:
      return ">";
    case Relation::Op::kGe:
      return ">=";
    case Relation::Op::kNeq:
      return "!=";
    case Relation::Op::kIn:
      return "IN";
    case Relation::Op::kContains:
      return "CONTAINS";
    case Relation::Op::kContainsKey:
      return "CONTAINS KEY";
    case Relation::Op::kIsNotNull:
      return "IS NOT";
    case Relation::Op::kLike:
      return "LIKE";
  }
  return "?";
}

// A WHERE relation as Cassandra prints it in error messages: `b > 1`, `(b, c) IN ((1, 2))`.
std::string relation_text(const Relation& r) {
  std::string lhs;
  for (size_t i = 0; i < r.columns.size(); ++i) lhs += (i ? ", " : "") + r.columns[i];
  if (r.is_token)
    lhs = "token(" + lhs + ")";
  else if (r.tuple_notation)
    lhs = "(" + lhs + ")";
  std::string rhs = term_text(r.value);
  if (r.op == Relation::Op::kIn && r.value.kind == Term::Kind::kList)
    rhs = "(" + rhs.substr(1, rhs.size() - 2) + ")";
  return lhs + " " + op_text(r.op) + " " + rhs;
}

// `x IN (v)`: Cassandra 4 takes an IN with one literal value for an EQ.
bool single_value_in(const Relation& r) {
  return r.op == Relation::Op::kIn && r.value.kind == Term::Kind::kList &&
         r.value.elements.size() == 1;
}

// Cassandra's structural checks on the clustering restrictions of a WHERE clause, in statement
// order, before any value is bound. Restrictions on the same column merge or are refused (a
// single-column restriction merging with a multi-column one counts as a one-column tuple);
// without ALLOW FILTERING a restriction may neither follow a slice nor leave a gap, and with it
// a multi-column slice or IN cannot be checked row by row.
Status check_clustering_restrictions(const TableMetadata& table, const std::vector<Relation>& where,
                                     WhereUse use, bool allow_filtering) {
  const auto ck = table.clustering();
  enum class Kind { kEq, kIn, kSlice };
  struct Restriction {
    size_t first = 0, last = 0;  // clustering positions, inclusive
    bool multi = false;
    Kind kind = Kind::kEq;
    bool has_start = false, has_end = false;
    size_t width() const { return last - first + 1; }
  };
  std::vector<Restriction> all;
  std::vector<int> on(ck.size(), -1);  // the restriction on each clustering column
  auto commons = [&](const Restriction& a, const Restriction& b) {
    std::string out;
    for (size_t i = std::max(a.first, b.first); i <= std::min(a.last, b.last); ++i)
      out += (out.empty() ? "" : " ,") + ck[i]->name;
    return out;
  };
  // existing.mergeWith(added), as Cassandra's restrictions merge.
  auto merge = [&](Restriction existing, const Restriction& added) -> Result<Restriction> {
    const bool multi = existing.multi || added.multi;
    const std::string common = multi ? commons(existing, added) : ck[existing.first]->name;
    if (existing.kind == Kind::kEq)
      return invalid(common +
                     " cannot be restricted by more than one relation if it includes an "
                     "Equal");
    if (existing.kind == Kind::kIn)
      return invalid(common +
                     " cannot be restricted by more than one relation if it includes a IN");
    if (added.kind != Kind::kSlice)
      return invalid("Column \"" + common +
                     "\" cannot be restricted by both an equality and an inequality relation");
    if (multi && existing.first != added.first) {
      return invalid("Column \"" + ck[std::max(existing.first, added.first)]->name +
                     "\" cannot be restricted by two inequalities not starting with the same "
                     "column");
    }
    if (existing.has_start && added.has_start)
      return invalid("More than one restriction was found for the start bound on " + common);
    if (existing.has_end && added.has_end)
      return invalid("More than one restriction was found for the end bound on " + common);
    existing.has_start |= added.has_start;
    existing.has_end |= added.has_end;
    existing.multi = multi;
    existing.last = std::max(existing.last, added.last);
    return existing;
  };

  for (const Relation& r : where) {
    if (r.op == Relation::Op::kIsNotNull)
      return invalid("Unsupported restriction: " + relation_text(r));
    if (r.op == Relation::Op::kLike) {
      return invalid("LIKE restriction is only supported on properly indexed columns. " +
                     relation_text(r) + " is not valid.");
    }
    if (r.is_token) {
      if (r.op == Relation::Op::kIn) return invalid("IN cannot be used with the token function");
      continue;
    }
    Restriction added;
    if (r.tuple_notation) {
      if (r.op == Relation::Op::kNeq)
        return invalid("Unsupported \"!=\" relation: " + relation_text(r));
      std::vector<const ColumnMetadata*> cols;
      for (const auto& name : r.columns) {
        const ColumnMetadata* c = table.column(name);
        if (c == nullptr) return invalid("Undefined column name " + name);
        if (c->kind != ColumnKind::kClustering)
          return invalid(
              "Multi-column relations can only be applied to clustering columns but was applied "
              "to: " +
              name);
        if (std::find(cols.begin(), cols.end(), c) != cols.end())
          return invalid("Column \"" + name +
                         "\" appeared twice in a relation: " + relation_text(r));
        if (!cols.empty() && c->position != cols.back()->position + 1)
          return invalid(
              "Clustering columns must appear in the PRIMARY KEY order in multi-column "
              "relations: " +
              relation_text(r));
        cols.push_back(c);
      }
      // Literal tuples must have one value per column.
      std::vector<const Term*> tuples;
      if (r.op == Relation::Op::kIn && r.value.kind == Term::Kind::kList) {
        for (const auto& t : r.value.elements) tuples.push_back(&t);
      } else {
        tuples.push_back(&r.value);
      }
      for (const Term* t : tuples) {
        if (t->kind == Term::Kind::kTuple && t->elements.size() != cols.size()) {
          return invalid("Expected " + std::to_string(cols.size()) +
                         " elements in value tuple, but got " + std::to_string(t->elements.size()) +
                         ": " + term_text(*t));
        }
      }
      added.first = static_cast<size_t>(cols.front()->position);
      added.last = static_cast<size_t>(cols.back()->position);
      added.multi = true;
    } else {
      const ColumnMetadata* c = table.column(r.columns[0]);
      if (r.op == Relation::Op::kNeq && c != nullptr)
        return invalid("Unsupported \"!=\" relation: " + relation_text(r));
      if (c == nullptr || c->kind != ColumnKind::kClustering) continue;
      if (r.op == Relation::Op::kContains || r.op == Relation::Op::kContainsKey) continue;
      added.first = added.last = static_cast<size_t>(c->position);
    }
    switch (r.op) {
      case Relation::Op::kEq:
        added.kind = Kind::kEq;
        break;
      case Relation::Op::kIn:  // IN with one value is an EQ (Cassandra 4)
        added.kind = single_value_in(r) ? Kind::kEq : Kind::kIn;
        break;
      default:
        added.kind = Kind::kSlice;
        added.has_start = r.op == Relation::Op::kGt || r.op == Relation::Op::kGe;
        added.has_end = !added.has_start;
        break;
    }
    // Merge with what already restricts these columns.
    const std::vector<int> before = on;
    std::vector<int> existing;
    for (size_t i = added.first; i <= added.last; ++i) {
      if (on[i] >= 0 && std::find(existing.begin(), existing.end(), on[i]) == existing.end())
        existing.push_back(on[i]);
    }
    Restriction result = added;
    for (int e : existing) {
      RINGDB_ASSIGN_OR_RETURN(result, merge(all[static_cast<size_t>(e)], added));
    }
    all.push_back(result);
    for (size_t i = result.first; i <= result.last; ++i) on[i] = static_cast<int>(all.size() - 1);
    // Without filtering, nothing may follow a slice, and a slice may not come before a restricted
    // column.
    int last_index = -1;
    for (size_t i = 0; i < before.size(); ++i) {
      if (before[i] >= 0) last_index = before[i];
    }
    if (allow_filtering || last_index < 0) continue;
    const Restriction& last = all[static_cast<size_t>(last_index)];
    if (last.kind == Kind::kSlice && added.first > last.first) {
      return invalid("Clustering column \"" + ck[added.first]->name +
                     "\" cannot be restricted (preceding column \"" + ck[last.first]->name +
                     "\" is restricted by a non-EQ relation)");
    }
    if (added.first < last.first && added.kind == Kind::kSlice) {
      size_t next = added.first + 1;
      while (next < before.size() && before[next] < 0) ++next;
      return invalid("PRIMARY KEY column \"" + ck[next]->name +
                     "\" cannot be restricted (preceding column \"" + ck[added.first]->name +
                     "\" is restricted by a non-EQ relation)");
    }
  }
  if (use == WhereUse::kUpdate) {
    for (const auto& r : all) {
      if (r.kind == Kind::kSlice)
        return invalid(
            "Slice restrictions are not supported on the clustering columns in UPDATE statements");
    }
    return Status::ok();
  }
  // Restrictions that do not continue the prefix are checked row by row: that needs ALLOW
  // FILTERING, and Cassandra cannot do it for multi-column slices and IN.
  size_t position = 0;
  for (size_t i = 0; i < on.size();) {
    if (on[i] < 0) {
      ++i;
      continue;
    }
    const Restriction& r = all[static_cast<size_t>(on[i])];
    if (r.first != position) {
      if (!allow_filtering) {
        return invalid("PRIMARY KEY column \"" + ck[r.first]->name +
                       "\" cannot be restricted as preceding column \"" + ck[position]->name +
                       "\" is not restricted");
      }
      if (r.multi && r.kind == Kind::kSlice)
        return invalid("Multi-column slice restrictions cannot be used for filtering.");
      if (r.multi && r.kind == Kind::kIn && r.width() > 1)
        return invalid("Multicolumn IN filters are not supported");
    } else if (r.kind != Kind::kSlice) {
      position = r.last + 1;
    }
    i = r.last + 1;
  }
  return Status::ok();
}

}  // namespace

static bool clustering_free(const TableMetadata& table) {
  return table.clustering().empty();
}

static bool is_conditional(const Statement& st) {
  if (auto* s = std::get_if<InsertStatement>(&st)) return s->if_not_exists;
  if (auto* s = std::get_if<UpdateStatement>(&st)) return s->if_exists || !s->conditions.empty();
  if (auto* s = std::get_if<DeleteStatement>(&st)) return s->if_exists || !s->conditions.empty();
  return false;
}

struct CasTarget;
struct CasCheck;

class StatementRunner {
 public:
  StatementRunner(QueryProcessor& qp, Session& session, const QueryOptions& options,
                  const ParsedStatement& parsed, std::string default_keyspace)
      : qp_(qp),
        session_(session),
        options_(options),
        parsed_(parsed),
        default_keyspace_(std::move(default_keyspace)),
        index_generation_(qp.index_generation()),  // before the schema: see enter_apply
        schema_(qp.schemas_.current()),
        binder_(
            options, parsed, qp, [&qp](int64_t micros) { return qp.new_timeuuid(micros); },
            [&qp] { return qp.random_uuid(); }, qp.clock_) {}

  Result<ResultMessage> run();
  // Writes that run() prepared but did not apply: the caller applies them (asynchronously) and
  // answers the client once they are durable.
  std::vector<storage::Mutation> take_deferred() { return std::move(deferred_); }
  // The index generation its writes are planned under (QueryProcessor::enter_apply).
  uint64_t index_generation() const { return index_generation_; }
  // Reads only memory (row cache, memtables, block cache); run() then fails with WouldBlock
  // rather than wait for the disk, so the event loop can run it.
  void set_nonblocking() { nonblocking_ = true; }
  // The prepared statement being executed: its SELECT plan is kept with it.
  void set_prepared(const QueryProcessor::Prepared* prepared) { prepared_ = prepared; }
  Status collect_mutations(const Statement& statement, std::optional<int64_t> batch_timestamp,
                           std::vector<storage::Mutation>* out);
  // A BATCH with conditions: statements of one partition of one table, each bound by its own
  // runner. Every IF is checked under the partition's lock, and all the batch's writes apply
  // (at `timestamp`) only if all of them hold. Answers with the [applied] rows.
  struct CasItem {
    StatementRunner* runner;
    const Statement* statement;
  };
  static Result<ResultMessage> conditional_batch(QueryProcessor& qp,
                                                 const std::vector<CasItem>& items,
                                                 int64_t timestamp);
  // Prepared metadata: a spec for every bind marker, and the partition key's marker positions.
  // Whether a write statement (INSERT, UPDATE or DELETE) is on a counter table.
  Result<bool> writes_counter_table(const Statement& statement) {
    const TableMetadata* table = nullptr;
    std::visit(
        [&](const auto& s) {
          using T = std::decay_t<decltype(s)>;
          if constexpr (std::is_same_v<T, InsertStatement> || std::is_same_v<T, UpdateStatement> ||
                        std::is_same_v<T, DeleteStatement>) {
            auto t = resolve(s.keyspace, s.table);
            if (t.is_ok()) table = t.value();
          }
        },
        statement);
    return table != nullptr && table->is_counter_table();
  }
  // Cassandra's rules on counters in a batch: a COUNTER batch holds statements on counter tables
  // only, a LOGGED batch none, an UNLOGGED one not both kinds.
  static Status check_batch_counters(BatchStatement::Type type, bool has_counters,
                                     bool has_non_counters) {
    if (type == BatchStatement::Type::kCounter && has_non_counters)
      return invalid("Cannot include non-counter statement in a counter batch");
    if (has_counters && has_non_counters)
      return invalid("Counter and non-counter mutations cannot exist in the same batch");
    if (type == BatchStatement::Type::kLogged && has_counters)
      return invalid("Cannot include a counter statement in a logged batch");
    return Status::ok();
  }
  Status describe_binds(std::vector<ColumnSpec>* specs, std::vector<uint16_t>* pk_indexes,
                        std::vector<ColumnSpec>* result_columns);

 private:
  // The keyspace a statement names, else the session's; Cassandra's refusal when neither.
  Result<std::string> statement_keyspace(const std::string& named) const {
    const std::string ks = named.empty() ? default_keyspace_ : named;
    if (ks.empty()) {
      return invalid(
          "No keyspace has been specified. USE a keyspace, or explicitly specify "
          "keyspace.tablename");
    }
    return ks;
  }
  Result<const TableMetadata*> resolve(const std::string& keyspace, const std::string& table) {
    RINGDB_ASSIGN_OR_RETURN(const std::string ks, statement_keyspace(keyspace));
    // Writes and schema changes resolve tables here (reads of system tables do not).
    if (is_local_system_keyspace(ks)) return not_user_modifiable(ks);
    const TableMetadata* t = schema_->table(ks, table);
    if (t == nullptr) {
      if (!schema_->keyspace(ks) && !schema::is_system_keyspace(ks))
        return invalid("Keyspace " + ks + " does not exist");
      return invalid("unconfigured table " + table);
    }
    return t;
  }

  Result<KeyPlan> plan_where(const TableMetadata& table, const std::vector<Relation>& where,
                             WhereUse use, bool allow_filtering = false);
  Result<std::vector<Bytes>> partition_keys(const TableMetadata& table, const KeyPlan& plan);
  Result<int64_t> write_timestamp(const UsingClause& u, std::optional<int64_t> batch_timestamp);
  Result<int32_t> write_ttl(const UsingClause& u, const TableMetadata& table);
  Status add_cell_writes(const TableMetadata& table, const ColumnMetadata& column,
                         const Bound& value, int64_t ts, int32_t ttl, storage::RowWrite* row,
                         storage::RowWrite* static_row);
  Status insert_mutations(const InsertStatement& s, std::optional<int64_t> batch_ts,
                          std::vector<storage::Mutation>* out);
  Status update_mutations(const UpdateStatement& s, std::optional<int64_t> batch_ts,
                          std::vector<storage::Mutation>* out);
  Status delete_mutations(const DeleteStatement& s, std::optional<int64_t> batch_ts,
                          std::vector<storage::Mutation>* out);
  Result<ResultMessage> apply_writes(const Statement& statement);
  Result<std::vector<storage::Cell>> list_cells(const TableMetadata& table, const Bytes& key,
                                                const std::vector<Bytes>& clustering,
                                                const ColumnMetadata& column);
  Status insert_json_mutations(const TableMetadata& table, const InsertStatement& s,
                               std::optional<int64_t> batch_ts,
                               std::vector<storage::Mutation>* out);
  Status insert_values(const TableMetadata& table,
                       const std::vector<std::pair<const ColumnMetadata*, Bound>>& values,
                       const UsingClause& using_clause, std::optional<int64_t> batch_ts,
                       std::vector<storage::Mutation>* out);
  // Lightweight transactions: IF NOT EXISTS / IF EXISTS / IF conditions, checked and applied
  // under the partition's lock, answering with the [applied] row.
  Result<ResultMessage> conditional(const Statement& statement);
  // A conditional statement's mutations (appended to `out`) and the row its IF reads.
  Result<CasTarget> cas_target(const Statement& statement, std::optional<int64_t> batch_timestamp,
                               std::vector<storage::Mutation>* out);
  // Reads the target row and checks the statement's IF; the caller holds the partition's lock.
  Result<CasCheck> check_cas(const Statement& statement, const CasTarget& target);

  Result<ResultMessage> select(const SelectStatement& s);
  std::shared_ptr<const SingleRowRead> plan_single_row_read(const SelectStatement& s);
  // The answer of a SingleRowRead, or nothing when this execution needs the general path.
  Result<std::optional<ResultMessage>> run_single_row_read(const SingleRowRead& plan);
  Result<ResultMessage> system_select(const SelectStatement& s, const std::string& keyspace);
  Result<ResultMessage> ddl(const Statement& statement);

  Result<ResultMessage> alter_type(const CreateTypeStatement& s, const std::string& ks);
  Result<ResultMessage> index_ddl(const IndexStatement& s);
  // Index entries for the indexed cells of `base` (appended to `out`), and the removal of the
  // entry of each value they overwrite (read before the write).
  Status add_index_writes(const storage::Mutation& base, std::vector<storage::Mutation>* out);
  // What an index's entries for one value name: the partitions, in token order (candidates: the
  // caller checks each row's current value), and per partition the rows (clustering key, empty
  // for the static row) with each entry's timestamp.
  struct IndexedRows {
    struct Entry {
      Bytes row_key;
      int64_t timestamp;
    };
    std::vector<Bytes> keys;
    std::vector<std::vector<Entry>> entries;  // entries[i] name rows of keys[i]
  };
  Result<IndexedRows> indexed_partitions(const schema::IndexMetadata& index, const Bytes& value);
  // Removes the entries of `index` for `value` that name rows of `p` (read whole) no longer
  // holding it, as Cassandra's index searchers do on reads. Stale entries come from deletes of
  // whole rows and partitions, expired cells and list or map values, which writes do not purge.
  void purge_stale_entries(const TableMetadata& table, const schema::IndexMetadata& index,
                           const Bytes& value, const storage::Partition& p,
                           const std::vector<IndexedRows::Entry>& entries);

  QueryProcessor& qp_;
  std::optional<bool> schema_has_indexes_;  // add_index_writes' shortcut
  Session& session_;
  const QueryOptions& options_;
  const ParsedStatement& parsed_;
  const std::string default_keyspace_;
  const uint64_t index_generation_;
  std::shared_ptr<const schema::Schema> schema_;
  Binder binder_;
  std::vector<storage::Mutation> deferred_;
  bool nonblocking_ = false;
  const QueryProcessor::Prepared* prepared_ = nullptr;
  static constexpr int kNonBlockingPartitionsMax = 16;
  int partitions_read_ = 0;

  // The partition is immutable and may be the row cache's own copy.
  Result<std::shared_ptr<const storage::Partition>> read_partition(
      const storage::ReadCommand& read) {
    // On an event loop, a statement reads a few partitions at most (IN lists go elsewhere).
    if (nonblocking_ && ++partitions_read_ > kNonBlockingPartitionsMax)
      return Status::would_block("many partitions are left to a storage thread");
    return qp_.engine_.read_shared(read, nullptr,
                                   nonblocking_ ? storage::Engine::ReadMode::kNonBlocking
                                                : storage::Engine::ReadMode::kBlocking);
  }
};

Result<KeyPlan> StatementRunner::plan_where(const TableMetadata& table,
                                            const std::vector<Relation>& where, WhereUse use,
                                            bool allow_filtering) {
  RINGDB_RETURN_IF_ERROR(check_clustering_restrictions(table, where, use, allow_filtering));
  const bool for_write = use != WhereUse::kSelect;
  KeyPlan plan;
  const auto pk = table.partition_key();
  const auto ck = table.clustering();
  plan.partition_values.resize(pk.size());
  // Per partition key column: unrestricted, = or IN (an empty IN selects nothing).
  enum class KeyRestriction : uint8_t { kNone, kEq, kIn };
  std::vector<KeyRestriction> partition_restriction(pk.size(), KeyRestriction::kNone);
  // = and IN on clustering columns, by the first column they restrict: one column, or several
  // for (a, b) = (x, y) and (a, b) IN ((x, y), ...).
  struct EqGroup {
    std::vector<const ColumnMetadata*> columns;
    std::vector<std::vector<Bytes>> tuples;  // in clustering order, without duplicates
    Filter filter;                           // the same restriction, for checking rows
  };
  std::vector<std::optional<EqGroup>> eq_groups(ck.size());
  std::vector<bool> eq_restricted(ck.size(), false);
  auto add_eq_group = [&](EqGroup g) -> Status {
    // check_clustering_restrictions has refused a column restricted twice.
    for (const auto* c : g.columns) eq_restricted[static_cast<size_t>(c->position)] = true;
    // Cassandra de-duplicates and sorts the combinations: rows come back in clustering order.
    std::map<Bytes, std::vector<Bytes>> sorted;
    for (auto& t : g.tuples) {
      Bytes order;
      for (size_t i = 0; i < t.size(); ++i) {
        RINGDB_RETURN_IF_ERROR(storage::encode_comparable(g.columns[i]->type.to_storage(), t[i],
                                                          g.columns[i]->descending, &order));
      }
      sorted.emplace(std::move(order), std::move(t));
    }
    g.tuples.clear();
    for (auto& [order, t] : sorted) g.tuples.push_back(std::move(t));
    // Scans check each row against it.
    Filter f;
    f.column = g.columns[0];
    f.op = g.tuples.size() == 1 ? Relation::Op::kEq : Relation::Op::kIn;
    if (g.columns.size() == 1) {
      for (const auto& t : g.tuples) f.values.push_back(t[0]);
    } else {
      f.tuple = g.columns;
      for (const auto& t : g.tuples) {
        Bytes encoded;
        for (size_t i = 0; i < t.size(); ++i) {
          RINGDB_RETURN_IF_ERROR(
              storage::encode_comparable(g.columns[i]->type.to_storage(), t[i], false, &encoded));
        }
        f.values.push_back(std::move(encoded));
      }
    }
    plan.clustering_filters.push_back(f);
    g.filter = std::move(f);
    const auto first = static_cast<size_t>(g.columns[0]->position);
    eq_groups[first] = std::move(g);
    return Status::ok();
  };
  struct SliceBound {
    std::vector<Bytes> values;
    bool inclusive;
  };
  // Slices by the first column they restrict (check_clustering_restrictions has merged them as
  // Cassandra does: one per first column).
  struct Slice {
    std::optional<SliceBound> lower, upper;  // in value order
    size_t width = 0;                        // columns covered
    std::vector<Filter> filters;             // its relations, for checking rows
  };
  std::map<size_t, Slice> slices;
  auto add_slice = [&](const std::vector<const ColumnMetadata*>& cols, Relation::Op op,
                       std::vector<Bytes> values) -> Status {
    Slice& sl = slices[static_cast<size_t>(cols[0]->position)];
    sl.width = std::max(sl.width, cols.size());
    Filter f;
    f.column = cols[0];
    f.op = op;
    if (cols.size() == 1) {
      f.values.push_back(values[0]);
    } else {
      f.tuple = cols;
      Bytes encoded;
      for (size_t i = 0; i < cols.size(); ++i) {
        RINGDB_RETURN_IF_ERROR(
            storage::encode_comparable(cols[i]->type.to_storage(), values[i], false, &encoded));
      }
      f.values.push_back(std::move(encoded));
    }
    sl.filters.push_back(f);
    plan.clustering_filters.push_back(std::move(f));
    SliceBound b{std::move(values), op == Relation::Op::kGe || op == Relation::Op::kLe};
    (op == Relation::Op::kGt || op == Relation::Op::kGe ? sl.lower : sl.upper) = std::move(b);
    return Status::ok();
  };

  // A WHERE value, with Cassandra's messages for null and unset ones.
  auto bind_where = [&](const Term& t, const CqlType& type,
                        const ColumnMetadata& c) -> Result<Bytes> {
    RINGDB_ASSIGN_OR_RETURN(Bound b, binder_.bind(t, type, c.name));
    const bool key = c.kind == ColumnKind::kPartitionKey || c.kind == ColumnKind::kClustering;
    // Cassandra checks for ALLOW FILTERING when it prepares and for values when it binds.
    if (!key && (b.unset || !b.value) && use == WhereUse::kSelect && !allow_filtering)
      return invalid(kRequiresAllowFiltering);
    if (b.unset)
      return invalid(std::string(key ? "Invalid" : "Unsupported") + " unset value for column " +
                     c.name);
    if (!b.value) {
      return invalid(c.kind == ColumnKind::kPartitionKey
                         ? "Invalid null value for partition key part " + c.name
                     : c.kind == ColumnKind::kClustering
                         ? "Invalid null value for clustering key part " + c.name
                         : "Unsupported null value for column " + c.name);
    }
    return std::move(*b.value);
  };
  auto bind_values = [&](const Relation& r, const ColumnMetadata& c) -> Result<std::vector<Bytes>> {
    std::vector<Bytes> values;
    if (r.op == Relation::Op::kIn) {
      if (r.value.kind == Term::Kind::kBindMarker) {
        RINGDB_ASSIGN_OR_RETURN(
            Bound list, binder_.bind(r.value, CqlType::make(ValueKind::kList, {c.type}, true),
                                     "in(" + c.name + ")"));
        if (list.unset) return invalid("Invalid unset value for column " + c.name);
        if (!list.value) return invalid("Invalid null value for column " + c.name);
        std::vector<Bytes> items;
        RINGDB_RETURN_IF_ERROR(schema::split_collection(*list.value, false, &items));
        values = std::move(items);
      } else {
        for (const auto& t : r.value.elements) {
          RINGDB_ASSIGN_OR_RETURN(Bytes v, bind_where(t, c.type, c));
          values.push_back(std::move(v));
        }
      }
      if (values.size() > QueryProcessor::kInValuesMax) return invalid("IN list too long");
      // Cassandra de-duplicates and sorts IN values (results come back in clustering order).
      std::map<Bytes, Bytes> sorted;
      for (auto& v : values) {
        Bytes order;
        RINGDB_RETURN_IF_ERROR(
            storage::encode_comparable(c.type.to_storage(), v, c.descending, &order));
        sorted.emplace(order, std::move(v));
      }
      values.clear();
      for (auto& [o, v] : sorted) values.push_back(std::move(v));
      return values;
    }
    RINGDB_ASSIGN_OR_RETURN(Bytes v, bind_where(r.value, c.type, c));
    values.push_back(std::move(v));
    return values;
  };

  bool token_eq = false, token_start = false, token_end = false;
  for (const Relation& r : where) {
    if (r.is_token) {
      if (for_write) {
        return invalid(std::string("The token function cannot be used in WHERE clauses for ") +
                       (use == WhereUse::kUpdate ? "UPDATE" : "DELETE") + " statements");
      }
      std::vector<std::string> names;
      for (const auto* c : pk) names.push_back(c->name);
      std::string joined;
      for (const auto& n : names) joined += (joined.empty() ? "" : ", ") + n;
      if (r.columns != names) {  // Cassandra narrows the problem down, in this order
        const std::set<std::string> given(r.columns.begin(), r.columns.end());
        for (const auto& n : r.columns) {
          if (table.column(n) == nullptr) return invalid("Undefined column name " + n);
        }
        for (const auto& n : names) {
          if (given.count(n) == 0) {
            return invalid(
                "The token() function must be applied to all partition key components or none "
                "of them");
          }
        }
        if (given.size() != r.columns.size())
          return invalid("The token() function contains duplicate partition key components");
        if (given.size() != names.size())
          return invalid("The token() function must contains only partition key components");
        return invalid("The token function arguments must be in the partition key order: " +
                       joined);
      }
      // Merged as Cassandra merges token restrictions: one EQ alone, one bound of each side.
      const bool eq = r.op == Relation::Op::kEq;
      const bool start = r.op == Relation::Op::kGt || r.op == Relation::Op::kGe;
      const bool end = r.op == Relation::Op::kLt || r.op == Relation::Op::kLe;
      if (token_eq)
        return invalid(joined +
                       " cannot be restricted by more than one relation if it includes "
                       "an Equal");
      if ((token_start || token_end) && eq) {
        return invalid("Columns \"" + joined +
                       "\" cannot be restricted by both an equality and an inequality relation");
      }
      if (start && token_start)
        return invalid("More than one restriction was found for the start bound on " + joined);
      if (end && token_end)
        return invalid("More than one restriction was found for the end bound on " + joined);
      token_eq = token_eq || eq;
      token_start = token_start || start;
      token_end = token_end || end;
      int64_t t = 0;
      if (r.value.kind == Term::Kind::kFunction && r.value.text == "token") {
        // token(x, ...): the token of the partition key made of those values.
        if (r.value.elements.size() != pk.size()) {
          return invalid("Invalid number of arguments in call to function system.token: " +
                         std::to_string(pk.size()) + " required but " +
                         std::to_string(r.value.elements.size()) + " provided");
        }
        std::vector<Bytes> parts;
        for (size_t i = 0; i < pk.size(); ++i) {
          const std::string arg = "arg" + std::to_string(i) + "(system.token)";
          RINGDB_ASSIGN_OR_RETURN(Bound part, binder_.bind(r.value.elements[i], pk[i]->type, arg));
          if (part.unset)
            return invalid("Invalid unset value for argument in call to function token");
          if (!part.value) return invalid("Invalid null value for " + arg);
          parts.push_back(std::move(*part.value));
        }
        t = murmur3_token(compose_partition_key(parts));
      } else {
        RINGDB_ASSIGN_OR_RETURN(
            Bytes v,
            binder_.bind_required(r.value, CqlType::of(ValueKind::kBigint), "partition key token"));
        t = load_signed(v);
      }
      if (!plan.token) plan.token = TokenRange{};
      switch (r.op) {
        case Relation::Op::kGt:
          plan.token->start = std::max(plan.token->start, t);
          break;
        case Relation::Op::kGe:
          plan.token->start = std::max(plan.token->start, t == INT64_MIN ? t : t - 1);
          break;
        case Relation::Op::kLt:
          plan.token->end = std::min(plan.token->end, t == INT64_MIN ? t : t - 1);
          break;
        case Relation::Op::kLe:
          plan.token->end = std::min(plan.token->end, t);
          break;
        case Relation::Op::kEq:
          plan.token->start = std::max(plan.token->start, t == INT64_MIN ? t : t - 1);
          plan.token->end = std::min(plan.token->end, t);
          break;
        default:
          return invalid("Only EQ, IN and slice relations are supported on token()");
      }
      continue;
    }
    if (r.tuple_notation) {  // (a, b) op (x, y): clustering columns, in order
      // check_clustering_restrictions has checked the columns: clustering ones, in order.
      std::vector<const ColumnMetadata*> cols;
      for (const auto& name : r.columns) cols.push_back(table.column(name));
      CqlType tuple = CqlType::make(ValueKind::kTuple, {}, true);
      for (const auto* c : cols) tuple.params.push_back(c->type);
      auto names = [&] {
        std::string out;
        for (const auto* c : cols) out += (out.empty() ? "" : ", ") + c->name;
        return "[" + out + "]";
      };
      // A whole tuple (or IN list) bound at once is named as in the prepared metadata, "(a,b)";
      // Cassandra's messages call it "tuple (a,b)" and "in(a,b)".
      std::string joined;
      for (const auto* c : cols) joined += (joined.empty() ? "(" : ",") + c->name;
      joined += ")";
      auto bind_tuple = [&](const Term& t, const CqlType& type, const std::string& receiver,
                            const char* what) -> Result<Bytes> {
        RINGDB_ASSIGN_OR_RETURN(Bound b, binder_.bind(t, type, receiver));
        if (b.unset) return invalid("Invalid unset value for " + std::string(what) + receiver);
        if (!b.value) return invalid("Invalid null value for " + std::string(what) + receiver);
        return std::move(*b.value);
      };
      // Cassandra names the null column of a single tuple, and all columns in an IN list.
      auto split_tuple = [&](const Bytes& v, bool one_of_several) -> Result<std::vector<Bytes>> {
        std::vector<Bytes> parts;
        BufferReader rd(v);
        for (size_t i = 0; i < cols.size(); ++i) {
          int32_t n;
          BytesView item;
          if (!rd.get_i32(&n) || n < 0 || !rd.get_bytes(static_cast<size_t>(n), &item)) {
            if (one_of_several)
              return invalid("Invalid null value in condition for columns: " + names());
            return invalid((r.op == Relation::Op::kEq || r.op == Relation::Op::kIn
                                ? "Invalid null value for column "
                                : "Invalid null value in condition for column ") +
                           cols[i]->name);
          }
          parts.emplace_back(item);
        }
        return parts;
      };
      if (r.op == Relation::Op::kEq || r.op == Relation::Op::kIn) {
        std::vector<Bytes> bound;
        if (r.op == Relation::Op::kIn && r.value.kind == Term::Kind::kBindMarker) {
          // (a, b) IN ?: a list of tuples.
          RINGDB_ASSIGN_OR_RETURN(
              Bytes list, bind_tuple(r.value, CqlType::make(ValueKind::kList, {tuple}, true),
                                     "in" + joined, ""));
          RINGDB_RETURN_IF_ERROR(schema::split_collection(list, false, &bound));
        } else {
          std::vector<Term> terms =
              r.op == Relation::Op::kEq ? std::vector<Term>{r.value} : r.value.elements;
          for (const auto& t : terms) {
            RINGDB_ASSIGN_OR_RETURN(Bytes v, bind_tuple(t, tuple, joined, "tuple "));
            bound.push_back(std::move(v));
          }
        }
        if (bound.size() > QueryProcessor::kInValuesMax) return invalid("IN list too long");
        EqGroup g;
        g.columns = cols;
        for (const auto& v : bound) {
          RINGDB_ASSIGN_OR_RETURN(auto parts, split_tuple(v, bound.size() > 1));
          g.tuples.push_back(std::move(parts));
        }
        RINGDB_RETURN_IF_ERROR(add_eq_group(std::move(g)));
        continue;
      }
      RINGDB_ASSIGN_OR_RETURN(Bytes v, bind_tuple(r.value, tuple, joined, "tuple "));
      if (r.op != Relation::Op::kGt && r.op != Relation::Op::kGe && r.op != Relation::Op::kLt &&
          r.op != Relation::Op::kLe)
        return invalid("Unsupported \"" + std::string(op_text(r.op)) +
                       "\" relation: " + relation_text(r));
      RINGDB_ASSIGN_OR_RETURN(auto parts, split_tuple(v, false));
      RINGDB_RETURN_IF_ERROR(add_slice(cols, r.op, std::move(parts)));
      continue;
    }
    const ColumnMetadata* c = table.column(r.columns[0]);
    if (c == nullptr) return invalid("Undefined column name " + r.columns[0]);
    // What a column's type allows (Cassandra's SingleColumnRelation checks).
    if (r.op == Relation::Op::kContainsKey && c->type.kind != ValueKind::kMap)
      return invalid("Cannot use CONTAINS KEY on non-map column " + c->name);
    if (r.op == Relation::Op::kContains && !c->type.is_collection())
      return invalid("Cannot use CONTAINS on non-collection column " + c->name);
    if (r.element_key) {
      if (c->type.kind == ValueKind::kList)
        return invalid("Indexes on list entries (" + c->name +
                       "[index] = value) are not currently supported.");
      if (c->type.kind != ValueKind::kMap)
        return invalid("Column " + c->name + " cannot be used as a map");
      if (!c->type.is_multi_cell())
        return invalid("Map-entry equality predicates on frozen map column " + c->name +
                       " are not supported");
      if (r.op != Relation::Op::kEq)
        return invalid("Only EQ relations are supported on map entries");
    } else if (c->type.is_udt() && c->type.is_multi_cell()) {
      return invalid("Non-frozen UDT column '" + c->name + "' (" + c->type.to_cql() +
                     ") cannot be restricted by any relation");
    } else if (c->type.is_collection() && c->type.is_multi_cell() &&
               r.op != Relation::Op::kContains && r.op != Relation::Op::kContainsKey) {
      return invalid("Collection column '" + c->name + "' (" + c->type.to_cql() +
                     ") cannot be restricted by a '" + op_text(r.op) + "' relation");
    }
    if (c->kind == ColumnKind::kPartitionKey &&
        (r.op == Relation::Op::kEq || r.op == Relation::Op::kIn)) {
      const auto position = static_cast<size_t>(c->position);
      auto& slot = plan.partition_values[position];
      if (partition_restriction[position] != KeyRestriction::kNone) {
        return invalid(
            c->name + " cannot be restricted by more than one relation if it includes " +
            (partition_restriction[position] == KeyRestriction::kIn ? "a IN" : "an Equal"));
      }
      partition_restriction[position] = r.op == Relation::Op::kIn && !single_value_in(r)
                                            ? KeyRestriction::kIn
                                            : KeyRestriction::kEq;
      RINGDB_ASSIGN_OR_RETURN(slot, bind_values(r, *c));
      continue;
    }
    if (c->kind == ColumnKind::kClustering &&
        (r.op == Relation::Op::kEq || r.op == Relation::Op::kIn)) {
      EqGroup g;
      g.columns = {c};
      RINGDB_ASSIGN_OR_RETURN(std::vector<Bytes> values, bind_values(r, *c));
      for (auto& v : values) g.tuples.push_back({std::move(v)});
      RINGDB_RETURN_IF_ERROR(add_eq_group(std::move(g)));
      continue;
    }
    if (c->kind == ColumnKind::kClustering && r.op != Relation::Op::kNeq &&
        r.op != Relation::Op::kContains && r.op != Relation::Op::kContainsKey) {
      RINGDB_ASSIGN_OR_RETURN(Bytes v, bind_where(r.value, c->type, *c));
      RINGDB_RETURN_IF_ERROR(add_slice({c}, r.op, {std::move(v)}));
      continue;
    }
    if (for_write) {
      if (c->kind == ColumnKind::kPartitionKey) {
        return invalid(
            "Only EQ and IN relation are supported on the partition key (unless you use the "
            "token() function)");
      }
      // Reported after the key columns' errors, as Cassandra does.
      plan.non_key_columns.push_back(c->name);
      continue;
    }
    Filter f;
    f.column = c;
    f.op = r.op;
    const CqlType* value_type = &c->type;
    CqlType element;
    if (r.op == Relation::Op::kContains || r.op == Relation::Op::kContainsKey) {
      element = r.op == Relation::Op::kContainsKey ? c->type.params[0]
                : c->type.kind == ValueKind::kMap  ? c->type.params[1]
                                                   : c->type.params[0];
      value_type = &element;
    }
    if (r.element_key) {
      RINGDB_ASSIGN_OR_RETURN(Bytes key, binder_.bind_required(*r.element_key, c->type.params[0],
                                                               "key(" + c->name + ")"));
      f.element_key = std::move(key);
      element = c->type.params[1];
      value_type = &element;
    }
    if (r.op == Relation::Op::kIn) {
      RINGDB_ASSIGN_OR_RETURN(f.values, bind_values(r, *c));
    } else {
      RINGDB_ASSIGN_OR_RETURN(Bytes v, bind_where(r.value, *value_type, *c));
      f.values.push_back(std::move(v));
    }
    plan.filters.push_back(std::move(f));
    plan.needs_filtering = true;
  }

  // Partition key: complete when every column is restricted by = or IN.
  auto restricted = [](KeyRestriction k) { return k != KeyRestriction::kNone; };
  plan.partition_complete =
      std::all_of(partition_restriction.begin(), partition_restriction.end(), restricted);
  const bool any_partition =
      std::any_of(partition_restriction.begin(), partition_restriction.end(), restricted);
  if (for_write && !plan.partition_complete) {
    std::string missing;
    for (const auto* c : pk) {
      if (!restricted(partition_restriction[static_cast<size_t>(c->position)]))
        missing += (missing.empty() ? "" : ", ") + c->name;
    }
    return invalid("Some partition key parts are missing: " + missing);
  }
  if (any_partition && !plan.partition_complete) {
    for (const auto* c : pk) {
      const auto position = static_cast<size_t>(c->position);
      if (!restricted(partition_restriction[position])) continue;
      auto& values = plan.partition_values[position];
      plan.filters.push_back({c,
                              partition_restriction[position] == KeyRestriction::kIn
                                  ? Relation::Op::kIn
                                  : Relation::Op::kEq,
                              values,
                              {},
                              std::nullopt});
      values.clear();
    }
    plan.needs_filtering = true;
  }

  // Clustering: = / IN on a prefix, then at most one slice right after it.
  size_t prefix = 0;
  std::vector<std::vector<std::vector<Bytes>>> prefix_groups;
  while (prefix < ck.size() && eq_groups[prefix]) {
    prefix_groups.push_back(eq_groups[prefix]->tuples);
    prefix += eq_groups[prefix]->columns.size();
  }
  for (size_t i = prefix; i < ck.size(); ++i) {
    if (!eq_groups[i]) continue;
    // Not part of the prefix: each row is checked instead (an UPDATE's caller reports the
    // clustering keys missing).
    if (use == WhereUse::kSelect) {
      plan.filters.push_back(eq_groups[i]->filter);
      plan.needs_filtering = true;
    }
  }
  // The combinations of the prefix's values, sorted as each group is and taken in column order:
  // in clustering order.
  bool too_many = false;
  plan.clustering_prefix_length = prefix;
  plan.clustering_prefixes =
      cartesian_concat(prefix_groups, QueryProcessor::kInValuesMax, &too_many);
  if (too_many) return invalid("IN restrictions produce too many clustering combinations");
  for (size_t i = 0; i < ck.size(); ++i) {
    bool restricted = eq_restricted[i];
    for (const auto& [first, sl] : slices) restricted |= i >= first && i < first + sl.width;
    if (!restricted) plan.unrestricted_clustering.push_back(ck[i]);
  }
  for (auto& [first, sl] : slices) {
    if (first != prefix) {
      // Not usable as a range (only with ALLOW FILTERING, check_clustering_restrictions saw to
      // it): each row is checked instead.
      plan.filters.insert(plan.filters.end(), sl.filters.begin(), sl.filters.end());
      plan.needs_filtering = true;
      continue;
    }
    const ColumnMetadata& lead = *ck[first];
    bool mixed = false;
    for (size_t i = first + 1; i < first + sl.width && i < ck.size(); ++i)
      mixed |= ck[i]->descending != lead.descending;
    auto make = [&](const SliceBound& b) {
      return storage::ClusteringBound{b.values, b.inclusive};
    };
    if (!mixed) {
      if (sl.lower) plan.slice_start = make(*sl.lower);
      if (sl.upper) plan.slice_end = make(*sl.upper);
    } else {
      // A tuple slice over ASC and DESC columns is not one range in clustering order. A DELETE
      // takes it as the ranges it is made of; a SELECT reads the range of its first column and
      // checks each row against the tuples.
      if (use == WhereUse::kDelete) {
        auto bound = [](const std::optional<SliceBound>& b) {
          return b ? std::optional<TupleBound>(TupleBound{b->values, b->inclusive}) : std::nullopt;
        };
        RINGDB_ASSIGN_OR_RETURN(plan.slice_ranges,
                                mixed_order_ranges(table, first, bound(sl.lower), bound(sl.upper)));
        plan.mixed_slice = true;
        continue;
      }
      auto first_column = [&](const SliceBound& b) {
        return storage::ClusteringBound{{b.values[0]}, b.inclusive || b.values.size() > 1};
      };
      if (sl.lower) plan.slice_start = first_column(*sl.lower);
      if (sl.upper) plan.slice_end = first_column(*sl.upper);
      plan.filters.insert(plan.filters.end(), sl.filters.begin(), sl.filters.end());
    }
    // Value order runs against clustering order on DESC columns.
    if (lead.descending) std::swap(plan.slice_start, plan.slice_end);
  }
  // token() next to key restrictions filters the keys those select (Cassandra's TokenFilter);
  // the key must then be complete.
  if (plan.token && any_partition && !plan.partition_complete) {
    std::string missing;
    for (const auto* c : pk) {
      if (!restricted(partition_restriction[static_cast<size_t>(c->position)]))
        missing += (missing.empty() ? "" : ", ") + c->name;
    }
    return invalid("Partition key parts: " + missing + " must be restricted as other parts are");
  }
  return plan;
}

Result<std::vector<Bytes>> StatementRunner::partition_keys(const TableMetadata& table,
                                                           const KeyPlan& plan) {
  // Each column's values as one-value tuples: their combinations are the partition keys.
  std::vector<std::vector<std::vector<Bytes>>> groups;
  for (const auto& values : plan.partition_values) {
    auto& group = groups.emplace_back();
    for (const auto& v : values) group.push_back({v});
  }
  bool too_many = false;
  auto combos = cartesian_concat(groups, QueryProcessor::kInValuesMax, &too_many);
  if (too_many)
    return invalid("IN restrictions on the partition key produce more than " +
                   std::to_string(QueryProcessor::kInValuesMax) + " partitions");
  std::vector<Bytes> keys;
  for (auto& combo : combos) {
    for (size_t i = 0; i < combo.size(); ++i) {
      if (combo[i].empty() && combo.size() == 1) return invalid("Key may not be empty");
      if (combo[i].size() > 65535)
        return invalid("Key length of " + std::to_string(combo[i].size()) +
                       " is longer than maximum of 65535");
    }
    keys.push_back(compose_partition_key(combo));
  }
  return keys;
}

Result<int64_t> StatementRunner::write_timestamp(const UsingClause& u,
                                                 std::optional<int64_t> batch_timestamp) {
  if (u.timestamp) {
    RINGDB_ASSIGN_OR_RETURN(
        Bound b, binder_.bind(*u.timestamp, CqlType::of(ValueKind::kBigint), "[timestamp]"));
    if (!b.unset && !b.value) return invalid("Invalid null value of timestamp");
    if (b.value && !b.unset) {
      const int64_t ts = load_signed(*b.value);
      if (ts == INT64_MIN) return invalid("A TIMESTAMP must not be Long.MIN_VALUE");
      return ts;
    }
  }
  if (batch_timestamp) return *batch_timestamp;
  if (options_.timestamp) return *options_.timestamp;
  return qp_.next_timestamp();
}

Result<int32_t> StatementRunner::write_ttl(const UsingClause& u, const TableMetadata& table) {
  // Expiry times are 32-bit seconds: Cassandra 4's default policy refuses a TTL that would
  // expire after 2038-01-19T03:14:06Z (CASSANDRA-14092), in these words.
  auto check_expiry = [&](int32_t ttl, bool is_default) -> Status {
    if (ttl > 0 && static_cast<int64_t>(qp_.clock_.now_seconds()) + ttl > INT32_MAX - 1) {
      return invalid("Request on table " + table.keyspace + "." + table.name + " with " +
                     (is_default ? "default " : "") + "ttl of " + std::to_string(ttl) +
                     " seconds exceeds maximum supported expiration date of "
                     "2038-01-19T03:14:06+00:00. In order to avoid this use a lower TTL, change "
                     "the expiration date overflow policy or upgrade to a version where this "
                     "limitation is fixed. See CASSANDRA-14092 for more details.");
    }
    return Status::ok();
  };
  const int32_t table_default = table.options.default_time_to_live;
  if (!u.ttl) {
    RINGDB_RETURN_IF_ERROR(check_expiry(table_default, true));
    return storage::kUseTableDefaultTtl;
  }
  RINGDB_ASSIGN_OR_RETURN(Bound b, binder_.bind(*u.ttl, CqlType::of(ValueKind::kInt), "[ttl]"));
  if (b.unset) {  // unset: the table's default, as Cassandra
    RINGDB_RETURN_IF_ERROR(check_expiry(table_default, true));
    return storage::kUseTableDefaultTtl;
  }
  if (!b.value) return invalid("Invalid null value of TTL");
  const auto ttl = static_cast<int32_t>(load_signed(*b.value));
  if (ttl < 0)
    return invalid("A TTL must be greater or equal to 0, but was " + std::to_string(ttl));
  if (ttl > storage::kMaxTtlSeconds) {
    return invalid("ttl is too large. requested (" + std::to_string(ttl) + ") maximum (" +
                   std::to_string(storage::kMaxTtlSeconds) + ")");
  }
  RINGDB_RETURN_IF_ERROR(check_expiry(ttl, false));
  return ttl;
}

namespace {

// List elements are keyed by timeuuids. Appends use the write time; prepends use times before
// 2010 that decrease as real time passes, so later prepends sort first (Cassandra's scheme).
constexpr int64_t kPrependReference =
    0x01b21dd213814000LL + 12'623'040'000'000'000LL;  // 2010-01-01

}  // namespace

// The cell path of a non-frozen user type's field: its position, a 2-byte big-endian short.
Bytes field_path(size_t position) {
  BufferWriter w;
  w.put_u16(static_cast<uint16_t>(position));
  return w.release();
}

Status StatementRunner::add_cell_writes(const TableMetadata& table, const ColumnMetadata& column,
                                        const Bound& value, int64_t ts, int32_t ttl,
                                        storage::RowWrite* row, storage::RowWrite* static_row) {
  if (value.unset) return Status::ok();
  storage::RowWrite* target = column.kind == ColumnKind::kStatic ? static_row : row;
  using Kind = storage::CellWrite::Kind;
  if (!column.type.is_multi_cell()) {
    if (!value.value) {
      target->cells.push_back({Kind::kDelete, column.id, std::nullopt, "", ts, 0, 0});
    } else {
      target->cells.push_back({Kind::kSet, column.id, std::nullopt, *value.value, ts, ttl, 0});
    }
    return Status::ok();
  }
  // Overwriting a whole collection: delete what was there just before this write.
  target->cells.push_back({Kind::kCollectionDelete, column.id, std::nullopt, "", ts - 1, 0, 0});
  if (!value.value) return Status::ok();
  if (column.type.is_udt()) {  // a cell for each field that is not null
    std::vector<std::optional<Bytes>> fields;
    RINGDB_RETURN_IF_ERROR(schema::split_tuple(*value.value, &fields));
    for (size_t i = 0; i < fields.size() && i < column.type.params.size(); ++i) {
      if (fields[i])
        target->cells.push_back({Kind::kSet, column.id, field_path(i), *fields[i], ts, ttl, 0});
    }
    return Status::ok();
  }
  const bool is_map = column.type.kind == ValueKind::kMap;
  std::vector<Bytes> items;
  RINGDB_RETURN_IF_ERROR(schema::split_collection(*value.value, is_map, &items));
  for (size_t i = 0; i < items.size(); i += is_map ? 2 : 1) {
    if (column.type.kind == ValueKind::kList) {
      target->cells.push_back({Kind::kSet, column.id, qp_.new_timeuuid(ts), items[i], ts, ttl, 0});
    } else if (column.type.kind == ValueKind::kSet) {
      target->cells.push_back({Kind::kSet, column.id, items[i], "", ts, ttl, 0});
    } else {
      target->cells.push_back({Kind::kSet, column.id, items[i], items[i + 1], ts, ttl, 0});
    }
  }
  return Status::ok();
}

Status StatementRunner::insert_mutations(const InsertStatement& s, std::optional<int64_t> batch_ts,
                                         std::vector<storage::Mutation>* out) {
  RINGDB_ASSIGN_OR_RETURN(const TableMetadata* table, resolve(s.keyspace, s.table));
  if (table->is_counter_table()) {
    return invalid("INSERT statements are not allowed on counter tables, use UPDATE instead");
  }
  if (s.json) return insert_json_mutations(*table, s, batch_ts, out);
  if (s.columns.size() != s.values.size()) return invalid("Unmatched column names/values");
  std::vector<std::pair<const ColumnMetadata*, Bound>> values;
  std::set<std::string> seen;
  for (size_t i = 0; i < s.columns.size(); ++i) {
    const ColumnMetadata* c = table->column(s.columns[i]);
    if (c == nullptr) return invalid("Undefined column name " + s.columns[i]);
    if (!seen.insert(c->name).second)
      return invalid("Multiple definitions found for column " + c->name);
    RINGDB_ASSIGN_OR_RETURN(Bound b, binder_.bind(s.values[i], c->type, c->name));
    values.emplace_back(c, std::move(b));
  }
  return insert_values(*table, values, s.using_clause, batch_ts, out);
}

Status StatementRunner::insert_values(
    const TableMetadata& table_ref,
    const std::vector<std::pair<const ColumnMetadata*, Bound>>& values,
    const UsingClause& using_clause, std::optional<int64_t> batch_ts,
    std::vector<storage::Mutation>* out) {
  const TableMetadata* table = &table_ref;
  RINGDB_ASSIGN_OR_RETURN(int64_t ts, write_timestamp(using_clause, batch_ts));
  RINGDB_ASSIGN_OR_RETURN(int32_t ttl, write_ttl(using_clause, *table));
  const auto pk = table->partition_key();
  const auto ck = table->clustering();
  std::vector<Bytes> pk_values(pk.size()), ck_values(ck.size());
  std::vector<bool> have_pk(pk.size()), have_ck(ck.size());
  storage::RowWrite row, static_row;
  static_row.is_static = true;
  bool only_static = true;
  for (const auto& [c, b] : values) {
    if (c->kind == ColumnKind::kPartitionKey || c->kind == ColumnKind::kClustering) {
      if (b.unset || !b.value)
        return invalid("Invalid null value in condition for column " + c->name);
      const auto position = static_cast<size_t>(c->position);
      (c->kind == ColumnKind::kPartitionKey ? pk_values : ck_values)[position] = *b.value;
      (c->kind == ColumnKind::kPartitionKey ? have_pk : have_ck)[position] = true;
      continue;
    }
    if (c->kind != ColumnKind::kStatic) only_static = false;
    RINGDB_RETURN_IF_ERROR(add_cell_writes(*table, *c, b, ts, ttl, &row, &static_row));
  }
  for (size_t i = 0; i < pk.size(); ++i) {
    if (!have_pk[i]) return invalid("Some partition key parts are missing: " + pk[i]->name);
  }
  const bool all_ck = std::all_of(have_ck.begin(), have_ck.end(), [](bool b) { return b; });
  const bool no_ck = std::none_of(have_ck.begin(), have_ck.end(), [](bool b) { return b; });
  if (!all_ck && !(no_ck && only_static && !ck.empty())) {
    for (size_t i = 0; i < ck.size(); ++i) {
      if (!have_ck[i]) return invalid("Some clustering keys are missing: " + ck[i]->name);
    }
  }
  storage::Mutation m;
  m.table = table->storage_id;
  m.partition_key = compose_partition_key(pk_values);
  if (m.partition_key.empty()) return invalid("Key may not be empty");
  if (all_ck) {
    row.clustering = ck_values;
    row.marker_timestamp = ts;
    row.marker_ttl_seconds = ttl;
    m.rows.push_back(std::move(row));
  }
  if (!static_row.cells.empty()) m.rows.push_back(std::move(static_row));
  out->push_back(std::move(m));
  return Status::ok();
}

namespace {

// Cassandra reads JSON with Jackson and words its errors after the Java classes Jackson gives:
// Integer, Long or BigInteger for whole numbers by size, Double, Boolean, String, ArrayList and
// LinkedHashMap.
std::string java_class(const nlohmann::json& j) {
  if (j.is_boolean()) return "Boolean";
  if (is_big_integer(j)) return "BigInteger";
  if (j.is_number_unsigned()) {
    const auto u = j.get<uint64_t>();
    return u <= INT32_MAX ? "Integer" : u <= INT64_MAX ? "Long" : "BigInteger";
  }
  if (j.is_number_integer()) {
    const auto i = j.get<int64_t>();
    return i >= INT32_MIN && i <= INT32_MAX ? "Integer" : "Long";
  }
  if (j.is_number_float()) return "Double";
  if (j.is_string()) return "String";
  if (j.is_array()) return "ArrayList";
  return "LinkedHashMap";
}

// The value as Java's toString() prints it ([a, b] for lists, {k=v} for maps).
std::string java_text(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (is_big_integer(j)) return big_integer_text(j);
  if (j.is_null()) return "null";
  if (j.is_array() || j.is_object()) {
    std::string out = j.is_array() ? "[" : "{";
    bool first = true;
    for (const auto& [key, value] : j.items()) {
      out += first ? "" : ", ";
      first = false;
      if (j.is_object()) out += key + "=";
      out += java_text(value);
    }
    return out + (j.is_array() ? "]" : "}");
  }
  return j.dump();
}

Status marshal(const std::string& m) {
  return Status::invalid_argument(m);
}

Status expected(const std::string& what, const nlohmann::json& j) {
  return marshal("Expected " + what + ", but got a " + java_class(j) + ": " + java_text(j));
}

bool is_whole_number(std::string_view text) {
  size_t i = !text.empty() && (text[0] == '-' || text[0] == '+') ? 1 : 0;
  if (i == text.size()) return false;
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  return true;
}

// An integer type from text, as Cassandra's fromString: empty text is the empty value.
Result<std::optional<Bytes>> integer_from_text(const CqlType& type, const std::string& text) {
  if (text.empty()) return std::optional<Bytes>(Bytes());
  auto v = schema::value_from_literal(type, schema::LiteralKind::kInteger, text);
  if (!is_whole_number(text) || !v.is_ok()) {
    const char* java = type.kind == ValueKind::kTinyint    ? "byte"
                       : type.kind == ValueKind::kSmallint ? "short"
                       : type.kind == ValueKind::kInt      ? "int"
                                                           : "long";
    return marshal("Unable to make " + std::string(java) + " from '" + text + "'");
  }
  return std::optional<Bytes>(std::move(v).value());
}

// The parts of a collection or tuple: Cassandra also takes them as a JSON document in a string.
Result<nlohmann::json> json_parts(const nlohmann::json& j) {
  if (!j.is_string()) return j;
  nlohmann::json doc = parse_json(j.get<std::string>());
  if (doc.is_discarded())
    return marshal("Could not decode JSON string '" + j.get<std::string>() + "'");
  return doc;
}

// A JSON value as the serialized value of `type`, as Cassandra's fromJSONObject reads it: numbers
// or strings for numbers, strings for text, dates, times and addresses, a number or a string for
// timestamps, lists for lists, sets and tuples, objects for maps (keys are strings, read as the
// key type reads a string).
Result<std::optional<Bytes>> json_value(const CqlType& type, const nlohmann::json& j) {
  using schema::LiteralKind;
  if (j.is_null()) return std::optional<Bytes>();
  auto literal = [&](LiteralKind kind, const std::string& text) -> Result<std::optional<Bytes>> {
    RINGDB_ASSIGN_OR_RETURN(Bytes v, schema::value_from_literal(type, kind, text));
    return std::optional<Bytes>(std::move(v));
  };
  auto empty = [] { return std::optional<Bytes>(Bytes()); };
  switch (type.kind) {
    case ValueKind::kAscii:
      if (!j.is_string()) return expected("an ascii string", j);
      return literal(LiteralKind::kString, j.get<std::string>());
    case ValueKind::kText:
      if (!j.is_string()) return expected("a UTF-8 string", j);
      return literal(LiteralKind::kString, j.get<std::string>());
    case ValueKind::kBigint:
    case ValueKind::kCounter:
      if (j.is_string()) return integer_from_text(type, j.get<std::string>());
      if (!j.is_number_integer() || java_class(j) == "BigInteger")
        return expected("a bigint value", j);
      return literal(LiteralKind::kInteger, j.dump());
    case ValueKind::kInt:
      if (j.is_string()) return integer_from_text(type, j.get<std::string>());
      if (java_class(j) != "Integer") return expected("an int value", j);
      return literal(LiteralKind::kInteger, j.dump());
    case ValueKind::kSmallint:
    case ValueKind::kTinyint:
      if (!j.is_string() && !j.is_number()) {
        return expected(type.kind == ValueKind::kSmallint ? "a short value" : "a byte value", j);
      }
      return integer_from_text(type, java_text(j));
    case ValueKind::kVarint: {
      const std::string text = java_text(j);
      if (!is_whole_number(text))
        return marshal("Value '" + text + "' is not a valid representation of a varint value");
      return literal(LiteralKind::kInteger, text);
    }
    case ValueKind::kDecimal: {
      const std::string text = java_text(j);
      auto v = schema::value_from_literal(type, LiteralKind::kFloat, text);
      if (!v.is_ok() || !(j.is_string() || j.is_number()))
        return marshal("Value '" + text + "' is not a valid representation of a decimal value");
      return std::optional<Bytes>(std::move(v).value());
    }
    case ValueKind::kFloat:
    case ValueKind::kDouble: {
      const bool is_double = type.kind == ValueKind::kDouble;
      if (j.is_number()) {
        return literal(j.is_number_float() ? LiteralKind::kFloat : LiteralKind::kInteger, j.dump());
      }
      if (is_big_integer(j))  // a Number: Cassandra takes its double value
        return literal(LiteralKind::kFloat, big_integer_text(j));
      if (!j.is_string()) return expected(is_double ? "a double value" : "a float value", j);
      const std::string text = j.get<std::string>();
      if (text.empty()) return empty();
      auto v = schema::value_from_literal(type, LiteralKind::kFloat, text);
      if (!v.is_ok())
        return marshal(std::string("Unable to make ") + (is_double ? "double" : "float") +
                       " from '" + text + "'");
      return std::optional<Bytes>(std::move(v).value());
    }
    case ValueKind::kBoolean: {
      if (j.is_boolean()) return literal(LiteralKind::kBoolean, j.get<bool>() ? "true" : "false");
      if (!j.is_string()) return expected("a boolean value", j);
      std::string text = j.get<std::string>();
      if (text.empty()) return empty();
      for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (text != "true" && text != "false")
        return marshal("Unable to make boolean from '" + j.get<std::string>() + "'");
      return literal(LiteralKind::kBoolean, text);
    }
    case ValueKind::kTimestamp:
      if (j.is_number_integer() && java_class(j) != "BigInteger")
        return literal(LiteralKind::kInteger, j.dump());
      if (!j.is_string()) {
        return expected("a long or a datestring representation of a timestamp value", j);
      }
      if (j.get<std::string>().empty()) return empty();
      return literal(LiteralKind::kString, j.get<std::string>());
    case ValueKind::kDate:
    case ValueKind::kTime:
    case ValueKind::kInet:
    case ValueKind::kDuration:
    case ValueKind::kUuid:
    case ValueKind::kTimeuuid: {
      if (!j.is_string()) {
        const char* what =
            type.kind == ValueKind::kDate       ? "a string representation of a date value"
            : type.kind == ValueKind::kTime     ? "a string representation of a time value"
            : type.kind == ValueKind::kInet     ? "a string representation of an inet value"
            : type.kind == ValueKind::kDuration ? "a string representation of a duration"
            : type.kind == ValueKind::kUuid     ? "a string representation of a uuid"
                                                : "a string representation of a timeuuid";
        return expected(what, j);
      }
      const std::string text = j.get<std::string>();
      if (text.empty()) return empty();
      if (type.kind == ValueKind::kTimeuuid) {
        auto u =
            schema::value_from_literal(CqlType::of(ValueKind::kUuid), LiteralKind::kUuid, text);
        if (!u.is_ok()) return marshal("Unknown timeuuid representation: " + text);
        if ((static_cast<uint8_t>((*u)[6]) >> 4) != 1)
          return marshal("TimeUUID supports only version 1 UUIDs");
        return std::optional<Bytes>(std::move(u).value());
      }
      return literal(type.kind == ValueKind::kUuid ? LiteralKind::kUuid : LiteralKind::kString,
                     text);
    }
    case ValueKind::kBlob: {
      const std::string text = java_text(j);
      if (!j.is_string()) return marshal("Value '" + text + "' is not a valid blob representation");
      if (text.rfind("0x", 0) != 0) {
        return marshal("Value '" + text +
                       "' is not a valid blob representation: String representation of blob is "
                       "missing 0x prefix: " +
                       text);
      }
      auto v = schema::value_from_literal(type, LiteralKind::kHex, text);
      if (!v.is_ok()) {
        return marshal("Value '" + text + "' is not a valid blob representation: cannot parse '" +
                       text.substr(2) + "' as hex bytes");
      }
      return std::optional<Bytes>(std::move(v).value());
    }
    case ValueKind::kList:
    case ValueKind::kSet: {
      const bool is_set = type.kind == ValueKind::kSet;
      RINGDB_ASSIGN_OR_RETURN(nlohmann::json parts, json_parts(j));
      if (!parts.is_array())
        return expected(is_set ? "a list (representing a set)" : "a list", parts);
      std::map<Bytes, Bytes> sorted;
      std::vector<Bytes> items;
      for (const auto& e : parts) {
        if (e.is_null())
          return marshal(is_set ? "Invalid null element in set" : "Invalid null element in list");
        RINGDB_ASSIGN_OR_RETURN(auto v, json_value(type.params[0], e));
        if (is_set) {
          Bytes order;
          RINGDB_RETURN_IF_ERROR(
              storage::encode_comparable(type.params[0].to_storage(), *v, false, &order));
          sorted[order] = *v;
        } else {
          items.push_back(*v);
        }
      }
      for (auto& [o, v] : sorted) items.push_back(v);
      return std::optional<Bytes>(schema::serialize_list(items));
    }
    case ValueKind::kMap: {
      RINGDB_ASSIGN_OR_RETURN(nlohmann::json parts, json_parts(j));
      if (!parts.is_object()) return expected("a map", parts);
      std::map<Bytes, std::pair<Bytes, Bytes>> sorted;
      for (const auto& [key_text, value_json] : parts.items()) {
        if (value_json.is_null()) return marshal("Invalid null value in map");
        RINGDB_ASSIGN_OR_RETURN(auto k, json_value(type.params[0], nlohmann::json(key_text)));
        RINGDB_ASSIGN_OR_RETURN(auto v, json_value(type.params[1], value_json));
        Bytes order;
        RINGDB_RETURN_IF_ERROR(
            storage::encode_comparable(type.params[0].to_storage(), *k, false, &order));
        sorted[order] = {*k, *v};
      }
      std::vector<std::pair<Bytes, Bytes>> entries;
      for (auto& [o, kv] : sorted) entries.push_back(kv);
      return std::optional<Bytes>(schema::serialize_map(entries));
    }
    case ValueKind::kTuple: {
      RINGDB_ASSIGN_OR_RETURN(nlohmann::json parts, json_parts(j));
      if (!parts.is_array()) return expected("a list representation of a tuple", parts);
      const std::string count = std::to_string(type.params.size());
      if (parts.size() > type.params.size())
        return marshal("Tuple contains extra items (expected " + count + ")");
      if (parts.size() < type.params.size())
        return marshal("Tuple is missing items (expected " + count + ")");
      std::vector<std::optional<Bytes>> items;
      for (size_t i = 0; i < parts.size(); ++i) {
        RINGDB_ASSIGN_OR_RETURN(auto v, json_value(type.params[i], parts[i]));
        items.push_back(v);
      }
      return std::optional<Bytes>(schema::serialize_tuple(items));
    }
    case ValueKind::kUdt: {  // Cassandra's UserType.fromJSONObject
      RINGDB_ASSIGN_OR_RETURN(nlohmann::json parts, json_parts(j));
      if (!parts.is_object()) return expected("a map", parts);
      // A key in double quotes keeps its case; others are lower-cased (Json.handleCaseSensitivity).
      std::map<std::string, const nlohmann::json*> fields;
      for (const auto& [key, value] : parts.items()) {
        const bool quoted = key.size() >= 2 && key.front() == '"' && key.back() == '"';
        fields[quoted ? key.substr(1, key.size() - 2) : ascii_lower(key)] = &value;
      }
      std::vector<std::optional<Bytes>> items;
      for (size_t i = 0; i < type.params.size(); ++i) {
        auto it = fields.find(type.field_names[i]);
        if (it == fields.end() || it->second->is_null()) {
          items.emplace_back();
        } else {
          RINGDB_ASSIGN_OR_RETURN(auto v, json_value(type.params[i], *it->second));
          items.push_back(std::move(v));
        }
        if (it != fields.end()) fields.erase(it);
      }
      if (!fields.empty()) {
        return marshal("Unknown field '" + fields.begin()->first +
                       "' in value of user defined type " + type.name);
      }
      return std::optional<Bytes>(schema::serialize_tuple(items));
    }
    default:
      return Status::not_supported("JSON values of type " + type.to_cql() +
                                   " are not supported yet");
  }
}

}  // namespace

Status StatementRunner::insert_json_mutations(const TableMetadata& table, const InsertStatement& s,
                                              std::optional<int64_t> batch_ts,
                                              std::vector<storage::Mutation>* out) {
  RINGDB_ASSIGN_OR_RETURN(Bound json,
                          binder_.bind(*s.json, CqlType::of(ValueKind::kText), "[json]"));
  if (json.unset) return invalid("Invalid unset value for [json]");
  if (!json.value) return invalid("Got null for INSERT JSON values");
  const Bytes& text = *json.value;
  nlohmann::json doc = parse_json(text);
  if (!doc.is_discarded() && doc.is_null()) return invalid("Got null for INSERT JSON values");
  if (doc.is_discarded() || !doc.is_object())
    return invalid("Could not decode JSON string as a map: " + text);
  std::vector<std::pair<const ColumnMetadata*, Bound>> values;
  std::set<std::string> seen;
  for (const auto& [raw_name, value] : doc.items()) {
    // Quoted names keep their case; others are case-insensitive, as in CQL.
    std::string name = raw_name;
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      name = name.substr(1, name.size() - 2);
    } else {
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    const ColumnMetadata* c = table.column(name);
    if (c == nullptr) return invalid("JSON values map contains unrecognized column: " + raw_name);
    auto v = json_value(c->type, value);
    if (!v.is_ok()) {
      if (v.status().code() != StatusCode::kInvalidArgument) return v.status();
      return invalid("Error decoding JSON value for " + c->name + ": " + v.status().message());
    }
    values.emplace_back(c, Bound{std::move(v).value(), false});
    seen.insert(c->name);
  }
  for (const auto& c : table.columns) {
    if (seen.count(c.name) || c.kind == ColumnKind::kPartitionKey ||
        c.kind == ColumnKind::kClustering)
      continue;
    values.emplace_back(&c,
                        Bound{std::nullopt, s.json_default_unset});  // DEFAULT NULL unless UNSET
  }
  return insert_values(table, values, s.using_clause, batch_ts, out);
}

Status StatementRunner::update_mutations(const UpdateStatement& s, std::optional<int64_t> batch_ts,
                                         std::vector<storage::Mutation>* out) {
  RINGDB_ASSIGN_OR_RETURN(const TableMetadata* table, resolve(s.keyspace, s.table));
  if (table->is_counter_table() && s.using_clause.timestamp)
    return invalid("Cannot provide custom timestamp for counter updates");
  if (table->is_counter_table() && s.using_clause.ttl)
    return invalid("Cannot provide custom TTL for counter updates");
  RINGDB_ASSIGN_OR_RETURN(int64_t ts, write_timestamp(s.using_clause, batch_ts));
  RINGDB_ASSIGN_OR_RETURN(int32_t ttl, write_ttl(s.using_clause, *table));
  RINGDB_ASSIGN_OR_RETURN(KeyPlan plan, plan_where(*table, s.where, WhereUse::kUpdate));
  using Kind = storage::CellWrite::Kind;
  storage::RowWrite row, static_row;
  static_row.is_static = true;
  bool only_static = true;
  // List operations by index or value read the list first (as Cassandra does).
  std::vector<std::function<Status(const std::vector<storage::Cell>&, storage::RowWrite*)>>
      deferred;
  std::vector<const ColumnMetadata*> deferred_columns;
  for (const Operation& op : s.operations) {
    const ColumnMetadata* c = table->column(op.column);
    if (c == nullptr) return invalid("Undefined column name " + op.column);
    if (c->kind == ColumnKind::kPartitionKey || c->kind == ColumnKind::kClustering) {
      return invalid("PRIMARY KEY part " + c->name + " found in SET part");
    }
    if (c->kind != ColumnKind::kStatic) only_static = false;
    storage::RowWrite* target = c->kind == ColumnKind::kStatic ? &static_row : &row;
    const CqlType& type = c->type;
    if (type.is_counter()) {
      if (op.kind != Operation::Kind::kAdd && op.kind != Operation::Kind::kSubtract) {
        return invalid("Cannot set the value of counter column " + c->name +
                       " (counters can only be incremented/decremented, not set)");
      }
      // As Cassandra: an unset increment changes nothing; a null one is refused.
      RINGDB_ASSIGN_OR_RETURN(Bound b,
                              binder_.bind(op.value, CqlType::of(ValueKind::kBigint), c->name));
      if (b.unset) continue;
      if (!b.value) return invalid("Invalid null value for counter increment");
      int64_t delta = load_signed(*b.value);
      if (op.kind == Operation::Kind::kSubtract) {
        if (delta == INT64_MIN) {
          return invalid("The negation of " + std::to_string(delta) +
                         " overflows supported counter precision (signed 8 bytes integer)");
        }
        delta = -delta;
      }
      target->cells.push_back({Kind::kCounterAdd, c->id, std::nullopt, "", ts, 0, delta});
      continue;
    }
    if (table->is_counter_table())
      return invalid("Cannot mix counter and non counter columns in the same table");
    switch (op.kind) {
      case Operation::Kind::kSet: {
        RINGDB_ASSIGN_OR_RETURN(Bound b, binder_.bind(op.value, type, c->name));
        RINGDB_RETURN_IF_ERROR(add_cell_writes(*table, *c, b, ts, ttl, &row, &static_row));
        break;
      }
      case Operation::Kind::kAdd:
      case Operation::Kind::kPrepend: {
        // Cassandra's words, with the operation as written.
        if (op.kind == Operation::Kind::kPrepend) {
          const std::string written =
              "Invalid operation (" + c->name + " = " + term_text(op.value) + " + " + c->name + ")";
          if (type.kind != ValueKind::kList)
            return invalid(written + " for non list column " + c->name);
          if (!type.is_multi_cell()) return invalid(written + " for frozen list column " + c->name);
        }
        const std::string written =
            "Invalid operation (" + c->name + " = " + c->name + " + " + term_text(op.value) + ")";
        if (!type.is_collection()) return invalid(written + " for non counter column " + c->name);
        if (!type.is_multi_cell())
          return invalid(written + " for frozen collection column " + c->name);
        RINGDB_ASSIGN_OR_RETURN(Bound b, binder_.bind(op.value, type, c->name));
        if (b.unset || !b.value) break;
        const bool is_map = type.kind == ValueKind::kMap;
        std::vector<Bytes> items;
        RINGDB_RETURN_IF_ERROR(schema::split_collection(*b.value, is_map, &items));
        const size_t n = items.size();
        std::vector<Bytes> prepended;
        if (op.kind == Operation::Kind::kPrepend) prepended = qp_.prepend_timeuuids(ts, n);
        for (size_t i = 0; i < n; i += is_map ? 2 : 1) {
          if (type.kind == ValueKind::kList) {
            Bytes path = op.kind == Operation::Kind::kPrepend ? prepended[i] : qp_.new_timeuuid(ts);
            target->cells.push_back({Kind::kSet, c->id, path, items[i], ts, ttl, 0});
          } else if (type.kind == ValueKind::kSet) {
            target->cells.push_back({Kind::kSet, c->id, items[i], "", ts, ttl, 0});
          } else {
            target->cells.push_back({Kind::kSet, c->id, items[i], items[i + 1], ts, ttl, 0});
          }
        }
        break;
      }
      case Operation::Kind::kSubtract: {
        const std::string written =
            "Invalid operation (" + c->name + " = " + c->name + " - " + term_text(op.value) + ")";
        if (!type.is_collection()) return invalid(written + " for non counter column " + c->name);
        if (!type.is_multi_cell())
          return invalid(written + " for frozen collection column " + c->name);
        if (type.kind == ValueKind::kList) {
          RINGDB_ASSIGN_OR_RETURN(Bound b, binder_.bind(op.value, type, c->name));
          if (b.unset || !b.value) break;
          std::vector<Bytes> doomed;
          RINGDB_RETURN_IF_ERROR(schema::split_collection(*b.value, false, &doomed));
          deferred.push_back([this, c, doomed, ts](const std::vector<storage::Cell>& list,
                                                   storage::RowWrite* target) -> Status {
            for (const auto& cell : list) {
              for (const auto& d : doomed) {
                if (compare_values(c->type.params[0], cell.value, d) == 0) {
                  target->cells.push_back(
                      {storage::CellWrite::Kind::kDelete, c->id, cell.path, "", ts, 0, 0});
                  break;
                }
              }
            }
            return Status::ok();
          });
          deferred_columns.push_back(c);
          break;
        }
        // set - {elements}; map - {keys}
        const CqlType keys = CqlType::make(ValueKind::kSet, {type.params[0]}, false);
        RINGDB_ASSIGN_OR_RETURN(Bound b, binder_.bind(op.value, keys, c->name));
        if (b.unset || !b.value) break;
        std::vector<Bytes> items;
        RINGDB_RETURN_IF_ERROR(schema::split_collection(*b.value, false, &items));
        for (const auto& item : items)
          target->cells.push_back({Kind::kDelete, c->id, item, "", ts, 0, 0});
        break;
      }
      case Operation::Kind::kSetField: {  // only non-frozen UDTs take it
        const std::string written =
            "Invalid operation (" + c->name + "." + op.field + " = " + term_text(op.value) + ")";
        if (!type.is_udt()) return invalid(written + " for non-UDT column " + c->name);
        if (type.frozen) return invalid(written + " for frozen UDT column " + c->name);
        const auto position = type.field_position(op.field);
        if (!position) {
          return invalid("UDT column " + c->name + " does not have a field named " +
                         schema::cql_name(op.field));
        }
        const size_t field = *position;
        RINGDB_ASSIGN_OR_RETURN(
            Bound b, binder_.bind(op.value, type.params[field], c->name + "." + op.field));
        if (b.unset) break;
        if (b.value) {
          target->cells.push_back({Kind::kSet, c->id, field_path(field), *b.value, ts, ttl, 0});
        } else {
          target->cells.push_back({Kind::kDelete, c->id, field_path(field), "", ts, 0, 0});
        }
        break;
      }
      case Operation::Kind::kSetElement: {
        const std::string written = "Invalid operation (" + c->name + "[" + term_text(*op.key) +
                                    "] = " + term_text(op.value) + ")";
        if (!type.is_collection())
          return invalid(written + " for non collection column " + c->name);
        if (!type.is_multi_cell())
          return invalid(written + " for frozen collection column " + c->name);
        if (type.kind == ValueKind::kSet) return invalid(written + " for set column " + c->name);
        if (type.kind == ValueKind::kList) {
          RINGDB_ASSIGN_OR_RETURN(Bound at, binder_.bind(*op.key, CqlType::of(ValueKind::kInt),
                                                         "idx(" + c->name + ")"));
          if (at.unset) return invalid("Invalid unset value for list index");
          if (!at.value) return invalid("Invalid null value for list index");
          RINGDB_ASSIGN_OR_RETURN(Bound v,
                                  binder_.bind(op.value, type.params[0], "value(" + c->name + ")"));
          const int64_t index = load_signed(*at.value);
          deferred.push_back([c, index, v, ts, ttl](const std::vector<storage::Cell>& list,
                                                    storage::RowWrite* target) -> Status {
            if (list.empty()) return invalid("Attempted to set an element on a list which is null");
            if (index < 0 || static_cast<size_t>(index) >= list.size()) {
              return invalid("List index " + std::to_string(index) +
                             " out of bound, list has size " + std::to_string(list.size()));
            }
            const auto& path = list[static_cast<size_t>(index)].path;
            if (v.unset) return Status::ok();
            if (!v.value) {
              target->cells.push_back(
                  {storage::CellWrite::Kind::kDelete, c->id, path, "", ts, 0, 0});
            } else {
              target->cells.push_back(
                  {storage::CellWrite::Kind::kSet, c->id, path, *v.value, ts, ttl, 0});
            }
            return Status::ok();
          });
          deferred_columns.push_back(c);
          break;
        }
        RINGDB_ASSIGN_OR_RETURN(Bound k,
                                binder_.bind(*op.key, type.params[0], "key(" + c->name + ")"));
        if (k.unset) return invalid("Invalid unset map key");
        if (!k.value) return invalid("Invalid null map key");
        const Bytes key = std::move(*k.value);
        RINGDB_ASSIGN_OR_RETURN(Bound v,
                                binder_.bind(op.value, type.params[1], "value(" + c->name + ")"));
        if (v.unset) break;
        if (!v.value) {
          target->cells.push_back({Kind::kDelete, c->id, key, "", ts, 0, 0});
        } else {
          target->cells.push_back({Kind::kSet, c->id, key, *v.value, ts, ttl, 0});
        }
        break;
      }
    }
  }
  const auto ck = table->clustering();
  const bool full_row = plan.selects_rows(ck.size());
  // As Cassandra: a statement that writes only static columns but has a condition on a regular
  // column is about one row, so it needs (and may have) the whole primary key.
  if (conditions_name_regular_columns(*table, s.conditions)) only_static = false;
  if (only_static && !ck.empty() && !plan.clustering_filters.empty()) {
    return invalid(
        "Invalid restrictions on clustering columns since the UPDATE statement modifies only "
        "static columns");
  }
  if (!full_row && !only_static) {
    std::string missing;
    for (const auto* c : plan.unrestricted_clustering)
      missing += (missing.empty() ? "" : ", ") + c->name;
    return invalid("Some clustering keys are missing: " + missing);
  }
  RINGDB_RETURN_IF_ERROR(plan.check_key_only());
  RINGDB_ASSIGN_OR_RETURN(std::vector<Bytes> keys, partition_keys(*table, plan));
  const auto clusterings =
      full_row && !ck.empty() ? plan.clustering_prefixes : std::vector<std::vector<Bytes>>{{}};
  for (const auto& key : keys) {
    storage::Mutation m;
    m.table = table->storage_id;
    m.partition_key = key;
    if (!row.cells.empty() || !deferred.empty()) {
      for (const auto& clustering : clusterings) {
        storage::RowWrite r = row;
        r.clustering = clustering;
        for (size_t d = 0; d < deferred.size(); ++d) {
          RINGDB_ASSIGN_OR_RETURN(auto list,
                                  list_cells(*table, key, clustering, *deferred_columns[d]));
          RINGDB_RETURN_IF_ERROR(deferred[d](
              list, deferred_columns[d]->kind == ColumnKind::kStatic ? &static_row : &r));
        }
        if (!r.cells.empty()) m.rows.push_back(std::move(r));
      }
    }
    if (!static_row.cells.empty()) m.rows.push_back(static_row);
    out->push_back(std::move(m));
  }
  return Status::ok();
}

Result<std::vector<storage::Cell>> StatementRunner::list_cells(const TableMetadata& table,
                                                               const Bytes& key,
                                                               const std::vector<Bytes>& clustering,
                                                               const ColumnMetadata& column) {
  storage::ReadCommand read;
  read.table = table.storage_id;
  read.partition_key = key;
  if (!clustering.empty()) {
    read.start = {clustering, true};
    read.end = {clustering, true};
  }
  read.row_limit = 1;
  RINGDB_ASSIGN_OR_RETURN(std::shared_ptr<const storage::Partition> shared, read_partition(read));
  const storage::Partition& p = *shared;
  std::vector<storage::Cell> out;
  const storage::Row* source = column.kind == ColumnKind::kStatic
                                   ? (p.static_row ? &*p.static_row : nullptr)
                                   : (p.rows.empty() ? nullptr : &p.rows[0]);
  if (source == nullptr) return out;
  for (const auto& cell : source->cells) {
    if (cell.column == column.id && cell.path) out.push_back(cell);
  }
  return out;
}

Status StatementRunner::delete_mutations(const DeleteStatement& s, std::optional<int64_t> batch_ts,
                                         std::vector<storage::Mutation>* out) {
  RINGDB_ASSIGN_OR_RETURN(const TableMetadata* table, resolve(s.keyspace, s.table));
  if (table->is_counter_table() && s.using_clause.timestamp)
    return invalid("Cannot provide custom timestamp for counter updates");
  RINGDB_ASSIGN_OR_RETURN(int64_t ts, write_timestamp(s.using_clause, batch_ts));
  RINGDB_ASSIGN_OR_RETURN(KeyPlan plan, plan_where(*table, s.where, WhereUse::kDelete));
  RINGDB_RETURN_IF_ERROR(plan.check_key_only());
  const auto ck = table->clustering();
  RINGDB_ASSIGN_OR_RETURN(std::vector<Bytes> keys, partition_keys(*table, plan));
  const auto& prefixes = plan.clustering_prefixes;
  const bool full_row = plan.selects_rows(ck.size());
  using Kind = storage::CellWrite::Kind;
  for (const auto& key : keys) {
    storage::Mutation m;
    m.table = table->storage_id;
    m.partition_key = key;
    if (!s.columns.empty() || !s.fields.empty()) {
      storage::RowWrite row, static_row;
      static_row.is_static = true;
      bool only_static = true, skipped = false;  // skipped: an element deletion with an unset key
      for (const auto& [name, field] : s.fields) {  // DELETE u.f: only non-frozen UDTs take it
        const ColumnMetadata* c = table->column(name);
        if (c == nullptr) return invalid("Undefined column name " + name);
        if (!c->type.is_udt())
          return invalid("Invalid field deletion operation for non-UDT column " + name);
        if (c->type.frozen)
          return invalid("Frozen UDT column " + name + " does not support field deletion");
        const auto position = c->type.field_position(field);
        if (!position) {
          return invalid("UDT column " + name + " does not have a field named " +
                         schema::cql_name(field));
        }
        if (c->kind != ColumnKind::kStatic) only_static = false;
        (c->kind == ColumnKind::kStatic ? static_row : row)
            .cells.push_back({Kind::kDelete, c->id, field_path(*position), "", ts, 0, 0});
      }
      for (const auto& [name, element] : s.columns) {
        const ColumnMetadata* c = table->column(name);
        if (c == nullptr) return invalid("Undefined column name " + name);
        if (c->kind == ColumnKind::kPartitionKey || c->kind == ColumnKind::kClustering) {
          return invalid("Invalid identifier " + name +
                         " for deletion (should not be a PRIMARY KEY part)");
        }
        if (c->kind != ColumnKind::kStatic) only_static = false;
        storage::RowWrite* target = c->kind == ColumnKind::kStatic ? &static_row : &row;
        if (element) {
          if (c->type.kind == ValueKind::kList && c->type.is_multi_cell()) {
            RINGDB_ASSIGN_OR_RETURN(Bound at, binder_.bind(*element, CqlType::of(ValueKind::kInt),
                                                           "idx(" + name + ")"));
            if (at.unset) {  // Cassandra leaves the list alone
              skipped = true;
              continue;
            }
            if (!at.value) return invalid("Invalid null value for list index");
            const int64_t index = load_signed(*at.value);
            if (!full_row && !clustering_free(*table))
              return invalid("Some clustering keys are missing");
            RINGDB_ASSIGN_OR_RETURN(
                auto list,
                list_cells(*table, key, prefixes.empty() ? std::vector<Bytes>{} : prefixes[0], *c));
            if (list.empty())
              return invalid("Attempted to delete an element from a list which is null");
            if (index < 0 || static_cast<size_t>(index) >= list.size()) {
              return invalid("List index " + std::to_string(index) +
                             " out of bound, list has size " + std::to_string(list.size()));
            }
            target->cells.push_back(
                {Kind::kDelete, c->id, list[static_cast<size_t>(index)].path, "", ts, 0, 0});
            continue;
          }
          if (!c->type.is_collection())
            return invalid("Invalid deletion operation for non collection column " + name);
          if (!c->type.is_multi_cell())
            return invalid("Invalid deletion operation for frozen collection column " + name);
          const bool is_map = c->type.kind == ValueKind::kMap;
          RINGDB_ASSIGN_OR_RETURN(Bound k,
                                  binder_.bind(*element, c->type.params[0], "key(" + name + ")"));
          if (k.unset) {
            if (is_map) return invalid("Invalid unset map key");
            skipped = true;
            continue;
          }
          if (!k.value)
            return invalid(is_map ? "Invalid null map key" : "Invalid null set element");
          target->cells.push_back({Kind::kDelete, c->id, *k.value, "", ts, 0, 0});
        } else if (c->type.is_multi_cell()) {
          target->cells.push_back({Kind::kCollectionDelete, c->id, std::nullopt, "", ts, 0, 0});
        } else {
          target->cells.push_back({Kind::kDelete, c->id, std::nullopt, "", ts, 0, 0});
        }
      }
      if (only_static && !ck.empty() && !plan.clustering_filters.empty() &&
          !conditions_name_regular_columns(*table, s.conditions)) {
        return invalid(
            "Invalid restrictions on clustering columns since the DELETE statement modifies only "
            "static columns");
      }
      if (!row.cells.empty()) {
        if (!full_row) return invalid("Range deletions are not supported for specific columns");
        for (const auto& p : prefixes) {
          storage::RowWrite r = row;
          r.clustering = p;
          m.rows.push_back(std::move(r));
        }
      } else if (!only_static && !skipped) {
        return invalid("Missing columns to delete");
      }
      if (!static_row.cells.empty()) m.rows.push_back(static_row);
    } else if (full_row && !ck.empty()) {
      for (const auto& p : prefixes) {
        storage::RowWrite r;
        r.clustering = p;
        r.deletion_timestamp = ts;
        m.rows.push_back(std::move(r));
      }
    } else if (plan.clustering_prefix_length == 0 && !plan.has_slice()) {
      m.partition_deletion_timestamp = ts;
    } else {
      // A range under each prefix: the slice, or the whole prefix.
      for (const auto& p : prefixes) {
        if (plan.mixed_slice) {
          for (const auto& [start, end] : plan.slice_ranges) {
            storage::ClusteringBound s_bound{p, start.inclusive}, e_bound{p, end.inclusive};
            s_bound.prefix.insert(s_bound.prefix.end(), start.prefix.begin(), start.prefix.end());
            e_bound.prefix.insert(e_bound.prefix.end(), end.prefix.begin(), end.prefix.end());
            m.range_deletions.push_back({std::move(s_bound), std::move(e_bound), ts});
          }
          continue;
        }
        auto [start, end] = plan.bounds_under(p);
        m.range_deletions.push_back({std::move(start), std::move(end), ts});
      }
    }
    out->push_back(std::move(m));
  }
  return Status::ok();
}

Status StatementRunner::collect_mutations(const Statement& statement,
                                          std::optional<int64_t> batch_timestamp,
                                          std::vector<storage::Mutation>* out) {
  const size_t first = out->size();
  Status st = invalid("Only INSERT, UPDATE and DELETE statements are allowed here");
  if (auto* s = std::get_if<InsertStatement>(&statement))
    st = insert_mutations(*s, batch_timestamp, out);
  if (auto* s = std::get_if<UpdateStatement>(&statement))
    st = update_mutations(*s, batch_timestamp, out);
  if (auto* s = std::get_if<DeleteStatement>(&statement))
    st = delete_mutations(*s, batch_timestamp, out);
  RINGDB_RETURN_IF_ERROR(st);
  // Secondary index entries go with the writes, in the same atomic batch.
  const size_t last = out->size();
  for (size_t i = first; i < last; ++i) {
    std::vector<storage::Mutation> entries;
    RINGDB_RETURN_IF_ERROR(add_index_writes((*out)[i], &entries));
    for (auto& e : entries) out->push_back(std::move(e));
  }
  return Status::ok();
}

Result<ResultMessage> StatementRunner::apply_writes(const Statement& statement) {
  std::vector<storage::Mutation> mutations;
  RINGDB_RETURN_IF_ERROR(collect_mutations(statement, std::nullopt, &mutations));
  deferred_ = std::move(mutations);  // the caller applies them and answers once durable
  return ResultMessage{};
}

namespace {

// A table's column positions by storage column id, in one array (ids are small and dense):
// built once per statement, looked up once per cell.
class ColumnIndex {
 public:
  explicit ColumnIndex(const TableMetadata& table) {
    storage::ColumnId max_id = 0;
    for (const auto& c : table.columns) max_id = std::max(max_id, c.id);
    position_.assign(static_cast<size_t>(max_id) + 1, -1);
    for (size_t i = 0; i < table.columns.size(); ++i) {
      if (table.columns[i].id) position_[table.columns[i].id] = static_cast<int32_t>(i);
    }
  }
  // The column's position in table.columns, or -1 (a dropped or unknown column).
  int32_t find(storage::ColumnId id) const { return id < position_.size() ? position_[id] : -1; }

 private:
  std::vector<int32_t> position_;
};

// One CQL row: a value (and write time and TTL, for selectors) per column of the table.
struct Materialized {
  std::vector<std::optional<Bytes>> values;
  std::vector<int64_t> writetime;
  std::vector<int32_t> ttl;
  int64_t token = 0;
};

Bytes collection_from_cells(const CqlType& type, const std::vector<const storage::Cell*>& cells) {
  if (type.is_udt()) {  // one cell per field set, keyed by the field's position
    std::vector<std::optional<Bytes>> fields(type.params.size());
    for (const auto* cell : cells) {
      BufferReader path(*cell->path);  // the field's position (field_path)
      uint16_t at = 0;
      if (path.get_u16(&at) && path.at_end() && at < fields.size()) fields[at] = cell->value;
    }
    return schema::serialize_tuple(fields);
  }
  std::vector<Bytes> items;
  std::vector<std::pair<Bytes, Bytes>> entries;
  for (const auto* cell : cells) {
    if (type.kind == ValueKind::kList)
      items.push_back(cell->value);
    else if (type.kind == ValueKind::kSet)
      items.push_back(*cell->path);
    else
      entries.emplace_back(*cell->path, cell->value);
  }
  return type.kind == ValueKind::kMap ? schema::serialize_map(entries)
                                      : schema::serialize_list(items);
}

void fill_cells(const TableMetadata& table, const ColumnIndex& index, const storage::Row& row,
                Materialized* out) {
  std::map<size_t, std::vector<const storage::Cell*>> elements;
  for (const auto& cell : row.cells) {
    const int32_t found = index.find(cell.column);
    if (found < 0) continue;
    const auto i = static_cast<size_t>(found);
    if (cell.path) {
      elements[i].push_back(&cell);
      continue;
    }
    out->values[i] = cell.value;
    out->writetime[i] = cell.timestamp;
    out->ttl[i] = cell.ttl_seconds > 0 ? std::max(0, cell.expiry_seconds) : 0;
  }
  for (auto& [i, cells] : elements)
    out->values[i] = collection_from_cells(table.columns[i].type, cells);
}

Materialized materialize(const TableMetadata& table, const ColumnIndex& index,
                         const storage::Partition& p, const storage::Row* row,
                         int32_t now_seconds) {
  Materialized m;
  const size_t n = table.columns.size();
  m.values.resize(n);
  m.writetime.assign(n, storage::kNoTimestamp);
  m.ttl.assign(n, 0);
  m.token = p.token;
  const auto pk = table.partition_key();
  auto parts = decompose_partition_key(p.partition_key, pk.size());
  size_t ck_index = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto& c = table.columns[i];
    if (c.kind == ColumnKind::kPartitionKey) m.values[i] = parts[static_cast<size_t>(c.position)];
    if (c.kind == ColumnKind::kClustering && row && ck_index < row->clustering.size()) {
      m.values[i] = row->clustering[static_cast<size_t>(c.position)];
      ++ck_index;
    }
  }
  if (p.static_row) fill_cells(table, index, *p.static_row, &m);
  if (row) fill_cells(table, index, *row, &m);
  for (auto& t : m.ttl) {
    if (t > 0) t = std::max(1, t - now_seconds);  // remaining seconds
  }
  return m;
}

int compare_values(const CqlType& type, BytesView a, BytesView b) {
  // A value of a non-frozen user type is its fields serialized as the frozen type's are (its
  // storage type describes its cells instead).
  auto value_type = [&] {
    if (!type.is_udt() || type.frozen) return type.to_storage();
    CqlType frozen = type;
    frozen.frozen = true;
    return frozen.to_storage();
  };
  const storage::ValueType stored = value_type();
  Bytes ea, eb;
  if (!storage::encode_comparable(stored, a, false, &ea).is_ok() ||
      !storage::encode_comparable(stored, b, false, &eb).is_ok()) {
    return a.compare(b);
  }
  return ea.compare(eb);
}

// `columns` is the table's column array, which the row's values follow.
bool passes(const Filter& f, const Materialized& row, const ColumnMetadata* columns) {
  if (!f.tuple.empty()) {  // (a, b) op (x, y): compared as tuples, in value order
    Bytes encoded;
    for (const auto* c : f.tuple) {
      const auto& v = row.values[static_cast<size_t>(c - columns)];
      if (!v || !storage::encode_comparable(c->type.to_storage(), *v, false, &encoded).is_ok())
        return false;
    }
    auto compare = [&](const Bytes& x) { return BytesView(encoded).compare(x); };
    switch (f.op) {
      case Relation::Op::kEq:
      case Relation::Op::kIn:
        return std::any_of(f.values.begin(), f.values.end(),
                           [&](const Bytes& x) { return compare(x) == 0; });
      case Relation::Op::kLt:
        return compare(f.values[0]) < 0;
      case Relation::Op::kLe:
        return compare(f.values[0]) <= 0;
      case Relation::Op::kGt:
        return compare(f.values[0]) > 0;
      case Relation::Op::kGe:
        return compare(f.values[0]) >= 0;
      default:
        return false;
    }
  }
  const auto& v = row.values[static_cast<size_t>(f.column - columns)];
  const CqlType& type = f.column->type;
  if (f.element_key) {  // m[key] = value
    if (!v) return false;
    std::vector<Bytes> items;
    if (!schema::split_collection(*v, true, &items).is_ok()) return false;
    for (size_t i = 0; i + 1 < items.size(); i += 2) {
      if (compare_values(type.params[0], items[i], *f.element_key) == 0)
        return compare_values(type.params[1], items[i + 1], f.values[0]) == 0;
    }
    return false;
  }
  if (f.op == Relation::Op::kContains || f.op == Relation::Op::kContainsKey) {
    if (!v) return false;
    std::vector<Bytes> items;
    const bool is_map = type.kind == ValueKind::kMap;
    if (!schema::split_collection(*v, is_map, &items).is_ok()) return false;
    for (size_t i = 0; i < items.size(); ++i) {
      const bool key_slot = !is_map || i % 2 == 0;
      if (f.op == Relation::Op::kContainsKey ? !key_slot : (is_map && key_slot)) continue;
      const CqlType& et = is_map ? type.params[i % 2] : type.params[0];
      if (compare_values(et, items[i], f.values[0]) == 0) return true;
    }
    return false;
  }
  if (!v) return false;
  if (f.op == Relation::Op::kIn) {
    return std::any_of(f.values.begin(), f.values.end(),
                       [&](const Bytes& x) { return compare_values(type, *v, x) == 0; });
  }
  const int c = compare_values(type, *v, f.values[0]);
  switch (f.op) {
    case Relation::Op::kEq:
      return c == 0;
    case Relation::Op::kNeq:
      return c != 0;
    case Relation::Op::kLt:
      return c < 0;
    case Relation::Op::kLe:
      return c <= 0;
    case Relation::Op::kGt:
      return c > 0;
    case Relation::Op::kGe:
      return c >= 0;
    default:
      return false;
  }
}

// --- Selection ----------------------------------------------------------------------------

// The columns of SELECT *, in Cassandra's order: the primary key as declared, then static and
// regular columns, statics first, each by name.
std::vector<const ColumnMetadata*> wildcard_columns(const TableMetadata& table) {
  std::vector<const ColumnMetadata*> ordered;
  for (const auto& c : table.columns) {
    if (c.kind == ColumnKind::kPartitionKey || c.kind == ColumnKind::kClustering)
      ordered.push_back(&c);
  }
  std::vector<const ColumnMetadata*> rest;
  for (const auto& c : table.columns) {
    if (c.kind == ColumnKind::kStatic || c.kind == ColumnKind::kRegular) rest.push_back(&c);
  }
  std::stable_sort(rest.begin(), rest.end(), [](auto* a, auto* b) {
    if ((a->kind == ColumnKind::kStatic) != (b->kind == ColumnKind::kStatic))
      return a->kind == ColumnKind::kStatic;
    return a->name < b->name;
  });
  ordered.insert(ordered.end(), rest.begin(), rest.end());
  return ordered;
}

bool is_aggregate_name(const std::string& n) {
  return n == "count" || n == "min" || n == "max" || n == "sum" || n == "avg";
}

class Selection {
 public:
  Selection(const TableMetadata& table, std::function<Bytes(int64_t)> timeuuid,
            std::function<Bytes()> uuid, const Clock& clock)
      : table_(table), timeuuid_(std::move(timeuuid)), uuid_(std::move(uuid)), clock_(clock) {}

  // How element selection keys (m[?]) get their values; without it, build() only types them.
  using BindFn = std::function<Result<Bound>(const Term&, const CqlType&, const std::string&)>;
  void set_binder(BindFn bind) { bind_ = std::move(bind); }

  Status build(const std::vector<Selector>& selectors, bool json) {
    json_ = json;
    if (selectors.empty()) {
      // SELECT *: partition key, clustering, then static and regular columns by name.
      for (const auto* c : wildcard_columns(table_)) {
        Selector s;
        s.kind = Selector::Kind::kColumn;
        s.name = c->name;
        selectors_.push_back(s);
      }
    } else {
      selectors_ = selectors;
    }
    for (const auto& s : selectors_) RINGDB_RETURN_IF_ERROR(bind_elements(s));
    for (const auto& s : selectors_) {
      RINGDB_ASSIGN_OR_RETURN(CqlType t, type_of(s));
      types_.push_back(t);
      names_.push_back(s.alias.empty() ? display_name(s) : s.alias);
      RINGDB_ASSIGN_OR_RETURN(bool agg, find_aggregates(s));
      aggregates_.push_back(agg);
      any_aggregate_ |= agg;
    }
    return Status::ok();
  }

  std::vector<ColumnSpec> columns(const std::string& keyspace, const std::string& table) const {
    if (json_) return {{keyspace, table, "[json]", CqlType::of(ValueKind::kText)}};
    std::vector<ColumnSpec> out;
    for (size_t i = 0; i < selectors_.size(); ++i)
      out.push_back({keyspace, table, names_[i], types_[i]});
    return out;
  }
  bool is_aggregate() const { return any_aggregate_; }
  // Positions in table.columns of the selected columns, when every selector is a plain column
  // (no function, cast, WRITETIME, TTL or JSON).
  std::optional<std::vector<size_t>> plain_column_positions() const {
    if (json_) return std::nullopt;
    std::vector<size_t> out;
    for (const auto& s : selectors_) {
      if (s.kind != Selector::Kind::kColumn) return std::nullopt;
      size_t i = 0;
      while (i < table_.columns.size() && table_.columns[i].name != s.name) ++i;
      if (i == table_.columns.size()) return std::nullopt;
      out.push_back(i);
    }
    return out;
  }
  bool references_only_static_or_keys() const {
    for (const auto& s : selectors_) {
      if (s.kind != Selector::Kind::kColumn) continue;
      const ColumnMetadata* c = table_.column(s.name);
      if (c && (c->kind == ColumnKind::kRegular || c->kind == ColumnKind::kClustering))
        return false;
    }
    return true;
  }

  Result<RowValues> project(const Materialized& row) {
    RowValues out;
    for (const auto& s : selectors_) {
      RINGDB_ASSIGN_OR_RETURN(auto v, eval(s, row));
      out.push_back(std::move(v));
    }
    return json_ ? to_json(out) : out;
  }

  // Aggregation over a group of rows. Each aggregate call in the selection (top-level or inside
  // a scalar function, as toUnixTimestamp(max(b))) accumulates on its own.
  void reset_group() {
    for (auto& [node, a] : acc_) a = Accumulator{};
    first_.reset();
  }
  Status accumulate(const Materialized& row) {
    if (!first_) first_ = row;
    for (auto& [node, a] : acc_) {
      const Selector& s = *node;
      if (s.kind == Selector::Kind::kCountStar) {
        ++a.count;
        continue;
      }
      RINGDB_ASSIGN_OR_RETURN(auto v, eval(s.args.at(0), row));
      if (!v || v->empty()) continue;
      ++a.count;
      const CqlType& t = aggregate_types_.at(node);
      if (s.name == "count") continue;
      if (s.name == "min" || s.name == "max") {
        if (!a.best || (compare_values(t, *v, *a.best) < 0) == (s.name == "min")) a.best = v;
        continue;
      }
      if (t.kind == ValueKind::kFloat || t.kind == ValueKind::kDouble) {
        double d;
        if (t.kind == ValueKind::kFloat) {
          uint32_t bits = static_cast<uint32_t>(load_signed(*v));
          float f;
          std::memcpy(&f, &bits, 4);
          d = f;
        } else {
          uint64_t bits = static_cast<uint64_t>(load_signed(*v));
          std::memcpy(&d, &bits, 8);
        }
        a.real += d;
      } else if (t.kind == ValueKind::kDecimal || t.kind == ValueKind::kVarint) {
        RINGDB_RETURN_IF_ERROR(add_exact(t, *v, &a));
      } else {
        a.integer += static_cast<__int128>(load_signed(*v));
      }
    }
    return Status::ok();
  }
  Result<RowValues> finish_group() {
    std::map<const Selector*, std::optional<Bytes>> finished;
    for (const auto& [node, a] : acc_) finished[node] = finish(*node, a);
    finished_ = &finished;
    RowValues out;
    const Materialized none;
    for (size_t i = 0; i < selectors_.size(); ++i) {
      const Selector& s = selectors_[i];
      // A selector without an aggregate takes the group's first row, as in Cassandra.
      if (!aggregates_[i] && !first_) {
        out.emplace_back();
        continue;
      }
      auto v = eval(s, aggregates_[i] ? none : *first_);
      if (!v.is_ok()) {
        finished_ = nullptr;
        return v.status();
      }
      out.push_back(std::move(v).value());
    }
    finished_ = nullptr;
    return json_ ? to_json(out) : out;
  }

 private:
  struct Accumulator {
    int64_t count = 0;
    std::optional<Bytes> best;
    __int128 integer = 0;  // integers; decimals: the unscaled sum at `scale`
    int32_t scale = 0;
    double real = 0;
  };

  // The result of one aggregate call over the group.
  std::optional<Bytes> finish(const Selector& s, const Accumulator& a) const {
    const CqlType& t = aggregate_types_.at(&s);
    if (s.kind == Selector::Kind::kCountStar || s.name == "count") return be64(a.count);
    if (s.name == "min" || s.name == "max") return a.best;
    const bool avg = s.name == "avg";
    if (t.kind == ValueKind::kDecimal || t.kind == ValueKind::kVarint) {
      __int128 v = a.integer;
      if (avg && a.count > 0) {  // half-even rounding at the sum's scale, as BigDecimal.divide
        const __int128 q = v / a.count, r = v % a.count;
        const __int128 twice = (r < 0 ? -r : r) * 2;
        v = q + ((twice > a.count || (twice == a.count && (q % 2 != 0))) ? (v < 0 ? -1 : 1) : 0);
      }
      Bytes b = varint_from_int128(v);
      if (t.kind == ValueKind::kDecimal) b = be32(a.scale) + b;
      return b;
    }
    if (t.kind == ValueKind::kFloat || t.kind == ValueKind::kDouble) {
      double d = avg ? (a.count ? a.real / static_cast<double>(a.count) : 0) : a.real;
      if (t.kind == ValueKind::kFloat) {
        float f = static_cast<float>(d);
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        return be32(static_cast<int32_t>(bits));
      }
      uint64_t bits;
      std::memcpy(&bits, &d, 8);
      return be64(static_cast<int64_t>(bits));
    }
    __int128 v = avg ? (a.count ? a.integer / a.count : 0) : a.integer;
    const int width = t.kind == ValueKind::kTinyint    ? 1
                      : t.kind == ValueKind::kSmallint ? 2
                      : t.kind == ValueKind::kInt      ? 4
                                                       : 8;
    Bytes b;
    for (int k = width - 1; k >= 0; --k)
      b.push_back(static_cast<char>(static_cast<uint64_t>(v) >> (8 * k)));
    return b;
  }

  static bool is_aggregate_call(const Selector& s) {
    return s.kind == Selector::Kind::kCountStar ||
           (s.kind == Selector::Kind::kFunction && is_aggregate_name(s.name));
  }
  static bool contains_aggregate(const Selector& s) {
    if (is_aggregate_call(s)) return true;
    return std::any_of(s.args.begin(), s.args.end(), contains_aggregate);
  }
  // Registers the aggregate calls in `s` (true when there is one), with Cassandra's rules: no
  // aggregate inside an aggregate, and a scalar function's arguments all aggregates or none.
  Result<bool> find_aggregates(const Selector& s) {
    if (is_aggregate_call(s)) {
      for (const auto& arg : s.args) {
        if (contains_aggregate(arg))
          return invalid("aggregate functions cannot be used as arguments of aggregate functions");
      }
      const size_t wanted = s.kind == Selector::Kind::kCountStar ? 0 : 1;
      if (s.args.size() != wanted) {
        return invalid("Invalid number of arguments in call to function system." + s.name + ": " +
                       std::to_string(wanted) + " required but " + std::to_string(s.args.size()) +
                       " provided");
      }
      RINGDB_ASSIGN_OR_RETURN(CqlType t, type_of(s));
      aggregate_types_[&s] = t;
      acc_[&s] = Accumulator{};
      return true;
    }
    size_t with = 0;
    for (const auto& arg : s.args) with += contains_aggregate(arg) ? 1 : 0;
    if (with > 0 && with < s.args.size()) {
      return invalid("the system." + s.name +
                     " function arguments must be either all aggregates or all none aggregates");
    }
    for (const auto& arg : s.args) RINGDB_RETURN_IF_ERROR(find_aggregates(arg).status());
    return with > 0;
  }

  // Exact sums of varint and decimal values while they fit in 127 bits.
  static Status add_exact(const CqlType& t, BytesView v, Accumulator* a) {
    const bool decimal = t.kind == ValueKind::kDecimal;
    BytesView digits = decimal ? v.substr(4) : v;
    if (digits.size() > 15) return invalid("sum overflow: value too large to aggregate");
    __int128 x = (!digits.empty() && (digits[0] & 0x80)) ? -1 : 0;
    for (unsigned char c : digits) x = (x << 8) | c;
    int32_t scale = decimal ? static_cast<int32_t>(load_signed(v.substr(0, 4))) : 0;
    const __int128 limit = (static_cast<__int128>(1) << 120);
    auto rescale = [&](__int128* value, int32_t from, int32_t to) -> Status {
      for (int32_t i = from; i < to; ++i) {
        if (*value > limit / 10 || *value < -limit / 10)
          return invalid("sum overflow while aligning decimal scales");
        *value *= 10;
      }
      return Status::ok();
    };
    if (a->count == 1) a->scale = scale;  // first value sets the scale
    if (scale > a->scale) {
      RINGDB_RETURN_IF_ERROR(rescale(&a->integer, a->scale, scale));
      a->scale = scale;
    } else {
      RINGDB_RETURN_IF_ERROR(rescale(&x, scale, a->scale));
    }
    a->integer += x;
    if (a->integer > limit || a->integer < -limit) return invalid("sum overflow");
    return Status::ok();
  }

  // The keys of m[k] and m[a..b] selectors, bound once per statement.
  struct ElementKeys {
    std::optional<Bytes> element, from, to;
  };
  Status bind_elements(const Selector& s) {
    for (const auto& a : s.args) {
      if (auto type = selection_argument_type(s, a); type && bind_) {
        RINGDB_ASSIGN_OR_RETURN(Bound b, bind_(a.term, *type, "arg0(system." + s.name + ")"));
        if (b.unset) return invalid("Invalid unset value in the selection");
        term_values_[&a] = std::move(b.value);
        continue;
      }
      RINGDB_RETURN_IF_ERROR(bind_elements(a));
    }
    if (s.kind == Selector::Kind::kTerm && bind_ && !s.cast_type.empty()) {
      RINGDB_ASSIGN_OR_RETURN(CqlType type, CqlType::parse(s.cast_type));
      RINGDB_ASSIGN_OR_RETURN(Bound b, bind_(s.term, type, display_name(s)));
      if (b.unset) return invalid("Invalid unset value in the selection");
      term_values_[&s] = std::move(b.value);
      return Status::ok();
    }
    if (s.kind != Selector::Kind::kElement || !bind_) return Status::ok();
    RINGDB_ASSIGN_OR_RETURN(CqlType base, type_of(s.args[0]));
    if (!base.is_collection() || base.kind == ValueKind::kList || base.params.empty())
      return Status::ok();  // type_of refuses it
    const std::string selected = display_name(s.args[0]);
    ElementKeys keys;
    auto bind_key = [&](const std::optional<Term>& t, std::optional<Bytes>* out) -> Status {
      if (!t) return Status::ok();
      RINGDB_ASSIGN_OR_RETURN(Bound b, bind_(*t, base.params[0], "key(" + selected + ")"));
      if (b.unset) return invalid("Invalid unset value for element selection on " + selected);
      if (!b.value) return invalid("Invalid null value for element selection on " + selected);
      *out = std::move(b.value);
      return Status::ok();
    };
    RINGDB_RETURN_IF_ERROR(bind_key(s.element, &keys.element));
    RINGDB_RETURN_IF_ERROR(bind_key(s.range_from, &keys.from));
    RINGDB_RETURN_IF_ERROR(bind_key(s.range_to, &keys.to));
    element_keys_[&s] = std::move(keys);
    return Status::ok();
  }

  Result<std::optional<Bytes>> element(const Selector& s, const Materialized& row) const {
    RINGDB_ASSIGN_OR_RETURN(auto v, eval(s.args[0], row));
    if (!v) return v;
    auto keys = element_keys_.find(&s);
    if (keys == element_keys_.end()) return invalid("element selection without a bound key");
    RINGDB_ASSIGN_OR_RETURN(CqlType base, type_of(s.args[0]));
    const bool is_map = base.kind == ValueKind::kMap;
    std::vector<Bytes> items;
    RINGDB_RETURN_IF_ERROR(schema::split_collection(*v, is_map, &items));
    const size_t step = is_map ? 2 : 1;
    const CqlType& key_type = base.params[0];
    if (!s.range) {
      for (size_t i = 0; i < items.size(); i += step) {
        if (compare_values(key_type, items[i], *keys->second.element) == 0)
          return std::optional<Bytes>(is_map ? items[i + 1] : items[i]);
      }
      return std::optional<Bytes>();
    }
    // A slice: the elements whose key is within the bounds (both inclusive).
    std::vector<Bytes> kept;
    std::vector<std::pair<Bytes, Bytes>> entries;
    for (size_t i = 0; i < items.size(); i += step) {
      if (keys->second.from && compare_values(key_type, items[i], *keys->second.from) < 0) continue;
      if (keys->second.to && compare_values(key_type, items[i], *keys->second.to) > 0) continue;
      if (is_map)
        entries.emplace_back(items[i], items[i + 1]);
      else
        kept.push_back(items[i]);
    }
    if (kept.empty() && entries.empty()) return std::optional<Bytes>();
    return std::optional<Bytes>(is_map ? schema::serialize_map(entries)
                                       : schema::serialize_list(kept));
  }

  std::string display_name(const Selector& s) const {
    switch (s.kind) {
      case Selector::Kind::kColumn:
        return s.name;
      case Selector::Kind::kCountStar:
        return "count";
      case Selector::Kind::kWritetime:
        return "writetime(" + s.name + ")";
      case Selector::Kind::kTtl:
        return "ttl(" + s.name + ")";
      case Selector::Kind::kCast:
        return "cast(" + display_name(s.args[0]) + " as " + s.cast_type + ")";
      case Selector::Kind::kTerm:
        return (s.cast_type.empty() ? "" : "(" + s.cast_type + ")") + term_text(s.term);
      case Selector::Kind::kField:
        return display_name(s.args[0]) + "." + s.name;
      case Selector::Kind::kElement: {
        auto text = [](const std::optional<Term>& t) { return t ? term_text(*t) : std::string(); };
        return display_name(s.args[0]) + "[" +
               (s.range ? text(s.range_from) + ".." + text(s.range_to) : text(s.element)) + "]";
      }
      case Selector::Kind::kFunction: {
        std::string out = (is_aggregate_name(s.name) ? "system." : "system.") + s.name + "(";
        for (size_t i = 0; i < s.args.size(); ++i) out += (i ? ", " : "") + display_name(s.args[i]);
        return out + ")";
      }
      default:
        return "expr";
    }
  }

  Result<CqlType> type_of(const Selector& s) const {
    switch (s.kind) {
      case Selector::Kind::kColumn: {
        const ColumnMetadata* c = table_.column(s.name);
        if (c == nullptr) return invalid("Undefined column name " + s.name);
        return c->type;
      }
      case Selector::Kind::kCountStar:
        return CqlType::of(ValueKind::kBigint);
      case Selector::Kind::kField: {  // Cassandra's Selectable.WithFieldSelection
        RINGDB_ASSIGN_OR_RETURN(CqlType base, type_of(s.args[0]));
        const std::string selected = display_name(s.args[0]);
        if (!base.is_udt()) {
          return invalid("Invalid field selection: " + selected + " of type " + base.to_cql() +
                         " is not a user type");
        }
        const auto field = base.field_position(s.name);
        if (!field)
          return invalid(selected + " of type " + base.to_cql() + " has no field " + s.name);
        return base.params[*field];
      }
      case Selector::Kind::kElement: {
        RINGDB_ASSIGN_OR_RETURN(CqlType base, type_of(s.args[0]));
        const std::string selected = display_name(s.args[0]);
        if (!base.is_collection()) {
          return invalid("Invalid element selection: " + selected + " is of type " + base.to_cql() +
                         " is not a collection");
        }
        if (base.kind == ValueKind::kList) {
          return invalid("Element selection is only allowed on sets and maps, but " + selected +
                         " is a list");
        }
        if (s.range) return base;
        return base.kind == ValueKind::kMap ? base.params[1] : base.params[0];
      }
      case Selector::Kind::kWritetime:
      case Selector::Kind::kTtl: {
        const ColumnMetadata* c = table_.column(s.name);
        if (c == nullptr) return invalid("Undefined column name " + s.name);
        if (c->kind == ColumnKind::kPartitionKey || c->kind == ColumnKind::kClustering) {
          return invalid("Cannot use selection function " +
                         std::string(s.kind == Selector::Kind::kTtl ? "ttl" : "writeTime") +
                         " on PRIMARY KEY part " + s.name);
        }
        if (c->type.is_multi_cell()) {
          return invalid(
              "Cannot use selection function " +
              std::string(s.kind == Selector::Kind::kTtl ? "ttl" : "writeTime") +
              (c->type.is_udt() ? " on non-frozen user type " : " on non-frozen collection ") +
              s.name);
        }
        return CqlType::of(s.kind == Selector::Kind::kTtl ? ValueKind::kInt : ValueKind::kBigint);
      }
      case Selector::Kind::kCast: {
        auto t = CqlType::parse(s.cast_type);
        if (!t.is_ok()) return t.status();
        RINGDB_ASSIGN_OR_RETURN(CqlType from, type_of(s.args[0]));
        switch (castable(from, *t)) {
          case Castable::kYes:
            break;
          case Castable::kNotYet:
            return Status::not_supported("cast from " + from.to_cql() + " to " + t->to_cql() +
                                         " is not supported yet");
          case Castable::kNo:
            return invalid(display_name(s.args[0]) + " cannot be cast to " + t->to_cql());
        }
        return *t;
      }
      case Selector::Kind::kFunction: {
        const std::string& f = s.name;
        if (f == "token") return CqlType::of(ValueKind::kBigint);
        if (f == "count") return CqlType::of(ValueKind::kBigint);
        const std::vector<Signature> signatures = native_signatures(f);
        if (signatures.size() == 1 && s.args.size() != 1) {  // before the arguments' types
          return invalid("Invalid number of arguments in call to function system." + f +
                         ": 1 required but " + std::to_string(s.args.size()) + " provided");
        }
        if (!signatures.empty()) {
          std::vector<CqlType> types;
          std::vector<std::string> texts;
          for (const auto& arg : s.args) {
            if (auto type = selection_argument_type(s, arg)) {
              types.push_back(*type);
            } else if (arg.kind == Selector::Kind::kTerm && arg.cast_type.empty() &&
                       s.args.size() == 1) {
              // An untyped value that fits several overloads, or none.
              RINGDB_ASSIGN_OR_RETURN(ValueKind k, resolve_untyped(f, signatures, arg.term));
              types.push_back(CqlType::of(k));
            } else {
              RINGDB_ASSIGN_OR_RETURN(CqlType t, type_of(arg));
              types.push_back(std::move(t));
            }
            texts.push_back(display_name(arg));
          }
          RINGDB_ASSIGN_OR_RETURN(ValueKind result, resolve_call(f, signatures, types, texts));
          return CqlType::of(result);
        }
        if (f == "min" || f == "max") {
          if (s.args.size() != 1)
            return invalid("Invalid number of arguments in call to function " + f);
          if (auto type = selection_argument_type(s, s.args[0])) return *type;
          return type_of(s.args[0]);
        }
        if (f == "now" || f == "currenttimeuuid") return CqlType::of(ValueKind::kTimeuuid);
        if (f == "currenttime") return CqlType::of(ValueKind::kTime);
        if (f == "fromjson") {
          return invalid("fromJson() cannot be used in the selection clause of a SELECT statement");
        }
        if (f == "tojson") {
          if (s.args.size() != 1)
            return invalid("toJson() only accepts one argument (got " +
                           std::to_string(s.args.size()) + ")");
          RINGDB_RETURN_IF_ERROR(type_of(s.args[0]).status());
          return CqlType::of(ValueKind::kText);
        }
        if (f == "uuid") return CqlType::of(ValueKind::kUuid);
        if (f == "currenttimestamp") return CqlType::of(ValueKind::kTimestamp);
        if (f == "currentdate") return CqlType::of(ValueKind::kDate);
        return invalid("Unknown function '" + f + "'");
      }
      case Selector::Kind::kTerm: {
        if (s.cast_type.empty()) {
          return invalid("Cannot infer type for term " + term_text(s.term) +
                         " in selection clause (try using a type hint)");
        }
        return CqlType::parse(s.cast_type);
      }
      default:
        return Status::not_supported("selection term not supported yet");
    }
  }

  Result<std::optional<Bytes>> eval(const Selector& s, const Materialized& row) const {
    if (finished_ != nullptr) {
      auto f = finished_->find(&s);
      if (f != finished_->end()) return f->second;
    }
    switch (s.kind) {
      case Selector::Kind::kColumn:
      case Selector::Kind::kWritetime:
      case Selector::Kind::kTtl: {
        size_t i = 0;
        while (i < table_.columns.size() && table_.columns[i].name != s.name) ++i;
        if (i == table_.columns.size()) return invalid("Undefined column name " + s.name);
        if (s.kind == Selector::Kind::kColumn) return row.values[i];
        if (!row.values[i]) return std::optional<Bytes>();
        if (s.kind == Selector::Kind::kWritetime)
          return std::optional<Bytes>(be64(row.writetime[i]));
        return row.ttl[i] > 0 ? std::optional<Bytes>(be32(row.ttl[i])) : std::optional<Bytes>();
      }
      case Selector::Kind::kCountStar:
        return std::optional<Bytes>(be64(1));
      case Selector::Kind::kCast: {
        RINGDB_ASSIGN_OR_RETURN(auto v, eval(s.args[0], row));
        if (!v) return v;
        RINGDB_ASSIGN_OR_RETURN(CqlType from, type_of(s.args[0]));
        RINGDB_ASSIGN_OR_RETURN(CqlType to, type_of(s));
        return cast(from, to, *v);
      }
      case Selector::Kind::kFunction:
        return call(s, row);
      case Selector::Kind::kElement:
        return element(s, row);
      case Selector::Kind::kField: {
        RINGDB_ASSIGN_OR_RETURN(auto v, eval(s.args[0], row));
        if (!v) return v;
        RINGDB_ASSIGN_OR_RETURN(CqlType base, type_of(s.args[0]));
        const auto field = base.field_position(s.name);
        std::vector<std::optional<Bytes>> fields;  // fewer when written before fields were added
        RINGDB_RETURN_IF_ERROR(schema::split_tuple(*v, &fields));
        if (!field || *field >= fields.size()) return std::optional<Bytes>();
        return fields[*field];
      }
      case Selector::Kind::kTerm: {
        auto value = term_values_.find(&s);
        if (value == term_values_.end()) return invalid("selection value without a bound value");
        return value->second;
      }
      default:
        return Status::not_supported("selection term not supported yet");
    }
  }

  Result<std::optional<Bytes>> call(const Selector& s, const Materialized& row) const {
    const std::string& f = s.name;
    if (f == "token") return std::optional<Bytes>(be64(row.token));
    if (is_aggregate_name(f)) {  // evaluated per row outside aggregation: the value itself
      if (s.args.empty()) return std::optional<Bytes>(be64(1));
      return eval(s.args[0], row);
    }
    const int64_t now = clock_.now_micros();
    if (f == "now" || f == "currenttimeuuid") return std::optional<Bytes>(timeuuid_(now));
    if (f == "currenttime") return std::optional<Bytes>(be64(now % 86'400'000'000LL * 1000));
    if (f == "tojson") {
      RINGDB_ASSIGN_OR_RETURN(auto v, eval(s.args[0], row));
      if (!v) return std::optional<Bytes>(Bytes("null"));
      RINGDB_ASSIGN_OR_RETURN(CqlType arg, type_of(s.args[0]));
      return std::optional<Bytes>(schema::format_json(arg, *v));
    }
    if (f == "uuid") return std::optional<Bytes>(uuid_());
    if (f == "currenttimestamp") return std::optional<Bytes>(be64(now / 1000));
    if (f == "currentdate")
      return std::optional<Bytes>(be32(static_cast<int32_t>(
          static_cast<uint32_t>(now / 86'400'000'000LL + (int64_t{1} << 31)))));
    if (s.args.size() != 1) return invalid("Invalid number of arguments in call to function " + f);
    RINGDB_ASSIGN_OR_RETURN(auto v, eval(s.args[0], row));
    if (!v || v->empty()) return std::optional<Bytes>();
    const std::optional<CqlType> inferred = selection_argument_type(s, s.args[0]);
    RINGDB_ASSIGN_OR_RETURN(CqlType arg,
                            inferred ? Result<CqlType>(*inferred) : type_of(s.args[0]));
    // The call was resolved when the selection was built; the bytes stay as they are.
    const std::vector<Signature> signatures = native_signatures(f);
    if (signatures.size() == 1 && signatures[0].param == ValueKind::kBlob) {  // blobAsX
      RINGDB_RETURN_IF_ERROR(blob_conversion_check(f, CqlType::of(signatures[0].result), *v));
      return v;
    }
    if (signatures.size() == 1 && signatures[0].result == ValueKind::kBlob) return v;  // xAsBlob
    int64_t millis;
    if (arg.kind == ValueKind::kTimeuuid)
      millis = uuid_v1_unix_millis(*v);
    else if (arg.kind == ValueKind::kTimestamp || arg.kind == ValueKind::kBigint)
      millis = load_signed(*v);
    else if (arg.kind == ValueKind::kDate)
      millis = (static_cast<int64_t>(static_cast<uint32_t>(load_signed(*v))) - (int64_t{1} << 31)) *
               86'400'000;
    else
      return invalid("Type error: function " + f + " does not accept " + arg.to_cql());
    if (f == "totimestamp" || f == "dateof") return std::optional<Bytes>(be64(millis));
    if (f == "tounixtimestamp" || f == "unixtimestampof") return std::optional<Bytes>(be64(millis));
    if (f == "todate") {
      const int64_t days =
          millis >= 0 ? millis / 86'400'000 : -((-millis + 86'399'999) / 86'400'000);
      return std::optional<Bytes>(
          be32(static_cast<int32_t>(static_cast<uint32_t>(days + (int64_t{1} << 31)))));
    }
    return invalid("Unknown function '" + f + "'");
  }

  // Cassandra's casts: between numeric types, anything to text, and between timeuuid,
  // timestamp and date.
  enum class Castable { kYes, kNotYet, kNo };
  static Castable castable(const CqlType& from, const CqlType& to) {
    auto numeric = [](ValueKind k) {
      return k == ValueKind::kTinyint || k == ValueKind::kSmallint || k == ValueKind::kInt ||
             k == ValueKind::kBigint || k == ValueKind::kCounter || k == ValueKind::kFloat ||
             k == ValueKind::kDouble;
    };
    auto big = [](ValueKind k) { return k == ValueKind::kDecimal || k == ValueKind::kVarint; };
    if (to.kind == ValueKind::kText || to.kind == ValueKind::kAscii) return Castable::kYes;
    if (numeric(from.kind) && numeric(to.kind) && to.kind != ValueKind::kCounter)
      return Castable::kYes;
    if ((numeric(from.kind) || big(from.kind)) && (numeric(to.kind) || big(to.kind)) &&
        to.kind != ValueKind::kCounter)
      return Castable::kYes;
    const bool time_from = from.kind == ValueKind::kTimeuuid ||
                           from.kind == ValueKind::kTimestamp || from.kind == ValueKind::kDate;
    if (time_from && (to.kind == ValueKind::kTimestamp || to.kind == ValueKind::kDate) &&
        from.kind != to.kind)
      return Castable::kYes;
    if (from.kind == to.kind && from.params.empty()) return Castable::kYes;
    return Castable::kNo;
  }

  static Result<std::optional<Bytes>> cast(const CqlType& from, const CqlType& to, const Bytes& v) {
    if (from.kind == to.kind && from.params.empty()) return std::optional<Bytes>(v);
    // timeuuid, timestamp and date: through milliseconds since the epoch.
    if (to.kind == ValueKind::kTimestamp || to.kind == ValueKind::kDate) {
      int64_t millis = 0;
      if (from.kind == ValueKind::kTimeuuid) {
        millis = uuid_v1_unix_millis(v);
      } else if (from.kind == ValueKind::kTimestamp) {
        millis = load_signed(v);
      } else if (from.kind == ValueKind::kDate) {
        millis =
            (static_cast<int64_t>(static_cast<uint32_t>(load_signed(v))) - (int64_t{1} << 31)) *
            86'400'000;
      }
      if (from.kind == ValueKind::kTimeuuid || from.kind == ValueKind::kTimestamp ||
          from.kind == ValueKind::kDate) {
        if (to.kind == ValueKind::kTimestamp) return std::optional<Bytes>(be64(millis));
        const int64_t days =
            millis >= 0 ? millis / 86'400'000 : -((-millis + 86'399'999) / 86'400'000);
        return std::optional<Bytes>(
            be32(static_cast<int32_t>(static_cast<uint32_t>(days + (int64_t{1} << 31)))));
      }
    }
    if (to.kind == ValueKind::kText || to.kind == ValueKind::kAscii) {
      std::string s = schema::format_value(from, v);
      if (s.size() >= 2 && s.front() == '\'' && s.back() == '\'') s = s.substr(1, s.size() - 2);
      return std::optional<Bytes>(s);
    }
    auto numeric = [](ValueKind k) {
      return k == ValueKind::kTinyint || k == ValueKind::kSmallint || k == ValueKind::kInt ||
             k == ValueKind::kBigint || k == ValueKind::kCounter || k == ValueKind::kFloat ||
             k == ValueKind::kDouble;
    };
    const bool big_from = from.kind == ValueKind::kDecimal || from.kind == ValueKind::kVarint;
    const bool big_to = to.kind == ValueKind::kDecimal || to.kind == ValueKind::kVarint;
    if (big_from || big_to) return cast_big(from, to, v);
    if (!numeric(from.kind) || !numeric(to.kind)) {
      return Status::not_supported("cast from " + from.to_cql() + " to " + to.to_cql() +
                                   " is not supported yet");
    }
    double d;
    if (from.kind == ValueKind::kFloat) {
      uint32_t bits = static_cast<uint32_t>(load_signed(v));
      float f;
      std::memcpy(&f, &bits, 4);
      d = f;
    } else if (from.kind == ValueKind::kDouble) {
      uint64_t bits = static_cast<uint64_t>(load_signed(v));
      std::memcpy(&d, &bits, 8);
    } else {
      d = static_cast<double>(load_signed(v));
    }
    if (to.kind == ValueKind::kDouble) {
      uint64_t bits;
      std::memcpy(&bits, &d, 8);
      return std::optional<Bytes>(be64(static_cast<int64_t>(bits)));
    }
    if (to.kind == ValueKind::kFloat) {
      float f = static_cast<float>(d);
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      return std::optional<Bytes>(be32(static_cast<int32_t>(bits)));
    }
    const int64_t i = (from.kind == ValueKind::kFloat || from.kind == ValueKind::kDouble)
                          ? static_cast<int64_t>(d)
                          : load_signed(v);
    const int width = to.kind == ValueKind::kTinyint    ? 1
                      : to.kind == ValueKind::kSmallint ? 2
                      : to.kind == ValueKind::kInt      ? 4
                                                        : 8;
    Bytes b;
    for (int k = width - 1; k >= 0; --k)
      b.push_back(static_cast<char>(static_cast<uint64_t>(i) >> (8 * k)));
    return std::optional<Bytes>(b);
  }

  // Casts to or from decimal and varint, as Java's Number conversions that Cassandra's casts use:
  // to an integer type the low bits of the whole part (wrapping), to float and double the nearest
  // value, to decimal BigDecimal.valueOf (a double through its shortest digits), to varint the
  // whole part.
  static Result<std::optional<Bytes>> cast_big(const CqlType& from, const CqlType& to,
                                               const Bytes& v) {
    // The value as decimal digits and a power of ten: value = digits * 10^exponent.
    BigInt digits_sign;
    int64_t exponent = 0;
    double real = 0;
    const bool from_real = from.kind == ValueKind::kFloat || from.kind == ValueKind::kDouble;
    if (from.kind == ValueKind::kDecimal) {
      if (v.size() < 4) return invalid("malformed decimal");
      exponent = -load_signed(BytesView(v).substr(0, 4));
      digits_sign = bigint_from_twos_complement(BytesView(v).substr(4));
    } else if (from.kind == ValueKind::kVarint) {
      digits_sign = bigint_from_twos_complement(v);
    } else if (from_real) {
      if (from.kind == ValueKind::kFloat) {
        uint32_t bits = static_cast<uint32_t>(load_signed(v));
        float f;
        std::memcpy(&f, &bits, 4);
        real = f;
      } else {
        uint64_t bits = static_cast<uint64_t>(load_signed(v));
        std::memcpy(&real, &bits, 8);
      }
    } else {
      const __int128 i = load_signed(v);
      digits_sign = bigint_from_twos_complement(varint_from_int128(i));
    }
    std::string digits;  // of the magnitude, without a sign
    if (!from_real) {
      digits = magnitude_to_digits(digits_sign.magnitude);
      if (digits.empty()) digits = "0";
    }
    const bool negative = !from_real && digits_sign.negative;
    // The whole part (truncated toward zero), for integer targets.
    auto whole = [&]() -> BigInt {
      BigInt b;
      if (from_real) {
        // Java's (long) conversion: saturating, NaN to 0.
        int64_t l = std::isnan(real)                 ? 0
                    : real >= 9.2233720368547758e18  ? INT64_MAX
                    : real <= -9.2233720368547758e18 ? INT64_MIN
                                                     : static_cast<int64_t>(real);
        return bigint_from_twos_complement(varint_from_int128(l));
      }
      std::string w = digits;
      if (exponent >= 0) {
        w.append(static_cast<size_t>(std::min<int64_t>(exponent, 100'000)), '0');
      } else {
        const auto drop = static_cast<size_t>(-exponent);
        w = drop >= w.size() ? "0" : w.substr(0, w.size() - drop);
      }
      b.magnitude = digits_to_magnitude(w);
      b.negative = negative && !b.magnitude.empty();
      return b;
    };
    if (to.kind == ValueKind::kVarint) {
      // (Integer targets only keep low bits, which a large power of ten leaves at zero.)
      if (exponent > 100'000) {
        return Status::not_supported(
            "casting a decimal of more than 100000 digits to varint is "
            "not supported yet");
      }
      return std::optional<Bytes>(bigint_to_twos_complement(whole()));
    }
    if (to.kind == ValueKind::kDecimal) {
      if (from_real) {
        if (!std::isfinite(real))
          return invalid("cannot cast " + schema::format_value(from, v) + " to decimal");
        // BigDecimal.valueOf(double): the digits Double.toString prints.
        const std::string text = schema::format_value(CqlType::of(ValueKind::kDouble), [&] {
          uint64_t bits;
          std::memcpy(&bits, &real, 8);
          return be64(static_cast<int64_t>(bits));
        }());
        RINGDB_ASSIGN_OR_RETURN(Bytes d,
                                schema::value_from_literal(CqlType::of(ValueKind::kDecimal),
                                                           schema::LiteralKind::kFloat, text));
        return std::optional<Bytes>(d);
      }
      if (from.kind == ValueKind::kDecimal) return std::optional<Bytes>(v);
      return std::optional<Bytes>(be32(0) + bigint_to_twos_complement(digits_sign));
    }
    if (to.kind == ValueKind::kFloat || to.kind == ValueKind::kDouble) {
      // The nearest value to the exact decimal, as strtod rounds.
      const std::string text = (negative ? "-" : "") + digits + "e" + std::to_string(exponent);
      if (to.kind == ValueKind::kFloat) {
        const float f = std::strtof(text.c_str(), nullptr);
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        return std::optional<Bytes>(be32(static_cast<int32_t>(bits)));
      }
      const double d = std::strtod(text.c_str(), nullptr);
      uint64_t bits;
      std::memcpy(&bits, &d, 8);
      return std::optional<Bytes>(be64(static_cast<int64_t>(bits)));
    }
    // An integer type: the low bits of the whole part's two's complement.
    const Bytes twos = bigint_to_twos_complement(whole());
    const int width = to.kind == ValueKind::kTinyint    ? 1
                      : to.kind == ValueKind::kSmallint ? 2
                      : to.kind == ValueKind::kInt      ? 4
                                                        : 8;
    Bytes out;
    for (int k = width; k > 0; --k) {
      const auto at = static_cast<int64_t>(twos.size()) - k;
      out.push_back(at >= 0 ? twos[static_cast<size_t>(at)]
                            : (static_cast<uint8_t>(twos[0]) & 0x80 ? '\xff' : '\0'));
    }
    return std::optional<Bytes>(out);
  }

  RowValues to_json(const RowValues& values) const {
    std::string out = "{";
    for (size_t i = 0; i < values.size(); ++i) {
      // As Cassandra: a name with capitals is quoted (its quotes escaped in the JSON key);
      // others, ttl(v) too, are not.
      std::string key = names_[i];
      const bool capitals = std::any_of(key.begin(), key.end(), [](char c) {
        return std::isupper(static_cast<unsigned char>(c));
      });
      if (capitals) key = "\"" + key + "\"";
      out += (i ? ", " : "") + schema::format_json(CqlType::of(ValueKind::kText), key) + ": ";
      out += values[i] ? schema::format_json(types_[i], *values[i]) : "null";
    }
    return {Bytes(out + "}")};
  }

  const TableMetadata& table_;
  std::function<Bytes(int64_t)> timeuuid_;
  std::function<Bytes()> uuid_;
  const Clock& clock_;
  BindFn bind_;
  std::map<const Selector*, ElementKeys> element_keys_;
  std::map<const Selector*, std::optional<Bytes>> term_values_;  // (type)value selectors
  bool json_ = false;
  std::vector<Selector> selectors_;
  std::vector<CqlType> types_;
  std::vector<std::string> names_;
  std::vector<bool> aggregates_;  // per selector: holds an aggregate call
  bool any_aggregate_ = false;
  std::map<const Selector*, Accumulator> acc_;  // per aggregate call in selectors_
  std::map<const Selector*, CqlType> aggregate_types_;
  // While finish_group evaluates: each aggregate call's result.
  const std::map<const Selector*, std::optional<Bytes>>* finished_ = nullptr;
  std::optional<Materialized> first_;
};

// Paging state: [u8 kind][u32 key index][u32 slice index][u32 rows in partition][i64 rows left]
// [bytes last clustering ([u16 n][n × bytes]) | storage scan cursor].
struct PagingState {
  uint8_t kind = 0;  // 1: partition list, 2: scan
  uint32_t key_index = 0;
  uint32_t slice_index = 0;
  uint32_t rows_in_partition = 0;
  int64_t rows_left = INT64_MAX;
  std::vector<Bytes> last_clustering;
  Bytes scan_cursor;
  Bytes partition_key;  // scans: the partition rows_in_partition counts for

  Bytes encode() const {
    BufferWriter w;
    w.put_u8(kind);
    w.put_u32(key_index);
    w.put_u32(slice_index);
    w.put_u32(rows_in_partition);
    w.put_i64(rows_left);
    w.put_u16(static_cast<uint16_t>(last_clustering.size()));
    for (const auto& v : last_clustering) w.put_length_prefixed(v);
    w.put_length_prefixed(scan_cursor);
    w.put_length_prefixed(partition_key);
    return w.release();
  }
  static Result<PagingState> decode(BytesView b) {
    PagingState s;
    BufferReader r(b);
    uint16_t n;
    if (!r.get_u8(&s.kind) || !r.get_u32(&s.key_index) || !r.get_u32(&s.slice_index) ||
        !r.get_u32(&s.rows_in_partition) || !r.get_i64(&s.rows_left) || !r.get_u16(&n)) {
      return Status::invalid_argument("Invalid paging state");
    }
    for (uint16_t i = 0; i < n; ++i) {
      BytesView v;
      if (!r.get_length_prefixed(&v)) return Status::invalid_argument("Invalid paging state");
      s.last_clustering.emplace_back(v);
    }
    BytesView cursor, key;
    if (!r.get_length_prefixed(&cursor) || !r.get_length_prefixed(&key) || !r.at_end()) {
      return Status::invalid_argument("Invalid paging state");
    }
    s.scan_cursor = Bytes(cursor);
    s.partition_key = Bytes(key);
    return s;
  }
};

}  // namespace

// A prepared SELECT of plain columns from a table without clustering columns, restricted by
// `= ?` on every partition key column and nothing else: at most one row, read from one
// partition. Planned once per schema (the selection, the bind positions, the result metadata),
// so an execution only binds the key, reads and projects. Anything else about an execution
// (named values, paging state, a page of one row, a value the general path would reject)
// goes through the general path, which gives the same answer or the right error.
struct SingleRowRead {
  std::shared_ptr<const schema::Schema> schema;  // planned against; keeps `table` alive
  bool eligible = false;
  const TableMetadata* table = nullptr;
  std::vector<int> key_binds;  // bind index of each partition key component, in key order
  std::vector<const ColumnMetadata*> key_columns;
  std::vector<size_t> positions;  // selected columns, in result order
  std::vector<bool> copy;         // per position: selected again later (so copied, not moved)
  std::vector<ColumnSpec> columns;
  std::optional<ColumnIndex> index;
};

std::shared_ptr<const SingleRowRead> StatementRunner::plan_single_row_read(
    const SelectStatement& s) {
  auto plan = std::make_shared<SingleRowRead>();
  plan->schema = schema_;
  const std::string ks = s.keyspace.empty() ? default_keyspace_ : s.keyspace;
  if (ks.empty() || schema::is_system_keyspace(ks) || s.distinct || s.json || s.limit ||
      s.per_partition_limit || !s.group_by.empty() || !s.order_by.empty()) {
    return plan;
  }
  const TableMetadata* table = schema_->table(ks, s.table);
  if (table == nullptr || !table->clustering().empty() || table->has_static_columns()) return plan;
  const auto pk = table->partition_key();
  std::vector<int> binds(pk.size(), -1);
  for (const Relation& r : s.where) {
    if (r.is_token || r.op != Relation::Op::kEq || r.tuple_notation ||
        r.value.kind != Term::Kind::kBindMarker || r.element_key) {
      return plan;
    }
    const ColumnMetadata* c = table->column(r.columns[0]);
    if (c == nullptr || c->kind != ColumnKind::kPartitionKey) return plan;
    int& bind = binds[static_cast<size_t>(c->position)];
    if (bind >= 0) return plan;  // restricted twice: the general path answers
    bind = r.value.bind_index;
  }
  for (int b : binds) {
    if (b < 0) return plan;
  }
  Selection selection(
      *table, [this](int64_t m) { return qp_.new_timeuuid(m); },
      [this] { return qp_.random_uuid(); }, qp_.clock_);
  if (!selection.build(s.selectors, false).is_ok() || selection.is_aggregate()) return plan;
  auto positions = selection.plain_column_positions();
  if (!positions) return plan;
  plan->table = table;
  plan->key_binds = std::move(binds);
  plan->key_columns = pk;
  plan->positions = std::move(*positions);
  for (size_t i = 0; i < plan->positions.size(); ++i) {
    plan->copy.push_back(std::find(plan->positions.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                   plan->positions.end(),
                                   plan->positions[i]) != plan->positions.end());
  }
  plan->columns = selection.columns(table->keyspace, table->name);
  plan->index.emplace(*table);
  plan->eligible = true;
  return plan;
}

Result<std::optional<ResultMessage>> StatementRunner::run_single_row_read(
    const SingleRowRead& plan) {
  const std::optional<ResultMessage> general;
  if (!options_.names.empty() || options_.paging_state || options_.page_size == 1) return general;
  std::vector<Bytes> parts;
  parts.reserve(plan.key_binds.size());
  for (size_t i = 0; i < plan.key_binds.size(); ++i) {
    const auto b = static_cast<size_t>(plan.key_binds[i]);
    if (b >= options_.values.size() || !options_.values[b]) return general;
    if (b < options_.unset.size() && options_.unset[b]) return general;
    const Bytes& v = *options_.values[b];
    if (v.size() > 65535 || (v.empty() && plan.key_binds.size() == 1)) return general;
    if (!schema::validate_value(plan.key_columns[i]->type, v).is_ok()) return general;
    parts.push_back(v);
  }
  const int64_t page_size = options_.page_size > 0 ? options_.page_size : INT64_MAX;
  const int32_t now = qp_.clock_.now_seconds();
  storage::ReadCommand read;
  read.table = plan.table->storage_id;
  read.partition_key = parts.size() == 1 ? std::move(parts[0]) : compose_partition_key(parts);
  read.start = storage::ClusteringBound{{}, true};
  read.end = storage::ClusteringBound{{}, true};
  read.now_seconds = now;
  read.row_limit = static_cast<uint64_t>(page_size);
  RINGDB_ASSIGN_OR_RETURN(std::shared_ptr<const storage::Partition> shared, read_partition(read));
  const storage::Partition& p = *shared;
  if (p.static_row || p.rows.size() > 1) return general;
  ResultMessage result;
  result.kind = ResultMessage::Kind::kRows;
  result.columns = plan.columns;
  for (const auto& row : p.rows) {
    Materialized m = materialize(*plan.table, *plan.index, p, &row, now);
    RowValues out;
    out.reserve(plan.positions.size());
    for (size_t i = 0; i < plan.positions.size(); ++i) {
      auto& v = m.values[plan.positions[i]];
      out.push_back(plan.copy[i] ? v : std::move(v));
    }
    result.rows.push_back(std::move(out));
  }
  return std::optional<ResultMessage>(std::move(result));
}

// Cassandra's rules for SELECT DISTINCT: partition key and static columns only, in the selection
// and in the WHERE clause, and every partition key column when it reads a range of partitions.
static Status check_distinct(const SelectStatement& s, const TableMetadata& table,
                             const KeyPlan& plan) {
  if (s.per_partition_limit)
    return invalid("PER PARTITION LIMIT is not allowed with SELECT DISTINCT queries");
  bool where_ok = plan.clustering_filters.empty();
  for (const auto& r : s.where) {
    const ColumnMetadata* c = r.is_token ? nullptr : table.column(r.columns[0]);
    if (c && c->kind == ColumnKind::kRegular) where_ok = false;
  }
  if (!where_ok) {
    return invalid(
        "SELECT DISTINCT with WHERE clause only supports restriction by partition key and/or "
        "static columns.");
  }
  std::vector<const ColumnMetadata*> requested;
  std::function<void(const Selector&)> collect = [&](const Selector& sel) {
    if (sel.kind == Selector::Kind::kColumn || sel.kind == Selector::Kind::kWritetime ||
        sel.kind == Selector::Kind::kTtl) {
      if (const ColumnMetadata* c = table.column(sel.name)) requested.push_back(c);
    }
    for (const auto& a : sel.args) collect(a);
  };
  if (s.selectors.empty()) requested = wildcard_columns(table);
  for (const auto& sel : s.selectors) collect(sel);
  for (const auto* c : requested) {
    if (c->kind != ColumnKind::kPartitionKey && c->kind != ColumnKind::kStatic) {
      return invalid(
          "SELECT DISTINCT queries must only request partition key columns and/or static columns "
          "(not " +
          c->name + ")");
    }
  }
  if (plan.partition_complete) return Status::ok();
  for (const auto* c : table.partition_key()) {
    if (std::find(requested.begin(), requested.end(), c) == requested.end()) {
      return invalid(
          "SELECT DISTINCT queries must request all the partition key columns (missing " + c->name +
          ")");
    }
  }
  return Status::ok();
}

Result<ResultMessage> StatementRunner::select(const SelectStatement& s) {
  if (prepared_ != nullptr) {
    std::shared_ptr<const SingleRowRead> plan = prepared_->single_row_read.load();
    if (!plan || plan->schema != schema_) {
      plan = plan_single_row_read(s);
      prepared_->single_row_read.store(plan);
    }
    if (plan->eligible) {
      RINGDB_ASSIGN_OR_RETURN(std::optional<ResultMessage> answer, run_single_row_read(*plan));
      if (answer) return std::move(*answer);
    }
  }
  const std::string ks = s.keyspace.empty() ? default_keyspace_ : s.keyspace;
  if (schema::is_system_keyspace(ks)) return system_select(s, ks);
  RINGDB_ASSIGN_OR_RETURN(const TableMetadata* table, resolve(s.keyspace, s.table));
  Selection selection(
      *table, [this](int64_t m) { return qp_.new_timeuuid(m); },
      [this] { return qp_.random_uuid(); }, qp_.clock_);
  selection.set_binder([this](const Term& t, const CqlType& type, const std::string& name) {
    return binder_.bind(t, type, name);
  });
  RINGDB_RETURN_IF_ERROR(selection.build(s.selectors, s.json));
  // A selection alias names no column: Cassandra says so where one is used instead.
  auto is_alias = [&](const std::string& name) {
    return table->column(name) == nullptr &&
           std::any_of(s.selectors.begin(), s.selectors.end(),
                       [&](const Selector& sel) { return sel.alias == name; });
  };
  for (const Relation& r : s.where) {
    for (const auto& name : r.columns) {
      if (is_alias(name))
        return invalid("Aliases aren't allowed in the where clause ('" + relation_text(r) + "')");
    }
  }
  for (const auto& [name, ascending] : s.order_by) {
    if (table->column(name) != nullptr) continue;
    if (is_alias(name))
      return invalid("Aliases are not allowed in order by clause ('" + name + "')");
    return invalid("Order by on unknown column " + name);
  }
  RINGDB_ASSIGN_OR_RETURN(KeyPlan plan,
                          plan_where(*table, s.where, WhereUse::kSelect, s.allow_filtering));
  if (s.distinct) RINGDB_RETURN_IF_ERROR(check_distinct(s, *table, plan));
  const bool has_clustering_restrictions = !plan.clustering_filters.empty();
  // A secondary index serves `c = value` on its column when the partition key is not given: the
  // partitions it names are read as if named, and every restriction (that one included) checks
  // each row, so entries a later write made stale are left out. Other restrictions on non-key
  // columns still need ALLOW FILTERING, as in Cassandra.
  std::optional<std::vector<Bytes>> index_keys;
  std::vector<std::vector<IndexedRows::Entry>> index_entries;  // per index_keys[i]
  const schema::IndexMetadata* serving_index = nullptr;
  Bytes index_value;
  if (!plan.partition_complete && !plan.token && !s.distinct) {
    const Filter* served = nullptr;
    for (const auto& f : plan.filters) {
      const schema::IndexMetadata* index =
          f.column->kind == ColumnKind::kRegular || f.column->kind == ColumnKind::kStatic
              ? table->index_on(f.column->name)
              : nullptr;
      if (served != nullptr || index == nullptr || !f.tuple.empty() || f.values.size() != 1 ||
          f.element_key.has_value() != (index->target == "entries"))
        continue;
      // c = v for a value, CONTAINS v for elements (values), CONTAINS KEY k for a map's keys,
      // m[k] = v for a map's entries.
      const Relation::Op serves = index->target == "values" ? Relation::Op::kContains
                                  : index->target == "keys" ? Relation::Op::kContainsKey
                                                            : Relation::Op::kEq;
      if (f.op == serves) served = &f;
    }
    if (served != nullptr) {
      if (!s.order_by.empty()) return invalid("ORDER BY with 2ndary indexes is not supported.");
      bool others = false;
      for (const auto& f : plan.filters)
        others |= &f != served && f.column->kind != ColumnKind::kClustering;
      if (others && !s.allow_filtering) return invalid(kRequiresAllowFiltering);
      serving_index = table->index_on(served->column->name);
      // As Cassandra's IndexNotAvailableException, which reaches the client as a ReadFailure.
      if (!qp_.index_available(serving_index->storage_id)) {
        return Status::read_failure(
            "Operation failed - received 0 responses and 1 failures: INDEX_NOT_AVAILABLE (the "
            "secondary index '" +
            serving_index->name + "' is not yet available: it is being built)");
      }
      index_value = index_entry_key(*serving_index, served->column->type, served->element_key,
                                    served->values[0]);
      RINGDB_ASSIGN_OR_RETURN(IndexedRows named, indexed_partitions(*serving_index, index_value));
      index_keys = std::move(named.keys);
      index_entries = std::move(named.entries);
      plan.partition_complete = true;
    }
  }
  if (!s.allow_filtering && !index_keys &&
      (plan.needs_filtering || (!plan.partition_complete && has_clustering_restrictions))) {
    return invalid(kRequiresAllowFiltering);
  }
  const auto ck = table->clustering();
  // A column restricted to one value (=, an IN of one value, or part of a tuple =), which ORDER BY
  // and GROUP BY may skip (Cassandra 4, CASSANDRA-10271).
  auto restricted_by_eq = [&](const ColumnMetadata* c) {
    return std::any_of(s.where.begin(), s.where.end(), [&](const Relation& r) {
      return !r.is_token && (r.op == Relation::Op::kEq || single_value_in(r)) &&
             std::find(r.columns.begin(), r.columns.end(), c->name) != r.columns.end();
    });
  };
  // ORDER BY: clustering columns in order (skipping those restricted to one value), all natural
  // or all reversed.
  bool reversed = false;
  for (size_t i = 0, next = 0; i < s.order_by.size(); ++i) {
    const ColumnMetadata* c = table->column(s.order_by[i].first);
    if (c == nullptr) return invalid("Undefined column name " + s.order_by[i].first);
    if (c->kind != ColumnKind::kClustering)
      return invalid(
          "Order by is currently only supported on the clustered columns of the PRIMARY KEY, got " +
          c->name);
    for (; next != static_cast<size_t>(c->position); ++next) {
      if (next > static_cast<size_t>(c->position) || !restricted_by_eq(ck[next])) {
        return invalid(
            "Order by currently only supports the ordering of columns following their declared "
            "order in the PRIMARY KEY");
      }
    }
    ++next;
    const bool flip = s.order_by[i].second != c->descending;
    if (i == 0)
      reversed = flip;
    else if (flip != reversed)
      return invalid("Unsupported order by relation");
  }
  if (!s.order_by.empty() && !plan.partition_complete) {
    return invalid(
        "ORDER BY is only supported when the partition key is restricted by an EQ or an IN.");
  }
  int64_t limit = INT64_MAX, per_partition_limit = INT64_MAX;
  auto positive = [&](const std::optional<Term>& t, const char* what, int64_t* out) -> Status {
    if (!t) return Status::ok();
    RINGDB_ASSIGN_OR_RETURN(Bound b, binder_.bind(*t, CqlType::of(ValueKind::kInt), what));
    if (b.unset) return Status::ok();  // an unset limit is no limit, as in Cassandra
    if (!b.value) return invalid("Invalid null value of limit");
    *out = load_signed(*b.value);
    if (*out <= 0)
      return invalid(std::string(what == std::string("[limit]") ? "LIMIT" : "PER PARTITION LIMIT") +
                     " must be strictly positive");
    return Status::ok();
  };
  RINGDB_RETURN_IF_ERROR(positive(s.limit, "[limit]", &limit));
  RINGDB_RETURN_IF_ERROR(
      positive(s.per_partition_limit, "[per_partition_limit]", &per_partition_limit));
  if (s.distinct) per_partition_limit = 1;
  // With GROUP BY, LIMIT and PER PARTITION LIMIT count groups (emit applies them), not rows.
  const int64_t group_per_partition_limit = per_partition_limit;
  // GROUP BY: primary key columns in order, skipping only columns restricted by = (Cassandra 4).
  std::vector<size_t> group_columns;
  {
    std::vector<const ColumnMetadata*> key_columns = table->partition_key();
    for (const auto* c : table->clustering()) key_columns.push_back(c);
    const std::string out_of_order =
        "Group by currently only support groups of columns following their declared order in the "
        "PRIMARY KEY";
    size_t next = 0, clustering_prefix = 0;
    for (const auto& name : s.group_by) {
      const ColumnMetadata* c = table->column(name);
      if (c == nullptr) return invalid("Undefined column name " + name);
      if (c->kind != ColumnKind::kPartitionKey && c->kind != ColumnKind::kClustering)
        return invalid(
            "Group by is currently only supported on the columns of the PRIMARY KEY, got " +
            c->name);
      for (;;) {
        if (next == key_columns.size()) return invalid(out_of_order);
        const ColumnMetadata* k = key_columns[next++];
        if (k->kind == ColumnKind::kClustering) ++clustering_prefix;
        if (k == c) break;
        if (!restricted_by_eq(k)) return invalid(out_of_order);
      }
      group_columns.push_back(static_cast<size_t>(c - table->columns.data()));
    }
    if (!s.group_by.empty() && next < table->partition_key().size())
      return invalid("Group by is not supported on only a part of the partition key");
    if (clustering_prefix > 0 && s.distinct)
      return invalid("Grouping on clustering columns is not allowed for SELECT DISTINCT queries");
  }
  const bool aggregate = selection.is_aggregate() || !group_columns.empty();
  if (!group_columns.empty() && !s.distinct) per_partition_limit = INT64_MAX;

  ResultMessage result;
  result.kind = ResultMessage::Kind::kRows;
  result.columns = selection.columns(table->keyspace, table->name);
  int64_t page_size = (!aggregate && options_.page_size > 0) ? options_.page_size : INT64_MAX;
  PagingState state;
  if (options_.paging_state && !aggregate) {
    RINGDB_ASSIGN_OR_RETURN(state, PagingState::decode(*options_.paging_state));
    limit = std::min(limit, state.rows_left);
  }
  const ColumnIndex index(*table);
  const int32_t now = qp_.clock_.now_seconds();
  uint64_t rows_read = 0;
  int64_t emitted = 0;
  std::optional<std::vector<std::optional<Bytes>>> group_key;
  if (aggregate) selection.reset_group();
  std::vector<Materialized> to_sort;
  const bool sort_in_memory = !s.order_by.empty() && plan.partition_complete;
  // Groups sorted in memory (ORDER BY over several partitions) are limited once sorted; the
  // first row of each group gives the values they sort by.
  const int64_t group_limit = sort_in_memory ? INT64_MAX : limit;
  std::vector<Materialized> group_firsts;
  std::vector<size_t> pk_index;
  for (const auto* c : table->partition_key())
    pk_index.push_back(static_cast<size_t>(c - table->columns.data()));
  std::vector<std::optional<Bytes>> group_partition;  // the partition of the current group
  int64_t groups_in_partition = 0;

  // Feeds one row through filters, grouping and projection. Returns false to stop.
  // Whether the last row given to emit passed the filters (PER PARTITION LIMIT counts those).
  bool row_passed = false;
  auto emit = [&](const Materialized& m, const std::vector<Filter>& filters) -> Result<bool> {
    row_passed = false;
    for (const auto& f : filters) {
      if (!passes(f, m, table->columns.data())) return true;
    }
    row_passed = true;
    if (aggregate) {
      if (!group_columns.empty()) {
        std::vector<std::optional<Bytes>> key;
        for (size_t i : group_columns) key.push_back(m.values[i]);
        if (!group_key || *group_key != key) {
          std::vector<std::optional<Bytes>> partition;
          for (size_t i : pk_index) partition.push_back(m.values[i]);
          if (partition != group_partition) {
            group_partition = std::move(partition);
            groups_in_partition = 0;
          }
          // PER PARTITION LIMIT counts the partition's groups: rows of one more are skipped.
          if (groups_in_partition >= group_per_partition_limit) {
            row_passed = false;
            return true;
          }
          ++groups_in_partition;
          if (group_key) {
            RINGDB_ASSIGN_OR_RETURN(RowValues row, selection.finish_group());
            result.rows.push_back(std::move(row));
            selection.reset_group();
            if (static_cast<int64_t>(result.rows.size()) >= group_limit) return false;
          }
          if (sort_in_memory) group_firsts.push_back(m);
        }
        group_key = key;
      }
      RINGDB_RETURN_IF_ERROR(selection.accumulate(m));
      return true;
    }
    if (sort_in_memory) {
      to_sort.push_back(m);
      return true;
    }
    RINGDB_ASSIGN_OR_RETURN(RowValues row, selection.project(m));
    result.rows.push_back(std::move(row));
    ++emitted;
    return emitted < limit && emitted < page_size;
  };
  auto too_many = [&] {
    return invalid("Query reads more than " + std::to_string(QueryProcessor::kResultRowsMax) +
                   " rows; add a LIMIT or use paging");
  };

  if (plan.partition_complete) {
    std::vector<Bytes> keys;
    if (index_keys) {
      keys = std::move(*index_keys);
      // The index's partitions are in (token, key) order and may have changed since the last
      // page: resume after the partition that page ended in, wherever it now is.
      if (state.kind == 1 && !state.partition_key.empty()) {
        auto order = [](const Bytes& key) { return std::make_pair(murmur3_token(key), key); };
        const auto at =
            std::lower_bound(keys.begin(), keys.end(), state.partition_key,
                             [&](const Bytes& a, const Bytes& b) { return order(a) < order(b); });
        state.key_index = static_cast<uint32_t>(at - keys.begin());
        if (at == keys.end() || *at != state.partition_key) {  // that partition left the index
          state.slice_index = 0;
          state.rows_in_partition = 0;
          state.last_clustering.clear();
        }
      }
    } else {
      RINGDB_ASSIGN_OR_RETURN(keys, partition_keys(*table, plan));
    }
    if (plan.token) {  // keep the keys whose token is in the token() range
      const TokenRange range = *plan.token;
      std::erase_if(keys, [&](const Bytes& key) {
        const int64_t t = murmur3_token(key);
        return !((range.start == INT64_MIN || t > range.start) && t <= range.end);
      });
    }
    // Rows of several partitions sorted in memory cannot be paged; like Cassandra, a query whose
    // LIMIT fits in one page runs unpaged.
    if (sort_in_memory && keys.size() > 1 && page_size != INT64_MAX && limit <= page_size)
      page_size = INT64_MAX;
    if (sort_in_memory && keys.size() > 1 && page_size != INT64_MAX) {
      return invalid(
          "Cannot page queries with both ORDER BY and a IN restriction on the partition key; you "
          "must either remove the ORDER BY or the IN and sort client side, or disable paging for "
          "this query");
    }
    // One slice per prefix, in clustering order.
    std::vector<std::pair<storage::ClusteringBound, storage::ClusteringBound>> slices;
    for (const auto& p : plan.clustering_prefixes) slices.push_back(plan.bounds_under(p));
    if (reversed) std::reverse(slices.begin(), slices.end());
    const bool whole_partition = plan.clustering_prefix_length == 0 && !plan.has_slice();
    // Reads of named partitions have read_request_timeout_in_ms, as in Cassandra: one that runs
    // past it (many partitions, or filtering through a large one) answers ReadTimeout.
    const int64_t read_start = qp_.clock_.monotonic_micros();
    auto timed_out = [&] {
      return qp_.clock_.monotonic_micros() - read_start > qp_.read_timeout_micros_;
    };
    for (size_t k = state.key_index; k < keys.size(); ++k) {
      uint32_t in_partition = k == state.key_index ? state.rows_in_partition : 0;
      bool partition_had_rows = in_partition > 0;
      const size_t first_slice = k == state.key_index ? state.slice_index : 0;
      for (size_t sl = first_slice; sl < slices.size(); ++sl) {
        storage::ReadCommand read;
        read.table = table->storage_id;
        read.partition_key = keys[k];
        read.start = slices[sl].first;
        read.end = slices[sl].second;
        read.reversed = reversed;
        read.now_seconds = now;
        const bool resuming =
            k == state.key_index && sl == state.slice_index && !state.last_clustering.empty();
        if (resuming) {
          (reversed ? read.end : read.start) =
              storage::ClusteringBound{state.last_clustering, false};
          partition_had_rows = true;
        }
        const int64_t want = std::min({page_size - emitted, limit - emitted,
                                       per_partition_limit - static_cast<int64_t>(in_partition)});
        if (want <= 0) break;
        if (timed_out())
          return Status::read_timeout("Operation timed out - received only 0 responses.");
        read.row_limit = (!plan.filters.empty() || aggregate || sort_in_memory)
                             ? QueryProcessor::kResultRowsMax + 1
                             : static_cast<uint64_t>(want);
        RINGDB_ASSIGN_OR_RETURN(std::shared_ptr<const storage::Partition> shared,
                                read_partition(read));
        const storage::Partition& p = *shared;
        rows_read += p.rows.size();
        if (rows_read > QueryProcessor::kResultRowsMax) return too_many();
        // The partition's whole current state is known here: entries naming rows that no longer
        // hold the value go.
        if (serving_index != nullptr && whole_partition && !resuming && k < index_entries.size())
          purge_stale_entries(*table, *serving_index, index_value, p, index_entries[k]);
        for (size_t r = 0; r < p.rows.size(); ++r) {
          partition_had_rows = true;
          Materialized m = materialize(*table, index, p, &p.rows[r], now);
          RINGDB_ASSIGN_OR_RETURN(bool more, emit(m, plan.filters));
          if (row_passed) ++in_partition;
          const bool partition_full = static_cast<int64_t>(in_partition) >= per_partition_limit;
          if (!more || (partition_full && r + 1 < p.rows.size())) {
            if (!more && emitted >= page_size && !(emitted >= limit)) {
              PagingState next;
              next.kind = 1;
              next.key_index = static_cast<uint32_t>(k);
              next.slice_index = static_cast<uint32_t>(sl);
              next.rows_in_partition = in_partition;
              next.rows_left = limit == INT64_MAX ? INT64_MAX : limit - emitted;
              next.last_clustering = p.rows[r].clustering;
              if (partition_full) {  // continue with the next partition
                next.key_index = static_cast<uint32_t>(k + 1);
                next.slice_index = 0;
                next.rows_in_partition = 0;
                next.last_clustering.clear();
              }
              if (next.key_index < keys.size()) result.paging_state = next.encode();
            }
            if (!more) goto done_partitions;
            break;
          }
        }
        // A partition with only static data still shows up as a row (when its rows are not
        // restricted).
        if (whole_partition && !partition_had_rows && p.static_row && !resuming) {
          partition_had_rows = true;
          ++in_partition;
          Materialized m = materialize(*table, index, p, nullptr, now);
          RINGDB_ASSIGN_OR_RETURN(bool more, emit(m, plan.filters));
          if (!more) {
            if (emitted >= page_size && emitted < limit && k + 1 < keys.size()) {
              PagingState next;
              next.kind = 1;
              next.key_index = static_cast<uint32_t>(k + 1);
              next.rows_left = limit == INT64_MAX ? INT64_MAX : limit - emitted;
              result.paging_state = next.encode();
            }
            goto done_partitions;
          }
        }
        if (static_cast<int64_t>(in_partition) >= per_partition_limit) break;
      }
    }
  done_partitions:;
    if (timed_out())
      return Status::read_timeout("Operation timed out - received only 0 responses.");
    if (index_keys && result.paging_state) {  // name the partition to resume at (see above)
      RINGDB_ASSIGN_OR_RETURN(PagingState next, PagingState::decode(*result.paging_state));
      if (next.key_index < keys.size()) {
        next.partition_key = keys[next.key_index];
        result.paging_state = next.encode();
      }
    }
  } else {
    // Token-range scan over the whole table (or the token() restriction), filtering rows.
    storage::ScanCommand scan;
    scan.table = table->storage_id;
    if (plan.token) {
      scan.start_token = plan.token->start;
      scan.end_token = plan.token->end;
    }
    scan.now_seconds = now;
    scan.cursor = state.kind == 2 ? state.scan_cursor : Bytes();
    Bytes current_key = state.kind == 2 ? state.partition_key : Bytes();
    uint32_t in_partition = state.kind == 2 ? state.rows_in_partition : 0;
    std::vector<Filter> filters = plan.filters;
    filters.insert(filters.end(), plan.clustering_filters.begin(), plan.clustering_filters.end());
    const int64_t scan_start = qp_.clock_.monotonic_micros();
    if (!(plan.token && plan.token->start >= plan.token->end && plan.token->start != INT64_MIN)) {
      for (;;) {
        const int64_t want = std::min(page_size - emitted, limit - emitted);
        scan.row_limit = static_cast<uint64_t>(std::clamp<int64_t>(want, 1, 5000));
        if (aggregate || !filters.empty() || per_partition_limit != INT64_MAX)
          scan.row_limit = 5000;
        if (nonblocking_) return Status::would_block("a scan reads storage");
        // A range read has range_request_timeout_in_ms, as in Cassandra; aggregates over the
        // whole table are bounded by it, not by a row count.
        if (qp_.clock_.monotonic_micros() - scan_start > qp_.range_timeout_micros_)
          return Status::read_timeout("Operation timed out - received only 0 responses.");
        RINGDB_ASSIGN_OR_RETURN(storage::ScanPage page, qp_.engine_.scan(scan));
        bool stop = false;
        const storage::Partition* last_partition = nullptr;
        const storage::Row* last_row = nullptr;
        for (const auto& p : page.partitions) {
          if (p.partition_key != current_key) {
            current_key = p.partition_key;
            in_partition = 0;
          }
          auto one = [&](const storage::Row* row) -> Result<bool> {
            last_partition = &p;
            last_row = row;
            ++rows_read;
            if (static_cast<int64_t>(in_partition) >= per_partition_limit) return true;
            Materialized m = materialize(*table, index, p, row, now);
            RINGDB_ASSIGN_OR_RETURN(bool more, emit(m, filters));
            if (row_passed) ++in_partition;
            return more;
          };
          if (p.rows.empty() && p.static_row && !p.continued && plan.clustering_filters.empty()) {
            RINGDB_ASSIGN_OR_RETURN(bool more, one(nullptr));
            if (!more) stop = true;
          }
          for (const auto& row : p.rows) {
            if (stop) break;
            RINGDB_ASSIGN_OR_RETURN(bool more, one(&row));
            if (!more) stop = true;
          }
          if (stop) break;
        }
        if (stop) {
          if (emitted >= page_size && emitted < limit && last_partition) {
            PagingState next;
            next.kind = 2;
            RINGDB_ASSIGN_OR_RETURN(
                next.scan_cursor,
                qp_.engine_.scan_cursor_after(table->storage_id, last_partition->partition_key,
                                              last_row ? &last_row->clustering : nullptr));
            next.partition_key = current_key;
            next.rows_in_partition = in_partition;
            next.rows_left = limit == INT64_MAX ? INT64_MAX : limit - emitted;
            result.paging_state = next.encode();
          }
          break;
        }
        if (page.cursor.empty()) break;
        scan.cursor = page.cursor;
        if (emitted >= page_size && emitted < limit) {
          PagingState next;
          next.kind = 2;
          next.scan_cursor = page.cursor;
          next.partition_key = current_key;
          next.rows_in_partition = in_partition;
          next.rows_left = limit == INT64_MAX ? INT64_MAX : limit - emitted;
          result.paging_state = next.encode();
          break;
        }
      }
    }
  }

  std::vector<size_t> ck_index;
  for (const auto* c : ck) ck_index.push_back(static_cast<size_t>(c - table->columns.data()));
  auto clustering_order = [&](const Materialized& a, const Materialized& b) {
    for (size_t i = 0; i < ck.size(); ++i) {
      const auto& x = a.values[ck_index[i]];
      const auto& y = b.values[ck_index[i]];
      // A partition's static-only row has no clustering values: they sort as the smallest, as
      // in Cassandra (first ASC, last DESC).
      if (!x && !y) continue;
      const int c = !x ? -1 : !y ? 1 : compare_values(ck[i]->type, *x, *y);
      if (c != 0) return ((c < 0) != ck[i]->descending) != reversed;
    }
    return false;
  };
  if (sort_in_memory && !aggregate) {
    std::stable_sort(to_sort.begin(), to_sort.end(), clustering_order);
    for (const auto& m : to_sort) {
      if (static_cast<int64_t>(result.rows.size()) >= limit) break;
      RINGDB_ASSIGN_OR_RETURN(RowValues row, selection.project(m));
      result.rows.push_back(std::move(row));
    }
  }
  if (aggregate && (group_columns.empty() || group_key) &&
      static_cast<int64_t>(result.rows.size()) < group_limit) {
    RINGDB_ASSIGN_OR_RETURN(RowValues row, selection.finish_group());
    result.rows.push_back(std::move(row));
  }
  if (sort_in_memory && aggregate && !group_columns.empty()) {
    // Groups of several partitions, in the ORDER BY's order of their first rows.
    std::vector<size_t> order(result.rows.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return clustering_order(group_firsts[a], group_firsts[b]);
    });
    std::vector<RowValues> sorted;
    for (size_t i : order) {
      if (static_cast<int64_t>(sorted.size()) >= limit) break;
      sorted.push_back(std::move(result.rows[i]));
    }
    result.rows = std::move(sorted);
  }
  return result;
}

namespace {

using VirtualRow = std::map<std::string, std::optional<Bytes>>;
struct VirtualTable {
  std::vector<std::pair<std::string, CqlType>> columns;
  std::vector<VirtualRow> rows;
};

CqlType type_of(const char* text) {
  return *CqlType::parse(text);
}

Bytes text_set(const std::vector<std::string>& items) {
  std::vector<Bytes> sorted(items.begin(), items.end());
  std::sort(sorted.begin(), sorted.end());
  return schema::serialize_list(sorted);
}
Bytes text_map(const std::map<std::string, std::string>& m) {
  std::vector<std::pair<Bytes, Bytes>> entries(m.begin(), m.end());
  return schema::serialize_map(entries);
}
Bytes boolean(bool b) {
  return Bytes(1, b ? '\x01' : '\x00');
}
Bytes double_value(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  return be64(static_cast<int64_t>(bits));
}

VirtualTable columns_of(std::initializer_list<std::pair<const char*, const char*>> specs) {
  VirtualTable t;
  for (const auto& [name, type] : specs) t.columns.emplace_back(name, type_of(type));
  return t;
}

std::optional<VirtualTable> system_table(const std::string& keyspace, const std::string& table,
                                         const NodeInfo& node, const schema::Schema& schema) {
  std::vector<std::string> tokens;
  for (int64_t t : node.tokens) tokens.push_back(std::to_string(t));
  if (keyspace == "system" && table == "local") {
    VirtualTable t = columns_of({{"key", "text"},
                                 {"bootstrapped", "text"},
                                 {"broadcast_address", "inet"},
                                 {"broadcast_port", "int"},
                                 {"cluster_name", "text"},
                                 {"cql_version", "text"},
                                 {"data_center", "text"},
                                 {"gossip_generation", "int"},
                                 {"host_id", "uuid"},
                                 {"listen_address", "inet"},
                                 {"listen_port", "int"},
                                 {"native_protocol_version", "text"},
                                 {"partitioner", "text"},
                                 {"rack", "text"},
                                 {"release_version", "text"},
                                 {"rpc_address", "inet"},
                                 {"rpc_port", "int"},
                                 {"schema_version", "uuid"},
                                 {"tokens", "set<text>"},
                                 {"truncated_at", "map<uuid, blob>"}});
    t.rows.push_back({{"key", Bytes("local")},
                      {"bootstrapped", Bytes("COMPLETED")},
                      {"broadcast_address", node.listen_address},
                      {"broadcast_port", be32(7000)},
                      {"cluster_name", Bytes(node.cluster_name)},
                      {"cql_version", Bytes(node.cql_version)},
                      {"data_center", Bytes(node.data_center)},
                      {"gossip_generation", be32(1)},
                      {"host_id", node.host_id},
                      {"listen_address", node.listen_address},
                      {"listen_port", be32(7000)},
                      {"native_protocol_version", Bytes("4")},
                      {"partitioner", Bytes(node.partitioner)},
                      {"rack", Bytes(node.rack)},
                      {"release_version", Bytes(node.release_version)},
                      {"rpc_address", node.rpc_address},
                      {"rpc_port", be32(node.native_port)},
                      {"schema_version", schema.version},
                      {"tokens", text_set(tokens)}});
    return t;
  }
  if (keyspace == "system" && table == "peers") {
    return columns_of({{"peer", "inet"},
                       {"data_center", "text"},
                       {"host_id", "uuid"},
                       {"preferred_ip", "inet"},
                       {"rack", "text"},
                       {"release_version", "text"},
                       {"rpc_address", "inet"},
                       {"schema_version", "uuid"},
                       {"tokens", "set<text>"}});
  }
  if (keyspace == "system" && table == "peers_v2") {
    return columns_of({{"peer", "inet"},
                       {"peer_port", "int"},
                       {"data_center", "text"},
                       {"host_id", "uuid"},
                       {"native_address", "inet"},
                       {"native_port", "int"},
                       {"preferred_ip", "inet"},
                       {"preferred_port", "int"},
                       {"rack", "text"},
                       {"release_version", "text"},
                       {"schema_version", "uuid"},
                       {"tokens", "set<text>"}});
  }
  if (keyspace != "system_schema") return std::nullopt;
  if (table == "keyspaces") {
    VirtualTable t = columns_of({{"keyspace_name", "text"},
                                 {"durable_writes", "boolean"},
                                 {"replication", "frozen<map<text, text>>"}});
    const std::map<std::string, std::string> local = {
        {"class", "org.apache.cassandra.locator.LocalStrategy"}};
    for (const char* name : {"system", "system_schema"}) {
      t.rows.push_back({{"keyspace_name", Bytes(name)},
                        {"durable_writes", boolean(true)},
                        {"replication", text_map(local)}});
    }
    for (const auto& [name, ks] : schema.keyspaces) {
      t.rows.push_back({{"keyspace_name", Bytes(name)},
                        {"durable_writes", boolean(ks.durable_writes)},
                        {"replication", text_map(ks.replication)}});
    }
    return t;
  }
  if (table == "tables") {
    VirtualTable t = columns_of({{"keyspace_name", "text"},
                                 {"table_name", "text"},
                                 {"additional_write_policy", "text"},
                                 {"bloom_filter_fp_chance", "double"},
                                 {"caching", "frozen<map<text, text>>"},
                                 {"cdc", "boolean"},
                                 {"comment", "text"},
                                 {"compaction", "frozen<map<text, text>>"},
                                 {"compression", "frozen<map<text, text>>"},
                                 {"crc_check_chance", "double"},
                                 {"dclocal_read_repair_chance", "double"},
                                 {"default_time_to_live", "int"},
                                 {"extensions", "frozen<map<text, blob>>"},
                                 {"flags", "frozen<set<text>>"},
                                 {"gc_grace_seconds", "int"},
                                 {"id", "uuid"},
                                 {"max_index_interval", "int"},
                                 {"memtable_flush_period_in_ms", "int"},
                                 {"min_index_interval", "int"},
                                 {"read_repair", "text"},
                                 {"read_repair_chance", "double"},
                                 {"speculative_retry", "text"}});
    for (const auto& [ks_name, ks] : schema.keyspaces) {
      for (const auto& [name, tm] : ks.tables) {
        std::vector<std::string> flags = {"compound"};
        if (tm.is_counter_table()) flags.push_back("counter");
        t.rows.push_back(
            {{"keyspace_name", Bytes(ks_name)},
             {"table_name", Bytes(name)},
             {"additional_write_policy", Bytes("99p")},
             {"bloom_filter_fp_chance", double_value(tm.options.bloom_filter_fp_chance)},
             {"caching", text_map(tm.options.caching)},
             {"cdc", boolean(false)},
             {"comment", Bytes(tm.options.comment)},
             {"compaction", text_map(tm.options.compaction)},
             {"compression", text_map(tm.options.compression)},
             {"crc_check_chance", double_value(tm.options.crc_check_chance)},
             {"dclocal_read_repair_chance", double_value(0)},
             {"default_time_to_live", be32(tm.options.default_time_to_live)},
             {"extensions", schema::serialize_map({})},
             {"flags", text_set(flags)},
             {"gc_grace_seconds", be32(tm.options.gc_grace_seconds)},
             {"id", tm.id},
             {"max_index_interval", be32(2048)},
             {"memtable_flush_period_in_ms", be32(0)},
             {"min_index_interval", be32(128)},
             {"read_repair", Bytes("BLOCKING")},
             {"read_repair_chance", double_value(0)},
             {"speculative_retry", Bytes(tm.options.speculative_retry)}});
      }
    }
    return t;
  }
  if (table == "columns") {
    VirtualTable t = columns_of({{"keyspace_name", "text"},
                                 {"table_name", "text"},
                                 {"column_name", "text"},
                                 {"clustering_order", "text"},
                                 {"column_name_bytes", "blob"},
                                 {"kind", "text"},
                                 {"position", "int"},
                                 {"type", "text"}});
    for (const auto& [ks_name, ks] : schema.keyspaces) {
      for (const auto& [name, tm] : ks.tables) {
        for (const auto& c : tm.columns) {
          t.rows.push_back({{"keyspace_name", Bytes(ks_name)},
                            {"table_name", Bytes(name)},
                            {"column_name", Bytes(c.name)},
                            {"clustering_order", Bytes(c.kind == ColumnKind::kClustering
                                                           ? (c.descending ? "desc" : "asc")
                                                           : "none")},
                            {"column_name_bytes", Bytes(c.name)},
                            {"kind", Bytes(schema::column_kind_name(c.kind))},
                            {"position", be32(c.position)},
                            {"type", Bytes(c.type.to_cql())}});
        }
      }
    }
    return t;
  }
  if (table == "dropped_columns") {
    VirtualTable t = columns_of({{"keyspace_name", "text"},
                                 {"table_name", "text"},
                                 {"column_name", "text"},
                                 {"dropped_time", "timestamp"},
                                 {"kind", "text"},
                                 {"type", "text"}});
    for (const auto& [ks_name, ks] : schema.keyspaces) {
      for (const auto& [name, tm] : ks.tables) {
        std::vector<const schema::DroppedColumn*> by_name;  // clustered by column_name
        for (const auto& d : tm.dropped_columns) by_name.push_back(&d);
        std::sort(by_name.begin(), by_name.end(),
                  [](const auto* x, const auto* y) { return x->name < y->name; });
        for (const auto* dropped : by_name) {
          const auto& d = *dropped;
          t.rows.push_back({{"keyspace_name", Bytes(ks_name)},
                            {"table_name", Bytes(name)},
                            {"column_name", Bytes(d.name)},
                            {"dropped_time", be64(d.dropped_time_micros / 1000)},
                            {"kind", Bytes(schema::column_kind_name(d.kind))},
                            {"type", Bytes(d.type.to_cql())}});
        }
      }
    }
    return t;
  }
  if (table == "types") {
    VirtualTable t = columns_of({{"keyspace_name", "text"},
                                 {"type_name", "text"},
                                 {"field_names", "frozen<list<text>>"},
                                 {"field_types", "frozen<list<text>>"}});
    for (const auto& [ks_name, ks] : schema.keyspaces) {
      for (const auto& [name, type] : ks.types) {
        std::vector<Bytes> names, types;
        for (size_t i = 0; i < type.params.size(); ++i) {
          names.emplace_back(type.field_names[i]);
          types.emplace_back(type.params[i].to_cql());
        }
        t.rows.push_back({{"keyspace_name", Bytes(ks_name)},
                          {"type_name", Bytes(name)},
                          {"field_names", schema::serialize_list(names)},
                          {"field_types", schema::serialize_list(types)}});
      }
    }
    return t;
  }
  if (table == "functions") {
    return columns_of({{"keyspace_name", "text"},
                       {"function_name", "text"},
                       {"argument_types", "frozen<list<text>>"},
                       {"argument_names", "frozen<list<text>>"},
                       {"body", "text"},
                       {"called_on_null_input", "boolean"},
                       {"language", "text"},
                       {"return_type", "text"}});
  }
  if (table == "aggregates") {
    return columns_of({{"keyspace_name", "text"},
                       {"aggregate_name", "text"},
                       {"argument_types", "frozen<list<text>>"},
                       {"final_func", "text"},
                       {"initcond", "text"},
                       {"return_type", "text"},
                       {"state_func", "text"},
                       {"state_type", "text"}});
  }
  if (table == "triggers") {
    return columns_of({{"keyspace_name", "text"},
                       {"table_name", "text"},
                       {"trigger_name", "text"},
                       {"options", "frozen<map<text, text>>"}});
  }
  if (table == "indexes") {
    VirtualTable t = columns_of({{"keyspace_name", "text"},
                                 {"table_name", "text"},
                                 {"index_name", "text"},
                                 {"kind", "text"},
                                 {"options", "frozen<map<text, text>>"}});
    for (const auto& [ks_name, ks] : schema.keyspaces) {
      for (const auto& [name, tm] : ks.tables) {
        for (const auto& index : tm.indexes) {
          // Cassandra's target option: the column (quoted as CQL needs), or full(column).
          std::string target = schema::cql_name(index.column);
          if (index.target != "simple")
            target = index.target + "(" + target + ")";
          t.rows.push_back({{"keyspace_name", Bytes(ks_name)},
                            {"table_name", Bytes(name)},
                            {"index_name", Bytes(index.name)},
                            {"kind", Bytes("COMPOSITES")},
                            {"options", schema::serialize_map({{"target", target}})}});
        }
      }
    }
    return t;
  }
  if (table == "views") {
    return columns_of({{"keyspace_name", "text"},
                       {"view_name", "text"},
                       {"base_table_id", "uuid"},
                       {"base_table_name", "text"},
                       {"id", "uuid"},
                       {"include_all_columns", "boolean"},
                       {"where_clause", "text"},
                       {"bloom_filter_fp_chance", "double"},
                       {"caching", "frozen<map<text, text>>"},
                       {"comment", "text"},
                       {"compaction", "frozen<map<text, text>>"},
                       {"compression", "frozen<map<text, text>>"},
                       {"crc_check_chance", "double"},
                       {"default_time_to_live", "int"},
                       {"extensions", "frozen<map<text, blob>>"},
                       {"gc_grace_seconds", "int"},
                       {"speculative_retry", "text"}});
  }
  return std::nullopt;
}

}  // namespace

Result<ResultMessage> StatementRunner::system_select(const SelectStatement& s,
                                                     const std::string& keyspace) {
  auto table = system_table(keyspace, s.table, qp_.node(), *schema_);
  if (!table) return invalid("unconfigured table " + s.table);
  auto column_type = [&](const std::string& name) -> const CqlType* {
    for (const auto& [n, t] : table->columns) {
      if (n == name) return &t;
    }
    return nullptr;
  };
  // WHERE: = and IN on any column.
  std::vector<std::pair<std::string, std::vector<Bytes>>> filters;
  for (const auto& r : s.where) {
    if (r.tuple_notation || r.is_token ||
        (r.op != Relation::Op::kEq && r.op != Relation::Op::kIn)) {
      return Status::not_supported("only = and IN restrictions are supported on system tables");
    }
    const CqlType* t = column_type(r.columns[0]);
    if (t == nullptr) return invalid("Undefined column name " + r.columns[0]);
    std::vector<Bytes> values;
    const std::vector<Term> terms =
        r.op == Relation::Op::kEq ? std::vector<Term>{r.value} : r.value.elements;
    for (const auto& term : terms) {
      RINGDB_ASSIGN_OR_RETURN(Bytes v, binder_.bind_required(term, *t, r.columns[0]));
      values.push_back(std::move(v));
    }
    filters.emplace_back(r.columns[0], std::move(values));
  }
  ResultMessage result;
  result.kind = ResultMessage::Kind::kRows;
  std::vector<std::string> names;
  bool count = false;
  if (s.selectors.empty()) {
    for (const auto& [n, t] : table->columns) names.push_back(n);
  } else {
    for (const auto& sel : s.selectors) {
      if (sel.kind == Selector::Kind::kCountStar) {
        count = true;
        continue;
      }
      if (sel.kind != Selector::Kind::kColumn)
        return Status::not_supported("only plain columns can be selected from system tables");
      if (column_type(sel.name) == nullptr) return invalid("Undefined column name " + sel.name);
      names.push_back(sel.name);
    }
  }
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& alias =
        s.selectors.empty() || s.selectors[i].alias.empty() ? names[i] : s.selectors[i].alias;
    result.columns.push_back({keyspace, s.table, alias, *column_type(names[i])});
  }
  int64_t matched = 0;
  for (const auto& row : table->rows) {
    bool ok = true;
    for (const auto& [name, values] : filters) {
      auto it = row.find(name);
      ok &= it != row.end() && it->second &&
            std::find(values.begin(), values.end(), *it->second) != values.end();
    }
    if (!ok) continue;
    ++matched;
    if (count) continue;
    RowValues out;
    for (const auto& n : names) {
      auto it = row.find(n);
      out.push_back(it == row.end() ? std::nullopt : it->second);
    }
    result.rows.push_back(std::move(out));
  }
  if (count) {
    result.columns = {{keyspace, s.table, "count", CqlType::of(ValueKind::kBigint)}};
    result.rows = {{be64(matched)}};
  }
  return result;
}

namespace {

bool valid_name(const std::string& name) {
  return !name.empty() && name.size() <= 48 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// A speculative retry policy as Cassandra's SpeculativeRetryPolicy prints (and stores) it:
// NONE, ALWAYS, 99p, 99.5p, 50ms, MIN(99p,50ms). Empty when `text` is not one.
std::string retry_policy_text(const std::string& text) {
  const std::string v = ascii_lower(text);
  if (v == "none") return "NONE";
  if (v == "always") return "ALWAYS";
  auto number = [](const std::string& s, const std::string& suffix, double lo, double hi,
                   double* out) {
    if (s.size() <= suffix.size() || s.compare(s.size() - suffix.size(), suffix.size(), suffix))
      return false;
    const std::string n = s.substr(0, s.size() - suffix.size());
    char* end = nullptr;
    *out = std::strtod(n.c_str(), &end);
    return !n.empty() && *end == '\0' && *out >= lo && *out < hi;
  };
  auto percentile = [&](const std::string& s) -> std::string {
    double x = 0;
    if (!number(s, "percentile", 0, 100, &x) && !number(s, "p", 0, 100, &x)) return "";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", x);  // Java's DecimalFormat("#.####")
    std::string out = buf;
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
    return out + "p";
  };
  auto fixed = [&](const std::string& s) -> std::string {
    double x = 0;
    if (!number(s, "ms", 0, 1e15, &x)) return "";
    return std::to_string(static_cast<int64_t>(x)) + "ms";
  };
  if (auto p = percentile(v); !p.empty()) return p;
  if (auto f = fixed(v); !f.empty()) return f;
  for (const char* fn : {"min(", "max("}) {
    if (v.rfind(fn, 0) != 0 || v.back() != ')') continue;
    const std::string inner = v.substr(4, v.size() - 5);
    const size_t comma = inner.find(',');
    if (comma == std::string::npos) return "";
    auto trim = [](std::string s) {
      while (!s.empty() && s.front() == ' ') s.erase(s.begin());
      while (!s.empty() && s.back() == ' ') s.pop_back();
      return s;
    };
    const std::string a = trim(inner.substr(0, comma)), b = trim(inner.substr(comma + 1));
    std::string p = percentile(a), f = fixed(b);
    if (p.empty() || f.empty()) {
      p = percentile(b);
      f = fixed(a);
    }
    if (p.empty() || f.empty()) return "";
    return std::string(fn[1] == 'i' ? "MIN(" : "MAX(") + p + "," + f + ")";
  }
  return "";
}

// Cassandra's CompressionParams: a known compressor class (short or full name), or
// enabled = false; chunk_length_in_kb a power of two.
Status check_compression(const std::map<std::string, std::string>& m) {
  auto enabled = m.find("enabled");
  if (enabled != m.end() && ascii_lower(enabled->second) == "false") return Status::ok();
  auto cls = m.find("class");
  if (cls == m.end() && m.count("sstable_compression")) cls = m.find("sstable_compression");
  if (cls == m.end())
    return Status::config_error("Missing sub-option 'class' for the 'compression' option.");
  std::string full = cls->second;
  if (full.find('.') == std::string::npos) full = "org.apache.cassandra.io.compress." + full;
  bool known = false;
  for (const char* c : {"LZ4Compressor", "SnappyCompressor", "DeflateCompressor", "ZstdCompressor",
                        "NoopCompressor"}) {
    known |= full == std::string("org.apache.cassandra.io.compress.") + c;
  }
  if (!known) return Status::config_error("Could not create Compression for type " + full);
  auto chunk = m.find("chunk_length_in_kb");
  if (chunk != m.end()) {
    char* end = nullptr;
    const long long kb = std::strtoll(chunk->second.c_str(), &end, 10);
    if (chunk->second.empty() || *end != '\0' || kb <= 0 || (kb & (kb - 1)) != 0)
      return Status::config_error("chunk_length_in_kb must be a power of 2");
  }
  return Status::ok();
}

// Cassandra's CachingParams: keys ALL or NONE, rows_per_partition ALL, NONE or a positive count.
Status check_caching(const std::map<std::string, std::string>& m) {
  for (const auto& [key, value] : m) {
    const std::string v = ascii_lower(value);
    if (key == "keys") {
      if (v != "all" && v != "none") {
        return Status::config_error("Invalid value '" + value +
                                    "' for caching sub-option 'keys': only 'ALL' and 'NONE' are "
                                    "accepted");
      }
    } else if (key == "rows_per_partition") {
      char* end = nullptr;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      const bool count = !v.empty() && *end == '\0' && n > 0;
      if (v != "all" && v != "none" && !count) {
        return Status::config_error("Invalid value '" + value +
                                    "' for caching sub-option 'rows_per_partition': only 'ALL', "
                                    "'NONE' or a positive integer are accepted");
      }
    } else {
      return Status::config_error("Invalid caching sub-options " + key +
                                  ": only \"keys\" and \"rows_per_partition\" are allowed");
    }
  }
  return Status::ok();
}

Status apply_table_options(const std::map<std::string, TableOption>& options,
                           schema::TableOptions* out) {
  auto as_double = [](const TableOption& o, const std::string& name, double* v) -> Status {
    char* end = nullptr;
    const double x = std::strtod(o.value.c_str(), &end);
    if (o.is_map || o.value.empty() || *end != '\0')
      return Status::syntax_error("Invalid double value " + o.value + " for '" + name + "'");
    *v = x;
    return Status::ok();
  };
  // Cassandra's words: a value that is not an integer is a syntax error, one out of range a
  // ConfigError.
  auto as_int = [](const TableOption& o, const std::string& name, int32_t* v) -> Status {
    char* end = nullptr;
    errno = 0;
    long long x = std::strtoll(o.value.c_str(), &end, 10);
    if (o.is_map || o.value.empty() || *end != '\0' || errno == ERANGE || x < INT32_MIN ||
        x > INT32_MAX) {
      return Status::syntax_error("Invalid integer value " + o.value + " for '" + name + "'");
    }
    *v = static_cast<int32_t>(x);
    if (*v < 0) {
      return Status::config_error(name + " must be greater than or equal to 0 (got " + o.value +
                                  ")");
    }
    return Status::ok();
  };
  for (const auto& [name, o] : options) {
    if (name == "default_time_to_live") {
      RINGDB_RETURN_IF_ERROR(as_int(o, name, &out->default_time_to_live));
      if (out->default_time_to_live > storage::kMaxTtlSeconds) {
        return Status::config_error("default_time_to_live must be less than or equal to " +
                                    std::to_string(storage::kMaxTtlSeconds) + " (got " + o.value +
                                    ")");
      }
    } else if (name == "gc_grace_seconds") {
      RINGDB_RETURN_IF_ERROR(as_int(o, name, &out->gc_grace_seconds));
    } else if (name == "comment") {
      out->comment = o.value;
    } else if (name == "bloom_filter_fp_chance") {
      // Cassandra's floor: the smallest false-positive chance its bloom filters can reach.
      constexpr double kMinBloomFilterFpChance = 6.71e-05;
      RINGDB_RETURN_IF_ERROR(as_double(o, name, &out->bloom_filter_fp_chance));
      const double v = out->bloom_filter_fp_chance;
      if (!(v > kMinBloomFilterFpChance && v <= 1)) {
        return Status::config_error("bloom_filter_fp_chance must be larger than " +
                                    schema::java_double(kMinBloomFilterFpChance) +
                                    " and less than or equal to 1.0 (got " +
                                    schema::java_double(v) + ")");
      }
    } else if (name == "crc_check_chance") {
      RINGDB_RETURN_IF_ERROR(as_double(o, name, &out->crc_check_chance));
      const double v = out->crc_check_chance;
      if (!(v >= 0 && v <= 1)) {
        return Status::config_error(
            "crc_check_chance must be larger than or equal to 0 and smaller than or equal to 1.0 "
            "(got " +
            schema::java_double(v) + ")");
      }
    } else if (name == "speculative_retry" || name == "additional_write_policy") {
      if (o.is_map || retry_policy_text(o.value).empty()) {
        return Status::config_error("Invalid value " + o.value + " for option '" + name + "'");
      }
      if (name == "speculative_retry") out->speculative_retry = retry_policy_text(o.value);
    } else if (name == "compaction" && o.is_map) {
      // The strategies Cassandra 4 has (RocksDB's own compaction runs either way).
      auto cls = o.map.find("class");
      if (cls == o.map.end())
        return Status::config_error("Missing sub-option 'class' for the 'compaction' option.");
      std::string full = cls->second;
      if (full.find('.') == std::string::npos) full = "org.apache.cassandra.db.compaction." + full;
      static const char* const kStrategies[] = {"SizeTieredCompactionStrategy",
                                                "LeveledCompactionStrategy",
                                                "TimeWindowCompactionStrategy"};
      bool known = false;
      for (const char* strategy : kStrategies)
        known |= full == std::string("org.apache.cassandra.db.compaction.") + strategy;
      if (!known)
        return Status::config_error("Unable to find compaction strategy class '" + full + "'");
      // As Cassandra stores it: the full class name, and the thresholds' defaults.
      out->compaction = o.map;
      out->compaction["class"] = full;
      out->compaction.emplace("min_threshold", "4");
      out->compaction.emplace("max_threshold", "32");
    } else if (name == "compression" && o.is_map) {
      RINGDB_RETURN_IF_ERROR(check_compression(o.map));
      // As Cassandra stores it: the full class name and the chunk length, or enabled: false.
      auto enabled = o.map.find("enabled");
      if (enabled != o.map.end() && ascii_lower(enabled->second) == "false") {
        out->compression = {{"enabled", "false"}};
      } else {
        auto cls = o.map.find("class");
        if (cls == o.map.end()) cls = o.map.find("sstable_compression");
        std::string full = cls->second;
        if (full.find('.') == std::string::npos) full = "org.apache.cassandra.io.compress." + full;
        auto chunk = o.map.find("chunk_length_in_kb");
        out->compression = {{"class", full},
                            {"chunk_length_in_kb", chunk == o.map.end() ? "16" : chunk->second}};
      }
    } else if (name == "caching" && o.is_map) {
      RINGDB_RETURN_IF_ERROR(check_caching(o.map));
      // As Cassandra stores it: both sub-options, the missing ones at their defaults.
      std::map<std::string, std::string> caching = {{"keys", "ALL"},
                                                    {"rows_per_partition", "NONE"}};
      for (const auto& [key, value] : o.map) {
        const std::string v = ascii_lower(value);
        caching[key] = v == "all" ? "ALL" : v == "none" ? "NONE" : value;
      }
      out->caching = std::move(caching);
    } else if (name == "memtable_flush_period_in_ms" || name == "min_index_interval" ||
               name == "max_index_interval" || name == "read_repair_chance" ||
               name == "dclocal_read_repair_chance" || name == "cdc" || name == "read_repair" ||
               name == "extensions") {
      // Accepted for compatibility; RocksDB's engine has no equivalent to tune.
    } else {
      return Status::syntax_error("Unknown property '" + name + "'");
    }
  }
  return Status::ok();
}

ResultMessage schema_change(const char* change, const char* target, const std::string& keyspace,
                            const std::string& name = "") {
  ResultMessage r;
  r.kind = ResultMessage::Kind::kSchemaChange;
  r.change = change;
  r.target = target;
  r.change_keyspace = keyspace;
  r.change_name = name;
  return r;
}

// A column's type may name user-defined types of `keyspace` (the table's) or of another one.
Result<schema::ColumnMetadata> column_definition(const ColumnDefinition& d,
                                                 const schema::Schema& schema,
                                                 const std::string& keyspace) {
  auto type = schema.parse_type(keyspace, d.type);
  if (!type.is_ok()) return type.status();
  schema::ColumnMetadata c;
  c.name = d.name;
  c.type = *type;
  c.kind = d.is_static ? ColumnKind::kStatic : ColumnKind::kRegular;
  return c;
}

}  // namespace

Result<ResultMessage> StatementRunner::ddl(const Statement& statement) {
  auto& schemas = qp_.schemas_;
  if (auto* s = std::get_if<UseStatement>(&statement)) {
    if (!schema_->keyspace(s->keyspace) && !schema::is_system_keyspace(s->keyspace)) {
      return invalid("Keyspace '" + s->keyspace + "' does not exist");
    }
    session_.keyspace = s->keyspace;
    ResultMessage r;
    r.kind = ResultMessage::Kind::kSetKeyspace;
    r.keyspace = s->keyspace;
    return r;
  }
  if (auto* s = std::get_if<CreateKeyspaceStatement>(&statement)) {
    if (!valid_name(s->name))
      return invalid(
          "Keyspace name must not be empty, more than 48 characters long, or contain "
          "non-alphanumeric-underscore characters (got \"" +
          s->name + "\")");
    if (!s->has_replication) return invalid("Missing mandatory option 'replication'");
    schema::KeyspaceMetadata ks;
    ks.name = s->name;
    ks.replication = s->replication;
    ks.durable_writes = s->durable_writes.value_or(true);
    Status st = schemas.create_keyspace(ks);
    if (st.code() == StatusCode::kAlreadyExists && s->if_not_exists) return ResultMessage{};
    RINGDB_RETURN_IF_ERROR(st);
    return schema_change("CREATED", "KEYSPACE", s->name);
  }
  if (auto* s = std::get_if<AlterKeyspaceStatement>(&statement)) {
    if (is_local_system_keyspace(s->name)) return not_user_modifiable(s->name);
    if (schema::is_system_keyspace(s->name))
      return Status(StatusCode::kInvalidArgument, "Cannot alter system keyspace " + s->name);
    RINGDB_RETURN_IF_ERROR(schemas.alter_keyspace(s->name, s->replication, s->durable_writes));
    return schema_change("UPDATED", "KEYSPACE", s->name);
  }
  if (auto* s = std::get_if<DropKeyspaceStatement>(&statement)) {
    if (is_local_system_keyspace(s->name)) return not_user_modifiable(s->name);
    if (schema::is_replicated_system_keyspace(s->name))
      return cannot_change_system("DROP", s->name);
    if (schema::is_system_keyspace(s->name))
      return invalid("Cannot drop system keyspace " + s->name);
    Status st = schemas.drop_keyspace(s->name);
    if (st.code() == StatusCode::kNotFound) {
      if (s->if_exists) return ResultMessage{};
      return invalid("Keyspace '" + s->name + "' doesn't exist");
    }
    RINGDB_RETURN_IF_ERROR(st);
    return schema_change("DROPPED", "KEYSPACE", s->name);
  }
  if (auto* s = std::get_if<CreateTableStatement>(&statement)) {
    // Cassandra 4's CreateTableStatement: its checks and messages, in its order (the parser
    // has refused duplicate and missing declarations).
    RINGDB_ASSIGN_OR_RETURN(const std::string ks, statement_keyspace(s->keyspace));
    if (is_local_system_keyspace(ks)) return not_user_modifiable(ks);
    if (schema::is_system_keyspace(ks))
      return invalid("Cannot add new tables to system keyspace " + ks);
    if (schema::is_replicated_system_keyspace(ks)) return cannot_change_system("CREATE", ks);
    if (!schema_->keyspace(ks)) return invalid("Keyspace '" + ks + "' doesn't exist");
    if (schema_->table(ks, s->name) != nullptr) {
      if (s->if_not_exists) return ResultMessage{};
      return Status::already_exists("Cannot add already existing table \"" + s->name +
                                    "\" to keyspace \"" + ks + "\"");
    }
    schema::TableMetadata t;
    t.keyspace = ks;
    t.name = s->name;
    RINGDB_RETURN_IF_ERROR(apply_table_options(s->options, &t.options));
    std::map<std::string, schema::ColumnMetadata> defined;
    for (const auto& d : s->columns) {
      RINGDB_ASSIGN_OR_RETURN(schema::ColumnMetadata c, column_definition(d, *schema_, ks));
      defined.emplace(c.name, c);
    }
    std::set<std::string> in_key;
    auto key_column = [&](const std::string& name, ColumnKind kind,
                          int position) -> Result<schema::ColumnMetadata> {
      auto it = defined.find(name);
      if (it == defined.end()) {
        if (in_key.count(name)) {
          return invalid("Duplicate column '" + name + "' in PRIMARY KEY clause for table '" +
                         s->name + "'");
        }
        return invalid("Unknown column '" + name + "' referenced in PRIMARY KEY for table '" +
                       s->name + "'");
      }
      schema::ColumnMetadata c = it->second;
      if (c.type.is_multi_cell()) {
        return invalid(std::string(c.type.is_udt() ? "Invalid non-frozen user-defined type "
                                                   : "Invalid non-frozen collection type ") +
                       c.type.to_cql() + " for PRIMARY KEY column '" + name + "'");
      }
      if (c.type.is_counter())
        return invalid("counter type is not supported for PRIMARY KEY column '" + name + "'");
      if (c.type.kind == ValueKind::kDuration)
        return invalid("duration type is not supported for PRIMARY KEY column '" + name + "'");
      if (c.kind == ColumnKind::kStatic)
        return invalid("Static column '" + name + "' cannot be part of the PRIMARY KEY");
      c.kind = kind;
      c.position = position;
      defined.erase(it);
      in_key.insert(name);
      return c;
    };
    for (size_t i = 0; i < s->partition_key.size(); ++i) {
      RINGDB_ASSIGN_OR_RETURN(
          auto c, key_column(s->partition_key[i], ColumnKind::kPartitionKey, static_cast<int>(i)));
      t.columns.push_back(std::move(c));
    }
    for (size_t i = 0; i < s->clustering.size(); ++i) {
      RINGDB_ASSIGN_OR_RETURN(
          auto c, key_column(s->clustering[i], ColumnKind::kClustering, static_cast<int>(i)));
      t.columns.push_back(std::move(c));
    }
    if (!s->clustering_order.empty()) {
      // All the clustering columns, in their order (Cassandra 4 enforces it).
      bool exact = s->clustering_order.size() == s->clustering.size();
      for (size_t i = 0; exact && i < s->clustering_order.size(); ++i)
        exact = s->clustering_order[i].first == s->clustering[i];
      if (!exact) {
        return invalid(
            "Clustering key columns must exactly match columns in CLUSTERING ORDER BY directive");
      }
      for (size_t i = 0; i < s->clustering_order.size(); ++i)
        t.columns[s->partition_key.size() + i].descending = s->clustering_order[i].second;
    }
    bool counters = false, non_counters = false;
    for (auto& [name, c] : defined) {
      if (c.kind == ColumnKind::kStatic && s->clustering.empty()) {
        return invalid(
            "Static columns are only useful (and thus allowed) if the table has at least one "
            "clustering column");
      }
      (c.type.is_counter() ? counters : non_counters) = true;
      t.columns.push_back(c);
    }
    if (counters && non_counters)
      return invalid("Cannot mix counter and non counter columns in the same table");
    if (counters && t.options.default_time_to_live > 0)
      return invalid("Cannot set default_time_to_live on a table with counters");
    if (!valid_name(s->name))
      return invalid(
          "Table name must not be empty, more than 48 characters long, or contain "
          "non-alphanumeric-underscore characters (got \"" +
          s->name + "\")");
    Status st = schemas.create_table(t);
    if (st.code() == StatusCode::kAlreadyExists && s->if_not_exists) return ResultMessage{};
    RINGDB_RETURN_IF_ERROR(st);
    return schema_change("CREATED", "TABLE", ks, s->name);
  }
  if (auto* s = std::get_if<AlterTableStatement>(&statement)) {
    // Cassandra 4's AlterTableStatement: its checks and messages, in its order.
    const std::string alter_ks = s->keyspace.empty() ? default_keyspace_ : s->keyspace;
    if (schema::is_replicated_system_keyspace(alter_ks) &&
        schema_->table(alter_ks, s->name) != nullptr) {
      return cannot_change_system("ALTER", alter_ks, s->name);
    }
    if (!alter_ks.empty() && !is_local_system_keyspace(alter_ks) &&
        schema_->table(alter_ks, s->name) == nullptr) {
      return invalid("Table '" + alter_ks + "." + s->name + "' doesn't exist");
    }
    RINGDB_ASSIGN_OR_RETURN(const TableMetadata* current, resolve(s->keyspace, s->name));
    schema::TableMetadata t = *current;
    // A table as Cassandra's TableMetadata prints itself: names quoted where CQL needs it.
    const std::string printed_name = schema::cql_name(t.keyspace) + "." + schema::cql_name(t.name);
    const std::string quoted_name = "'" + printed_name + "'";
    for (const auto& d : s->add) {
      RINGDB_ASSIGN_OR_RETURN(schema::ColumnMetadata c, column_definition(d, *schema_, t.keyspace));
      if (t.column(c.name)) return invalid("Column with name '" + c.name + "' already exists");
      if (c.kind == ColumnKind::kStatic && t.clustering().empty()) {
        return invalid(
            "Static columns are only useful (and thus allowed) if the table has at least one "
            "clustering column");
      }
      if (c.type.is_counter() != t.is_counter_table()) {
        return Status::config_error(
            c.type.is_counter()
                ? "Cannot have a counter column (\"" + c.name + "\") in a non counter table"
                : "Cannot have a non counter column (\"" + c.name + "\") in a counter table");
      }
      // Cassandra's checks on adding back a dropped column.
      for (const auto& d : t.dropped_columns) {
        if (d.name != c.name) continue;
        if (!readable_as(c.type, d.type)) {
          return invalid("Cannot re-add previously dropped column '" + c.name + "' of type " +
                         c.type.to_cql() + ", incompatible with previous type " + d.type.to_cql());
        }
        const bool was_static = d.kind == ColumnKind::kStatic;
        if (was_static != (c.kind == ColumnKind::kStatic)) {
          return invalid("Cannot re-add previously dropped column '" + c.name + "' of kind " +
                         (c.kind == ColumnKind::kStatic ? "STATIC" : "REGULAR") +
                         ", incompatible with previous kind " +
                         (was_static ? "STATIC" : "REGULAR"));
        }
        if (t.is_counter_table())
          return invalid("Cannot re-add previously dropped counter column " + c.name);
      }
      t.columns.push_back(c);
    }
    std::set<std::string> dropped_now;  // DROP (v, v) drops v once, as Cassandra's set does
    for (const auto& name : s->drop) {
      if (!dropped_now.insert(name).second) continue;
      const ColumnMetadata* c = t.column(name);
      if (c == nullptr) return invalid("Column " + name + " was not found in table " + quoted_name);
      if (c->kind == ColumnKind::kPartitionKey || c->kind == ColumnKind::kClustering) {
        return invalid("Cannot drop PRIMARY KEY column " + name);
      }
      if (const schema::IndexMetadata* index = t.index_on(c->name)) {
        return invalid("Cannot drop column " + name +
                       " because it has dependent secondary indexes (" + index->name + ")");
      }
      std::erase_if(t.dropped_columns, [&](const auto& d) { return d.name == c->name; });
      t.dropped_columns.push_back(
          {c->name, c->type.expand_user_types(), c->kind, qp_.next_timestamp()});
      t.columns.erase(t.columns.begin() + (c - t.columns.data()));
    }
    // Only primary key columns can be renamed (as in Cassandra); storage knows columns by id.
    for (const auto& [from, to] : s->rename) {
      schema::ColumnMetadata* c = nullptr;
      for (auto& column : t.columns) {
        if (column.name == from) c = &column;
      }
      if (c == nullptr)
        return invalid("Column " + from + " was not found in table " + printed_name);
      if (c->kind != ColumnKind::kPartitionKey && c->kind != ColumnKind::kClustering)
        return invalid("Cannot rename non PRIMARY KEY column " + from);
      if (t.column(to)) {
        return invalid("Cannot rename column " + from + " to " + to + " in table " + quoted_name +
                       "; another column with that name already exists");
      }
      c->name = to;
    }
    RINGDB_RETURN_IF_ERROR(apply_table_options(s->options, &t.options));
    if (t.is_counter_table() && t.options.default_time_to_live > 0)
      return invalid("Cannot set default_time_to_live on a table with counters");
    RINGDB_RETURN_IF_ERROR(schemas.replace_table(t));
    return schema_change("UPDATED", "TABLE", t.keyspace, t.name);
  }
  if (auto* s = std::get_if<CreateTypeStatement>(&statement)) {
    // Cassandra 4's CreateTypeStatement: its checks and messages, in its order.
    RINGDB_ASSIGN_OR_RETURN(const std::string ks, statement_keyspace(s->keyspace));
    if (is_local_system_keyspace(ks)) return not_user_modifiable(ks);
    if (s->alter != CreateTypeStatement::Alter::kNone) return alter_type(*s, ks);
    if (schema::is_replicated_system_keyspace(ks)) return cannot_change_system("CREATE", ks);
    const schema::KeyspaceMetadata* keyspace = schema_->keyspace(ks);
    if (keyspace == nullptr) return invalid("Keyspace '" + ks + "' doesn't exist");
    if (keyspace->types.count(s->name)) {
      if (s->if_not_exists) return ResultMessage{};
      return invalid("A user type with name '" + s->name + "' already exists");
    }
    if (auto native = CqlType::parse(s->name); native.is_ok() || s->name == "frozen")
      return invalid("'" + s->name + "' is a reserved type name");
    CqlType t;
    t.kind = ValueKind::kUdt;
    t.keyspace = ks;
    t.name = s->name;
    std::set<std::string> used;
    for (const auto& [field, text] : s->fields) {
      if (!used.insert(field).second)
        return invalid("Duplicate field name '" + field + "' in type '" + s->name + "'");
    }
    for (const auto& [field, text] : s->fields) {
      RINGDB_ASSIGN_OR_RETURN(CqlType type, schema_->parse_type(ks, text));
      if (type.is_counter()) return invalid("A user type cannot contain counters");
      if (type.is_udt() && !type.frozen)
        return invalid("A user type cannot contain non-frozen UDTs");
      t.field_names.push_back(field);
      t.params.push_back(std::move(type));
    }
    Status st = schemas.create_type(std::move(t));
    RINGDB_RETURN_IF_ERROR(st);
    return schema_change("CREATED", "TYPE", ks, s->name);
  }
  if (auto* s = std::get_if<DropTableStatement>(&statement)) {
    RINGDB_ASSIGN_OR_RETURN(const std::string ks, statement_keyspace(s->keyspace));
    if (is_local_system_keyspace(ks)) return not_user_modifiable(ks);
    if (s->is_type) {
      if (schema::is_replicated_system_keyspace(ks)) return cannot_change_system("DROP", ks);
      Status st = schemas.drop_type(ks, s->name);
      if (st.code() == StatusCode::kNotFound) {
        if (s->if_exists) return ResultMessage{};
        return invalid(st.message());
      }
      RINGDB_RETURN_IF_ERROR(st);
      return schema_change("DROPPED", "TYPE", ks, s->name);
    }
    if (schema::is_replicated_system_keyspace(ks) && schema_->table(ks, s->name) != nullptr)
      return cannot_change_system("DROP", ks, s->name);
    Status st = schemas.drop_table(ks, s->name);
    if (st.code() == StatusCode::kNotFound) {
      if (s->if_exists) return ResultMessage{};
      return invalid("Table '" + ks + "." + s->name + "' doesn't exist");
    }
    RINGDB_RETURN_IF_ERROR(st);
    return schema_change("DROPPED", "TABLE", ks, s->name);
  }
  if (auto* s = std::get_if<IndexStatement>(&statement)) return index_ddl(*s);
  if (auto* s = std::get_if<TruncateStatement>(&statement)) {
    RINGDB_ASSIGN_OR_RETURN(const TableMetadata* t, resolve(s->keyspace, s->name));
    RINGDB_RETURN_IF_ERROR(schemas.truncate_table(t->keyspace, t->name));
    return ResultMessage{};
  }
  return invalid("not a schema statement");
}

// Cassandra 4's AlterTypeStatement: ADD a field (not to a type a partition key uses, as Cassandra
// refuses; nor, here, to one a clustering column, a set element or a map key uses, whose stored
// values would order differently from new ones), RENAME fields; ALTER of a field's type is
// refused. Every table and type using the type sees the change.
Result<ResultMessage> StatementRunner::alter_type(const CreateTypeStatement& s,
                                                  const std::string& ks) {
  using Alter = CreateTypeStatement::Alter;
  const schema::KeyspaceMetadata* keyspace = schema_->keyspace(ks);
  if (keyspace == nullptr || !keyspace->types.count(s.name))
    return invalid("Type " + ks + "." + s.name + " doesn't exist");
  auto found = keyspace->types.find(s.name);
  if (schema::is_replicated_system_keyspace(ks)) return cannot_change_system("ALTER", ks);
  CqlType type = found->second;
  const std::string type_name = schema::cql_name(ks) + "." + schema::cql_name(s.name);
  if (s.alter == Alter::kAlterField) return invalid("Altering field types is no longer supported");
  if (s.alter == Alter::kAdd) {
    const auto& [field, text] = s.fields.at(0);
    if (type.field_position(field)) {
      return invalid("Cannot add field " + schema::cql_name(field) + " to type " + type_name +
                     ": a field with name " + schema::cql_name(field) + " already exists");
    }
    RINGDB_ASSIGN_OR_RETURN(CqlType field_type, schema_->parse_type(ks, text));
    const std::string adding = "Cannot add new field " + schema::cql_name(field) + " of type " +
                               text + " to user type " + type_name;
    if (field_type.references(ks, s.name))
      return invalid(adding + " as it would create a circular reference");
    if (field_type.is_counter()) return invalid("A user type cannot contain counters");
    if (field_type.is_udt() && !field_type.frozen)
      return invalid("A user type cannot contain non-frozen UDTs");
    // Where values are compared as stored bytes, a value written before (without the field)
    // and one written after (with it null) would differ.
    std::function<bool(const CqlType&)> ordered_use = [&](const CqlType& t) {
      if ((t.kind == ValueKind::kSet || t.kind == ValueKind::kMap) &&
          t.params[0].references(ks, s.name))
        return true;
      for (const auto& p : t.params) {
        if (ordered_use(p)) return true;
      }
      return false;
    };
    std::string in_partition_key, elsewhere;
    for (const auto& [table_name, t] : keyspace->tables) {
      const std::string qualified = schema::cql_name(ks) + "." + schema::cql_name(table_name);
      for (const auto& c : t.columns) {
        if (c.kind == ColumnKind::kPartitionKey && c.type.references(ks, s.name)) {
          in_partition_key += (in_partition_key.empty() ? "" : ", ") + qualified;
          break;
        }
        if (elsewhere.empty() &&
            ((c.kind == ColumnKind::kClustering && c.type.references(ks, s.name)) ||
             ordered_use(c.type))) {
          elsewhere = (c.kind == ColumnKind::kClustering ? "clustering column " : "column ") +
                      schema::cql_name(c.name) + " of " + qualified;
        }
      }
    }
    if (!in_partition_key.empty()) {
      return invalid(adding +
                     " as the type is being used in partition key by the following tables: " +
                     in_partition_key);
    }
    if (!elsewhere.empty()) {
      return Status::not_supported("ALTER TYPE ... ADD on a type used as a key (by " + elsewhere +
                                   ") is not supported yet");
    }
    type.field_names.push_back(field);
    type.params.push_back(std::move(field_type));
  } else {
    for (const auto& [from, to] : s.renames) {
      auto it = std::find(type.field_names.begin(), type.field_names.end(), from);
      if (it == type.field_names.end())
        return invalid("Unkown field " + schema::cql_name(from) + " in user type " + type_name);
      *it = to;
    }
    for (const auto& name : type.field_names) {
      if (std::count(type.field_names.begin(), type.field_names.end(), name) > 1)
        // Cassandra's words, which name the keyspace where the type was meant.
        return invalid("Duplicate field name " + schema::cql_name(name) + " in type " + ks);
    }
  }
  RINGDB_RETURN_IF_ERROR(qp_.schemas_.alter_type(type));
  return schema_change("UPDATED", "TYPE", ks, s.name);
}

// An index entry's clustering key: the base row's clustering values as one tuple (entries are per
// row, so that a purge of one row's entry leaves the entries of other rows of the partition).
Bytes clustering_key_of(const std::vector<Bytes>& clustering) {
  std::vector<std::optional<Bytes>> parts(clustering.begin(), clustering.end());
  return schema::serialize_tuple(parts);
}

// CREATE INDEX / DROP INDEX, as Cassandra 4's CreateIndexStatement and DropIndexStatement: one
// regular or static column, whole values (a frozen collection through full()); the index is
// filled from the table's rows before the statement answers.
Result<ResultMessage> StatementRunner::index_ddl(const IndexStatement& s) {
  RINGDB_ASSIGN_OR_RETURN(const std::string ks, statement_keyspace(s.keyspace));
  if (is_local_system_keyspace(ks)) return not_user_modifiable(ks);
  if (s.drop) {
    const schema::KeyspaceMetadata* keyspace = schema_->keyspace(ks);
    std::string table_name;
    if (keyspace != nullptr) {
      for (const auto& [name, t] : keyspace->tables) {
        for (const auto& i : t.indexes) {
          if (i.name == s.name) table_name = name;
        }
      }
    }
    if (table_name.empty()) {
      if (s.if_exists) return ResultMessage{};
      return invalid("Index '" + ks + "." + s.name + "' doesn't exist'");
    }
    storage::TableId dropped_id = 0;
    for (const auto& i : keyspace->tables.at(table_name).indexes) {
      if (i.name == s.name) dropped_id = i.storage_id;
    }
    RINGDB_RETURN_IF_ERROR(qp_.schemas_.drop_index(ks, s.name));
    qp_.forget_index(dropped_id);
    return schema_change("UPDATED", "TABLE", ks, table_name);
  }
  if (s.custom) return Status::not_supported("CREATE CUSTOM INDEX is not supported yet");
  if (schema::is_replicated_system_keyspace(ks)) return cannot_change_system("CREATE", ks);
  const schema::KeyspaceMetadata* keyspace = schema_->keyspace(ks);
  if (keyspace == nullptr) return invalid("Keyspace '" + ks + "' doesn't exist");
  const TableMetadata* table = schema_->table(ks, s.table);
  if (table == nullptr) return invalid("Table '" + s.table + "' doesn't exist");
  auto index_named = [&](const std::string& name) {
    for (const auto& [n, t] : keyspace->tables) {
      for (const auto& i : t.indexes) {
        if (i.name == name) return true;
      }
    }
    return false;
  };
  if (!s.name.empty() && index_named(s.name)) {
    if (s.if_exists) return ResultMessage{};
    return invalid("Index '" + s.name + "' already exists");
  }
  if (table->is_counter_table())
    return invalid("Secondary indexes on counter tables aren't supported");
  if (s.column.empty())
    return invalid("Only CUSTOM indexes can be created without specifying a target column");
  const ColumnMetadata* c = table->column(s.column);
  if (c == nullptr) return invalid("Column '" + s.column + "' doesn't exist");
  const CqlType& type = c->type;
  auto references_duration = [](const CqlType& t, auto& self) -> bool {
    if (t.kind == ValueKind::kDuration) return true;
    for (const auto& p : t.params) {
      if (self(p, self)) return true;
    }
    return false;
  };
  if (references_duration(type, references_duration)) {
    if (type.is_collection())
      return invalid("Secondary indexes are not supported on collections containing durations");
    if (type.kind == ValueKind::kTuple)
      return invalid("Secondary indexes are not supported on tuples containing durations");
    if (type.is_udt())
      return invalid("Secondary indexes are not supported on UDTs containing durations");
    return invalid("Secondary indexes are not supported on duration columns");
  }
  if (c->kind == ColumnKind::kPartitionKey && table->partition_key().size() == 1)
    return invalid("Cannot create secondary index on the only partition key column " + c->name);
  // A bare collection column means values(c), as in Cassandra.
  const std::string target =
      s.target == "simple" && type.is_collection() ? std::string("values") : s.target;
  if (type.is_collection() && type.frozen && target != "full") {
    return invalid("Cannot create " + target + "() index on frozen column " + c->name +
                   ". Frozen collections are immutable and must be fully indexed by using the "
                   "'full(" +
                   c->name + ")' modifier");
  }
  if (!(type.is_collection() && type.frozen) && target == "full")
    return invalid("full() indexes can only be created on frozen collections");
  if (!type.is_collection() && target != "simple") {
    return invalid("Cannot create " + target + "() index on " + c->name +
                   ". Non-collection columns only support simple indexes");
  }
  if ((target == "keys" || target == "entries") &&
      !(type.kind == ValueKind::kMap && type.is_multi_cell())) {
    return invalid("Cannot create index on " + target + " of column " + c->name +
                   " with non-map type");
  }
  if (type.is_udt() && type.is_multi_cell())
    return invalid("Cannot create index on non-frozen UDT column " + c->name);
  if (c->kind == ColumnKind::kPartitionKey || c->kind == ColumnKind::kClustering) {
    return Status::not_supported("Secondary indexes on PRIMARY KEY columns are not supported yet");
  }
  schema::IndexMetadata index;
  index.column = c->name;
  index.target = target;
  if (s.name.empty()) {  // Cassandra's default: table_column_idx, then _1, _2, … while taken
    std::string base;
    for (char ch : table->name + "_" + c->name + "_idx") {
      if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_') base += ch;
    }
    index.name = base;
    for (int n = 1; index_named(index.name); ++n) index.name = base + "_" + std::to_string(n);
  } else {
    index.name = s.name;
  }
  if (const schema::IndexMetadata* same = table->index_on(c->name)) {
    if (same->target != target) {
      return Status::not_supported("A second index on column " + c->name +
                                   " (another target) is not supported yet");
    }
    if (s.if_exists) return ResultMessage{};
    return invalid("Index " + index.name + " is a duplicate of existing index " + same->name);
  }
  const std::string index_name = index.name;
  // Until build_index marks it built, reads that the index would serve fail rather than miss
  // rows (index_available).
  RINGDB_RETURN_IF_ERROR(qp_.schemas_.create_index(ks, s.table, std::move(index)));
  // Writes planned without the index and not yet in storage get its entries when they apply,
  // or are in storage before the build's scan starts (see QueryProcessor::enter_apply).
  qp_.start_index_generation();
  if (Status built = qp_.build_index(ks, index_name); !built.is_ok()) {
    // A CREATE INDEX that fails leaves no index behind, so nothing reads its part-filled entries.
    if (Status dropped = qp_.schemas_.drop_index(ks, index_name); !dropped.is_ok()) {
      RINGDB_LOG_WARN(
          "index {}.{} stays unavailable (its build failed: {}; dropping it failed: "
          "{}); DROP INDEX removes it, a restart builds it again",
          ks, index_name, built.to_string(), dropped.to_string());
    }
    return built;
  }
  return schema_change("UPDATED", "TABLE", ks, s.table);
}

Status StatementRunner::add_index_writes(const storage::Mutation& base,
                                         std::vector<storage::Mutation>* out) {
  if (!schema_has_indexes_) {  // once per statement: most schemas have none
    bool any = false;
    for (const auto& [ks_name, ks] : schema_->keyspaces) {
      for (const auto& [name, t] : ks.tables) any |= !t.indexes.empty();
    }
    schema_has_indexes_ = any;
  }
  if (!*schema_has_indexes_) return Status::ok();
  return qp_.index_writes(
      *schema_, base, [this](const storage::ReadCommand& read) { return read_partition(read); },
      out);
}

Status QueryProcessor::index_writes(const schema::Schema& schema, const storage::Mutation& base,
                                    const PartitionRead& read_partition,
                                    std::vector<storage::Mutation>* out) {
  const TableMetadata* table = nullptr;
  for (const auto& [ks_name, ks] : schema.keyspaces) {
    for (const auto& [name, t] : ks.tables) {
      if (t.storage_id == base.table) table = &t;
    }
  }
  if (table == nullptr || table->indexes.empty()) return Status::ok();
  const int64_t token = murmur3_token(base.partition_key);
  using Kind = storage::CellWrite::Kind;
  for (const auto& index : table->indexes) {
    const ColumnMetadata* c = table->column(index.column);
    if (c == nullptr) continue;
    // Purging an element's entry is safe where a row holds each indexed value once: sets (their
    // elements) and map keys. A list or map may hold a value twice, so their entries are left to
    // the reads' checks.
    const bool elements = index.target != "simple" && index.target != "full";
    const bool purge_elements = c->type.kind == ValueKind::kSet || index.target == "keys" ||
                                index.target == "entries";
    for (const auto& row : base.rows) {
      const Bytes row_key = row.is_static ? Bytes() : clustering_key_of(row.clustering);
      auto entry_write = [&](const Bytes& value, std::optional<int64_t> marker,
                             std::optional<int64_t> deletion, int32_t ttl) {
        storage::Mutation m;
        m.table = index.storage_id;
        m.partition_key = value;
        storage::RowWrite entry;
        entry.clustering = {be64(token), base.partition_key, row_key};
        entry.marker_timestamp = marker;
        entry.marker_ttl_seconds = ttl;
        entry.deletion_timestamp = deletion;
        m.rows.push_back(std::move(entry));
        out->push_back(std::move(m));
      };
      // The row as it is before this write (read once, when a purge needs it).
      std::optional<std::shared_ptr<const storage::Partition>> before;
      auto old_row = [&]() -> Result<const storage::Row*> {
        if (!before) {
          storage::ReadCommand read;
          read.table = base.table;
          read.partition_key = base.partition_key;
          if (!row.is_static) {
            read.start = storage::ClusteringBound{row.clustering, true};
            read.end = storage::ClusteringBound{row.clustering, true};
          }
          read.row_limit = 1;
          read.now_seconds = clock_.now_seconds();
          RINGDB_ASSIGN_OR_RETURN(before, read_partition(read));
        }
        const storage::Partition& p = **before;
        if (row.is_static) return p.static_row ? &*p.static_row : nullptr;
        return p.rows.empty() ? nullptr : &p.rows[0];
      };
      for (const auto& cell : row.cells) {
        if (cell.column != c->id) continue;
        // The entry value a cell gives: the value, an element (a set's, or a map's key, from the
        // cell path), or an element's value.
        auto entry_value = [&](const std::optional<Bytes>& path,
                               const Bytes& value) -> std::optional<Bytes> {
          if (elements != path.has_value()) return std::nullopt;
          return index_entry_key(index, c->type, path, value);
        };
        // The value (or element) this write replaces: its entry goes, deleted at that value's
        // own timestamp so that a newer entry for the same value (a concurrent write) stays.
        // Entries of rows and partitions deleted whole stay until read past (reads check every
        // row).
        const bool purges = !elements || purge_elements;
        if (purges && (cell.kind == Kind::kSet || cell.kind == Kind::kDelete ||
                       cell.kind == Kind::kCollectionDelete)) {
          RINGDB_ASSIGN_OR_RETURN(const storage::Row* old, old_row());
          for (const auto& o : old == nullptr ? std::vector<storage::Cell>{} : old->cells) {
            if (o.column != c->id) continue;
            const bool replaced = cell.kind == Kind::kCollectionDelete
                                      ? o.timestamp <= cell.timestamp
                                  : cell.kind == Kind::kDelete ? o.timestamp <= cell.timestamp
                                                               : o.timestamp < cell.timestamp;
            if (!replaced || (cell.kind != Kind::kCollectionDelete && o.path != cell.path))
              continue;
            std::optional<Bytes> gone = entry_value(o.path, o.value);
            if (!gone) continue;
            if (cell.kind == Kind::kSet && entry_value(cell.path, cell.value) == gone) continue;
            entry_write(*gone, std::nullopt, o.timestamp, 0);
          }
        }
        if (cell.kind != Kind::kSet) continue;
        if (std::optional<Bytes> v = entry_value(cell.path, cell.value))
          entry_write(*v, cell.timestamp, std::nullopt, cell.ttl_seconds);
      }
    }
  }
  return Status::ok();
}

Result<StatementRunner::IndexedRows> StatementRunner::indexed_partitions(
    const schema::IndexMetadata& index, const Bytes& value) {
  storage::ReadCommand read;
  read.table = index.storage_id;
  read.partition_key = value;
  read.now_seconds = qp_.clock_.now_seconds();
  read.row_limit = QueryProcessor::kResultRowsMax + 1;
  RINGDB_ASSIGN_OR_RETURN(std::shared_ptr<const storage::Partition> p, read_partition(read));
  if (p->rows.size() > QueryProcessor::kResultRowsMax) {
    return invalid("Index " + index.name + " names more than " +
                   std::to_string(QueryProcessor::kResultRowsMax) +
                   " rows for this value; restrict the partition key as well");
  }
  IndexedRows named;
  for (const auto& row : p->rows) {
    if (row.clustering.size() != 3 || row.marker_timestamp == storage::kNoTimestamp) continue;
    if (named.keys.empty() || named.keys.back() != row.clustering[1]) {
      named.keys.push_back(row.clustering[1]);
      named.entries.emplace_back();
    }
    named.entries.back().push_back({row.clustering[2], row.marker_timestamp});
  }
  return named;
}

void StatementRunner::purge_stale_entries(const TableMetadata& table,
                                          const schema::IndexMetadata& index, const Bytes& value,
                                          const storage::Partition& p,
                                          const std::vector<IndexedRows::Entry>& entries) {
  const ColumnMetadata* c = table.column(index.column);
  if (c == nullptr || entries.empty()) return;
  // Whether a row holds the value the way its entry records it (see add_index_writes).
  const bool elements = index.target != "simple" && index.target != "full";
  auto holds = [&](const storage::Row& row) {
    for (const auto& cell : row.cells) {
      if (cell.column != c->id || elements != cell.path.has_value()) continue;
      if (index_entry_key(index, c->type, cell.path, cell.value) == value) return true;
    }
    return false;
  };
  std::vector<Bytes> holding;  // clustering keys of the rows that hold it
  if (c->kind == ColumnKind::kStatic) {
    if (p.static_row && holds(*p.static_row)) holding.push_back(Bytes());
  } else {
    for (const auto& row : p.rows) {
      if (holds(row)) holding.push_back(clustering_key_of(row.clustering));
    }
  }
  std::sort(holding.begin(), holding.end());
  std::vector<storage::Mutation> removals;
  for (const auto& entry : entries) {
    if (std::binary_search(holding.begin(), holding.end(), entry.row_key)) continue;
    storage::Mutation m;
    m.table = index.storage_id;
    m.partition_key = value;
    storage::RowWrite removal;
    removal.clustering = {be64(p.token), p.partition_key, entry.row_key};
    // At the entry's own timestamp: an entry that a concurrent write renews stays.
    removal.deletion_timestamp = entry.timestamp;
    m.rows.push_back(std::move(removal));
    removals.push_back(std::move(m));
  }
  if (removals.empty()) return;
  // Best effort, not waited for: a removal that does not happen (refused on an event loop, lost
  // in a crash) is made by a later read, and reads check every row anyway.
  if (nonblocking_) {
    (void)qp_.engine_.try_apply_all_async(removals, [](Status) {});
  } else {
    qp_.engine_.apply_all_async(removals, [](Status) {});
  }
}

Result<ResultMessage> StatementRunner::run() {
  const Statement& st = parsed_.statement;
  if (auto* s = std::get_if<SelectStatement>(&st)) return select(*s);
  if (is_conditional(st)) return conditional(st);
  if (std::holds_alternative<InsertStatement>(st) || std::holds_alternative<UpdateStatement>(st) ||
      std::holds_alternative<DeleteStatement>(st)) {
    return apply_writes(st);
  }
  if (auto* b = std::get_if<BatchStatement>(&st)) {
    std::vector<Statement> statements;
    bool conditional = false, has_counters = false, has_non_counters = false;
    for (const auto& inner : b->statements) {
      statements.push_back(std::visit([](const auto& x) { return Statement(x); }, inner));
      conditional = conditional || is_conditional(statements.back());
      const bool timestamped =
          std::visit([](const auto& x) { return x.using_clause.timestamp.has_value(); }, inner);
      if (b->using_clause.timestamp && timestamped)
        return invalid("Timestamp must be set either on BATCH or individual statements");
      RINGDB_ASSIGN_OR_RETURN(bool counter, writes_counter_table(statements.back()));
      (counter ? has_counters : has_non_counters) = true;
    }
    if (b->using_clause.ttl) return invalid("Global TTL on the BATCH statement is not supported.");
    if (b->using_clause.timestamp && b->type == BatchStatement::Type::kCounter)
      return invalid("Cannot provide custom timestamp for counter BATCH");
    RINGDB_RETURN_IF_ERROR(check_batch_counters(b->type, has_counters, has_non_counters));
    if (conditional) {
      if (b->using_clause.timestamp)
        return invalid("Cannot provide custom timestamp for conditional BATCH");
      if (b->type == BatchStatement::Type::kCounter)
        return invalid("Conditional updates are not supported on counter tables");
      std::vector<CasItem> items;
      for (const auto& one : statements) items.push_back({this, &one});
      return conditional_batch(qp_, items, qp_.next_timestamp());
    }
    std::vector<storage::Mutation> mutations;
    RINGDB_ASSIGN_OR_RETURN(int64_t ts, write_timestamp(b->using_clause, std::nullopt));
    for (const auto& one : statements)
      RINGDB_RETURN_IF_ERROR(collect_mutations(one, ts, &mutations));
    deferred_ = std::move(mutations);
    return ResultMessage{};
  }
  return ddl(st);
}

Status StatementRunner::describe_binds(std::vector<ColumnSpec>* specs,
                                       std::vector<uint16_t>* pk_indexes,
                                       std::vector<ColumnSpec>* result_columns) {
  specs->assign(static_cast<size_t>(parsed_.bind_count), ColumnSpec{});
  std::string ks_name, table_name;
  const TableMetadata* table = nullptr;
  auto set = [&](const Term& t, const CqlType& type, const std::string& name) {
    if (t.kind == Term::Kind::kBindMarker) {
      (*specs)[static_cast<size_t>(t.bind_index)] = {
          ks_name, table_name, t.bind_name.empty() ? name : t.bind_name, type};
    }
  };
  Status walk_error = Status::ok();  // a call the markers make ambiguous, found while walking
  std::function<void(const Term&, const CqlType&, const std::string&)> walk =
      [&](const Term& t, const CqlType& type, const std::string& name) {
        set(t, type, name);
        if (t.kind == Term::Kind::kList || t.kind == Term::Kind::kSet) {
          for (const auto& e : t.elements)
            walk(e, type.params.empty() ? type : type.params[0], name);
        } else if (t.kind == Term::Kind::kMap && type.params.size() == 2) {
          for (size_t i = 0; i < t.elements.size(); ++i)
            walk(t.elements[i], type.params[i % 2], name);
        } else if (t.kind == Term::Kind::kTuple) {
          for (size_t i = 0; i < t.elements.size() && i < type.params.size(); ++i)
            walk(t.elements[i], type.params[i], name);
        } else if (t.kind == Term::Kind::kUdt && type.is_udt()) {
          for (size_t i = 0; i < t.elements.size(); ++i) {
            if (const auto field = type.field_position(t.field_names[i]))
              walk(t.elements[i], type.params[*field], name + "." + t.field_names[i]);
          }
        } else if (t.kind == Term::Kind::kFunction) {
          // The argument types of the functions a value can call.
          const std::string& f = t.text;
          CqlType arg = CqlType::of(ValueKind::kBlob);
          if (f == "fromjson") {
            arg = CqlType::of(ValueKind::kText);
          } else if (f == "mintimeuuid" || f == "maxtimeuuid") {
            arg = CqlType::of(ValueKind::kTimestamp);
          } else if (f.size() > 6 && f.substr(f.size() - 6) == "asblob") {
            if (auto source = CqlType::parse(f.substr(0, f.size() - 6)); source.is_ok())
              arg = *source;
          } else if (const auto signatures = native_signatures(f); !signatures.empty()) {
            // A function of one signature types its marker; an overloaded one takes the
            // overload its value assigns to, and a marker fits them all: Cassandra refuses the
            // call as ambiguous when it prepares it.
            if (signatures.size() == 1) {
              arg = CqlType::of(signatures[0].param);
            } else if (t.elements.size() == 1 && natural_kind(t.elements[0]) == std::nullopt) {
              auto chosen = resolve_untyped(f, signatures, t.elements[0]);
              if (chosen.is_ok())
                arg = CqlType::of(*chosen);
              else if (walk_error.is_ok())
                walk_error = chosen.status();
            }
          }
          // Cassandra names a function's argument markers argN(system.f); not being named after
          // a key column, they are not taken for routing.
          for (size_t i = 0; i < t.elements.size(); ++i)
            walk(t.elements[i], arg, "arg" + std::to_string(i) + "(system." + f + ")");
        }
      };
  // IF conditions: a column (or one of its elements) compared with values of its type.
  // The type of a CONTAINS (KEY) value; the column's own type when it is not a collection (the
  // statement is refused when it runs).
  auto contained = [](const ColumnMetadata& c, Relation::Op op) {
    if (!c.type.is_collection() || c.type.params.empty()) return c.type;
    return op == Relation::Op::kContainsKey || c.type.kind != ValueKind::kMap ? c.type.params[0]
                                                                              : c.type.params[1];
  };
  auto conditions = [&](const std::vector<Relation>& ifs) {
    for (const auto& r : ifs) {
      const ColumnMetadata* c = r.columns.empty() ? nullptr : table->column(r.columns[0]);
      if (c == nullptr) continue;
      if (r.op == Relation::Op::kContains || r.op == Relation::Op::kContainsKey) {
        walk(r.value, contained(*c, r.op), c->name);
        continue;
      }
      CqlType type = c->type;
      std::string receiver = c->name;
      if (r.element_key && (c->type.kind == ValueKind::kMap || c->type.kind == ValueKind::kList)) {
        const bool is_map = c->type.kind == ValueKind::kMap;
        walk(*r.element_key, is_map ? c->type.params[0] : CqlType::of(ValueKind::kInt),
             "key(" + c->name + ")");
        type = is_map ? c->type.params[1] : c->type.params[0];
      }
      if (!r.field.empty() && c->type.is_udt()) {
        if (const auto field = c->type.field_position(r.field)) {
          type = c->type.params[*field];
          receiver = c->name + "." + r.field;
        }
      }
      if (r.op == Relation::Op::kIn) {
        if (r.value.kind == Term::Kind::kBindMarker)
          set(r.value, CqlType::make(ValueKind::kList, {type}, true), "in(" + receiver + ")");
        for (const auto& e : r.value.elements) walk(e, type, receiver);
      } else {
        walk(r.value, type, receiver);
      }
    }
  };
  auto using_clause = [&](const UsingClause& u) {
    if (u.ttl) walk(*u.ttl, CqlType::of(ValueKind::kInt), "[ttl]");
    if (u.timestamp) walk(*u.timestamp, CqlType::of(ValueKind::kBigint), "[timestamp]");
  };
  std::map<std::string, int> pk_marker;  // column → bind index of its `= ?`
  auto relations = [&](const std::vector<Relation>& where) {
    for (const auto& r : where) {
      if (r.is_token) {
        if (r.value.kind == Term::Kind::kFunction && r.value.text == "token") {
          const auto pk = table->partition_key();
          for (size_t i = 0; i < r.value.elements.size() && i < pk.size(); ++i)
            walk(r.value.elements[i], pk[i]->type, "arg" + std::to_string(i) + "(system.token)");
        } else {
          walk(r.value, CqlType::of(ValueKind::kBigint), "partition key token");
        }
        continue;
      }
      if (r.tuple_notation) {
        CqlType tuple = CqlType::make(ValueKind::kTuple, {}, true);
        std::string joined;
        for (const auto& n : r.columns) {
          const ColumnMetadata* c = table->column(n);
          tuple.params.push_back(c ? c->type : CqlType::of(ValueKind::kBlob));
          joined += (joined.empty() ? "(" : ",") + n;
        }
        joined += ")";
        // (a, b) = ? binds a tuple; (a, b) = (?, ?) binds each column's value.
        auto walk_tuple = [&](const Term& t) {
          set(t, tuple, joined);
          if (t.kind != Term::Kind::kTuple) return;
          for (size_t i = 0; i < t.elements.size() && i < tuple.params.size(); ++i)
            walk(t.elements[i], tuple.params[i], r.columns[i]);
        };
        if (r.op == Relation::Op::kIn) {
          set(r.value, CqlType::make(ValueKind::kList, {tuple}, true), "in" + joined);
          for (const auto& e : r.value.elements) walk_tuple(e);
        } else {
          walk_tuple(r.value);
        }
        continue;
      }
      const ColumnMetadata* c = table->column(r.columns[0]);
      if (c == nullptr) continue;
      if (r.op == Relation::Op::kIn) {
        if (r.value.kind == Term::Kind::kBindMarker)
          set(r.value, CqlType::make(ValueKind::kList, {c->type}, true), "in(" + c->name + ")");
        for (const auto& e : r.value.elements) walk(e, c->type, c->name);
      } else if (r.op == Relation::Op::kContains || r.op == Relation::Op::kContainsKey) {
        walk(r.value, contained(*c, r.op), c->name);
      } else if (r.element_key && c->type.kind == ValueKind::kMap && c->type.params.size() == 2) {
        walk(*r.element_key, c->type.params[0], "key(" + c->name + ")");
        walk(r.value, c->type.params[1], c->name);
      } else {
        walk(r.value, c->type, c->name);
        if (r.op == Relation::Op::kEq && c->kind == ColumnKind::kPartitionKey &&
            r.value.kind == Term::Kind::kBindMarker) {
          pk_marker.emplace(c->name, r.value.bind_index);  // the first marker of the column
        }
      }
    }
  };
  std::set<const TableMetadata*> tables;  // the tables the statement (or batch) names
  auto resolve_into = [&](const std::string& ks, const std::string& name) -> Status {
    RINGDB_ASSIGN_OR_RETURN(table, resolve(ks, name));
    ks_name = table->keyspace;
    table_name = table->name;
    tables.insert(table);
    return Status::ok();
  };
  // One statement's markers; a batch's are its statements' in order.
  auto describe = [&](const Statement& st) -> Status {
    if (auto* s = std::get_if<SelectStatement>(&st)) {
      const std::string ks = s->keyspace.empty() ? default_keyspace_ : s->keyspace;
      if (schema::is_system_keyspace(ks)) {
        ks_name = ks;
        table_name = s->table;
        for (const auto& r : s->where) {
          for (const auto& e : r.value.elements)
            set(e, CqlType::of(ValueKind::kText), r.columns[0]);
          set(r.value, CqlType::of(ValueKind::kText), r.columns.empty() ? "" : r.columns[0]);
        }
        return Status::ok();
      }
      RINGDB_RETURN_IF_ERROR(resolve_into(s->keyspace, s->table));
      // Keys of element selection (m[?], m[?..?]) take the collection's key type.
      std::function<void(const Selector&)> selection_markers = [&](const Selector& sel) {
        for (const auto& a : sel.args) selection_markers(a);
        if (sel.kind != Selector::Kind::kElement || sel.args[0].kind != Selector::Kind::kColumn)
          return;
        const ColumnMetadata* c = table->column(sel.args[0].name);
        if (c == nullptr || !c->type.is_collection() || c->type.params.empty()) return;
        for (const auto* key : {&sel.element, &sel.range_from, &sel.range_to}) {
          if (*key) walk(**key, c->type.params[0], "key(" + c->name + ")");
        }
      };
      for (const auto& sel : s->selectors) selection_markers(sel);
      std::function<void(const Selector&)> value_markers = [&](const Selector& sel) {
        for (const auto& a : sel.args) {
          if (auto type = selection_argument_type(sel, a))
            walk(a.term, *type, "arg0(system." + sel.name + ")");
          else
            value_markers(a);
        }
        if (sel.kind != Selector::Kind::kTerm || sel.cast_type.empty()) return;
        if (auto type = CqlType::parse(sel.cast_type); type.is_ok())
          walk(sel.term, *type, "(" + sel.cast_type + ")" + term_text(sel.term));
      };
      for (const auto& sel : s->selectors) value_markers(sel);
      relations(s->where);
      if (s->per_partition_limit)
        walk(*s->per_partition_limit, CqlType::of(ValueKind::kInt), "[per_partition_limit]");
      if (s->limit) walk(*s->limit, CqlType::of(ValueKind::kInt), "[limit]");
      Selection selection(
          *table, [this](int64_t m) { return qp_.new_timeuuid(m); },
          [this] { return qp_.random_uuid(); }, qp_.clock_);
      RINGDB_RETURN_IF_ERROR(selection.build(s->selectors, s->json));
      *result_columns = selection.columns(ks_name, table_name);
    } else if (auto* s = std::get_if<InsertStatement>(&st)) {
      RINGDB_RETURN_IF_ERROR(resolve_into(s->keyspace, s->table));
      for (size_t i = 0; i < s->columns.size() && i < s->values.size(); ++i) {
        const ColumnMetadata* c = table->column(s->columns[i]);
        if (c == nullptr) return invalid("Undefined column name " + s->columns[i]);
        walk(s->values[i], c->type, c->name);
        if (c->kind == ColumnKind::kPartitionKey && s->values[i].kind == Term::Kind::kBindMarker) {
          pk_marker.emplace(c->name, s->values[i].bind_index);
        }
      }
      if (s->json) walk(*s->json, CqlType::of(ValueKind::kText), "[json]");
      using_clause(s->using_clause);
    } else if (auto* s = std::get_if<UpdateStatement>(&st)) {
      RINGDB_RETURN_IF_ERROR(resolve_into(s->keyspace, s->table));
      using_clause(s->using_clause);
      for (const auto& op : s->operations) {
        const ColumnMetadata* c = table->column(op.column);
        if (c == nullptr) return invalid("Undefined column name " + op.column);
        const auto field = c->type.field_position(op.field);
        if (op.kind == Operation::Kind::kSetField && c->type.is_udt() && field) {
          walk(op.value, c->type.params[*field], c->name + "." + op.field);
        } else if (op.kind == Operation::Kind::kSetElement && c->type.kind == ValueKind::kMap) {
          walk(*op.key, c->type.params[0], "key(" + c->name + ")");
          walk(op.value, c->type.params[1], "value(" + c->name + ")");
        } else if (op.kind == Operation::Kind::kSetElement && c->type.kind == ValueKind::kList) {
          walk(*op.key, CqlType::of(ValueKind::kInt), "idx(" + c->name + ")");
          walk(op.value, c->type.params[0], "value(" + c->name + ")");
        } else if (c->type.is_counter()) {
          walk(op.value, CqlType::of(ValueKind::kBigint), c->name);
        } else if (op.kind == Operation::Kind::kSubtract && c->type.kind == ValueKind::kMap) {
          walk(op.value, CqlType::make(ValueKind::kSet, {c->type.params[0]}, false), c->name);
        } else {
          walk(op.value, c->type, c->name);
        }
      }
      relations(s->where);
      conditions(s->conditions);
    } else if (auto* s = std::get_if<DeleteStatement>(&st)) {
      RINGDB_RETURN_IF_ERROR(resolve_into(s->keyspace, s->table));
      for (const auto& [name, key] : s->columns) {
        const ColumnMetadata* c = table->column(name);
        if (c && key && c->type.kind == ValueKind::kList)
          walk(*key, CqlType::of(ValueKind::kInt), "idx(" + name + ")");
        else if (c && key && !c->type.params.empty())
          walk(*key, c->type.params[0], "key(" + name + ")");
      }
      using_clause(s->using_clause);
      relations(s->where);
      conditions(s->conditions);
    }
    return Status::ok();  // DDL and USE take no bind markers
  };
  const Statement& st = parsed_.statement;
  if (auto* b = std::get_if<BatchStatement>(&st)) {
    // A prepared BATCH routes by the first markers of the key columns when all its statements
    // name one table (as Cassandra's BatchStatement does), else not at all.
    using_clause(b->using_clause);
    for (const auto& inner : b->statements) {
      RINGDB_RETURN_IF_ERROR(
          describe(std::visit([](const auto& one) { return Statement(one); }, inner)));
    }
    RINGDB_RETURN_IF_ERROR(walk_error);
    if (tables.size() != 1) return Status::ok();
  } else {
    RINGDB_RETURN_IF_ERROR(describe(st));
    RINGDB_RETURN_IF_ERROR(walk_error);
    const bool routed = std::holds_alternative<InsertStatement>(st) ||
                        std::holds_alternative<UpdateStatement>(st) ||
                        std::holds_alternative<DeleteStatement>(st) ||
                        std::holds_alternative<SelectStatement>(st);
    if (table == nullptr || !routed) return Status::ok();
  }
  // Routing: the partition key's markers in key order, only when every component has one.
  const auto pk = table->partition_key();
  std::vector<uint16_t> indexes;
  for (const auto* c : pk) {
    auto it = pk_marker.find(c->name);
    if (it == pk_marker.end()) return Status::ok();
    indexes.push_back(static_cast<uint16_t>(it->second));
  }
  *pk_indexes = indexes;
  return Status::ok();
}

QueryProcessor::QueryProcessor(schema::SchemaManager& schemas, storage::Engine& engine,
                               const Clock& clock, uint64_t seed, NodeInfo node)
    : schemas_(schemas), engine_(engine), clock_(clock), node_(std::move(node)), rng_(seed) {
  load_built_indexes();
}

int64_t QueryProcessor::next_timestamp() {
  const int64_t now = clock_.now_micros();
  int64_t last = last_timestamp_.load(std::memory_order_relaxed);
  for (;;) {
    const int64_t next = std::max(now, last + 1);
    if (last_timestamp_.compare_exchange_weak(last, next, std::memory_order_relaxed)) return next;
  }
}

Bytes QueryProcessor::new_timeuuid(int64_t unix_micros) {
  // Strictly increasing 100-ns timestamps, so list elements keep their order.
  const int64_t wanted = unix_micros * 10 + kUuidEpochOffset;
  std::lock_guard lock(rng_mutex_);
  last_uuid_time_ = std::max(wanted, last_uuid_time_ + 1);
  return uuid_v1(last_uuid_time_, rng_.next_u64());
}

std::vector<Bytes> QueryProcessor::prepend_timeuuids(int64_t unix_micros, size_t count) {
  // Times before 2010 that decrease as real time passes, and strictly across calls, so the
  // latest prepend sorts first even within one batch (which shares one timestamp).
  const auto n = static_cast<int64_t>(count);
  const int64_t wanted = kPrependReference - unix_micros * 10 - n;
  std::vector<Bytes> out;
  std::lock_guard lock(rng_mutex_);
  last_prepend_time_ = last_prepend_time_ == 0 ? wanted : std::min(wanted, last_prepend_time_ - n);
  for (int64_t i = 0; i < n; ++i) out.push_back(uuid_v1(last_prepend_time_ + i, 0));
  return out;
}

Bytes QueryProcessor::random_uuid() {
  std::lock_guard lock(rng_mutex_);
  const uint64_t high = rng_.next_u64();
  return uuid_v4(high, rng_.next_u64());
}

namespace {

CqlError error_for(const Status& status, const Statement* statement,
                   const std::string& session_keyspace) {
  CqlError e = to_cql_error(status);
  if (e.code == ErrorCode::kAlreadyExists && statement) {
    if (auto* s = std::get_if<CreateKeyspaceStatement>(statement)) e.keyspace = s->name;
    if (auto* s = std::get_if<CreateTableStatement>(statement)) {
      e.keyspace = s->keyspace.empty() ? session_keyspace : s->keyspace;
      e.table = s->name;
    }
  }
  return e;
}

Bytes statement_id(const std::string& keyspace, std::string_view query) {
  const std::string input = keyspace + '\0' + std::string(query);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(input.data(), input.size(), md, &n, EVP_md5(), nullptr);
  return Bytes(reinterpret_cast<char*>(md), n);
}

}  // namespace

void QueryProcessor::finish(StatementRunner& runner, Result<ResultMessage> result,
                            const Statement& statement, const std::string& keyspace, Done done,
                            WriteGroup* group) {
  if (!result.is_ok()) {
    done(error_for(result.status(), &statement, keyspace));
    return;
  }
  std::vector<storage::Mutation> writes = runner.take_deferred();
  if (writes.empty()) {
    done(std::move(result).value());
    return;
  }
  WriteGroup own;
  (group ? *group : own)
      .add(std::move(writes), std::move(done), std::move(result).value(),
           runner.index_generation());
  if (!group) apply_group(std::move(own));
}

void QueryProcessor::WriteGroup::add(std::vector<storage::Mutation> writes, Done done,
                                     ResultMessage message, uint64_t index_generation) {
  waiting.push_back(
      {std::move(done), std::move(message), mutations.size(), writes.size(), index_generation});
  for (auto& m : writes) mutations.push_back(std::move(m));
}

void QueryProcessor::WriteGroup::append(WriteGroup&& other) {
  const size_t offset = mutations.size();
  for (auto& w : other.waiting) {
    w.first += offset;
    waiting.push_back(std::move(w));
  }
  for (auto& m : other.mutations) mutations.push_back(std::move(m));
  other = {};
}

void QueryProcessor::apply_group(WriteGroup group) {
  if (group.waiting.empty()) return;
  auto shared = std::make_shared<WriteGroup>(std::move(group));
  const uint64_t generation = enter_apply();
  Status planned = plan_index_writes(*shared, generation, storage::Engine::ReadMode::kBlocking);
  if (!planned.is_ok()) {
    exit_apply(generation);
    return answer_group(shared, planned);
  }
  engine_.apply_all_async(shared->mutations,
                          [this, shared](Status s) { answer_group(shared, std::move(s)); });
  exit_apply(generation);
}

uint64_t QueryProcessor::enter_apply() {
  for (;;) {
    const uint64_t generation = index_generation();
    applying_[generation & 1].fetch_add(1, std::memory_order_seq_cst);
    // Registered under the generation still current: start_index_generation, which advances it
    // first and reads the count after, waits for this application.
    if (index_generation() == generation) return generation;
    applying_[generation & 1].fetch_sub(1, std::memory_order_release);
  }
}

namespace {

// The node-local marker of a built index (Engine::put_local): storage ids are never reused.
std::string index_built_key(storage::TableId index) {
  return "index_built/" + std::to_string(index);
}

}  // namespace

void QueryProcessor::load_built_indexes() {
  std::shared_ptr<const schema::Schema> schema = schemas_.current();
  std::set<storage::TableId> built;
  for (const auto& [ks_name, ks] : schema->keyspaces) {
    for (const auto& [name, t] : ks.tables) {
      for (const auto& index : t.indexes) {
        auto marker = engine_.get_local(index_built_key(index.storage_id));
        if (marker.is_ok() && marker->has_value()) built.insert(index.storage_id);
      }
    }
  }
  std::lock_guard lock(built_mutex_);
  built_indexes_ = std::move(built);
}

bool QueryProcessor::index_available(storage::TableId index) {
  std::lock_guard lock(built_mutex_);
  return built_indexes_.count(index) != 0;
}

void QueryProcessor::forget_index(storage::TableId index) {
  {
    std::lock_guard lock(built_mutex_);
    built_indexes_.erase(index);
  }
  // A marker left behind names an id no index will have again: harmless, but not kept.
  if (Status s = engine_.delete_local(index_built_key(index)); !s.is_ok())
    RINGDB_LOG_WARN("could not delete the built marker of index {}: {}", index, s.to_string());
}

Status QueryProcessor::build_index(const std::string& keyspace, const std::string& index_name) {
  std::shared_ptr<const schema::Schema> schema = schemas_.current();
  const schema::KeyspaceMetadata* ks = schema->keyspace(keyspace);
  const TableMetadata* indexed = nullptr;
  const schema::IndexMetadata* index = nullptr;
  if (ks != nullptr) {
    for (const auto& [name, t] : ks->tables) {
      for (const auto& i : t.indexes) {
        if (i.name == index_name) {
          indexed = &t;
          index = &i;
        }
      }
    }
  }
  if (index == nullptr) return invalid("Index '" + index_name + "' was dropped while it was built");
  const ColumnMetadata* c = indexed->column(index->column);
  // Fill it from the rows already there: each partition's current values, at their timestamps.
  // Entries written again by a second build are the same cells at the same timestamps.
  storage::ScanCommand scan;
  scan.table = indexed->storage_id;
  scan.now_seconds = clock_.now_seconds();
  scan.row_limit = 5000;
  const storage::ColumnId column_id = c->id;
  for (;;) {
    RINGDB_ASSIGN_OR_RETURN(storage::ScanPage page, engine_.scan(scan));
    std::vector<storage::Mutation> entries;
    for (const auto& p : page.partitions) {
      auto add = [&](const storage::Row& row, bool is_static) {
        auto index_row_key = [&](const storage::Row& r) {
          return is_static ? Bytes() : clustering_key_of(r.clustering);
        };
        for (const auto& cell : row.cells) {
          if (cell.column != column_id) continue;
          // What the index holds of the cell (see add_index_writes).
          const bool elements = index->target != "simple" && index->target != "full";
          if (elements != cell.path.has_value()) continue;
          storage::Mutation m;
          m.table = index->storage_id;
          m.partition_key = index_entry_key(*index, c->type, cell.path, cell.value);
          storage::RowWrite entry;
          entry.clustering = {be64(p.token), p.partition_key, index_row_key(row)};
          entry.marker_timestamp = cell.timestamp;
          entry.marker_ttl_seconds =
              cell.ttl_seconds > 0 ? std::max(1, cell.expiry_seconds - scan.now_seconds) : 0;
          m.rows.push_back(std::move(entry));
          entries.push_back(std::move(m));
        }
      };
      if (p.static_row) add(*p.static_row, true);
      for (const auto& row : p.rows) add(row, false);
    }
    if (!entries.empty()) RINGDB_RETURN_IF_ERROR(engine_.apply_all(entries));
    if (page.cursor.empty()) break;
    scan.cursor = page.cursor;
  }
  if (index_build_fault_) RINGDB_RETURN_IF_ERROR(index_build_fault_());
  // After every entry in the commit log: a crash before this point leaves the index unbuilt,
  // and the next start builds it again (rebuild_indexes).
  RINGDB_RETURN_IF_ERROR(engine_.put_local(index_built_key(index->storage_id), "1"));
  std::lock_guard lock(built_mutex_);
  built_indexes_.insert(index->storage_id);
  return Status::ok();
}

Status QueryProcessor::rebuild_indexes() {
  std::shared_ptr<const schema::Schema> schema = schemas_.current();
  Status first_error;
  for (const auto& [ks_name, ks] : schema->keyspaces) {
    for (const auto& [name, t] : ks.tables) {
      for (const auto& index : t.indexes) {
        if (index_available(index.storage_id)) continue;
        RINGDB_LOG_INFO("building index {}.{} (on {}.{}), which no earlier build finished", ks_name,
                        index.name, ks_name, name);
        if (Status built = build_index(ks_name, index.name); !built.is_ok()) {
          if (first_error.is_ok())
            first_error = Status(built.code(), "index " + ks_name + "." + index.name + ": " +
                                                   built.message());
          continue;
        }
        RINGDB_LOG_INFO("index {}.{} built", ks_name, index.name);
      }
    }
  }
  return first_error;  // the others were built
}

void QueryProcessor::exit_apply(uint64_t generation) {
  applying_[generation & 1].fetch_sub(1, std::memory_order_release);
}

void QueryProcessor::start_index_generation() {
  std::lock_guard lock(index_generation_mutex_);
  const uint64_t previous = index_generation_.fetch_add(1, std::memory_order_seq_cst);
  // Applications register for a moment (index entries planned, storage's write call); none
  // waits for this thread, so this ends.
  while (applying_[previous & 1].load(std::memory_order_acquire) != 0) std::this_thread::yield();
}

Status QueryProcessor::plan_index_writes(WriteGroup& group, uint64_t generation,
                                         storage::Engine::ReadMode mode) {
  bool stale = false;
  for (const auto& w : group.waiting) stale |= w.index_generation != generation;
  if (!stale) return Status::ok();
  std::shared_ptr<const schema::Schema> schema = schemas_.current();
  PartitionRead read = [this, mode](const storage::ReadCommand& r) {
    return engine_.read_shared(r, nullptr, mode);
  };
  // Each request's entries follow its own mutations, so that a request refused on its own (see
  // answer_group) takes them with it.
  // The group changes only once every request's entries are planned: on an error it is as it
  // was, for a retry elsewhere.
  std::vector<storage::Mutation> mutations;
  std::vector<std::pair<size_t, size_t>> spans;
  for (const auto& w : group.waiting) {
    const size_t first = mutations.size();
    for (size_t i = w.first; i < w.first + w.count; ++i) mutations.push_back(group.mutations[i]);
    if (w.index_generation != generation) {
      // Entries the request already has (indexes older than its plan) are written again, at the
      // same timestamps: the same data.
      for (size_t i = w.first; i < w.first + w.count; ++i)
        RINGDB_RETURN_IF_ERROR(index_writes(*schema, group.mutations[i], read, &mutations));
    }
    spans.emplace_back(first, mutations.size() - first);
  }
  for (size_t i = 0; i < group.waiting.size(); ++i) {
    group.waiting[i].first = spans[i].first;
    group.waiting[i].count = spans[i].second;
    group.waiting[i].index_generation = generation;
  }
  group.mutations = std::move(mutations);
  return Status::ok();
}

Status QueryProcessor::apply_planned(std::vector<storage::Mutation> mutations, uint64_t planned) {
  WriteGroup group;
  group.add(std::move(mutations), nullptr, ResultMessage{}, planned);
  const uint64_t generation = enter_apply();
  Status s = plan_index_writes(group, generation, storage::Engine::ReadMode::kBlocking);
  if (!s.is_ok()) {
    exit_apply(generation);
    return s;
  }
  std::promise<Status> durable;
  auto future = durable.get_future();
  engine_.apply_all_async(group.mutations, [&durable](Status st) { durable.set_value(st); });
  exit_apply(generation);
  return future.get();
}

void QueryProcessor::answer_group(const std::shared_ptr<WriteGroup>& shared, Status s) {
  if (s.code() == StatusCode::kInvalidArgument && shared->waiting.size() > 1) {
    // One request's mutation was refused and nothing was written: apply each request on its
    // own so that only the culprit gets the error.
    for (auto& w : shared->waiting) {
      auto span = std::span<const storage::Mutation>(shared->mutations).subspan(w.first, w.count);
      engine_.apply_all_async(span, [shared, &w](Status one) {
        if (one.is_ok()) {
          w.done(std::move(w.message));
        } else {
          w.done(to_cql_error(one));
        }
      });
    }
    return;
  }
  for (auto& w : shared->waiting) {
    if (s.is_ok()) {
      w.done(std::move(w.message));
    } else {
      w.done(to_cql_error(s));
    }
  }
}

QueryProcessor::Outcome QueryProcessor::wait(const std::function<void(Done)>& start) {
  std::promise<Outcome> promise;
  auto future = promise.get_future();
  start([&promise](Outcome o) { promise.set_value(std::move(o)); });
  return future.get();
}

QueryProcessor::Outcome QueryProcessor::query(std::string_view text, const QueryOptions& options,
                                              Session& session) {
  return wait([&](Done done) { query_async(text, options, session, std::move(done)); });
}
QueryProcessor::Outcome QueryProcessor::execute(BytesView id, const QueryOptions& options,
                                                Session& session) {
  return wait([&](Done done) { execute_async(id, options, session, std::move(done)); });
}
QueryProcessor::Outcome QueryProcessor::batch(uint8_t type, const std::vector<BatchEntry>& entries,
                                              const QueryOptions& options, Session& session) {
  return wait([&](Done done) { batch_async(type, entries, options, session, std::move(done)); });
}

bool QueryProcessor::has_single_row_plan(BytesView id) {
  auto prepared = find_prepared(id);
  if (!prepared) return false;
  auto plan = prepared->single_row_read.load();
  return plan && plan->eligible && plan->schema == schemas_.current();
}

QueryProcessor::Inline QueryProcessor::try_execute_inline(BytesView id, const QueryOptions& options,
                                                          Session& session, WriteGroup& group,
                                                          Outcome* answer,
                                                          const std::function<Done()>& make_done) {
  auto prepared = find_prepared(id);
  if (!prepared || options.values.size() != static_cast<size_t>(prepared->parsed.bind_count)) {
    return Inline::kNo;  // the regular path answers these (Unprepared, a wrong count of values)
  }
  const Statement& st = prepared->parsed.statement;
  const bool is_write = std::holds_alternative<InsertStatement>(st) ||
                        std::holds_alternative<UpdateStatement>(st) ||
                        std::holds_alternative<DeleteStatement>(st);
  // Lightweight transactions hold a lock across a read and a write: never on the loop.
  if (!(std::holds_alternative<SelectStatement>(st) || is_write) || is_conditional(st))
    return Inline::kNo;
  StatementRunner runner(*this, session, options, prepared->parsed, prepared->keyspace);
  runner.set_prepared(prepared.get());
  runner.set_nonblocking();
  auto result = runner.run();
  if (!result.is_ok() && result.status().code() == StatusCode::kWouldBlock) return Inline::kNo;
  if (!result.is_ok()) {
    *answer = error_for(result.status(), &st, prepared->keyspace);
    return Inline::kAnswered;
  }
  std::vector<storage::Mutation> writes = runner.take_deferred();
  if (writes.empty()) {
    *answer = std::move(result).value();
    return Inline::kAnswered;
  }
  group.add(std::move(writes), make_done(), std::move(result).value(), runner.index_generation());
  return Inline::kJoinedGroup;
}

bool QueryProcessor::try_apply_group(WriteGroup& group) {
  if (group.waiting.empty()) return true;
  const uint64_t generation = enter_apply();
  // Planned before an index was created, and its entries need the disk: a storage thread
  // plans them (apply_group).
  if (!plan_index_writes(group, generation, storage::Engine::ReadMode::kNonBlocking).is_ok()) {
    exit_apply(generation);
    return false;
  }
  auto shared = std::make_shared<WriteGroup>(std::move(group));
  auto on_durable = [this, shared](Status s) { answer_group(shared, std::move(s)); };
  const bool taken = engine_.try_apply_all_async(shared->mutations, on_durable);
  exit_apply(generation);
  if (taken) return true;
  group = std::move(*shared);  // refused before anything was written: the caller retries it
  return false;
}

void QueryProcessor::query_async(std::string_view text, const QueryOptions& options,
                                 Session& session, Done done, WriteGroup* group) {
  auto parsed = parse_statement(text);
  if (!parsed.is_ok()) return done(to_cql_error(parsed.status()));
  if (parsed->bind_count > 0 && options.values.size() != static_cast<size_t>(parsed->bind_count)) {
    return done(to_cql_error(invalid("There were " + std::to_string(parsed->bind_count) +
                                     " markers(?) in CQL but " +
                                     std::to_string(options.values.size()) + " bound variables")));
  }
  StatementRunner runner(*this, session, options, *parsed, session.keyspace);
  auto result = runner.run();
  finish(runner, std::move(result), parsed->statement, session.keyspace, std::move(done), group);
}

QueryProcessor::Outcome QueryProcessor::prepare(std::string_view text, const Session& session) {
  auto parsed = parse_statement(text);
  if (!parsed.is_ok()) return to_cql_error(parsed.status());
  auto prepared = std::make_shared<Prepared>();
  prepared->query = std::string(text);
  prepared->keyspace = session.keyspace;
  prepared->parsed = std::move(parsed).value();
  Session scratch = session;
  QueryOptions none;
  StatementRunner runner(*this, scratch, none, prepared->parsed, session.keyspace);
  Status s = runner.describe_binds(&prepared->bind_columns, &prepared->partition_key_indexes,
                                   &prepared->result_columns);
  if (!s.is_ok()) return to_cql_error(s);
  const Bytes id = statement_id(session.keyspace, text);
  {
    std::lock_guard lock(prepared_mutex_);
    if (prepared_.emplace(id, prepared).second) {
      prepared_order_.push_back(id);
      while (prepared_order_.size() > kPreparedStatementsMax) {
        prepared_.erase(prepared_order_.front());
        prepared_order_.pop_front();
      }
    } else {
      prepared_[id] = prepared;
    }
  }
  ResultMessage r;
  r.kind = ResultMessage::Kind::kPrepared;
  r.prepared_id = id;
  r.bind_columns = prepared->bind_columns;
  r.partition_key_indexes = prepared->partition_key_indexes;
  r.columns = prepared->result_columns;
  return r;
}

std::shared_ptr<const QueryProcessor::Prepared> QueryProcessor::find_prepared(BytesView id) {
  std::shared_lock lock(prepared_mutex_);
  auto it = prepared_.find(Bytes(id));
  return it == prepared_.end() ? nullptr : it->second;
}

void QueryProcessor::execute_async(BytesView id, const QueryOptions& options, Session& session,
                                   Done done, WriteGroup* group) {
  auto prepared = find_prepared(id);
  if (!prepared) {
    CqlError e;
    e.code = ErrorCode::kUnprepared;
    e.message = "Prepared query with ID " + to_hex(id) +
                " not found (either the query was not prepared on this host "
                "(maybe the host has been restarted?) or you have prepared too many queries and it "
                "has been evicted "
                "from the internal cache)";
    e.unprepared_id = Bytes(id);
    return done(std::move(e));
  }
  if (options.values.size() != static_cast<size_t>(prepared->parsed.bind_count)) {
    return done(to_cql_error(invalid("There were " + std::to_string(prepared->parsed.bind_count) +
                                     " markers(?) in CQL but " +
                                     std::to_string(options.values.size()) + " bound variables")));
  }
  // A lightweight transaction's read must see the writes this connection sent before it.
  if (group && is_conditional(prepared->parsed.statement)) apply_group(std::exchange(*group, {}));
  StatementRunner runner(*this, session, options, prepared->parsed, prepared->keyspace);
  runner.set_prepared(prepared.get());
  auto result = runner.run();
  finish(runner, std::move(result), prepared->parsed.statement, prepared->keyspace, std::move(done),
         group);
}

void QueryProcessor::batch_async(uint8_t type, const std::vector<BatchEntry>& entries,
                                 const QueryOptions& options, Session& session, Done done,
                                 WriteGroup* group) {
  if (type > 2)
    return done(to_cql_error(Status::syntax_error("Unknown batch type " + std::to_string(type))));
  // Each statement with its own values; kept alive (and in place) while its runner works.
  struct Entry {
    std::shared_ptr<const Prepared> prepared;
    ParsedStatement parsed_text;
    const ParsedStatement* parsed = nullptr;
    std::string keyspace;
    QueryOptions options;
  };
  std::vector<std::unique_ptr<Entry>> statements;
  bool conditional = false;
  for (const auto& entry : entries) {
    auto e = std::make_unique<Entry>();
    e->keyspace = session.keyspace;
    if (entry.is_prepared) {
      e->prepared = find_prepared(entry.prepared_id);
      if (!e->prepared) {
        CqlError error;
        error.code = ErrorCode::kUnprepared;
        error.message = "Prepared query with ID " + to_hex(entry.prepared_id) + " not found";
        error.unprepared_id = entry.prepared_id;
        return done(std::move(error));
      }
      e->parsed = &e->prepared->parsed;
      e->keyspace = e->prepared->keyspace;
    } else {
      auto p = parse_statement(entry.query);
      if (!p.is_ok()) return done(to_cql_error(p.status()));
      e->parsed_text = std::move(p).value();
      e->parsed = &e->parsed_text;
    }
    const Statement& st = e->parsed->statement;
    if (!std::holds_alternative<InsertStatement>(st) &&
        !std::holds_alternative<UpdateStatement>(st) &&
        !std::holds_alternative<DeleteStatement>(st)) {
      return done(to_cql_error(invalid(
          "Invalid statement in batch: only UPDATE, INSERT and DELETE statements are allowed.")));
    }
    e->options = options;
    e->options.values = entry.values;
    e->options.unset = entry.unset;
    e->options.names.clear();
    if (e->options.values.size() != static_cast<size_t>(e->parsed->bind_count)) {
      return done(to_cql_error(invalid(
          "There were " + std::to_string(e->parsed->bind_count) + " markers(?) in CQL but " +
          std::to_string(e->options.values.size()) + " bound variables")));
    }
    conditional = conditional || is_conditional(st);
    statements.push_back(std::move(e));
  }
  std::vector<std::unique_ptr<StatementRunner>> runners;
  for (const auto& e : statements) {
    runners.push_back(
        std::make_unique<StatementRunner>(*this, session, e->options, *e->parsed, e->keyspace));
  }
  if (conditional) {
    // Like Cassandra (whose Paxos ballot sets the time), the writes of a lightweight
    // transaction take the server's timestamp, not the client's default one.
    if (type == 2)
      return done(to_cql_error(invalid("Conditional updates are not supported on counter tables")));
    // Its reads must see the writes this connection sent before it.
    if (group) apply_group(std::exchange(*group, {}));
    std::vector<StatementRunner::CasItem> items;
    for (size_t i = 0; i < statements.size(); ++i)
      items.push_back({runners[i].get(), &statements[i]->parsed->statement});
    auto result = StatementRunner::conditional_batch(*this, items, next_timestamp());
    if (!result.is_ok()) return done(to_cql_error(result.status()));
    return done(std::move(result).value());
  }
  const int64_t ts = options.timestamp ? *options.timestamp : next_timestamp();
  bool has_counters = false, has_non_counters = false;
  for (size_t i = 0; i < statements.size(); ++i) {
    auto counter = runners[i]->writes_counter_table(statements[i]->parsed->statement);
    if (!counter.is_ok()) return done(to_cql_error(counter.status()));
    (counter.value() ? has_counters : has_non_counters) = true;
  }
  const auto batch_type = type == 0   ? BatchStatement::Type::kLogged
                          : type == 1 ? BatchStatement::Type::kUnlogged
                                      : BatchStatement::Type::kCounter;
  Status rule = StatementRunner::check_batch_counters(batch_type, has_counters, has_non_counters);
  if (!rule.is_ok()) return done(to_cql_error(rule));
  std::vector<storage::Mutation> mutations;
  for (size_t i = 0; i < statements.size(); ++i) {
    Status s = runners[i]->collect_mutations(statements[i]->parsed->statement, ts, &mutations);
    if (!s.is_ok()) return done(to_cql_error(s));
  }
  uint64_t planned = UINT64_MAX;  // the oldest of its statements'
  for (const auto& r : runners) planned = std::min(planned, r->index_generation());
  WriteGroup own;
  (group ? *group : own).add(std::move(mutations), std::move(done), ResultMessage{}, planned);
  if (!group) apply_group(std::move(own));
}

}  // namespace ringdb::cql

namespace ringdb::cql {

struct CasTarget {
  const TableMetadata* table = nullptr;
  Bytes partition_key;
  std::optional<std::vector<Bytes>> clustering;  // none: no one row (static data, or a range)
  bool static_only = false;  // the statement writes static columns and nothing else
};

struct CasCheck {
  bool applied = true;
  bool exists_condition = false;               // IF EXISTS / IF NOT EXISTS
  bool row_exists = false;                     // the target row (or static row) has live data
  std::vector<const ColumnMetadata*> columns;  // those its conditions name, in order
  Materialized current;                        // the target row as it is
  // A statement about the static row shows the partition's first row, which it reads to tell a
  // partition without static data from one that does not exist (Cassandra's rule).
  bool partition_exists = false;
};

Result<CasTarget> StatementRunner::cas_target(const Statement& st,
                                              std::optional<int64_t> batch_timestamp,
                                              std::vector<storage::Mutation>* out) {
  std::string ks, table_name;
  const UsingClause* using_clause = nullptr;
  const char* kind = "updates";
  if (auto* s = std::get_if<InsertStatement>(&st)) {
    ks = s->keyspace, table_name = s->table, using_clause = &s->using_clause;
  } else if (auto* s = std::get_if<UpdateStatement>(&st)) {
    ks = s->keyspace, table_name = s->table, using_clause = &s->using_clause;
  } else if (auto* s = std::get_if<DeleteStatement>(&st)) {
    ks = s->keyspace, table_name = s->table, using_clause = &s->using_clause, kind = "deletions";
  } else {
    return invalid("Only INSERT, UPDATE and DELETE statements can have conditions");
  }
  CasTarget target;
  RINGDB_ASSIGN_OR_RETURN(target.table, resolve(ks, table_name));
  const TableMetadata* table = target.table;
  if (using_clause->timestamp)
    return invalid("Cannot provide custom timestamp for conditional updates");
  if (table->is_counter_table())
    return invalid("Conditional updates are not supported on counter tables");
  // One row of one partition: no IN (even of one value), as Cassandra checks before binding.
  const std::vector<Relation>* where = nullptr;
  if (auto* s = std::get_if<UpdateStatement>(&st)) where = &s->where;
  if (auto* s = std::get_if<DeleteStatement>(&st)) where = &s->where;
  std::vector<bool> clustering_eq(table->clustering().size(), false);
  static const std::vector<Relation> kNoRelations;
  for (const Relation& relation : where != nullptr ? *where : kNoRelations) {
    const Relation* r = &relation;
    if (r->is_token) continue;
    const ColumnMetadata* c = table->column(r->columns[0]);
    if (c == nullptr) continue;  // reported when the statement is planned
    if (r->op == Relation::Op::kIn && !single_value_in(*r)) {
      return invalid(std::string(c->kind == ColumnKind::kPartitionKey
                                     ? "IN on the partition key is not supported with conditional "
                                     : "IN on the clustering key columns is not supported with "
                                       "conditional ") +
                     kind);
    }
    if (c->kind == ColumnKind::kClustering && (r->op == Relation::Op::kEq || single_value_in(*r))) {
      for (const auto& name : r->columns) {
        if (const ColumnMetadata* e = table->column(name))
          clustering_eq[static_cast<size_t>(e->position)] = true;
      }
    }
  }
  if (auto* s = std::get_if<DeleteStatement>(&st)) {
    const bool whole_key =
        std::all_of(clustering_eq.begin(), clustering_eq.end(), [](bool b) { return b; });
    if (!whole_key) {
      bool deletes_regular = s->columns.empty(), conditions_regular = false;
      for (const auto& [name, element] : s->columns) {
        const ColumnMetadata* c = table->column(name);
        deletes_regular |= c != nullptr && c->kind != ColumnKind::kStatic;
      }
      for (const auto& r : s->conditions) {
        const ColumnMetadata* c = table->column(r.columns[0]);
        conditions_regular |= c != nullptr && c->kind != ColumnKind::kStatic;
      }
      if (deletes_regular) {
        return invalid(
            "DELETE statements must restrict all PRIMARY KEY columns with equality relations in "
            "order to delete non static columns");
      }
      if (conditions_regular) {
        return invalid(
            "DELETE statements must restrict all PRIMARY KEY columns with equality relations in "
            "order to use IF condition on non static columns");
      }
    }
  }
  std::vector<storage::Mutation> mutations;
  RINGDB_RETURN_IF_ERROR(collect_mutations(st, batch_timestamp, &mutations));
  if (mutations.size() != 1)
    return invalid("IN on the partition key is not supported with conditional " +
                   std::string(kind));
  const storage::Mutation& m = mutations[0];
  for (const auto& row : m.rows) {
    if (row.is_static) continue;
    if (target.clustering && *target.clustering != row.clustering) {
      return invalid("IN on the clustering key columns is not supported with conditional " +
                     std::string(kind));
    }
    target.clustering = row.clustering;
  }
  // A write of static columns only, whose conditions name a regular column, is about the row its
  // WHERE names (Cassandra reads that row to check them).
  if (!target.clustering && where != nullptr && !table->clustering().empty() &&
      conditions_name_regular_columns(*table, std::holds_alternative<UpdateStatement>(st)
                                                  ? std::get<UpdateStatement>(st).conditions
                                                  : std::get<DeleteStatement>(st).conditions)) {
    RINGDB_ASSIGN_OR_RETURN(
        KeyPlan plan, plan_where(*table, *where,
                                 std::holds_alternative<UpdateStatement>(st) ? WhereUse::kUpdate
                                                                             : WhereUse::kDelete,
                                 false));
    if (plan.selects_rows(table->clustering().size()) && plan.clustering_prefixes.size() == 1)
      target.clustering = plan.clustering_prefixes[0];
  }
  // A table without clustering columns has one row per partition: that row.
  if (!target.clustering && table->clustering().empty()) target.clustering = std::vector<Bytes>{};
  target.static_only =
      !target.clustering && !m.rows.empty() && !m.partition_deletion_timestamp &&
      m.range_deletions.empty() &&
      std::all_of(m.rows.begin(), m.rows.end(), [](const auto& row) { return row.is_static; });
  target.partition_key = m.partition_key;
  for (auto& mutation : mutations) out->push_back(std::move(mutation));
  return target;
}

Result<CasCheck> StatementRunner::check_cas(const Statement& st, const CasTarget& target) {
  const TableMetadata* table = target.table;
  const std::vector<Relation>* conditions = nullptr;
  CasCheck check;
  bool if_exists = false, if_not_exists = false;
  if (std::holds_alternative<InsertStatement>(st)) {
    if_not_exists = true;
  } else if (auto* s = std::get_if<UpdateStatement>(&st)) {
    conditions = &s->conditions;
    if_exists = s->if_exists;
  } else if (auto* s = std::get_if<DeleteStatement>(&st)) {
    conditions = &s->conditions;
    if_exists = s->if_exists;
  }
  check.exists_condition = if_exists || if_not_exists;
  storage::ReadCommand read;
  read.table = table->storage_id;
  read.partition_key = target.partition_key;
  if (target.clustering && !target.clustering->empty()) {
    read.start = {*target.clustering, true};
    read.end = {*target.clustering, true};
  }
  read.row_limit = 1;
  const int32_t now = qp_.clock_.now_seconds();
  read.now_seconds = now;
  RINGDB_ASSIGN_OR_RETURN(storage::Partition p, qp_.engine_.read(read));
  const ColumnIndex index(*table);
  // A statement about static columns only is about the static row: IF NOT EXISTS / IF EXISTS
  // ask whether it has data, whatever rows the partition holds (Cassandra's rule). The first row,
  // read along, still shows in a failed condition's answer.
  check.row_exists = target.static_only ? p.static_row.has_value()
                                        : !p.rows.empty() || (!target.clustering && p.static_row);
  check.partition_exists = target.static_only && (!p.rows.empty() || p.static_row.has_value());
  check.current = materialize(*table, index, p, p.rows.empty() ? nullptr : &p.rows[0], now);
  const Materialized& current = check.current;

  bool applied = true;
  if (if_not_exists) applied = !check.row_exists;
  if (if_exists) applied = check.row_exists;
  if (conditions) {
    for (const Relation& r : *conditions) {
      const ColumnMetadata* c = table->column(r.columns[0]);
      if (c == nullptr) return invalid("Undefined column name " + r.columns[0]);
      if (c->kind == ColumnKind::kPartitionKey || c->kind == ColumnKind::kClustering) {
        return invalid("PRIMARY KEY column '" + c->name + "' cannot have IF conditions");
      }
      if (std::find(check.columns.begin(), check.columns.end(), c) == check.columns.end())
        check.columns.push_back(c);
      const size_t i = static_cast<size_t>(c - table->columns.data());
      std::optional<Bytes> value = current.values[i];
      CqlType type = c->type;
      if (r.op == Relation::Op::kContains || r.op == Relation::Op::kContainsKey) {
        const bool key = r.op == Relation::Op::kContainsKey;
        if (key && c->type.kind != ValueKind::kMap)
          return invalid("Cannot use CONTAINS KEY on non-map column " + c->name);
        if (!key && !c->type.is_collection())
          return invalid("Cannot use CONTAINS on non-collection column " + c->name);
        const bool is_map = c->type.kind == ValueKind::kMap;
        const CqlType& element = key || !is_map ? c->type.params[0] : c->type.params[1];
        RINGDB_ASSIGN_OR_RETURN(Bound b, binder_.bind(r.value, element, c->name));
        if (b.unset) {  // as Cassandra: CONTAINS an unset value does not hold
          applied = false;
          continue;
        }
        if (!b.value) {
          return invalid(std::string("Invalid comparison with null for operator \"") +
                         op_text(r.op) + "\"");
        }
        bool holds = false;
        if (value) {
          std::vector<Bytes> items;
          RINGDB_RETURN_IF_ERROR(schema::split_collection(*value, is_map, &items));
          for (size_t k = 0; k < items.size(); ++k) {
            const bool key_slot = !is_map || k % 2 == 0;
            if (key ? !key_slot : (is_map && key_slot)) continue;
            holds |= compare_values(element, items[k], *b.value) == 0;
          }
        }
        applied = applied && holds;
        continue;
      }
      if (r.element_key) {
        if (c->type.kind != ValueKind::kMap && c->type.kind != ValueKind::kList)
          return invalid("Invalid element condition on " + c->name);
        const bool map = c->type.kind == ValueKind::kMap;
        RINGDB_ASSIGN_OR_RETURN(
            Bound bound_key,
            binder_.bind(*r.element_key, map ? c->type.params[0] : CqlType::of(ValueKind::kInt),
                         c->name));
        const std::string kind = map ? "map" : "list";
        if (bound_key.unset) return invalid("Invalid unset value for " + kind + " element access");
        if (!bound_key.value) return invalid("Invalid null value for " + kind + " element access");
        const Bytes key = std::move(*bound_key.value);
        if (!map && load_signed(key) < 0)
          return invalid("Invalid negative list index " + std::to_string(load_signed(key)));
        std::optional<Bytes> element;
        if (value) {
          std::vector<Bytes> items;
          const bool is_map = c->type.kind == ValueKind::kMap;
          RINGDB_RETURN_IF_ERROR(schema::split_collection(*value, is_map, &items));
          if (is_map) {
            for (size_t k = 0; k + 1 < items.size(); k += 2) {
              if (compare_values(c->type.params[0], items[k], key) == 0) element = items[k + 1];
            }
          } else {
            const int64_t at = load_signed(key);
            if (at >= 0 && static_cast<size_t>(at) < items.size())
              element = items[static_cast<size_t>(at)];
          }
        }
        value = element;
        type = c->type.kind == ValueKind::kMap ? c->type.params[1] : c->type.params[0];
      }
      std::string receiver = c->name;
      if (!r.field.empty()) {  // IF u.f op v: the field of the current value (Cassandra 4)
        if (!c->type.is_udt()) {
          return invalid("Invalid field selection: " + c->name + " of type " + c->type.to_cql() +
                         " is not a user type");
        }
        const auto position = c->type.field_position(r.field);
        if (!position)
          return invalid("Unknown field " + schema::cql_name(r.field) + " for column " + c->name);
        const size_t field = *position;
        std::optional<Bytes> field_value;
        if (value) {
          std::vector<std::optional<Bytes>> fields;
          RINGDB_RETURN_IF_ERROR(schema::split_tuple(*value, &fields));
          if (field < fields.size()) field_value = fields[field];
        }
        value = std::move(field_value);
        type = c->type.params[field];
        receiver = c->name + "." + r.field;
      }
      std::vector<std::optional<Bytes>> expected;
      if (r.op == Relation::Op::kIn && r.value.kind == Term::Kind::kBindMarker) {
        // IF c IN ?: a list, whose elements may be null.
        RINGDB_ASSIGN_OR_RETURN(Bound b,
                                binder_.bind(r.value, CqlType::make(ValueKind::kList, {type}, true),
                                             "in(" + receiver + ")"));
        if (b.unset) return invalid("Invalid 'unset' value in condition");
        if (!b.value) return invalid("Invalid null list in IN condition");
        BufferReader rd(*b.value);
        int32_t n = 0;
        if (!rd.get_i32(&n) || n < 0) return invalid("Invalid list in IN condition");
        for (int32_t k = 0; k < n; ++k) {
          int32_t len = 0;
          BytesView item;
          if (!rd.get_i32(&len)) return invalid("Invalid list in IN condition");
          if (len < 0) {
            expected.push_back(std::nullopt);
            continue;
          }
          if (!rd.get_bytes(static_cast<size_t>(len), &item))
            return invalid("Invalid list in IN condition");
          expected.emplace_back(Bytes(item));
        }
      } else if (r.op == Relation::Op::kIn) {
        for (const auto& t : r.value.elements) {
          RINGDB_ASSIGN_OR_RETURN(Bound b, binder_.bind(t, type, receiver));
          if (!b.unset) expected.push_back(b.value);  // an unset IN value is left out
        }
      } else {
        RINGDB_ASSIGN_OR_RETURN(Bound b, binder_.bind(r.value, type, receiver));
        if (b.unset) return invalid("Invalid 'unset' value in condition");
        expected.push_back(b.value);
      }
      // A non-frozen collection has no null, only an empty collection (Cassandra compares its
      // cells): null on either side reads as empty, so l = [] holds and l < ['a'] too.
      if (!r.element_key && r.field.empty() && c->type.is_multi_cell() && c->type.is_collection()) {
        const Bytes empty = schema::serialize_list({});
        if (!value) value = empty;
        const bool equality =
            r.op == Relation::Op::kEq || r.op == Relation::Op::kNeq || r.op == Relation::Op::kIn;
        for (auto& e : expected) {
          if (!e && equality) e = empty;  // an ordering with null stays an error
        }
      }
      auto equal = [&](const std::optional<Bytes>& x) {
        if (!x || !value) return !x && !value;
        return compare_values(type, *value, *x) == 0;
      };
      bool holds = false;
      switch (r.op) {
        case Relation::Op::kEq:
          holds = equal(expected[0]);
          break;
        case Relation::Op::kNeq:
          holds = !equal(expected[0]);
          break;
        case Relation::Op::kIn:
          holds = std::any_of(expected.begin(), expected.end(), equal);
          break;
        case Relation::Op::kLt:
        case Relation::Op::kLe:
        case Relation::Op::kGt:
        case Relation::Op::kGe: {
          if (!expected[0]) {
            return invalid(std::string("Invalid comparison with null for operator \"") +
                           op_text(r.op) + "\"");
          }
          if (!value) break;
          const int cmp = compare_values(type, *value, *expected[0]);
          holds = r.op == Relation::Op::kLt   ? cmp < 0
                  : r.op == Relation::Op::kLe ? cmp <= 0
                  : r.op == Relation::Op::kGt ? cmp > 0
                                              : cmp >= 0;
          break;
        }
        default:
          return invalid("Unsupported operator in IF condition on " + c->name);
      }
      applied = applied && holds;
    }
  }
  check.applied = applied;
  return check;
}

namespace {

// What a failed condition shows of a row, as Cassandra does: the row when it exists, or its
// static columns when the conditions name one that has a value; nothing otherwise.
bool cas_row_visible(const TableMetadata& table, const CasCheck& check) {
  if (check.row_exists || check.partition_exists) return true;
  return std::any_of(check.columns.begin(), check.columns.end(), [&](const ColumnMetadata* c) {
    return c->kind == ColumnKind::kStatic &&
           check.current.values[static_cast<size_t>(c - table.columns.data())].has_value();
  });
}

ResultMessage cas_applied_result(const TableMetadata& table, bool applied) {
  ResultMessage result;
  result.kind = ResultMessage::Kind::kRows;
  result.columns.push_back(
      {table.keyspace, table.name, "[applied]", CqlType::of(ValueKind::kBoolean)});
  result.rows.push_back({Bytes(1, applied ? '\x01' : '\x00')});
  return result;
}

}  // namespace

Result<ResultMessage> StatementRunner::conditional(const Statement& st) {
  std::vector<storage::Mutation> mutations;
  // The server's timestamp, as for a batch (see QueryProcessor::batch_async).
  RINGDB_ASSIGN_OR_RETURN(CasTarget target, cas_target(st, qp_.next_timestamp(), &mutations));
  const TableMetadata* table = target.table;
  const int64_t token = murmur3_token(target.partition_key);
  std::lock_guard lock(qp_.lwt_locks_[static_cast<uint64_t>(token) % qp_.lwt_locks_.size()]);
  RINGDB_ASSIGN_OR_RETURN(CasCheck check, check_cas(st, target));
  if (check.applied)
    RINGDB_RETURN_IF_ERROR(qp_.apply_planned(std::move(mutations), index_generation_));

  ResultMessage result = cas_applied_result(*table, check.applied);
  if (check.applied) return result;
  RowValues& row = result.rows[0];
  if (std::holds_alternative<InsertStatement>(st)) {
    Selection all(
        *table, [this](int64_t mi) { return qp_.new_timeuuid(mi); },
        [this] { return qp_.random_uuid(); }, qp_.clock_);
    RINGDB_RETURN_IF_ERROR(all.build({}, false));
    for (const auto& spec : all.columns(table->keyspace, table->name))
      result.columns.push_back(spec);
    RINGDB_ASSIGN_OR_RETURN(RowValues values, all.project(check.current));
    row.insert(row.end(), values.begin(), values.end());
  } else if (!check.exists_condition && cas_row_visible(*table, check)) {
    for (const auto* c : check.columns) {
      result.columns.push_back({table->keyspace, table->name, c->name, c->type});
      row.push_back(check.current.values[static_cast<size_t>(c - table->columns.data())]);
    }
  }
  return result;
}

Result<ResultMessage> StatementRunner::conditional_batch(QueryProcessor& qp,
                                                         const std::vector<CasItem>& items,
                                                         int64_t timestamp) {
  std::vector<storage::Mutation> mutations;
  std::vector<std::pair<const CasItem*, CasTarget>> targets;
  const TableMetadata* table = nullptr;
  for (const auto& item : items) {
    const size_t before = mutations.size();
    if (is_conditional(*item.statement)) {
      RINGDB_ASSIGN_OR_RETURN(CasTarget target,
                              item.runner->cas_target(*item.statement, timestamp, &mutations));
      if (table == nullptr) table = target.table;
      targets.emplace_back(&item, std::move(target));
    } else {
      RINGDB_RETURN_IF_ERROR(
          item.runner->collect_mutations(*item.statement, timestamp, &mutations));
    }
    for (size_t i = before; i < mutations.size(); ++i) {
      if (i > 0 && mutations[i].partition_key != mutations[0].partition_key &&
          mutations[i].table == mutations[0].table) {
        return invalid("Batch with conditions cannot span multiple partitions");
      }
      if (i > 0 && mutations[i].table != mutations[0].table)
        return invalid("Batch with conditions cannot span multiple tables");
    }
  }
  if (table == nullptr || mutations.empty()) return invalid("a conditional BATCH has no condition");
  if (mutations[0].table != table->storage_id)
    return invalid("Batch with conditions cannot span multiple tables");
  const int64_t token = murmur3_token(mutations[0].partition_key);
  std::lock_guard lock(qp.lwt_locks_[static_cast<uint64_t>(token) % qp.lwt_locks_.size()]);
  bool applied = true;
  bool wildcard = false;  // an IF [NOT] EXISTS shows every column
  std::vector<const ColumnMetadata*> columns;
  // The rows the conditions read, once each, in clustering order.
  std::map<Bytes, const CasCheck*> rows;
  std::vector<CasCheck> checks;
  checks.reserve(targets.size());
  for (const auto& [item, target] : targets) {
    RINGDB_ASSIGN_OR_RETURN(CasCheck check, item->runner->check_cas(*item->statement, target));
    applied = applied && check.applied;
    wildcard = wildcard || check.exists_condition;
    for (const auto* c : check.columns) {
      if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
    }
    checks.push_back(std::move(check));
    Bytes order;
    const auto ck = table->clustering();
    for (size_t i = 0; target.clustering && i < target.clustering->size() && i < ck.size(); ++i) {
      RINGDB_RETURN_IF_ERROR(storage::encode_comparable(
          ck[i]->type.to_storage(), (*target.clustering)[i], ck[i]->descending, &order));
    }
    rows.emplace(std::move(order), &checks.back());
  }
  if (applied) {
    uint64_t planned = UINT64_MAX;
    for (const auto& item : items) planned = std::min(planned, item.runner->index_generation());
    RINGDB_RETURN_IF_ERROR(qp.apply_planned(std::move(mutations), planned));
  }
  ResultMessage result = cas_applied_result(*table, applied);
  if (applied) return result;
  // Failed: the primary key and the condition columns (every column after an IF [NOT] EXISTS)
  // of each row the conditions read that exists, each after [applied] = false.
  std::vector<const ColumnMetadata*> shown;
  if (wildcard) {
    shown = wildcard_columns(*table);
  } else {
    for (const auto* c : table->partition_key()) shown.push_back(c);
    for (const auto* c : table->clustering()) shown.push_back(c);
    for (const auto* c : columns) shown.push_back(c);
  }
  for (const auto* c : shown)
    result.columns.push_back({table->keyspace, table->name, c->name, c->type});
  std::vector<RowValues> failed;
  for (const auto& [order, check] : rows) {
    if (!cas_row_visible(*table, *check)) continue;
    RowValues row{Bytes(1, '\x00')};
    for (const auto* c : shown)
      row.push_back(check->current.values[static_cast<size_t>(c - table->columns.data())]);
    // A static condition shows the partition's first row, which a condition on that row shows
    // too: Cassandra reads (and shows) each row once.
    if (std::find(failed.begin(), failed.end(), row) != failed.end()) continue;
    failed.push_back(std::move(row));
  }
  if (failed.empty()) {
    result.columns.resize(1);  // nothing to show: [applied] alone
  } else {
    result.rows = std::move(failed);
  }
  return result;
}

}  // namespace ringdb::cql
