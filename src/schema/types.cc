#include "schema/types.h"

#include <cctype>

#include "schema/values.h"

namespace ringdb::schema {
namespace {

struct NativeName {
  const char* name;
  ValueKind kind;
};
constexpr NativeName kNatives[] = {
    {"ascii", ValueKind::kAscii},         {"bigint", ValueKind::kBigint},
    {"blob", ValueKind::kBlob},           {"boolean", ValueKind::kBoolean},
    {"counter", ValueKind::kCounter},     {"date", ValueKind::kDate},
    {"decimal", ValueKind::kDecimal},     {"double", ValueKind::kDouble},
    {"duration", ValueKind::kDuration},   {"float", ValueKind::kFloat},
    {"inet", ValueKind::kInet},           {"int", ValueKind::kInt},
    {"smallint", ValueKind::kSmallint},   {"text", ValueKind::kText},
    {"varchar", ValueKind::kText},        {"time", ValueKind::kTime},
    {"timestamp", ValueKind::kTimestamp}, {"timeuuid", ValueKind::kTimeuuid},
    {"tinyint", ValueKind::kTinyint},     {"uuid", ValueKind::kUuid},
    {"varint", ValueKind::kVarint},
};

class TypeParser {
 public:
  TypeParser(std::string_view text, const CqlType::UdtResolver* resolver)
      : text_(text), resolver_(resolver) {}

  Result<CqlType> parse_all() {
    RINGDB_ASSIGN_OR_RETURN(CqlType t, parse_type());
    skip_space();
    if (pos_ != text_.size()) return error("unexpected '" + std::string(text_.substr(pos_)) + "'");
    return t;
  }

 private:
  Result<CqlType> parse_type() {
    skip_space();
    const bool quoted = peek() == '"';
    std::string name = quoted ? quoted_identifier() : identifier();
    if (name.empty()) return error("expected a type name");
    if (quoted) return user_type("", name);
    if (name == "frozen") {
      RINGDB_RETURN_IF_ERROR(expect('<'));
      // frozen<> freezes every collection inside it too, as in Cassandra:
      // frozen<map<set<text>, text>> holds a frozen set.
      ++frozen_depth_;
      auto parsed = parse_type();
      --frozen_depth_;
      RINGDB_ASSIGN_OR_RETURN(CqlType inner, std::move(parsed));
      RINGDB_RETURN_IF_ERROR(expect('>'));
      if (!inner.is_collection() && inner.kind != ValueKind::kTuple && !inner.is_udt()) {
        return Status::invalid_argument(
            "frozen<> is only allowed on collections, tuples, and user-defined types (got " +
            inner.to_cql() + ")");
      }
      inner.frozen = true;
      return inner;
    }
    if (name == "list" || name == "set" || name == "map" || name == "tuple") {
      CqlType t;
      t.kind = name == "list"  ? ValueKind::kList
               : name == "set" ? ValueKind::kSet
               : name == "map" ? ValueKind::kMap
                               : ValueKind::kTuple;
      t.frozen = t.kind == ValueKind::kTuple;
      RINGDB_RETURN_IF_ERROR(expect('<'));
      for (;;) {
        RINGDB_ASSIGN_OR_RETURN(CqlType param, parse_type());
        t.params.push_back(std::move(param));
        skip_space();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        break;
      }
      RINGDB_RETURN_IF_ERROR(expect('>'));
      const size_t want = t.kind == ValueKind::kMap ? 2 : 1;
      if (t.kind != ValueKind::kTuple && t.params.size() != want)
        return error("wrong number of type parameters");
      // Cassandra's rules (and words) for what a collection or tuple may hold. A tuple freezes
      // the collections it holds.
      for (auto& param : t.params) {
        if (frozen_depth_ > 0 && param.is_collection()) param.frozen = true;
        if (frozen_depth_ > 0 && param.is_udt()) param.frozen = true;
        if (t.kind == ValueKind::kTuple) {
          if (param.is_counter())
            return Status::invalid_argument("Counters are not allowed inside tuples");
          if (param.is_collection() || param.is_udt()) param.frozen = true;
          continue;
        }
        if (param.is_collection() && !param.frozen) {
          return Status::invalid_argument(
              "Non-frozen collections are not allowed inside collections: " + t.to_cql());
        }
        if (param.is_udt() && !param.frozen) {
          return Status::invalid_argument("Non-frozen UDTs are not allowed inside collections: " +
                                          t.to_cql());
        }
        if (param.is_counter())
          return Status::invalid_argument("Counters are not allowed inside collections: " +
                                          t.to_cql());
      }
      if (t.kind == ValueKind::kSet && t.params[0].kind == ValueKind::kDuration)
        return Status::invalid_argument("Durations are not allowed inside sets: " + t.to_cql());
      if (t.kind == ValueKind::kMap && t.params[0].kind == ValueKind::kDuration)
        return Status::invalid_argument("Durations are not allowed as map keys: " + t.to_cql());
      return t;
    }
    for (const auto& n : kNatives) {
      if (name == n.name) return CqlType::of(n.kind);
    }
    return user_type("", name);
  }

