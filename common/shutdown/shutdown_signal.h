// Process-wide shutdown request, set by SIGINT/SIGTERM.
//
// The signal handler only sets a flag and writes one byte to a self-pipe (both
// async-signal-safe); the main thread waits on the pipe and then stops services in order
// (GrpcServerHost::Stop). Nothing else runs inside the handler.
#ifndef IVG_COMMON_SHUTDOWN_SHUTDOWN_SIGNAL_H_
#define IVG_COMMON_SHUTDOWN_SHUTDOWN_SIGNAL_H_

#include "absl/time/time.h"

namespace ivg {

// Installs handlers for SIGINT and SIGTERM. Idempotent.
void InstallShutdownSignalHandlers();

// True once a shutdown signal arrived or RequestShutdown() was called.
bool ShutdownRequested();

// Sets the flag as a signal would (for tests and for fatal errors in worker threads).
void RequestShutdown();

// Blocks until shutdown is requested or `timeout` passes; returns ShutdownRequested().
bool WaitForShutdown(absl::Duration timeout = absl::InfiniteDuration());

// Clears the flag (tests only: a process shuts down once).
void ResetShutdownForTesting();

}  // namespace ivg

#endif  // IVG_COMMON_SHUTDOWN_SHUTDOWN_SIGNAL_H_
