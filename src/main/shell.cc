// `ringdb cql`: an interactive shell in the manner of cqlsh.
#include <editline/readline.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cql/client.h"
#include "main/tools.h"
#include "schema/values.h"

namespace ringdb::tools {
namespace {

using cql::ColumnSpec;
using cql::Consistency;
using cql::CqlClient;
using cql::Response;

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// A CQL string literal for `s` (quotes doubled), for names the user typed.
std::string literal(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out.push_back(c);
    if (c == '\'') out.push_back('\'');
  }
  return out + "'";
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n;");
  return e == std::string::npos || e < b ? "" : s.substr(b, e - b + 1);
}

// cqlsh shows text-like values without quotes.
std::string display(const schema::CqlType& type, const std::optional<Bytes>& v) {
  if (!v) return "null";
  std::string s = schema::format_value(type, *v);
  if (s.size() >= 2 && s.front() == '\'' && s.back() == '\'') {
    s = s.substr(1, s.size() - 2);
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      out.push_back(s[i]);
      if (s[i] == '\'' && i + 1 < s.size() && s[i + 1] == '\'') ++i;
    }
    return out;
  }
  return s;
}

const char* error_name(cql::ErrorCode code) {
  switch (code) {
    case cql::ErrorCode::kSyntaxError:
      return "SyntaxException";
    case cql::ErrorCode::kInvalid:
      return "InvalidRequest";
    case cql::ErrorCode::kAlreadyExists:
      return "AlreadyExists";
    case cql::ErrorCode::kConfigError:
      return "ConfigurationException";
    case cql::ErrorCode::kUnprepared:
      return "Unprepared";
    case cql::ErrorCode::kOverloaded:
      return "Overloaded";
    case cql::ErrorCode::kProtocolError:
      return "ProtocolError";
    case cql::ErrorCode::kUnavailable:
      return "Unavailable";
    case cql::ErrorCode::kReadTimeout:
      return "ReadTimeout";
    case cql::ErrorCode::kWriteTimeout:
      return "WriteTimeout";
    case cql::ErrorCode::kUnauthorized:
      return "Unauthorized";
    case cql::ErrorCode::kFunctionFailure:
      return "FunctionFailure";
    case cql::ErrorCode::kServerError:
      return "ServerError";
    default:
      return "Error";
  }
}

class Shell {
 public:
  Shell(std::unique_ptr<CqlClient> client, std::ostream& out)
      : client_(std::move(client)), out_(out) {}

  // Runs one statement or shell command; false on error.
  bool run(const std::string& raw) {
    const std::string text = trim(raw);
    if (text.empty()) return true;
    std::istringstream words(text);
    std::string first;
    words >> first;
    const std::string command = upper(first);
    if (command == "DESCRIBE" || command == "DESC") return describe(words);
    if (command == "CONSISTENCY") return consistency(words);
    if (command == "PAGING") return paging(words);
    if (command == "HELP") {
      out_ << "CQL statements end with ';'. Shell commands: DESCRIBE KEYSPACES | KEYSPACE <ks> | "
              "TABLES | TABLE <t> | TYPES | TYPE <t>,\n"
              "CONSISTENCY [level], PAGING [ON | OFF | <page size>], EXIT.\n";
      return true;
    }
    return statement(text);
  }
  std::string prompt() const { return keyspace_.empty() ? "cqlsh> " : "cqlsh:" + keyspace_ + "> "; }

 private:
  bool statement(const std::string& text) {
    cql::QueryOptions options;
    options.consistency = consistency_;
    options.page_size = page_size_;
    std::vector<ColumnSpec> columns;
    std::vector<cql::RowValues> rows;
    bool is_rows = false;
    for (;;) {
      auto r = client_->query(text, options);
      if (!r.is_ok()) {
        out_ << "ConnectionError: " << r.status().message() << "\n";
        return false;
      }
      if (r->is_error) {
        out_ << error_name(r->error.code) << ": Error from server: code=" << std::hex
             << static_cast<int>(r->error.code) << std::dec << " message=\"" << r->error.message
             << "\"\n";
        return false;
      }
      const auto& result = r->result;
      if (result.kind == cql::ResultMessage::Kind::kSetKeyspace) keyspace_ = result.keyspace;
      if (result.kind != cql::ResultMessage::Kind::kRows) return true;
      is_rows = true;
      columns = result.columns;
      rows.insert(rows.end(), result.rows.begin(), result.rows.end());
      if (!result.paging_state || page_size_ <= 0) break;
      options.paging_state = result.paging_state;
    }
    if (is_rows) print_table(columns, rows);
    return true;
  }

