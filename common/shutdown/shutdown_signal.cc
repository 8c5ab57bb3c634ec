#include "common/shutdown/shutdown_signal.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <mutex>

#include "absl/time/clock.h"

namespace ivg {
namespace {

std::atomic<bool> shutdown_requested{false};
int wake_pipe[2] = {-1, -1};
std::once_flag init_once;

void InitPipe() {
  if (pipe(wake_pipe) == 0) {
    for (int fd : wake_pipe) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
}

void Wake() {
  if (wake_pipe[1] >= 0) {
    const char byte = 1;
    // A full pipe already wakes every waiter; the result does not matter.
    [[maybe_unused]] ssize_t ignored = write(wake_pipe[1], &byte, 1);
  }
}

extern "C" void HandleShutdownSignal(int) {
  shutdown_requested.store(true);
  Wake();
}

}  // namespace

void InstallShutdownSignalHandlers() {
  std::call_once(init_once, InitPipe);
  struct sigaction action = {};
  action.sa_handler = HandleShutdownSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool ShutdownRequested() { return shutdown_requested.load(); }

void RequestShutdown() {
  std::call_once(init_once, InitPipe);
  shutdown_requested.store(true);
  Wake();
}

bool WaitForShutdown(absl::Duration timeout) {
  std::call_once(init_once, InitPipe);
  const absl::Time deadline =
      timeout == absl::InfiniteDuration() ? absl::InfiniteFuture() : absl::Now() + timeout;
  while (!shutdown_requested.load()) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    // Poll in slices so a flag set without a pipe write (none today) is still seen.
    // Compare durations before converting: an infinite `left` converts to INT64_MAX, and
    // adding to it would overflow into a zero timeout (a busy loop).
    const int slice_ms = left >= absl::Milliseconds(200)
                             ? 200
                             : static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
    pollfd fd = {wake_pipe[0], POLLIN, 0};
    poll(&fd, 1, slice_ms);
  }
  return shutdown_requested.load();
}

void ResetShutdownForTesting() {
  shutdown_requested.store(false);
  if (wake_pipe[0] >= 0) {
    char buffer[64];
    while (read(wake_pipe[0], buffer, sizeof(buffer)) > 0) {
    }
  }
}

}  // namespace ivg
