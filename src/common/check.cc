#include "common/check.h"

#include <cstdio>
#include <cstdlib>

namespace ringdb {

void check_failed(const char* condition, const char* file, int line, const char* message) {
  std::fprintf(stderr, "CHECK failed: %s at %s:%d %s\n", condition, file, line, message);
  std::fflush(stderr);
  std::abort();
}

}  // namespace ringdb
