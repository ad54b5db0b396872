#include "cql/parser.h"

#include <cctype>
#include <cstring>
#include <optional>
#include <set>

namespace ringdb::cql {
namespace {

enum class TokenKind {
  kEnd,
  kIdentifier,        // unquoted: compared case-insensitively, stored lower-case
  kQuotedIdentifier,  // "Name": case kept
  kString,
  kInteger,
  kFloat,
  kUuid,
  kHex,
  kDuration,
  kSymbol,           // punctuation and operators, in text
  kBindMarker,       // ?
  kNamedBindMarker,  // :name
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;
  int line = 1;
  int column = 0;
};

bool is_hex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ident_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool is_ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Status tokenize(std::vector<Token>* out) {
    for (;;) {
      skip_space_and_comments();
      Token t;
      t.line = line_;
      t.column = static_cast<int>(pos_ - line_start_);
      if (pos_ >= text_.size()) {
        out->push_back(t);
        return Status::ok();
      }
      RINGDB_RETURN_IF_ERROR(next(&t));
      out->push_back(std::move(t));
    }
  }

 private:
  Status error(const std::string& what) const {
    return Status::syntax_error("line " + std::to_string(line_) + ":" +
                                std::to_string(pos_ - line_start_) + " " + what);
  }

  void skip_space_and_comments() {
    for (;;) {
      while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) {
        if (text_[pos_] == '\n') {
          ++line_;
          line_start_ = pos_ + 1;
        }
        ++pos_;
      }
      if (text_.substr(pos_, 2) == "--" || text_.substr(pos_, 2) == "//") {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
        continue;
      }
      if (text_.substr(pos_, 2) == "/*") {
        size_t end = text_.find("*/", pos_ + 2);
        for (size_t i = pos_; i < (end == std::string_view::npos ? text_.size() : end); ++i) {
          if (text_[i] == '\n') {
            ++line_;
            line_start_ = i + 1;
          }
        }
        pos_ = end == std::string_view::npos ? text_.size() : end + 2;
        continue;
      }
      return;
    }
  }

  bool looks_like_uuid() const {
    if (text_.size() - pos_ < 36) return false;
    for (size_t i = 0; i < 36; ++i) {
      char c = text_[pos_ + i];
      bool dash = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash ? c != '-' : !is_hex(c)) return false;
    }
    return text_.size() - pos_ == 36 || !is_ident_char(text_[pos_ + 36]);
  }

  // [0-9]+ unit ([0-9]+ unit)* with Cassandra's duration units.
  size_t duration_length() const {
    // µs: the micro sign, or the Greek mu, in UTF-8.
    static const char* kUnits[] = {"mo", "ms", "us", "ns",        "y",         "w",
                                   "d",  "h",  "m",  "\xc2\xb5s", "\xce\xbcs", "s"};
    size_t i = pos_;
    bool any = false;
    while (i < text_.size() && is_digit(text_[i])) {
      while (i < text_.size() && is_digit(text_[i])) ++i;
      size_t unit_start = i;
      while (i < text_.size() && (std::isalpha(static_cast<unsigned char>(text_[i])) ||
                                  static_cast<unsigned char>(text_[i]) >= 0x80)) {
        ++i;
      }
      std::string unit = ascii_lower(text_.substr(unit_start, i - unit_start));
      bool known = false;
      for (const char* u : kUnits) known |= unit == u;
      if (!known) return 0;
      any = true;
    }
    if (!any || (i < text_.size() && is_ident_char(text_[i]))) return 0;
    return i - pos_;
  }

  Status next(Token* t) {
    const char c = text_[pos_];
    if (looks_like_uuid()) {
      t->kind = TokenKind::kUuid;
      t->text = std::string(text_.substr(pos_, 36));
      pos_ += 36;
      return Status::ok();
    }
    if (c == '0' && pos_ + 1 < text_.size() && (text_[pos_ + 1] == 'x' || text_[pos_ + 1] == 'X')) {
      size_t end = pos_ + 2;
      while (end < text_.size() && is_hex(text_[end])) ++end;
      t->kind = TokenKind::kHex;
      t->text = "0x" + std::string(text_.substr(pos_ + 2, end - pos_ - 2));
      pos_ = end;
      return Status::ok();
    }
    if (is_digit(c) || (c == '-' && pos_ + 1 < text_.size() &&
                        (is_digit(text_[pos_ + 1]) || text_[pos_ + 1] == '.'))) {
      const size_t start = pos_;
      if (c == '-') ++pos_;
      if (size_t d = duration_length()) {
        t->kind = TokenKind::kDuration;
        pos_ += d;
        t->text = std::string(text_.substr(start, pos_ - start));
        return Status::ok();
      }
      bool is_float = false;
      while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
      if (pos_ < text_.size() && text_[pos_] == '.' && pos_ + 1 < text_.size() &&
          is_digit(text_[pos_ + 1])) {
        is_float = true;
        ++pos_;
        while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
      }
      if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
        size_t e = pos_ + 1;
        if (e < text_.size() && (text_[e] == '+' || text_[e] == '-')) ++e;
        if (e < text_.size() && is_digit(text_[e])) {
          is_float = true;
          pos_ = e;
          while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
        }
      }
      if (pos_ < text_.size() && is_ident_char(text_[pos_]))
        return error("no viable alternative at character '" + std::string(1, text_[pos_]) + "'");
      t->kind = is_float ? TokenKind::kFloat : TokenKind::kInteger;
      t->text = std::string(text_.substr(start, pos_ - start));
      return Status::ok();
    }
    if (is_ident_start(c)) {
      size_t end = pos_;
      while (end < text_.size() && is_ident_char(text_[end])) ++end;
      t->kind = TokenKind::kIdentifier;
      t->text = ascii_lower(text_.substr(pos_, end - pos_));
      pos_ = end;
      return Status::ok();
    }
    if (c == '"') return quoted('"', TokenKind::kQuotedIdentifier, t);
    if (c == '\'') return quoted('\'', TokenKind::kString, t);
    if (c == '$' && text_.substr(pos_, 2) == "$$") {
      size_t end = text_.find("$$", pos_ + 2);
      if (end == std::string_view::npos) return error("unterminated $$ string");
      t->kind = TokenKind::kString;
      t->text = std::string(text_.substr(pos_ + 2, end - pos_ - 2));
      pos_ = end + 2;
      return Status::ok();
    }
    if (c == '?') {
      t->kind = TokenKind::kBindMarker;
      t->text = "?";
      ++pos_;
      return Status::ok();
    }
    if (c == ':' && pos_ + 1 < text_.size() &&
        (is_ident_start(text_[pos_ + 1]) || text_[pos_ + 1] == '"')) {
      ++pos_;
      Token name;
      if (text_[pos_] == '"') {
        RINGDB_RETURN_IF_ERROR(quoted('"', TokenKind::kQuotedIdentifier, &name));
      } else {
        RINGDB_RETURN_IF_ERROR(next(&name));
      }
      t->kind = TokenKind::kNamedBindMarker;
      t->text = name.text;
      return Status::ok();
    }
    for (const char* op : {"<=", ">=", "!=", "=", "<", ">", "(", ")", ",", ";", ".", "*", "[", "]",
                           "{", "}", ":", "+", "-"}) {
      const size_t n = std::strlen(op);
      if (text_.substr(pos_, n) == op) {
        t->kind = TokenKind::kSymbol;
        t->text = op;
        pos_ += n;
        return Status::ok();
      }
    }
    // The whole character when it is UTF-8 (error messages must stay UTF-8).
    size_t length = 1;
    const auto lead = static_cast<unsigned char>(c);
    if (lead >= 0xc0) length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
    return error("no viable alternative at character '" +
                 utf8_escaped(text_.substr(pos_, std::min(length, text_.size() - pos_))) + "'");
  }

  Status quoted(char q, TokenKind kind, Token* t) {
    std::string out;
    size_t i = pos_ + 1;
    for (;;) {
      if (i >= text_.size())
        return error(std::string("unterminated ") + (q == '\'' ? "string" : "quoted identifier"));
      if (text_[i] == q) {
        if (i + 1 < text_.size() && text_[i + 1] == q) {
          out.push_back(q);
          i += 2;
          continue;
        }
        break;
      }
      if (text_[i] == '\n') {
        ++line_;
        line_start_ = i + 1;
      }
      out.push_back(text_[i++]);
    }
    pos_ = i + 1;
    t->kind = kind;
    t->text = std::move(out);
    return Status::ok();
  }

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
};

