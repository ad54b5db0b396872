// Always-on invariant checks for our own mistakes (never for user input, which gets a Status).
// A failed check logs the condition with file and line and aborts, so a core dump has context.
#pragma once

namespace ringdb {
[[noreturn]] void check_failed(const char* condition, const char* file, int line,
                               const char* message);
}

#define RINGDB_CHECK(cond)                                              \
  do {                                                                  \
    if (!(cond)) ::ringdb::check_failed(#cond, __FILE__, __LINE__, ""); \
  } while (0)
#define RINGDB_CHECK_MSG(cond, msg)                                      \
  do {                                                                   \
    if (!(cond)) ::ringdb::check_failed(#cond, __FILE__, __LINE__, msg); \
  } while (0)
#ifdef NDEBUG
#define RINGDB_DCHECK(cond) \
  do {                      \
  } while (0)
#else
#define RINGDB_DCHECK(cond) RINGDB_CHECK(cond)
#endif