  // `first` was read: a user-defined type's name, or its keyspace when a '.' follows.
  Result<CqlType> user_type(std::string first, std::string second) {
    std::string keyspace = std::move(first), name = std::move(second);
    skip_space();
    if (peek() == '.') {
      ++pos_;
      skip_space();
      keyspace = std::move(name);
      name = peek() == '"' ? quoted_identifier() : identifier();
      if (name.empty()) return error("expected a type name after '.'");
    }
    if (resolver_ == nullptr) {
      return Status::invalid_argument(
          "Unknown type " + (keyspace.empty() ? "" : cql_name(keyspace) + ".") + cql_name(name));
    }
    RINGDB_ASSIGN_OR_RETURN(CqlType t, (*resolver_)(keyspace, name));
    t.frozen = frozen_depth_ > 0;
    return t;
  }

  // "Name" with "" for a quote inside; keeps its case.
  std::string quoted_identifier() {
    std::string out;
    ++pos_;  // the opening quote
    while (pos_ < text_.size()) {
      if (text_[pos_] == '"') {
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
          out.push_back('"');
          pos_ += 2;
          continue;
        }
        ++pos_;
        return out;
      }
      out.push_back(text_[pos_++]);
    }
    return "";  // unterminated
  }

  std::string identifier() {
    skip_space();
    std::string out;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(text_[pos_]))));
      ++pos_;
    }
    return out;
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  Status expect(char c) {
    skip_space();
    if (peek() != c) return error(std::string("expected '") + c + "'");
    ++pos_;
    return Status::ok();
  }
  Status error(const std::string& why) const {
    return Status::invalid_argument("bad type '" + std::string(text_) + "': " + why);
  }

  std::string_view text_;
  const CqlType::UdtResolver* resolver_;
  size_t pos_ = 0;
  int frozen_depth_ = 0;  // frozen<> levels around the type being parsed
};

}  // namespace

std::string CqlType::to_cql() const {
  std::string base;
  switch (kind) {
    case ValueKind::kList:
      base = "list<" + params[0].to_cql() + ">";
      break;
    case ValueKind::kSet:
      base = "set<" + params[0].to_cql() + ">";
      break;
    case ValueKind::kMap:
      base = "map<" + params[0].to_cql() + ", " + params[1].to_cql() + ">";
      break;
    case ValueKind::kUdt:
      base = cql_name(name);
      break;
    case ValueKind::kTuple: {
      // Tuples are always frozen, and Cassandra prints them so (system_schema, messages).
      base = "frozen<tuple<";
      for (size_t i = 0; i < params.size(); ++i) base += (i ? ", " : "") + params[i].to_cql();
      return base + ">>";
    }
    default:
      for (const auto& n : kNatives) {
        if (n.kind == kind) return n.name;
      }
      return "blob";
  }
  return frozen ? "frozen<" + base + ">" : base;
}

storage::ValueType CqlType::to_storage() const {
  if (is_udt() && !frozen) {
    return storage::ValueType::map_of(storage::ValueType::of(ValueKind::kSmallint),
                                      storage::ValueType::of(ValueKind::kBlob));
  }
  storage::ValueType t{kind, {}};
  for (const auto& p : params) t.params.push_back(p.to_storage());
  return t;
}

bool CqlType::references(const std::string& ks, const std::string& type_name) const {
  if (is_udt() && keyspace == ks && name == type_name) return true;
  for (const auto& p : params) {
    if (p.references(ks, type_name)) return true;
  }
  return false;
}

CqlType CqlType::expand_user_types() const {
  CqlType t = *this;
  if (t.is_udt()) {
    t.kind = ValueKind::kTuple;
    t.frozen = true;
    t.keyspace.clear();
    t.name.clear();
    t.field_names.clear();
  }
  for (auto& p : t.params) p = p.expand_user_types();
  return t;
}

bool CqlType::replace_user_type(const CqlType& updated) {
  if (is_udt() && keyspace == updated.keyspace && name == updated.name) {
    const bool was_frozen = frozen;
    *this = updated;
    frozen = was_frozen;
    return true;
  }
  bool changed = false;
  for (auto& p : params) changed = p.replace_user_type(updated) || changed;
  return changed;
}

Result<CqlType> CqlType::parse(std::string_view text, const UdtResolver* resolver) {
  return TypeParser(text, resolver).parse_all();
}

}  // namespace ringdb::schema