std::optional<schema::LiteralKind> literal_kind_of(TokenKind kind) {
  switch (kind) {
    case TokenKind::kString:
      return schema::LiteralKind::kString;
    case TokenKind::kInteger:
      return schema::LiteralKind::kInteger;
    case TokenKind::kFloat:
      return schema::LiteralKind::kFloat;
    case TokenKind::kUuid:
      return schema::LiteralKind::kUuid;
    case TokenKind::kHex:
      return schema::LiteralKind::kHex;
    case TokenKind::kDuration:
      return schema::LiteralKind::kDuration;
    default:
      return std::nullopt;
  }
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Result<ParsedStatement> parse() {
    ParsedStatement out;
    RINGDB_ASSIGN_OR_RETURN(out.statement, statement());
    accept(";");
    if (peek().kind != TokenKind::kEnd) return unexpected();
    out.bind_count = bind_count_;
    out.bind_names = bind_names_;
    return out;
  }

 private:
  // --- token helpers ---------------------------------------------------------------------
  const Token& peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& advance() {
    const Token& t = peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }
  // The kind of object an unsupported statement names, in upper case: "ROLE", "MATERIALIZED VIEW".
  std::string unsupported_kind() const {
    std::string kind = ascii_upper(peek().text);
    if (is_keyword("materialized") && is_keyword("view", 1)) kind += " VIEW";
    return kind;
  }
  bool is_keyword(const char* word, size_t ahead = 0) const {
    const Token& t = peek(ahead);
    return t.kind == TokenKind::kIdentifier && t.text == word;
  }
  bool is_symbol(const char* s, size_t ahead = 0) const {
    const Token& t = peek(ahead);
    return t.kind == TokenKind::kSymbol && t.text == s;
  }
  bool accept_keyword(const char* word) {
    if (!is_keyword(word)) return false;
    advance();
    return true;
  }
  bool accept(const char* symbol) {
    if (!is_symbol(symbol)) return false;
    advance();
    return true;
  }
  Status error_at(const Token& t, const std::string& what) const {
    return Status::syntax_error("line " + std::to_string(t.line) + ":" + std::to_string(t.column) +
                                " " + what);
  }
  Status unexpected(const std::string& expecting = "") const {
    const Token& t = peek();
    std::string found = t.kind == TokenKind::kEnd ? "<EOF>" : t.text;
    return error_at(t,
                    (t.kind == TokenKind::kEnd ? "mismatched input '<EOF>'"
                                               : "no viable alternative at input '" + found + "'") +
                        (expecting.empty() ? "" : " (expecting " + expecting + ")"));
  }
  Status expect_keyword(const char* word) {
    if (accept_keyword(word)) return Status::ok();
    std::string upper(word);
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return unexpected(upper);
  }
  Status expect(const char* symbol) {
    if (accept(symbol)) return Status::ok();
    return unexpected(std::string("'") + symbol + "'");
  }
  // After an opening '(': zero or more comma-separated items, then ')'.
  template <typename T, typename ParseOne>
  Status list_until_close(std::vector<T>* out, ParseOne parse_one) {
    if (accept(")")) return Status::ok();
    do {
      RINGDB_ASSIGN_OR_RETURN(T item, parse_one());
      out->push_back(std::move(item));
    } while (accept(","));
    return expect(")");
  }
  Result<std::string> identifier() {
    const Token& t = peek();
    if (t.kind == TokenKind::kIdentifier || t.kind == TokenKind::kQuotedIdentifier) {
      std::string s = t.text;
      advance();
      return s;
    }
    return unexpected("an identifier");
  }
  // keyspace.table or table
  Status qualified_name(std::string* keyspace, std::string* name) {
    RINGDB_ASSIGN_OR_RETURN(std::string first, identifier());
    if (accept(".")) {
      *keyspace = first;
      RINGDB_ASSIGN_OR_RETURN(*name, identifier());
    } else {
      *name = first;
    }
    return Status::ok();
  }
  Status if_not_exists(bool* flag) {
    if (accept_keyword("if")) {
      RINGDB_RETURN_IF_ERROR(expect_keyword("not"));
      RINGDB_RETURN_IF_ERROR(expect_keyword("exists"));
      *flag = true;
    }
    return Status::ok();
  }
  Status if_exists(bool* flag) {
    if (accept_keyword("if")) {
      RINGDB_RETURN_IF_ERROR(expect_keyword("exists"));
      *flag = true;
    }
    return Status::ok();
  }

  // --- statements --------------------------------------------------------------------------
  Result<Statement> statement() {
    if (accept_keyword("select")) return wrap(select());
    if (accept_keyword("insert")) return wrap(insert());
    if (accept_keyword("update")) return wrap(update());
    if (accept_keyword("delete")) return wrap(delete_());
    if (accept_keyword("begin")) return wrap(batch());
    if (accept_keyword("use")) {
      UseStatement s;
      RINGDB_ASSIGN_OR_RETURN(s.keyspace, identifier());
      return Statement(s);
    }
    if (accept_keyword("truncate")) {
      accept_keyword("table");
      TruncateStatement s;
      RINGDB_RETURN_IF_ERROR(qualified_name(&s.keyspace, &s.name));
      return Statement(s);
    }
    if (accept_keyword("create")) {
      if (accept_keyword("keyspace") || accept_keyword("schema")) return wrap(create_keyspace());
      if (accept_keyword("table") || accept_keyword("columnfamily")) return wrap(create_table());
      if (accept_keyword("type")) return wrap(create_type());
      if (is_keyword("index") || (is_keyword("custom") && is_keyword("index", 1))) {
        IndexStatement s;
        s.custom = accept_keyword("custom");
        advance();  // INDEX
        RINGDB_RETURN_IF_ERROR(if_not_exists(&s.if_exists));
        if (!is_keyword("on")) {  // [keyspace.]name
          RINGDB_ASSIGN_OR_RETURN(s.name, identifier());
          if (accept(".")) {
            s.keyspace = s.name;
            RINGDB_ASSIGN_OR_RETURN(s.name, identifier());
          }
        }
        RINGDB_RETURN_IF_ERROR(expect_keyword("on"));
        std::string index_keyspace = s.keyspace;
        s.keyspace.clear();
        RINGDB_RETURN_IF_ERROR(qualified_name(&s.keyspace, &s.table));
        if (s.keyspace.empty()) s.keyspace = index_keyspace;
        if (!index_keyspace.empty() && s.keyspace != index_keyspace) {
          return Status::invalid_argument("Keyspace name '" + s.keyspace +
                                          "' doesn't match index name '" + s.table + "'");
        }
        RINGDB_RETURN_IF_ERROR(expect("("));
        if (!is_symbol(")")) {
          for (const char* target : {"keys", "values", "entries", "full"}) {
            if (is_keyword(target) && is_symbol("(", 1)) {
              s.target = target;
              advance();
              advance();
              break;
            }
          }
          RINGDB_ASSIGN_OR_RETURN(s.column, identifier());
          if (s.target != "simple") RINGDB_RETURN_IF_ERROR(expect(")"));
        }
        RINGDB_RETURN_IF_ERROR(expect(")"));
        if (accept_keyword("using")) {
          RINGDB_RETURN_IF_ERROR(term(0).status());
          s.custom = true;
        }
        if (accept_keyword("with")) {
          return Status::not_supported("CREATE INDEX ... WITH OPTIONS is not supported yet");
        }
        return Statement(s);
      }
      if (is_keyword("function") || is_keyword("aggregate") || is_keyword("materialized") ||
          is_keyword("trigger") || is_keyword("role") || is_keyword("user")) {
        return Status::not_supported("CREATE " + unsupported_kind() + " is not supported yet");
      }
      return unexpected("KEYSPACE or TABLE");
    }
    if (accept_keyword("alter")) {
      if (accept_keyword("keyspace") || accept_keyword("schema")) return wrap(alter_keyspace());
      if (accept_keyword("table") || accept_keyword("columnfamily")) return wrap(alter_table());
      if (accept_keyword("type")) return wrap(alter_type());
      if (is_keyword("materialized") || is_keyword("role") || is_keyword("user")) {
        return Status::not_supported("ALTER " + unsupported_kind() + " is not supported yet");
      }
      return unexpected("KEYSPACE or TABLE");
    }
    if (accept_keyword("drop")) {
      if (accept_keyword("keyspace") || accept_keyword("schema")) {
        DropKeyspaceStatement s;
        RINGDB_RETURN_IF_ERROR(if_exists(&s.if_exists));
        RINGDB_ASSIGN_OR_RETURN(s.name, identifier());
        return Statement(s);
      }
      if (accept_keyword("table") || accept_keyword("columnfamily")) {
        DropTableStatement s;
        RINGDB_RETURN_IF_ERROR(if_exists(&s.if_exists));
        RINGDB_RETURN_IF_ERROR(qualified_name(&s.keyspace, &s.name));
        return Statement(s);
      }
      if (accept_keyword("type")) {
        DropTableStatement s;
        s.is_type = true;
        RINGDB_RETURN_IF_ERROR(if_exists(&s.if_exists));
        RINGDB_RETURN_IF_ERROR(qualified_name(&s.keyspace, &s.name));
        return Statement(s);
      }
      if (accept_keyword("index")) {
        IndexStatement s;
        s.drop = true;
        RINGDB_RETURN_IF_ERROR(if_exists(&s.if_exists));
        RINGDB_RETURN_IF_ERROR(qualified_name(&s.keyspace, &s.name));
        return Statement(s);
      }
      if (is_keyword("function") || is_keyword("aggregate") || is_keyword("materialized") ||
          is_keyword("trigger") || is_keyword("role") || is_keyword("user")) {
        return Status::not_supported("DROP " + unsupported_kind() + " is not supported yet");
      }
      return unexpected("KEYSPACE or TABLE");
    }
    if (is_keyword("grant") || is_keyword("revoke") || is_keyword("list")) {
      return Status::not_supported(ascii_upper(peek().text) + " statements are not supported yet");
    }
    return unexpected();
  }

  template <typename T>
  static Result<Statement> wrap(Result<T> r) {
    if (!r.is_ok()) return r.status();
    return Statement(std::move(r).value());
  }

  Result<SelectStatement> select() {
    SelectStatement s;
    if (accept_keyword("json")) s.json = true;
    if (accept_keyword("distinct")) s.distinct = true;
    if (!accept("*")) {
      do {
        RINGDB_ASSIGN_OR_RETURN(Selector sel, selector(0));
        if (accept_keyword("as")) {
          RINGDB_ASSIGN_OR_RETURN(sel.alias, identifier());
        }
        s.selectors.push_back(std::move(sel));
      } while (accept(","));
    }
    RINGDB_RETURN_IF_ERROR(expect_keyword("from"));
    RINGDB_RETURN_IF_ERROR(qualified_name(&s.keyspace, &s.table));
    if (accept_keyword("where")) RINGDB_RETURN_IF_ERROR(relations(&s.where));
    if (accept_keyword("group")) {
      RINGDB_RETURN_IF_ERROR(expect_keyword("by"));
      do {
        RINGDB_ASSIGN_OR_RETURN(std::string c, identifier());
        s.group_by.push_back(c);
      } while (accept(","));
    }
    if (accept_keyword("order")) {
      RINGDB_RETURN_IF_ERROR(expect_keyword("by"));
      do {
        RINGDB_ASSIGN_OR_RETURN(std::string c, identifier());
        bool desc = false;
        if (accept_keyword("desc"))
          desc = true;
        else
          accept_keyword("asc");
        s.order_by.emplace_back(c, desc);
      } while (accept(","));
    }
    if (accept_keyword("per")) {
      RINGDB_RETURN_IF_ERROR(expect_keyword("partition"));
      RINGDB_RETURN_IF_ERROR(expect_keyword("limit"));
      RINGDB_ASSIGN_OR_RETURN(Term t, term(0));
      s.per_partition_limit = t;
    }
    if (accept_keyword("limit")) {
      RINGDB_ASSIGN_OR_RETURN(Term t, term(0));
      s.limit = t;
    }
    if (accept_keyword("allow")) {
      RINGDB_RETURN_IF_ERROR(expect_keyword("filtering"));
      s.allow_filtering = true;
    }
    return s;
  }

  Result<Selector> selector(int depth) {
    if (depth > kNestingDepthMax) return error_at(peek(), "selector nested too deeply");
    Selector sel;
    if (is_keyword("count") && is_symbol("(", 1) && is_symbol("*", 2)) {
      advance();
      advance();
      advance();
      RINGDB_RETURN_IF_ERROR(expect(")"));
      sel.kind = Selector::Kind::kCountStar;
      sel.name = "count";
      return sel;
    }
    if (is_keyword("count") && is_symbol("(", 1) && peek(2).kind == TokenKind::kInteger &&
        is_symbol(")", 3) && peek(2).text != "1") {
      return error_at(peek(2), "Only COUNT(1) is supported, got COUNT(" + peek(2).text + ")");
    }
    if (is_keyword("count") && is_symbol("(", 1) && peek(2).kind == TokenKind::kInteger &&
        peek(2).text == "1") {
      advance();
      advance();
      advance();
      RINGDB_RETURN_IF_ERROR(expect(")"));
      sel.kind = Selector::Kind::kCountStar;
      sel.name = "count";
      return sel;
    }
    if ((is_keyword("writetime") || is_keyword("ttl")) && is_symbol("(", 1)) {
      sel.kind = is_keyword("ttl") ? Selector::Kind::kTtl : Selector::Kind::kWritetime;
      advance();
      advance();
      RINGDB_ASSIGN_OR_RETURN(sel.name, identifier());
      RINGDB_RETURN_IF_ERROR(expect(")"));
      return sel;
    }
    if (is_keyword("cast") && is_symbol("(", 1)) {
      advance();
      advance();
      RINGDB_ASSIGN_OR_RETURN(Selector inner, selector(depth + 1));
      RINGDB_RETURN_IF_ERROR(expect_keyword("as"));
      RINGDB_ASSIGN_OR_RETURN(sel.cast_type, identifier());
      RINGDB_RETURN_IF_ERROR(expect(")"));
      sel.kind = Selector::Kind::kCast;
      sel.args.push_back(std::move(inner));
      return sel;
    }
    const Token& t = peek();
    if ((t.kind == TokenKind::kIdentifier || t.kind == TokenKind::kQuotedIdentifier) &&
        is_symbol("(", 1) && t.kind == TokenKind::kIdentifier && t.text != "true" &&
        t.text != "false" && t.text != "null") {
      sel.kind = Selector::Kind::kFunction;
      sel.name = t.text;
      advance();
      advance();
      RINGDB_RETURN_IF_ERROR(list_until_close(&sel.args, [&] { return selector(depth + 1); }));
      return sel;
    }
    if ((t.kind == TokenKind::kIdentifier && t.text != "true" && t.text != "false" &&
         t.text != "null") ||
        t.kind == TokenKind::kQuotedIdentifier) {
      sel.kind = Selector::Kind::kColumn;
      sel.name = t.text;
      advance();
      // m['k'], s['e'], m['a'..'z'] (Cassandra 4 element and slice selection), and u.field
      // (a field of a user-defined type's value).
      for (;;) {
        if (is_symbol(".") && !is_symbol(".", 1)) {
          advance();
          Selector f;
          f.kind = Selector::Kind::kField;
          RINGDB_ASSIGN_OR_RETURN(f.name, identifier());
          f.args.push_back(std::move(sel));
          sel = std::move(f);
          continue;
        }
        if (!accept("[")) break;
        Selector e;
        e.kind = Selector::Kind::kElement;
        e.args.push_back(std::move(sel));
        auto range_dots = [&] {
          if (!is_symbol(".") || !is_symbol(".", 1)) return false;
          advance();
          advance();
          return true;
        };
        if (range_dots()) {
          e.range = true;
          RINGDB_ASSIGN_OR_RETURN(e.range_to, term(depth + 1));
        } else {
          RINGDB_ASSIGN_OR_RETURN(Term first, term(depth + 1));
          if (range_dots()) {
            e.range = true;
            e.range_from = std::move(first);
            if (!is_symbol("]")) {
              RINGDB_ASSIGN_OR_RETURN(e.range_to, term(depth + 1));
            }
          } else {
            e.element = std::move(first);
          }
        }
        RINGDB_RETURN_IF_ERROR(expect("]"));
        sel = std::move(e);
      }
      return sel;
    }
    // A value, with its type given as a hint: (int)1, (text)'x'.
    if (is_symbol("(") && peek(1).kind == TokenKind::kIdentifier) {
      advance();
      RINGDB_ASSIGN_OR_RETURN(sel.cast_type, type_text(depth + 1));
      RINGDB_RETURN_IF_ERROR(expect(")"));
    }
    sel.kind = Selector::Kind::kTerm;
    RINGDB_ASSIGN_OR_RETURN(sel.term, term(depth + 1));
    return sel;
  }

  Status relations(std::vector<Relation>* out) {
    do {
      RINGDB_ASSIGN_OR_RETURN(Relation r, relation());
      out->push_back(std::move(r));
    } while (accept_keyword("and"));
    return Status::ok();
  }

  Result<Relation::Op> operator_() {
    static const std::pair<const char*, Relation::Op> kOps[] = {
        {"=", Relation::Op::kEq}, {"<", Relation::Op::kLt},  {"<=", Relation::Op::kLe},
        {">", Relation::Op::kGt}, {">=", Relation::Op::kGe}, {"!=", Relation::Op::kNeq}};
    for (const auto& [text, op] : kOps) {
      if (accept(text)) return op;
    }
    if (accept_keyword("in")) return Relation::Op::kIn;
    if (accept_keyword("like")) return Relation::Op::kLike;
    if (is_keyword("is") && is_keyword("not", 1)) {
      advance();
      advance();
      RINGDB_RETURN_IF_ERROR(expect_keyword("null"));
      return Relation::Op::kIsNotNull;
    }
    if (accept_keyword("contains"))
      return accept_keyword("key") ? Relation::Op::kContainsKey : Relation::Op::kContains;
    return unexpected("a comparison operator");
  }

  Result<Relation> relation() {
    Relation r;
    if (is_keyword("token") && is_symbol("(", 1)) {
      advance();
      advance();
      r.is_token = true;
      do {
        RINGDB_ASSIGN_OR_RETURN(std::string c, identifier());
        r.columns.push_back(c);
      } while (accept(","));
      RINGDB_RETURN_IF_ERROR(expect(")"));
    } else if (accept("(")) {
      r.tuple_notation = true;
      do {
        RINGDB_ASSIGN_OR_RETURN(std::string c, identifier());
        r.columns.push_back(c);
      } while (accept(","));
      RINGDB_RETURN_IF_ERROR(expect(")"));
    } else {
      RINGDB_ASSIGN_OR_RETURN(std::string c, identifier());
      r.columns.push_back(c);
      if (accept("[")) {
        RINGDB_ASSIGN_OR_RETURN(Term key, term(0));
        r.element_key = key;
        RINGDB_RETURN_IF_ERROR(expect("]"));
      } else if (in_conditions_ && accept(".")) {  // IF u.f = v
        RINGDB_ASSIGN_OR_RETURN(r.field, identifier());
      }
    }
    const Token op_token = peek();
    RINGDB_ASSIGN_OR_RETURN(r.op, operator_());
    // An element (m['k'], l[1]) takes comparisons and IN only, as in Cassandra's grammar.
    if (r.element_key && r.op != Relation::Op::kIn && r.op != Relation::Op::kEq &&
        r.op != Relation::Op::kNeq && r.op != Relation::Op::kLt && r.op != Relation::Op::kLe &&
        r.op != Relation::Op::kGt && r.op != Relation::Op::kGe) {
      return error_at(op_token, "no viable alternative at input '" + op_token.text + "'");
    }
    if (r.op == Relation::Op::kIn) {
      if (peek().kind == TokenKind::kBindMarker || peek().kind == TokenKind::kNamedBindMarker) {
        RINGDB_ASSIGN_OR_RETURN(r.value, term(0));
        return r;
      }
      RINGDB_RETURN_IF_ERROR(expect("("));
      r.value.kind = Term::Kind::kList;
      RINGDB_RETURN_IF_ERROR(list_until_close(&r.value.elements, [&] { return term(0); }));
      return r;
    }
    if (r.op == Relation::Op::kIsNotNull) return r;  // the value is null
    RINGDB_ASSIGN_OR_RETURN(r.value, term(0));
    return r;
  }

  Result<Term> term(int depth) {
    if (depth > kNestingDepthMax) return error_at(peek(), "value nested too deeply");
    Term t;
    const Token& tok = peek();
    if (auto kind = literal_kind_of(tok.kind)) {
      t.kind = Term::Kind::kLiteral;
      t.literal_kind = *kind;
      t.text = tok.text;
      advance();
      return t;
    }
    switch (tok.kind) {
      case TokenKind::kBindMarker:
      case TokenKind::kNamedBindMarker:
        t.kind = Term::Kind::kBindMarker;
        if (tok.kind == TokenKind::kNamedBindMarker) t.bind_name = tok.text;
        advance();
        t.bind_index = bind_count_++;
        bind_names_.push_back(t.bind_name);
        return t;
      case TokenKind::kIdentifier:
        if (tok.text == "true" || tok.text == "false") {
          t.literal_kind = schema::LiteralKind::kBoolean;
          break;
        }
        if (tok.text == "null") {
          advance();
          t.kind = Term::Kind::kNull;
          return t;
        }
        // ISO 8601 durations written bare: P1Y2M3DT4H5M6S, P2W (checked when bound).
        if (tok.text.size() >= 3 && tok.text[0] == 'p' && tok.text[1] >= '0' &&
            tok.text[1] <= '9') {
          t.kind = Term::Kind::kLiteral;
          t.literal_kind = schema::LiteralKind::kDuration;
          t.text = tok.text;
          advance();
          return t;
        }
        if (tok.text == "nan" || tok.text == "infinity") {
          t.kind = Term::Kind::kLiteral;
          t.literal_kind = schema::LiteralKind::kFloat;
          t.text = tok.text == "nan" ? "NaN" : "Infinity";
          advance();
          return t;
        }
        if (is_symbol("(", 1)) {
          t.kind = Term::Kind::kFunction;
          t.text = tok.text;
          advance();
          advance();
          RINGDB_RETURN_IF_ERROR(list_until_close(&t.elements, [&] { return term(depth + 1); }));
          return t;
        }
        return unexpected("a value");
      case TokenKind::kSymbol:
        if (tok.text == "-" && peek(1).kind == TokenKind::kIdentifier &&
            peek(1).text == "infinity") {
          advance();
          advance();
          t.kind = Term::Kind::kLiteral;
          t.literal_kind = schema::LiteralKind::kFloat;
          t.text = "-Infinity";
          return t;
        }
        if (tok.text == "[") return collection(depth, "]", Term::Kind::kList);
        if (tok.text == "{") return brace_literal(depth);
        if (tok.text == "(") return collection(depth, ")", Term::Kind::kTuple);
        return unexpected("a value");
      default:
        return unexpected("a value");
    }
    t.kind = Term::Kind::kLiteral;
    t.text = tok.text;
    advance();
    return t;
  }

  Result<Term> collection(int depth, const char* close, Term::Kind kind) {
    advance();  // the opening bracket
    Term t;
    t.kind = kind;
    // A tuple has at least one element: `()` is not a value.
    if (kind == Term::Kind::kTuple && is_symbol(close)) return unexpected("a value");
    if (accept(close)) return t;
    do {
      RINGDB_ASSIGN_OR_RETURN(Term e, term(depth + 1));
      t.elements.push_back(std::move(e));
    } while (accept(","));
    RINGDB_RETURN_IF_ERROR(expect(close));
    return t;
  }

  // {} is an empty set or map; {a, b} a set; {k: v, …} a map; {field: v, …} (a name before
  // the first ':') a user-defined type's value.
  Result<Term> brace_literal(int depth) {
    advance();
    Term t;
    t.kind = Term::Kind::kSet;
    if (accept("}")) return t;
    if (is_field_name(peek()) && peek(1).kind == TokenKind::kSymbol && peek(1).text == ":") {
      t.kind = Term::Kind::kUdt;
      do {
        if (!is_field_name(peek())) return unexpected("a field name");
        t.field_names.push_back(peek().text);
        advance();
        RINGDB_RETURN_IF_ERROR(expect(":"));
        RINGDB_ASSIGN_OR_RETURN(Term v, term(depth + 1));
        t.elements.push_back(std::move(v));
      } while (accept(","));
      RINGDB_RETURN_IF_ERROR(expect("}"));
      return t;
    }
    RINGDB_ASSIGN_OR_RETURN(Term first, term(depth + 1));
    if (accept(":")) {
      t.kind = Term::Kind::kMap;
      RINGDB_ASSIGN_OR_RETURN(Term value, term(depth + 1));
      t.elements.push_back(std::move(first));
      t.elements.push_back(std::move(value));
      while (accept(",")) {
        RINGDB_ASSIGN_OR_RETURN(Term k, term(depth + 1));
        RINGDB_RETURN_IF_ERROR(expect(":"));
        RINGDB_ASSIGN_OR_RETURN(Term v, term(depth + 1));
        t.elements.push_back(std::move(k));
        t.elements.push_back(std::move(v));
      }
    } else {
      t.elements.push_back(std::move(first));
      while (accept(",")) {
        RINGDB_ASSIGN_OR_RETURN(Term e, term(depth + 1));
        t.elements.push_back(std::move(e));
      }
    }
    RINGDB_RETURN_IF_ERROR(expect("}"));
    return t;
  }

  // A name that is not itself a value (true, false, NaN, Infinity and null are).
  static bool is_field_name(const Token& t) {
    if (t.kind == TokenKind::kQuotedIdentifier) return true;
    if (t.kind != TokenKind::kIdentifier) return false;
    return t.text != "true" && t.text != "false" && t.text != "nan" && t.text != "infinity" &&
           t.text != "null";
  }

  Status using_clause(UsingClause* u) {
    if (!accept_keyword("using")) return Status::ok();
    do {
      if (accept_keyword("ttl")) {
        RINGDB_ASSIGN_OR_RETURN(Term t, term(0));
        u->ttl = t;
      } else if (accept_keyword("timestamp")) {
        RINGDB_ASSIGN_OR_RETURN(Term t, term(0));
        u->timestamp = t;
      } else {
        return unexpected("TTL or TIMESTAMP");
      }
    } while (accept_keyword("and"));
    return Status::ok();
  }

  Result<InsertStatement> insert() {
    InsertStatement s;
    RINGDB_RETURN_IF_ERROR(expect_keyword("into"));
    RINGDB_RETURN_IF_ERROR(qualified_name(&s.keyspace, &s.table));
    if (accept_keyword("json")) {
      RINGDB_ASSIGN_OR_RETURN(Term t, term(0));
      s.json = t;
      if (accept_keyword("default")) {
        if (accept_keyword("unset"))
          s.json_default_unset = true;
        else
          RINGDB_RETURN_IF_ERROR(expect_keyword("null"));
      }
    } else {
      RINGDB_RETURN_IF_ERROR(expect("("));
      do {
        RINGDB_ASSIGN_OR_RETURN(std::string c, identifier());
        s.columns.push_back(c);
      } while (accept(","));
      RINGDB_RETURN_IF_ERROR(expect(")"));
      RINGDB_RETURN_IF_ERROR(expect_keyword("values"));
      RINGDB_RETURN_IF_ERROR(expect("("));
      do {
        RINGDB_ASSIGN_OR_RETURN(Term t, term(0));
        s.values.push_back(std::move(t));
      } while (accept(","));
      RINGDB_RETURN_IF_ERROR(expect(")"));
    }
    RINGDB_RETURN_IF_ERROR(if_not_exists(&s.if_not_exists));
    RINGDB_RETURN_IF_ERROR(using_clause(&s.using_clause));
    if (!s.if_not_exists) RINGDB_RETURN_IF_ERROR(if_not_exists(&s.if_not_exists));
    return s;
  }

  Status conditions(std::vector<Relation>* out, bool* exists) {
    if (!accept_keyword("if")) return Status::ok();
    if (accept_keyword("exists")) {
      *exists = true;
      return Status::ok();
    }
    in_conditions_ = true;
    Status st = relations(out);
    in_conditions_ = false;
    return st;
  }

  Result<UpdateStatement> update() {
    UpdateStatement s;
    RINGDB_RETURN_IF_ERROR(qualified_name(&s.keyspace, &s.table));
    RINGDB_RETURN_IF_ERROR(using_clause(&s.using_clause));
    RINGDB_RETURN_IF_ERROR(expect_keyword("set"));
    do {
      Operation op;
      RINGDB_ASSIGN_OR_RETURN(op.column, identifier());
      if (accept(".")) {
        RINGDB_ASSIGN_OR_RETURN(op.field, identifier());
        RINGDB_RETURN_IF_ERROR(expect("="));
        op.kind = Operation::Kind::kSetField;
        RINGDB_ASSIGN_OR_RETURN(op.value, term(0));
      } else if (accept("[")) {
        RINGDB_ASSIGN_OR_RETURN(Term key, term(0));
        op.key = key;
        RINGDB_RETURN_IF_ERROR(expect("]"));
        RINGDB_RETURN_IF_ERROR(expect("="));
        op.kind = Operation::Kind::kSetElement;
        RINGDB_ASSIGN_OR_RETURN(op.value, term(0));
      } else {
        RINGDB_RETURN_IF_ERROR(expect("="));
        const Token& t = peek();
        if ((t.kind == TokenKind::kIdentifier || t.kind == TokenKind::kQuotedIdentifier) &&
            t.text == op.column && (is_symbol("+", 1) || is_symbol("-", 1))) {
          advance();
          op.kind = accept("+") ? Operation::Kind::kAdd : (advance(), Operation::Kind::kSubtract);
          RINGDB_ASSIGN_OR_RETURN(op.value, term(0));
        } else if ((t.kind == TokenKind::kIdentifier || t.kind == TokenKind::kQuotedIdentifier) &&
                   t.text == op.column && peek(1).kind == TokenKind::kInteger &&
                   !peek(1).text.empty() && peek(1).text[0] == '-') {
          // `c = c -2` lexes as c and the integer -2: Cassandra's grammar takes it for an
          // addition of -2.
          advance();
          op.kind = Operation::Kind::kAdd;
          RINGDB_ASSIGN_OR_RETURN(op.value, term(0));
        } else {
          RINGDB_ASSIGN_OR_RETURN(op.value, term(0));
          if (accept("+")) {
            RINGDB_ASSIGN_OR_RETURN(std::string same, identifier());
            if (same != op.column)
              return error_at(peek(),
                              "Only expressions of the form X = <value> + X are supported.");
            op.kind = Operation::Kind::kPrepend;
          }
        }
      }
      // A column set to a value cannot be changed by another operation in the same statement
      // (Cassandra's grammar refuses it).
      for (const auto& earlier : s.operations) {
        if (earlier.column == op.column &&
            (earlier.kind == Operation::Kind::kSet || op.kind == Operation::Kind::kSet)) {
          return Status::syntax_error("Multiple incompatible setting of column " + op.column);
        }
      }
      s.operations.push_back(std::move(op));
    } while (accept(","));
    RINGDB_RETURN_IF_ERROR(expect_keyword("where"));
    RINGDB_RETURN_IF_ERROR(relations(&s.where));
    RINGDB_RETURN_IF_ERROR(conditions(&s.conditions, &s.if_exists));
    return s;
  }

  Result<DeleteStatement> delete_() {
    DeleteStatement s;
    if (!is_keyword("from")) {
      do {
        RINGDB_ASSIGN_OR_RETURN(std::string c, identifier());
        std::optional<Term> key;
        if (accept(".")) {
          RINGDB_ASSIGN_OR_RETURN(std::string field, identifier());
          s.fields.emplace_back(std::move(c), std::move(field));
          continue;
        }
        if (accept("[")) {
          RINGDB_ASSIGN_OR_RETURN(Term k, term(0));
          key = k;
          RINGDB_RETURN_IF_ERROR(expect("]"));
        }
        s.columns.emplace_back(c, key);
      } while (accept(","));
    }
    RINGDB_RETURN_IF_ERROR(expect_keyword("from"));
    RINGDB_RETURN_IF_ERROR(qualified_name(&s.keyspace, &s.table));
    RINGDB_RETURN_IF_ERROR(using_clause(&s.using_clause));
    if (s.using_clause.ttl) return error_at(peek(), "TTL is not allowed on DELETE");
    RINGDB_RETURN_IF_ERROR(expect_keyword("where"));
    RINGDB_RETURN_IF_ERROR(relations(&s.where));
    RINGDB_RETURN_IF_ERROR(conditions(&s.conditions, &s.if_exists));
    return s;
  }

  Result<BatchStatement> batch() {
    BatchStatement b;
    if (accept_keyword("unlogged"))
      b.type = BatchStatement::Type::kUnlogged;
    else if (accept_keyword("counter"))
      b.type = BatchStatement::Type::kCounter;
    else
      accept_keyword("logged");
    RINGDB_RETURN_IF_ERROR(expect_keyword("batch"));
    RINGDB_RETURN_IF_ERROR(using_clause(&b.using_clause));
    while (!is_keyword("apply")) {
      if (accept_keyword("insert")) {
        RINGDB_ASSIGN_OR_RETURN(InsertStatement s, insert());
        b.statements.emplace_back(std::move(s));
      } else if (accept_keyword("update")) {
        RINGDB_ASSIGN_OR_RETURN(UpdateStatement s, update());
        b.statements.emplace_back(std::move(s));
      } else if (accept_keyword("delete")) {
        RINGDB_ASSIGN_OR_RETURN(DeleteStatement s, delete_());
        b.statements.emplace_back(std::move(s));
      } else {
        return unexpected("INSERT, UPDATE, DELETE or APPLY BATCH");
      }
      accept(";");
    }
    advance();
    RINGDB_RETURN_IF_ERROR(expect_keyword("batch"));
    return b;
  }

  Status option_map(std::map<std::string, std::string>* out) {
    RINGDB_RETURN_IF_ERROR(expect("{"));
    if (accept("}")) return Status::ok();
    do {
      const Token& k = peek();
      if (k.kind != TokenKind::kString) return unexpected("a quoted option name");
      std::string key = k.text;
      advance();
      RINGDB_RETURN_IF_ERROR(expect(":"));
      const Token& v = peek();
      if (v.kind != TokenKind::kString && v.kind != TokenKind::kInteger &&
          v.kind != TokenKind::kFloat &&
          !(v.kind == TokenKind::kIdentifier && (v.text == "true" || v.text == "false"))) {
        return unexpected("an option value");
      }
      (*out)[key] = v.text;
      advance();
    } while (accept(","));
    return expect("}");
  }

  Status table_options(std::map<std::string, TableOption>* options, CreateTableStatement* create) {
    do {
      if (create && accept_keyword("clustering")) {
        RINGDB_RETURN_IF_ERROR(expect_keyword("order"));
        RINGDB_RETURN_IF_ERROR(expect_keyword("by"));
        RINGDB_RETURN_IF_ERROR(expect("("));
        std::set<std::string> ordered;
        for (const auto& [name, d] : create->clustering_order) ordered.insert(name);
        do {
          RINGDB_ASSIGN_OR_RETURN(std::string c, identifier());
          bool desc = false;
          if (accept_keyword("desc"))
            desc = true;
          else if (!accept_keyword("asc"))
            return unexpected("ASC or DESC");
          if (!ordered.insert(c).second) {
            return Status::invalid_argument("Duplicate column '" + c +
                                            "' in CLUSTERING ORDER BY clause for table '" +
                                            written_name(*create) + "'");
          }
          create->clustering_order.emplace_back(c, desc);
        } while (accept(","));
        RINGDB_RETURN_IF_ERROR(expect(")"));
        continue;
      }
      if (create && accept_keyword("compact")) {
        RINGDB_RETURN_IF_ERROR(expect_keyword("storage"));
        return Status::syntax_error(
            "COMPACT STORAGE tables are not allowed starting with version 4.0");
      }
      RINGDB_ASSIGN_OR_RETURN(std::string name, identifier());
      RINGDB_RETURN_IF_ERROR(expect("="));
      TableOption option;
      if (is_symbol("{")) {
        option.is_map = true;
        RINGDB_RETURN_IF_ERROR(option_map(&option.map));
      } else {
        const Token& v = peek();
        if (v.kind != TokenKind::kString && v.kind != TokenKind::kInteger &&
            v.kind != TokenKind::kFloat && v.kind != TokenKind::kIdentifier) {
          return unexpected("an option value");
        }
        option.value = v.text;
        advance();
      }
      if (options->count(name))
        return Status::syntax_error("Multiple definition for property '" + name + "'");
      (*options)[name] = std::move(option);
    } while (accept_keyword("and"));
    return Status::ok();
  }

  // Keyspace properties, read as Cassandra's KeyspaceAttributes reads them.
  Status keyspace_options(std::map<std::string, std::string>* replication,
                          std::optional<bool>* durable, bool* has_replication = nullptr) {
    RINGDB_RETURN_IF_ERROR(expect_keyword("with"));
    std::map<std::string, TableOption> options;
    RINGDB_RETURN_IF_ERROR(table_options(&options, nullptr));
    for (auto& [name, value] : options) {
      if (name != "replication" && name != "durable_writes")
        return Status::syntax_error("Unknown property '" + name + "'");
    }
    for (auto& [name, value] : options) {
      if (name == "replication") {
        if (!value.is_map) {
          return Status::syntax_error(
              "Invalid value for property 'replication'. It should be a "
              "map.");
        }
        *replication = value.map;
        if (has_replication) *has_replication = true;
      } else {
        const std::string v = ascii_lower(value.value);
        if (value.is_map ||
            !(v == "true" || v == "false" || v == "yes" || v == "no" || v == "1" || v == "0")) {
          return Status::syntax_error("Invalid boolean value " + value.value +
                                      " for 'durable_writes'. Valid values are 'true' or "
                                      "'false'.");
        }
        *durable = v == "true" || v == "yes" || v == "1";
      }
    }
    return Status::ok();
  }

  Result<CreateKeyspaceStatement> create_keyspace() {
    CreateKeyspaceStatement s;
    RINGDB_RETURN_IF_ERROR(if_not_exists(&s.if_not_exists));
    RINGDB_ASSIGN_OR_RETURN(s.name, identifier());
    RINGDB_RETURN_IF_ERROR(keyspace_options(&s.replication, &s.durable_writes, &s.has_replication));
    return s;
  }

  Result<AlterKeyspaceStatement> alter_keyspace() {
    AlterKeyspaceStatement s;
    RINGDB_ASSIGN_OR_RETURN(s.name, identifier());
    RINGDB_RETURN_IF_ERROR(keyspace_options(&s.replication, &s.durable_writes));
    return s;
  }

  // A type: an identifier, possibly with <...> parameters, collected as text for CqlType::parse.
  Result<std::string> type_text(int depth) {
    if (depth > kNestingDepthMax) return error_at(peek(), "type nested too deeply");
    RINGDB_ASSIGN_OR_RETURN(std::string name, type_name_text());
    if (accept(".")) {  // keyspace.type
      RINGDB_ASSIGN_OR_RETURN(std::string type_name, type_name_text());
      return name + "." + type_name;
    }
    if (!accept("<")) return name;
    std::string out = name + "<";
    do {
      RINGDB_ASSIGN_OR_RETURN(std::string inner, type_text(depth + 1));
      if (out.back() != '<') out += ", ";
      out += inner;
    } while (accept(","));
    RINGDB_RETURN_IF_ERROR(expect(">"));
    return out + ">";
  }

  // CREATE TYPE [IF NOT EXISTS] [ks.]name (field type, ...)
  Result<CreateTypeStatement> create_type() {
    CreateTypeStatement s;
    RINGDB_RETURN_IF_ERROR(if_not_exists(&s.if_not_exists));
    RINGDB_RETURN_IF_ERROR(qualified_name(&s.keyspace, &s.name));
    RINGDB_RETURN_IF_ERROR(expect("("));
    do {
      RINGDB_ASSIGN_OR_RETURN(std::string field, identifier());
      RINGDB_ASSIGN_OR_RETURN(std::string type, type_text(0));
      s.fields.emplace_back(std::move(field), std::move(type));
    } while (accept(","));
    RINGDB_RETURN_IF_ERROR(expect(")"));
    return s;
  }

  // ALTER TYPE name ADD field type | RENAME a TO b [AND c TO d …] | ALTER field TYPE type.
  Result<CreateTypeStatement> alter_type() {
    using Alter = CreateTypeStatement::Alter;
    CreateTypeStatement s;
    RINGDB_RETURN_IF_ERROR(qualified_name(&s.keyspace, &s.name));
    if (accept_keyword("add")) {
      s.alter = Alter::kAdd;
      RINGDB_ASSIGN_OR_RETURN(std::string field, identifier());
      RINGDB_ASSIGN_OR_RETURN(std::string type, type_text(0));
      s.fields.emplace_back(std::move(field), std::move(type));
    } else if (accept_keyword("rename")) {
      s.alter = Alter::kRename;
      do {
        RINGDB_ASSIGN_OR_RETURN(std::string from, identifier());
        RINGDB_RETURN_IF_ERROR(expect_keyword("to"));
        RINGDB_ASSIGN_OR_RETURN(std::string to, identifier());
        s.renames.emplace_back(std::move(from), std::move(to));
      } while (accept_keyword("and"));
    } else if (accept_keyword("alter")) {
      s.alter = Alter::kAlterField;
      RINGDB_ASSIGN_OR_RETURN(std::string field, identifier());
      RINGDB_RETURN_IF_ERROR(expect_keyword("type"));
      RINGDB_ASSIGN_OR_RETURN(std::string type, type_text(0));
      s.fields.emplace_back(std::move(field), std::move(type));
    } else {
      return unexpected("ADD, RENAME or ALTER");
    }
    return s;
  }

  // A name in type text: a quoted one keeps its quotes (a user-defined type "Address").
  Result<std::string> type_name_text() {
    if (peek().kind != TokenKind::kQuotedIdentifier) return identifier();
    std::string out = "\"";
    for (char c : peek().text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    advance();
    return out + "\"";
  }

  // A table's name as the statement writes it (Cassandra's QualifiedName): ks.t or t.
  static std::string written_name(const CreateTableStatement& s) {
    return s.keyspace.empty() ? s.name : s.keyspace + "." + s.name;
  }

  Result<CreateTableStatement> create_table() {
    CreateTableStatement s;
    RINGDB_RETURN_IF_ERROR(if_not_exists(&s.if_not_exists));
    RINGDB_RETURN_IF_ERROR(qualified_name(&s.keyspace, &s.name));
    RINGDB_RETURN_IF_ERROR(expect("("));
    bool have_key = false;
    bool first = true;
    std::set<std::string> declared;  // column names so far (a set: statements can be long)
    do {
      if (!first && is_symbol(")")) break;  // Cassandra's grammar allows a trailing comma
      first = false;
      if (is_keyword("primary") && is_keyword("key", 1)) {
        advance();
        advance();
        if (have_key) return multiple_keys(s);
        have_key = true;
        RINGDB_RETURN_IF_ERROR(expect("("));
        if (accept("(")) {
          do {
            RINGDB_ASSIGN_OR_RETURN(std::string c, identifier());
            s.partition_key.push_back(c);
          } while (accept(","));
          RINGDB_RETURN_IF_ERROR(expect(")"));
        } else {
          RINGDB_ASSIGN_OR_RETURN(std::string c, identifier());
          s.partition_key.push_back(c);
        }
        while (accept(",")) {
          RINGDB_ASSIGN_OR_RETURN(std::string c, identifier());
          s.clustering.push_back(c);
        }
        RINGDB_RETURN_IF_ERROR(expect(")"));
        continue;
      }
      ColumnDefinition c;
      RINGDB_ASSIGN_OR_RETURN(c.name, identifier());
      RINGDB_ASSIGN_OR_RETURN(c.type, type_text(0));
      if (accept_keyword("static")) c.is_static = true;
      if (!declared.insert(c.name).second) {
        return Status::invalid_argument("Duplicate column '" + c.name +
                                        "' declaration for table '" + written_name(s) + "'");
      }
      if (is_keyword("primary")) {
        advance();
        RINGDB_RETURN_IF_ERROR(expect_keyword("key"));
        if (have_key) return multiple_keys(s);
        have_key = true;
        s.partition_key.push_back(c.name);
      }
      s.columns.push_back(std::move(c));
    } while (accept(","));
    RINGDB_RETURN_IF_ERROR(expect(")"));
    // Cassandra's own spelling ("specifed").
    if (!have_key)
      return Status::invalid_argument("No PRIMARY KEY specifed for table '" + written_name(s) +
                                      "' (exactly one required)");
    if (accept_keyword("with")) RINGDB_RETURN_IF_ERROR(table_options(&s.options, &s));
    return s;
  }

  static Status multiple_keys(const CreateTableStatement& s) {
    return Status::invalid_argument("Multiple PRIMARY KEY specified for table '" + written_name(s) +
                                    "' (exactly one required)");
  }

  Result<AlterTableStatement> alter_table() {
    AlterTableStatement s;
    RINGDB_RETURN_IF_ERROR(qualified_name(&s.keyspace, &s.name));
    if (accept_keyword("add")) {
      const bool parenthesised = accept("(");
      do {
        ColumnDefinition c;
        RINGDB_ASSIGN_OR_RETURN(c.name, identifier());
        RINGDB_ASSIGN_OR_RETURN(c.type, type_text(0));
        if (accept_keyword("static")) c.is_static = true;
        s.add.push_back(std::move(c));
      } while (accept(","));
      if (parenthesised) RINGDB_RETURN_IF_ERROR(expect(")"));
    } else if (accept_keyword("drop")) {
      const bool parenthesised = accept("(");
      do {
        RINGDB_ASSIGN_OR_RETURN(std::string c, identifier());
        s.drop.push_back(c);
      } while (accept(","));
      if (parenthesised) RINGDB_RETURN_IF_ERROR(expect(")"));
      if (accept_keyword("using")) {
        // Cassandra's DROP ... USING TIMESTAMP t keeps, for a column added back later, the cells
        // written after t; here a column added back never sees the dropped one's cells.
        RINGDB_RETURN_IF_ERROR(expect_keyword("timestamp"));
        RINGDB_RETURN_IF_ERROR(term(0).status());
        return Status::not_supported(
            "ALTER TABLE ... DROP ... USING TIMESTAMP is not supported yet");
      }
    } else if (accept_keyword("with")) {
      RINGDB_RETURN_IF_ERROR(table_options(&s.options, nullptr));
    } else if (accept_keyword("rename")) {
      do {
        RINGDB_ASSIGN_OR_RETURN(std::string from, identifier());
        RINGDB_RETURN_IF_ERROR(expect_keyword("to"));
        RINGDB_ASSIGN_OR_RETURN(std::string to, identifier());
        s.rename.emplace_back(std::move(from), std::move(to));
      } while (accept_keyword("and"));
    } else if (is_keyword("alter")) {
      // Cassandra 4 parses ALTER c TYPE t and refuses it.
      return Status::invalid_argument("Altering column types is no longer supported");
    } else {
      return unexpected("ADD, DROP, RENAME or WITH");
    }
    return s;
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int bind_count_ = 0;
  std::vector<std::string> bind_names_;
  bool in_conditions_ = false;  // IF …: relations may name a user type's field
};

}  // namespace

Result<ParsedStatement> parse_statement(std::string_view text) {
  if (text.size() > kStatementBytesMax) {
    return Status::invalid_argument("statement of " + std::to_string(text.size()) +
                                    " bytes exceeds the limit of " +
                                    std::to_string(kStatementBytesMax));
  }
  std::vector<Token> tokens;
  RINGDB_RETURN_IF_ERROR(Lexer(text).tokenize(&tokens));
  return Parser(std::move(tokens)).parse();
}

}  // namespace ringdb::cql
