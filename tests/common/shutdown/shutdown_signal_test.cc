#include "common/shutdown/shutdown_signal.h"

#include <csignal>
#include <ctime>
#include <thread>

#include "absl/time/clock.h"
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

TEST(ShutdownSignal, WaitingWithoutATimeoutSleepsInsteadOfSpinning) {
  ResetShutdownForTesting();
  InstallShutdownSignalHandlers();
  std::thread sender([] {
    absl::SleepFor(absl::Milliseconds(600));
    RequestShutdown();
  });
  const std::clock_t cpu_before = std::clock();
  EXPECT_TRUE(WaitForShutdown());  // Infinite timeout.
  const double cpu_seconds = static_cast<double>(std::clock() - cpu_before) / CLOCKS_PER_SEC;
  sender.join();
  // A busy loop burns the whole 0.6 s of waiting as CPU time; sleeping waits burn almost none.
  EXPECT_LT(cpu_seconds, 0.3);
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
