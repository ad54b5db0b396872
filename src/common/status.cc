#include "common/status.h"

namespace ringdb {

const char* status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kConfigError:
      return "ConfigError";
    case StatusCode::kFunctionFailure:
      return "FunctionFailure";
    case StatusCode::kUnauthorized:
      return "Unauthorized";
    case StatusCode::kSyntaxError:
      return "SyntaxError";
    case StatusCode::kInvalidArgument:
      return "InvalidArgument";
    case StatusCode::kNotFound:
      return "NotFound";
    case StatusCode::kAlreadyExists:
      return "AlreadyExists";
    case StatusCode::kCorruption:
      return "Corruption";
    case StatusCode::kIOError:
      return "IOError";
    case StatusCode::kWouldBlock:
      return "WouldBlock";
    case StatusCode::kOverloaded:
      return "Overloaded";
    case StatusCode::kUnavailable:
      return "Unavailable";
    case StatusCode::kTimeout:
      return "Timeout";
    case StatusCode::kReadTimeout:
      return "ReadTimeout";
    case StatusCode::kReadFailure:
      return "ReadFailure";
    case StatusCode::kNotSupported:
      return "NotSupported";
    case StatusCode::kInternal:
      return "Internal";
  }
  return "Unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "OK";
  return std::string(status_code_name(code_)) + ": " + message_;
}

}  // namespace ringdb
