// glibc malloc settings for processes that allocate and free large tensors every step.
#ifndef IVG_MODEL_CORE_HEAP_SETTINGS_H_
#define IVG_MODEL_CORE_HEAP_SETTINGS_H_

#include <string>

namespace ivg::model {

// Keeps freed memory in the process for the next allocation instead of returning it to the
// kernel: no mmap for large blocks, no trimming of the heap's top. A LibTorch step frees
// and re-allocates the same activation maps (several MB each) every step; with glibc's
// defaults each of them comes back as fresh pages, and the kernel faults in and zeroes every
// page again: measured on the 2-core machine, that was most of a learner step (cpu-small
// 404-437 -> 99-112 ms, paper sizes 5.7 -> 0.86 s; bench/README.md "Learner"). The process
// keeps its peak heap instead. Call once at the start of main, before the first tensor. Returns what
// was set, for the process's log ("malloc: defaults" where nothing changed: not glibc, or
// the environment variable IVG_DEFAULT_MALLOC=1, which A/B measurements use).
std::string KeepFreedMemoryInHeap();

}  // namespace ivg::model

#endif  // IVG_MODEL_CORE_HEAP_SETTINGS_H_
