// CQL text → syntax tree. A hand-written lexer and recursive-descent parser for the CQL 3.4
// statements in ast.h. Input comes from strangers: any text yields either a statement or a
// SyntaxError Status naming the line, column and offending token; nothing is asserted, and
// nesting depth and statement length are bounded. Pure functions, thread-safe.
#pragma once

#include <string_view>

#include "common/status.h"
#include "cql/ast.h"

namespace ringdb::cql {

constexpr size_t kStatementBytesMax = size_t{1} << 20;
constexpr int kNestingDepthMax = 32;

[[nodiscard]] Result<ParsedStatement> parse_statement(std::string_view text);

}  // namespace ringdb::cql
