// Names the calling thread, as `top -H`, `ps -L`, `perf` and debuggers show it. Linux keeps at
// most 15 characters; longer names are cut. Best effort: a failure is ignored.
#pragma once

#include <string>

namespace ringdb {

void set_thread_name(const std::string& name);

}  // namespace ringdb
