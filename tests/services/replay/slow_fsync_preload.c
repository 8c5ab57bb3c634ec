// A slow disk for a real redis-server, made deterministic: LD_PRELOAD this library and every
// fsync(2)/fdatasync(2) that redis-server makes from a thread other than its main thread (the
// background fsync of `appendfsync everysec`, run by Redis's bio thread) first sleeps
// IVG_SLOW_BACKGROUND_FSYNC_MS milliseconds. That is what a busy or throttled disk does to
// everysec: while the background fsync is still running, Redis postpones the write(2) of its
// append-only buffer for up to 2 seconds and still sends the replies (flushAppendOnlyFile in
// Redis's aof.c), so acknowledged writes exist only in the server's memory meanwhile.
// The main thread's fsyncs (`appendfsync always`) are left at the disk's speed: they only make
// each write slower, never postpone it.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void SleepIfBackgroundThread(void) {
  if (syscall(SYS_gettid) == getpid()) return;  // The main thread: no delay.
  const char* value = getenv("IVG_SLOW_BACKGROUND_FSYNC_MS");
  if (value == NULL) return;
  const long ms = strtol(value, NULL, 10);
  if (ms <= 0) return;
  struct timespec delay = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&delay, &delay) != 0) {
  }
}

int fsync(int fd) {
  static int (*real_fsync)(int) = NULL;
  if (real_fsync == NULL) real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  SleepIfBackgroundThread();
  return real_fsync(fd);
}

int fdatasync(int fd) {
  static int (*real_fdatasync)(int) = NULL;
  if (real_fdatasync == NULL) real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  SleepIfBackgroundThread();
  return real_fdatasync(fd);
}