  void print_table(const std::vector<ColumnSpec>& columns,
                   const std::vector<cql::RowValues>& rows) {
    std::vector<size_t> widths;
    std::vector<std::vector<std::string>> cells;
    for (const auto& c : columns) widths.push_back(c.name.size());
    for (const auto& row : rows) {
      std::vector<std::string> line;
      for (size_t i = 0; i < columns.size(); ++i) {
        line.push_back(display(columns[i].type, i < row.size() ? row[i] : std::nullopt));
        widths[i] = std::max(widths[i], line.back().size());
      }
      cells.push_back(std::move(line));
    }
    out_ << "\n";
    for (size_t i = 0; i < columns.size(); ++i) {
      out_ << (i ? " | " : " ") << std::string(widths[i] - columns[i].name.size(), ' ')
           << columns[i].name;
    }
    out_ << "\n";
    for (size_t i = 0; i < columns.size(); ++i)
      out_ << (i ? "-+-" : "-") << std::string(widths[i], '-');
    out_ << "-\n";
    for (const auto& line : cells) {
      for (size_t i = 0; i < line.size(); ++i) {
        const bool numeric =
            !line[i].empty() &&
            (std::isdigit(static_cast<unsigned char>(line[i][0])) || line[i][0] == '-');
        const std::string pad(widths[i] - line[i].size(), ' ');
        out_ << (i ? " | " : " ") << (numeric ? pad + line[i] : line[i] + pad);
      }
      out_ << "\n";
    }
    out_ << "\n(" << rows.size() << " rows)\n";
  }

  bool consistency(std::istringstream& words) {
    std::string level;
    if (!(words >> level)) {
      out_ << "Current consistency level is " << cql::consistency_name(consistency_) << ".\n";
      return true;
    }
    static const cql::Consistency kLevels[] = {
        Consistency::kAny,         Consistency::kOne,        Consistency::kTwo,
        Consistency::kThree,       Consistency::kQuorum,     Consistency::kAll,
        Consistency::kLocalQuorum, Consistency::kEachQuorum, Consistency::kSerial,
        Consistency::kLocalSerial, Consistency::kLocalOne};
    for (auto l : kLevels) {
      if (upper(trim(level)) == cql::consistency_name(l)) {
        consistency_ = l;
        out_ << "Consistency level set to " << cql::consistency_name(l) << ".\n";
        return true;
      }
    }
    out_ << "Improper CONSISTENCY command: unknown level " << level << "\n";
    return false;
  }

  bool paging(std::istringstream& words) {
    std::string arg;
    if (!(words >> arg)) {
      out_ << "Query paging is currently " << (page_size_ > 0 ? "enabled" : "disabled") << ".\n";
      return true;
    }
    arg = upper(trim(arg));
    if (arg == "OFF") {
      page_size_ = -1;
      out_ << "Disabled Query paging.\n";
    } else if (arg == "ON") {
      page_size_ = 100;
      out_ << "Now Query paging is enabled\nPage size: 100\n";
    } else {
      try {
        page_size_ = std::stoi(arg);
      } catch (...) {
        out_ << "Improper PAGING command.\n";
        return false;
      }
      out_ << "Page size: " << page_size_ << "\n";
    }
    return true;
  }

  std::vector<cql::RowValues> rows_of(const std::string& cql) {
    auto r = client_->query(cql);
    if (!r.is_ok() || r->is_error) return {};
    return r->result.rows;
  }
  static std::string text(const std::optional<Bytes>& v) { return v ? std::string(*v) : ""; }

