#include "common/shutdown/shutdown_signal.h"

#include <csignal>
#include <thread>

#include "gtest/gtest.h"

namespace ivg {
namespace {

TEST(ShutdownSignal, SigtermSetsTheFlagAndWakesWaiters) {
  ResetShutdownForTesting();
  InstallShutdownSignalHandlers();
  EXPECT_FALSE(ShutdownRequested());
  EXPECT_FALSE(WaitForShutdown(absl::Milliseconds(10)));
  std::thread sender([] { std::raise(SIGTERM); });
  EXPECT_TRUE(WaitForShutdown(absl::Seconds(30)));
  sender.join();
  EXPECT_TRUE(ShutdownRequested());
  ResetShutdownForTesting();
}

TEST(ShutdownSignal, SigintAndRequestShutdownBehaveAlike) {
  ResetShutdownForTesting();
  InstallShutdownSignalHandlers();
  std::raise(SIGINT);
  EXPECT_TRUE(WaitForShutdown(absl::Seconds(30)));
  ResetShutdownForTesting();
  RequestShutdown();
  EXPECT_TRUE(ShutdownRequested());
  ResetShutdownForTesting();
}

}  // namespace
}  // namespace ivg
