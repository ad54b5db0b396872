#include "common/thread_name.h"

#include <pthread.h>

namespace ringdb {

void set_thread_name(const std::string& name) {
  constexpr size_t kMaxLength = 15;  // the kernel's TASK_COMM_LEN less the terminator
  pthread_setname_np(pthread_self(), name.substr(0, kMaxLength).c_str());
}

}  // namespace ringdb