  bool describe(std::istringstream& words) {
    std::string what, name;
    words >> what;
    std::getline(words, name);
    what = upper(trim(what));
    name = trim(name);
    if (what == "KEYSPACES") {
      for (const auto& row : rows_of("SELECT keyspace_name FROM system_schema.keyspaces"))
        out_ << text(row[0]) << "  ";
      out_ << "\n";
      return true;
    }
    if (what == "TABLES") {
      std::string ks = name.empty() ? keyspace_ : name;
      auto rows = rows_of("SELECT keyspace_name, table_name FROM system_schema.tables");
      std::string current;
      for (const auto& row : rows) {
        if (!ks.empty() && text(row[0]) != ks) continue;
        if (text(row[0]) != current) {
          current = text(row[0]);
          out_ << "\nKeyspace " << current << "\n---------\n";
        }
        out_ << text(row[1]) << "  ";
      }
      out_ << "\n";
      return true;
    }
    if (what == "TYPES") {
      std::string ks = name.empty() ? keyspace_ : name;
      std::string current;
      for (const auto& row : rows_of("SELECT keyspace_name, type_name FROM system_schema.types")) {
        if (!ks.empty() && text(row[0]) != ks) continue;
        if (text(row[0]) != current) {
          current = text(row[0]);
          out_ << "\nKeyspace " << current << "\n---------\n";
        }
        out_ << schema::cql_name(text(row[1])) << "  ";
      }
      out_ << "\n";
      return true;
    }
    if (what == "KEYSPACE" || what == "TABLE" || what == "COLUMNFAMILY" || what == "TYPE") {
      std::string ks = keyspace_, table;
      if (what == "KEYSPACE") {
        ks = name.empty() ? keyspace_ : name;
      } else {
        // ks.table, either part quoted ("MyTable") or not (then case-insensitive).
        std::vector<std::string> parts(1);
        bool quoted = false;
        for (size_t i = 0; i < name.size(); ++i) {
          const char c = name[i];
          if (c == '"') {
            if (quoted && i + 1 < name.size() && name[i + 1] == '"') {
              parts.back() += '"';
              ++i;
            } else {
              quoted = !quoted;
            }
          } else if (c == '.' && !quoted) {
            parts.emplace_back();
          } else {
            parts.back() +=
                quoted ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          }
        }
        if (parts.size() == 2) {
          ks = parts[0];
          table = parts[1];
        } else {
          table = parts[0];
        }
      }
      if (ks.empty()) {
        out_ << "No keyspace specified and no current keyspace\n";
        return false;
      }
      bool found = false;
      if (what == "KEYSPACE") {
        for (const auto& row : rows_of("SELECT keyspace_name, durable_writes, replication FROM "
                                       "system_schema.keyspaces WHERE keyspace_name = " +
                                       literal(ks))) {
          found = true;
          out_ << "\nCREATE KEYSPACE " << schema::cql_name(ks) << " WITH replication = "
               << schema::format_value(*schema::CqlType::parse("map<text, text>"), *row[2])
               << " AND durable_writes = " << (row[1] && (*row[1])[0] ? "true" : "false") << ";\n";
        }
      }
      if (what == "KEYSPACE" || what == "TYPE")
        found = describe_types(ks, what == "TYPE" ? table : "") || found;
      for (const auto& t :
           rows_of("SELECT table_name FROM system_schema.tables WHERE keyspace_name = " +
                   literal(ks))) {
        if (what == "TYPE") break;
        if (!table.empty() && text(t[0]) != table) continue;
        found = true;
        describe_table(ks, text(t[0]));
      }
      if (!found) {
        out_ << (what == "KEYSPACE" ? "Keyspace '" + ks + "' not found\n"
                 : what == "TYPE"   ? "User type '" + ks + "." + table + "' not found\n"
                                    : "Table '" + ks + "." + table + "' not found\n");
        return false;
      }
      return true;
    }
    out_ << "Improper DESCRIBE command.\n";
    return false;
  }

  // CREATE TYPE statements for `only` (or every type of `ks`, each after the types its fields
  // use, so the output runs as it is). True when any was printed.
  bool describe_types(const std::string& ks, const std::string& only) {
    struct Type {
      std::string name;
      std::vector<std::pair<std::string, std::string>> fields;  // name, type text
    };
    std::vector<Type> pending;
    for (const auto& row : rows_of("SELECT type_name, field_names, field_types FROM "
                                   "system_schema.types WHERE keyspace_name = " +
                                   literal(ks))) {
      if (!only.empty() && text(row[0]) != only) continue;
      std::vector<Bytes> names, types;
      if (!row[1] || !row[2] || !schema::split_collection(*row[1], false, &names).is_ok() ||
          !schema::split_collection(*row[2], false, &types).is_ok() || names.size() != types.size())
        continue;
      Type t{text(row[0]), {}};
      for (size_t i = 0; i < names.size(); ++i) t.fields.emplace_back(names[i], types[i]);
      pending.push_back(std::move(t));
    }
    const bool any = !pending.empty();
    while (!pending.empty()) {
      // The first type whose fields name no type still to print (all of them if none is: a
      // cycle cannot happen, a type's fields only name types that existed before it).
      auto uses_pending = [&](const Type& t) {
        for (const auto& other : pending) {
          if (other.name == t.name) continue;
          const std::string used = schema::cql_name(other.name);
          for (const auto& [field, type] : t.fields) {
            for (size_t at = type.find(used); at != std::string::npos;
                 at = type.find(used, at + 1)) {
              auto name_char = [&](size_t i) {
                return std::isalnum(static_cast<unsigned char>(type[i])) || type[i] == '_';
              };
              const size_t end = at + used.size();
              if ((at == 0 || !name_char(at - 1)) && (end == type.size() || !name_char(end)))
                return true;
            }
          }
        }
        return false;
      };
      auto next = std::find_if(pending.begin(), pending.end(),
                               [&](const Type& t) { return !uses_pending(t); });
      if (next == pending.end()) next = pending.begin();
      out_ << "\nCREATE TYPE " << schema::cql_name(ks) << "." << schema::cql_name(next->name)
           << " (\n";
      for (size_t i = 0; i < next->fields.size(); ++i) {
        out_ << "    " << schema::cql_name(next->fields[i].first) << " " << next->fields[i].second
             << (i + 1 < next->fields.size() ? ",\n" : "\n");
      }
      out_ << ");\n";
      pending.erase(next);
    }
    return any;
  }

