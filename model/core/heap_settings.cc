#include "model/core/heap_settings.h"

#include <climits>
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ivg::model {

namespace {
constexpr char kDefaults[] = "malloc: defaults";
}  // namespace

std::string KeepFreedMemoryInHeap() {
#if defined(__GLIBC__)
  const char* keep_defaults = std::getenv("IVG_DEFAULT_MALLOC");
  if (keep_defaults != nullptr && std::strcmp(keep_defaults, "1") == 0) return kDefaults;
  // Every block from the heap (an mmap'd block is unmapped on free, its pages lost)...
  if (mallopt(M_MMAP_MAX, 0) != 1) return kDefaults;
  // ...whose top is never handed back, and which grows 64 MB at a time.
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
  mallopt(M_TOP_PAD, 64 << 20);
  return "malloc: no mmap, no trim, top pad 64 MB";
#else
  return kDefaults;
#endif
}

}  // namespace ivg::model
