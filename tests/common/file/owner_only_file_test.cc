#include "common/file/owner_only_file.h"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "gtest/gtest.h"

namespace ivg {
namespace {

TEST(OwnerOnlyFile, IsReadableByItsOwnerOnlyAlsoWhenItExistedWithAnotherMode) {
  const std::string path = ::testing::TempDir() + "/owner_only_file_test.textproto";
  {
    std::ofstream existing(path);  // An existing, world-readable file is made owner-only.
    existing << "old";
  }
  chmod(path.c_str(), 0644);
  ASSERT_TRUE(WriteOwnerOnlyFile(path, "name: \"x\"\n").ok());
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "name: \"x\"\n");
  std::remove(path.c_str());
}

TEST(OwnerOnlyFile, AnUnwritablePathIsAClearError) {
  const absl::Status status = WriteOwnerOnlyFile("/nonexistent-dir/config.textproto", "x");
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("/nonexistent-dir/config.textproto"), std::string::npos);
}

}  // namespace
}  // namespace ivg
