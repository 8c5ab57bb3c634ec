// KeepFreedMemoryInHeap: what it sets, and that IVG_DEFAULT_MALLOC=1 leaves glibc's defaults.
#include "model/core/heap_settings.h"

#include <cstdlib>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <gtest/gtest.h>

namespace ivg::model {
namespace {

#if defined(__GLIBC__)
TEST(HeapSettings, TheEnvironmentCanKeepTheDefaults) {
  ASSERT_EQ(setenv("IVG_DEFAULT_MALLOC", "1", 1), 0);
  EXPECT_EQ(KeepFreedMemoryInHeap(), "malloc: defaults");
  ASSERT_EQ(unsetenv("IVG_DEFAULT_MALLOC"), 0);
}

// After the call, a freed large block stays in the process: allocating it again maps no
// new memory (mallinfo2's hblks counts live mmap'd blocks; arena grows and stays).
TEST(HeapSettings, LargeBlocksComeFromTheHeapAndStayThere) {
  ASSERT_EQ(unsetenv("IVG_DEFAULT_MALLOC"), 0);
  EXPECT_EQ(KeepFreedMemoryInHeap(), "malloc: no mmap, no trim, top pad 64 MB");
  const size_t large = 8u << 20;  // Above glibc's default mmap threshold (128 KB).
  // Blocks mmap'd before the call (libraries' static buffers) stay counted.
  const struct mallinfo2 before = mallinfo2();
  std::vector<char*> blocks;
  for (int i = 0; i < 4; ++i) blocks.push_back(static_cast<char*>(std::malloc(large)));
  const struct mallinfo2 with_blocks = mallinfo2();
  EXPECT_EQ(with_blocks.hblks, before.hblks) << "a large block was mmap'd";
  for (char* block : blocks) std::free(block);
  const struct mallinfo2 freed = mallinfo2();
  EXPECT_GE(freed.arena, with_blocks.arena) << "the heap was trimmed";
  EXPECT_GE(freed.fordblks, 4 * large) << "the freed blocks are not kept for reuse";
}
#endif

}  // namespace
}  // namespace ivg::model