  // CREATE TABLE as cqlsh prints it (the drivers' schema export): a single key column inline,
  // CLUSTERING ORDER BY first, then every table option in alphabetical order, so that the output
  // re-creates the table as it is.
  void describe_table(const std::string& ks, const std::string& table) {
    auto columns = rows_of(
        "SELECT column_name, clustering_order, kind, position, type FROM system_schema.columns "
        "WHERE keyspace_name = " +
        literal(ks) + " AND table_name = " + literal(table));
    struct Column {
      std::string name, order, kind, type;
      int32_t position;
    };
    std::vector<Column> cols;
    for (const auto& r : columns) {
      BufferReader pr(*r[3]);
      int32_t position = -1;
      (void)pr.get_i32(&position);
      cols.push_back({text(r[0]), text(r[1]), text(r[2]), text(r[4]), position});
    }
    auto by_kind = [&](const std::string& kind) {
      std::vector<Column> out;
      for (const auto& c : cols) {
        if (c.kind == kind) out.push_back(c);
      }
      std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.position < b.position; });
      return out;
    };
    auto pk = by_kind("partition_key");
    auto ck = by_kind("clustering");
    const bool inline_key = pk.size() == 1 && ck.empty();
    out_ << "\nCREATE TABLE " << schema::cql_name(ks) << "." << schema::cql_name(table) << " (\n";
    std::vector<std::string> lines;
    for (const auto& group : {pk, ck, by_kind("static"), by_kind("regular")}) {
      for (const auto& c : group) {
        lines.push_back("    " + schema::cql_name(c.name) + " " + c.type +
                        (c.kind == "static" ? " static" : "") +
                        (inline_key && c.kind == "partition_key" ? " PRIMARY KEY" : ""));
      }
    }
    if (!inline_key) {
      std::string key = "    PRIMARY KEY (";
      if (pk.size() > 1) key += "(";
      for (size_t i = 0; i < pk.size(); ++i) key += (i ? ", " : "") + schema::cql_name(pk[i].name);
      if (pk.size() > 1) key += ")";
      for (const auto& c : ck) key += ", " + schema::cql_name(c.name);
      lines.push_back(key + ")");
    }
    for (size_t i = 0; i < lines.size(); ++i)
      out_ << lines[i] << (i + 1 < lines.size() ? ",\n" : "\n");
    out_ << ")";
    std::vector<std::string> with;
    if (!ck.empty()) {
      std::string order = "CLUSTERING ORDER BY (";
      for (size_t i = 0; i < ck.size(); ++i)
        order += (i ? ", " : "") + schema::cql_name(ck[i].name) + " " + upper(ck[i].order);
      with.push_back(order + ")");
    }
    auto r =
        client_->query("SELECT * FROM system_schema.tables WHERE keyspace_name = " + literal(ks) +
                       " AND table_name = " + literal(table));
    if (r.is_ok() && !r->is_error && !r->result.rows.empty()) {
      const auto& row = r->result.rows[0];
      std::vector<std::string> options;
      for (size_t i = 0; i < r->result.columns.size() && i < row.size(); ++i) {
        const auto& spec = r->result.columns[i];
        // Not options, or (the read repair chances) options Cassandra 4 no longer has.
        static const char* const kNotOptions[] = {"keyspace_name",
                                                  "table_name",
                                                  "flags",
                                                  "id",
                                                  "read_repair_chance",
                                                  "dclocal_read_repair_chance"};
        if (std::find(std::begin(kNotOptions), std::end(kNotOptions), spec.name) !=
                std::end(kNotOptions) ||
            !row[i]) {
          continue;
        }
        options.push_back(spec.name + " = " + schema::format_value(spec.type, *row[i]));
      }
      std::sort(options.begin(), options.end());
      with.insert(with.end(), options.begin(), options.end());
    }
    for (size_t i = 0; i < with.size(); ++i) out_ << (i ? "\n    AND " : " WITH ") << with[i];
    out_ << ";\n";
    // Its secondary indexes, as cqlsh prints them after the table.
    for (const auto& row : rows_of("SELECT index_name, options FROM system_schema.indexes WHERE "
                                   "keyspace_name = " +
                                   literal(ks) + " AND table_name = " + literal(table))) {
      std::vector<Bytes> parts;
      if (!row[1] || !schema::split_collection(*row[1], true, &parts).is_ok()) continue;
      for (size_t i = 0; i + 1 < parts.size(); i += 2) {
        if (parts[i] != "target") continue;
        out_ << "\nCREATE INDEX " << schema::cql_name(text(row[0])) << " ON "
             << schema::cql_name(ks) << "." << schema::cql_name(table) << " (" << parts[i + 1]
             << ");\n";
      }
    }
  }

  std::unique_ptr<CqlClient> client_;
  std::ostream& out_;
  std::string keyspace_;
  Consistency consistency_ = Consistency::kOne;
  int page_size_ = 100;
};

