// Every config file shipped in configs/ must load and validate: a renamed field in the
// schema breaks this test instead of a user's run.
#include <filesystem>
#include <string>
#include <vector>

#include "common/config/config_loader.h"
#include "gtest/gtest.h"

namespace ivg {
namespace {

std::vector<std::string> ShippedConfigs() {
  std::vector<std::string> paths;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(IVG_SOURCE_DIR) + "/configs")) {
    const std::string extension = entry.path().extension().string();
    if (extension == ".textproto" || extension == ".json") paths.push_back(entry.path().string());
  }
  return paths;
}

TEST(ShippedConfigs, EveryFileInConfigsLoadsAndValidates) {
  const std::vector<std::string> paths = ShippedConfigs();
  ASSERT_GE(paths.size(), 5u) << "configs/ should ship the paper's experiment configs";
  for (const std::string& path : paths) {
    auto config = LoadExperimentConfig(path, {});
    EXPECT_TRUE(config.ok()) << path << ": " << config.status();
  }
}

TEST(ShippedConfigs, MultitaskConfigHasThePapersSourceSet) {
  auto config = LoadExperimentConfig(std::string(IVG_SOURCE_DIR) + "/configs/multitask.textproto", {});
  ASSERT_TRUE(config.ok()) << config.status();
  const std::vector<int> expected = {REACH_RED, REACH_BLUE, LIFT_BLUE, STACK_BLUE, MOVE_BLUE};
  ASSERT_EQ(config->env().multitask_tasks_size(), 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(config->env().multitask_tasks(i), expected[i]);
}

}  // namespace
}  // namespace ivg
