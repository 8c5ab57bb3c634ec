// A floor under requested thread stack sizes, linked into the ivg_learner executable only.
//
// Why: Debian's civetweb (which serves /metrics) creates its threads with a fixed 100 KB
// stack (compile-time USE_STACK_SIZE). glibc refuses (EINVAL) a stack smaller than the
// process's static TLS plus guard page, and LibTorch's static TLS alone exceeds 100 KB, so
// mg_start fails in any process that links LibTorch. Defining pthread_attr_setstacksize in
// the executable interposes the libc symbol for the shared libraries; it forwards to libc
// with at least 2 MiB. Larger requests are unchanged.
#include <dlfcn.h>
#include <pthread.h>

#include <algorithm>
#include <cstddef>

extern "C" int pthread_attr_setstacksize(pthread_attr_t* attr, size_t size) noexcept {
  using Fn = int (*)(pthread_attr_t*, size_t);
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "pthread_attr_setstacksize"));
  constexpr size_t kFloor = size_t{2} << 20;
  return real(attr, std::max(size, kFloor));
}