// Splits text into statements at ';' outside quotes and comments.
std::vector<std::string> split_statements(const std::string& text, std::string* rest) {
  std::vector<std::string> out;
  std::string current;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote) {
      current.push_back(c);
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '-' && i + 1 < text.size() && text[i + 1] == '-') {
      while (i < text.size() && text[i] != '\n') ++i;
      current.push_back('\n');
      continue;
    } else if (c == ';') {
      // BEGIN BATCH … APPLY BATCH holds semicolons of its own.
      std::string u = upper(current);
      if (u.find("BEGIN") != std::string::npos && u.find("APPLY BATCH") == std::string::npos) {
        current.push_back(c);
        continue;
      }
      out.push_back(current);
      current.clear();
      continue;
    }
    current.push_back(c);
  }
  *rest = current;
  return out;
}

}  // namespace

int run_shell(const ShellOptions& options) {
  auto client = CqlClient::connect(options.host, options.port);
  if (!client.is_ok()) {
    std::fprintf(stderr, "Connection error: %s\n", client.status().message().c_str());
    return 1;
  }
  Shell shell(std::move(client).value(), std::cout);
  if (!options.keyspace.empty() && !shell.run("USE " + options.keyspace)) return 2;
  auto run_text = [&](const std::string& text) {
    std::string rest;
    bool ok = true;
    for (const auto& s : split_statements(text + ";", &rest)) ok &= shell.run(s);
    return ok;
  };
  if (!options.execute.empty()) return run_text(options.execute) ? 0 : 2;
  if (!options.file.empty()) {
    std::ifstream in(options.file);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", options.file.c_str());
      return 1;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return run_text(ss.str()) ? 0 : 2;
  }
  const bool tty = isatty(STDIN_FILENO);
  const std::string history =
      std::string(getenv("HOME") ? getenv("HOME") : ".") + "/.ringdb_cql_history";
  if (tty) {
    read_history(history.c_str());
    std::printf("Connected to RingDB at %s:%u.\nUse HELP for help.\n", options.host.c_str(),
                options.port);
  }
  std::string buffer;
  bool ok = true;
  for (;;) {
    std::string line;
    if (tty) {
      char* raw = readline(buffer.empty() ? shell.prompt().c_str() : "   ... ");
      if (raw == nullptr) break;
      line = raw;
      free(raw);
      if (!trim(line).empty()) add_history(line.c_str());
    } else if (!std::getline(std::cin, line)) {
      break;
    }
    const std::string word = upper(trim(line));
    if (buffer.empty() && (word == "EXIT" || word == "QUIT")) break;
    buffer += line + "\n";
    std::string rest;
    for (const auto& s : split_statements(buffer, &rest)) ok &= shell.run(s);
    buffer = trim(rest).empty() ? "" : rest;
    // Shell commands need no ';'.
    const std::string first = upper(trim(buffer).substr(0, trim(buffer).find(' ')));
    if (!buffer.empty() && (first == "DESCRIBE" || first == "DESC" || first == "CONSISTENCY" ||
                            first == "PAGING" || first == "HELP")) {
      ok &= shell.run(buffer);
      buffer.clear();
    }
  }
  if (!trim(buffer).empty()) ok &= shell.run(buffer);
  if (tty) write_history(history.c_str());
  return ok ? 0 : 2;
}

}  // namespace ringdb::tools
