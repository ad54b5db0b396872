// Status and Result<T>: errors as values at module borders.
//
// A Status is a code plus a human-readable message. Codes are few and exist only where a
// caller reacts differently; details belong in the message. Both types are [[nodiscard]] so an
// ignored error is a compile error. Plain values, safe to copy between threads.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace ringdb {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller's input is wrong (maps to CQL Invalid at the edge)
  kSyntaxError,      // statement text that does not parse (CQL SyntaxError)
  kNotFound,
  kAlreadyExists,
  kCorruption,   // stored bytes do not decode: a bug or a disk fault
  kIOError,      // the OS or RocksDB failed an operation
  kOverloaded,   // a bounded queue is full: back off and retry
  kWouldBlock,   // answering needs disk I/O: retry where blocking is allowed
  kUnavailable,  // not enough replicas / component stopped
  kTimeout,
  kNotSupported,  // a feature that is not implemented yet, said plainly
  kInternal,
  kConfigError,  // a schema option that names no known class or value (CQL ConfigError)
  // A function failed on its arguments (CQL FunctionFailure). The message must read
  // "execution of 'keyspace.name[argtype, ...]' failed: detail", from which the edge takes the
  // error's function fields.
  kFunctionFailure,
  kUnauthorized,  // not allowed to anyone (CQL Unauthorized), such as changing system keyspaces
  kReadTimeout,   // a read ran past its time budget (CQL ReadTimeout)
  kReadFailure,   // a replica could not serve the read, such as an index being built (ReadFailure)
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }
  static Status invalid_argument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status syntax_error(std::string m) { return {StatusCode::kSyntaxError, std::move(m)}; }
  static Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status already_exists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status io_error(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status would_block(std::string m) { return {StatusCode::kWouldBlock, std::move(m)}; }
  static Status overloaded(std::string m) { return {StatusCode::kOverloaded, std::move(m)}; }
  static Status unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status timeout(std::string m) { return {StatusCode::kTimeout, std::move(m)}; }
  static Status read_timeout(std::string m) { return {StatusCode::kReadTimeout, std::move(m)}; }
  static Status read_failure(std::string m) { return {StatusCode::kReadFailure, std::move(m)}; }
  static Status not_supported(std::string m) { return {StatusCode::kNotSupported, std::move(m)}; }
  static Status internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status config_error(std::string m) { return {StatusCode::kConfigError, std::move(m)}; }
  static Status unauthorized(std::string m) { return {StatusCode::kUnauthorized, std::move(m)}; }
  static Status function_failure(std::string m) {
    return {StatusCode::kFunctionFailure, std::move(m)};
  }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

  bool operator==(const Status&) const = default;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Result<T> holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(state_).is_ok() && "Result from an OK status has no value");
  }

  bool is_ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(state_);
  }
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace ringdb

// Propagates a non-OK Status from an expression returning Status.
#define RINGDB_RETURN_IF_ERROR(expr)                    \
  do {                                                  \
    ::ringdb::Status ringdb_status_ = (expr);           \
    if (!ringdb_status_.is_ok()) return ringdb_status_; \
  } while (0)

#define RINGDB_CONCAT_INNER(a, b) a##b
#define RINGDB_CONCAT(a, b) RINGDB_CONCAT_INNER(a, b)
// Declares `lhs` from a Result<T> expression, or returns its Status.
#define RINGDB_ASSIGN_OR_RETURN(lhs, expr) \
  RINGDB_ASSIGN_OR_RETURN_IMPL(RINGDB_CONCAT(ringdb_result_, __LINE__), lhs, expr)
#define RINGDB_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.is_ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
