// Starts the cluster's processes, restarts the ones that crash, and stops them all.
//
// Each child runs in its own process group with its output appended to
// <log_dir>/<name>.log, and with PR_SET_PDEATHSIG so it dies with the launcher even when the
// launcher itself is killed with SIGKILL: Ctrl-C or kill -9 of the launcher leaves no orphans.
// A child that exits while the cluster runs is restarted after a backoff that doubles on
// quick repeated crashes (a learner resumes from its checkpoint, an actor simply starts a
// new episode). Stop() sends SIGTERM to every child, waits for the grace period, then SIGKILL.
#ifndef IVG_SERVICES_LAUNCHER_PROCESS_SUPERVISOR_H_
#define IVG_SERVICES_LAUNCHER_PROCESS_SUPERVISOR_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace ivg::launcher {

struct ProcessSpec {
  // Unique; names the log file and the progress output ("replay-0", "actor-3").
  std::string name;
  std::vector<std::string> argv;
  // Restart when it exits while the cluster is running.
  bool restart = true;
  // Lower starts first and stops last (e.g. 0 replay, 1 param server, 2 learners, 3 actors).
  int stage = 0;
  // "NAME=value" entries the child gets on top of the launcher's environment. A variable the
  // launcher's own environment sets wins: a user's OMP_NUM_THREADS=4 reaches every child.
  std::vector<std::string> environment = {};
  // Scheduling niceness the child starts with (0 = the launcher's own; higher runs later).
  int nice = 0;
  // Processes sharing a non-empty group restart together: when one exits with a failure
  // (a nonzero code or a signal) while the cluster runs, the others are killed (SIGKILL, so
  // none writes state past what the group last shared) and each restarts after its backoff.
  // The synchronous learners form one: a restarted rank alone would meet its old peer's
  // rendezvous store, which serves the previous pairing until that peer notices and exits.
  std::string restart_group = "";
};

struct ProcessStatus {
  std::string name;
  pid_t pid = 0;  // 0 when not running.
  int starts = 0;
  int last_exit_code = 0;  // Negative: killed by that signal.
};

class ProcessSupervisor {
 public:
  ProcessSupervisor(std::string log_dir, absl::Duration initial_backoff = absl::Seconds(1),
                    absl::Duration max_backoff = absl::Seconds(30));
  ~ProcessSupervisor();  // Stop(grace 5 s) if still running.

  ProcessSupervisor(const ProcessSupervisor&) = delete;
  ProcessSupervisor& operator=(const ProcessSupervisor&) = delete;

  // Registers and starts one process now.
  absl::Status Start(const ProcessSpec& spec) ABSL_LOCKS_EXCLUDED(mutex_);

  // Reaps exited children and restarts those due. Call periodically (the launcher's loop
  // does, every few hundred milliseconds).
  void Poll() ABSL_LOCKS_EXCLUDED(mutex_);

  // Stops every process stage by stage, highest first: SIGTERM to a stage, then wait until
  // all of it exited (SIGKILL to what is left after `grace`) before the next stage gets its
  // SIGTERM. Returns when all exited.
  void StopAll(absl::Duration grace) ABSL_LOCKS_EXCLUDED(mutex_);

  std::vector<ProcessStatus> Statuses() const ABSL_LOCKS_EXCLUDED(mutex_);

  // Sends `signal` to the named process (tests use SIGKILL to simulate a crash).
  absl::Status Signal(const std::string& name, int signal) ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  struct Child {
    ProcessSpec spec;
    pid_t pid = 0;
    int starts = 0;
    int last_exit_code = 0;
    absl::Time last_start;
    absl::Time restart_at = absl::InfinitePast();
    absl::Duration backoff;
    // Killed by the supervisor because a member of its restart group failed: its own exit
    // is expected and does not take the group down again.
    bool killed_with_group = false;
  };

  // SIGKILL to the process group of every running member of `group` other than `failed`.
  void KillRestartGroup(const std::string& group, const std::string& failed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  absl::Status Spawn(Child& child) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  // Reaps the named processes until all exited (true) or `deadline` passed (false).
  bool ReapUntil(const std::vector<std::string>& names, absl::Time deadline)
      ABSL_LOCKS_EXCLUDED(mutex_);
  // SIGKILL to those of the named processes still running, and reaps them.
  void KillAndReap(const std::vector<std::string>& names, absl::Duration grace)
      ABSL_LOCKS_EXCLUDED(mutex_);

  const std::string log_dir_;
  const absl::Duration initial_backoff_;
  const absl::Duration max_backoff_;
  mutable absl::Mutex mutex_;
  std::map<std::string, Child> children_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace ivg::launcher

#endif  // IVG_SERVICES_LAUNCHER_PROCESS_SUPERVISOR_H_
