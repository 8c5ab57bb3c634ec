#include "services/launcher/process_supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "glog/logging.h"

namespace ivg::launcher {
namespace {

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return -WTERMSIG(wait_status);
  return 0;
}

}  // namespace

ProcessSupervisor::ProcessSupervisor(std::string log_dir, absl::Duration initial_backoff,
                                     absl::Duration max_backoff)
    : log_dir_(std::move(log_dir)),
      initial_backoff_(initial_backoff),
      max_backoff_(max_backoff) {}

ProcessSupervisor::~ProcessSupervisor() { StopAll(absl::Seconds(5)); }

absl::Status ProcessSupervisor::Start(const ProcessSpec& spec) {
  absl::MutexLock lock(&mutex_);
  if (spec.argv.empty()) return absl::InvalidArgumentError(absl::StrCat(spec.name, ": empty argv"));
  if (children_.count(spec.name) > 0) {
    return absl::AlreadyExistsError(absl::StrCat("process '", spec.name, "' already started"));
  }
  Child& child = children_[spec.name];
  child.spec = spec;
  child.backoff = initial_backoff_;
  return Spawn(child);
}

absl::Status ProcessSupervisor::Spawn(Child& child) {
  const std::string log_path = absl::StrCat(log_dir_, "/", child.spec.name, ".log");
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open log '", log_path, "': ", std::strerror(errno)));
  }
  std::vector<char*> argv;
  for (const std::string& arg : child.spec.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  // Built before fork: the child may only make async-signal-safe calls.
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) environment.emplace_back(*entry);
  for (const std::string& extra : child.spec.environment) {
    const std::string name = extra.substr(0, extra.find('=') + 1);
    const bool already_set = std::any_of(
        environment.begin(), environment.end(),
        [&](const std::string& e) { return e.compare(0, name.size(), name) == 0; });
    if (!already_set) environment.push_back(extra);
  }
  std::vector<char*> envp;
  for (std::string& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return absl::UnavailableError(absl::StrCat("fork failed: ", std::strerror(errno)));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // The launcher died before prctl took effect.
    setpgid(0, 0);  // Ctrl-C in the terminal reaches the launcher only; it stops children in order.
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (child.spec.nice != 0) setpriority(PRIO_PROCESS, 0, child.spec.nice);
    execvpe(argv[0], argv.data(), envp.data());
    const char message[] = "exec failed\n";
    [[maybe_unused]] ssize_t ignored = write(STDERR_FILENO, message, sizeof(message) - 1);
    _exit(127);
  }
  close(log_fd);
  child.pid = pid;
  child.starts += 1;
  child.last_start = absl::Now();
  LOG(INFO) << "started " << child.spec.name << " (pid " << pid << "): "
            << absl::StrJoin(child.spec.argv, " ");
  return absl::OkStatus();
}

void ProcessSupervisor::Poll() {
  absl::MutexLock lock(&mutex_);
  const absl::Time now = absl::Now();
  for (auto& [name, child] : children_) {
    if (child.pid > 0) {
      int wait_status = 0;
      const pid_t result = waitpid(child.pid, &wait_status, WNOHANG);
      if (result != child.pid) continue;
      child.pid = 0;
      child.last_exit_code = ExitCodeOf(wait_status);
      const bool killed_with_group = child.killed_with_group;
      child.killed_with_group = false;
      if (stopping_ || !child.spec.restart) {
        LOG(INFO) << name << " exited with " << child.last_exit_code;
        continue;
      }
      if (!child.spec.restart_group.empty() && child.last_exit_code != 0 && !killed_with_group) {
        KillRestartGroup(child.spec.restart_group, name);
      }
      // A process that ran for a while gets a fresh backoff; quick crash loops back off.
      if (now - child.last_start > absl::Minutes(1)) child.backoff = initial_backoff_;
      child.restart_at = now + child.backoff;
      LOG(WARNING) << name << " exited with " << child.last_exit_code << "; restarting in "
                   << child.backoff << " (log: " << log_dir_ << "/" << name << ".log)";
      child.backoff = std::min(child.backoff * 2, max_backoff_);
    } else if (!stopping_ && child.spec.restart && child.restart_at <= now &&
               child.restart_at != absl::InfinitePast()) {
      child.restart_at = absl::InfinitePast();
      if (absl::Status status = Spawn(child); !status.ok()) {
        LOG(ERROR) << "restarting " << name << ": " << status;
        child.restart_at = now + child.backoff;
      }
    }
  }
}

void ProcessSupervisor::KillRestartGroup(const std::string& group, const std::string& failed) {
  for (auto& [name, member] : children_) {
    if (name == failed || member.spec.restart_group != group || member.pid <= 0) continue;
    LOG(WARNING) << name << " is killed to restart with " << failed << " (restart group '"
                 << group << "')";
    member.killed_with_group = true;
    // Its process group (the child calls setpgid(0, 0)); the pid alone if that is not yet so.
    if (kill(-member.pid, SIGKILL) != 0) kill(member.pid, SIGKILL);
  }
}

void ProcessSupervisor::StopAll(absl::Duration grace) {
  // Names per stage, highest stage first.
  std::map<int, std::vector<std::string>, std::greater<int>> stages;
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
    for (auto& [name, child] : children_) {
      if (child.pid > 0) stages[child.spec.stage].push_back(name);
    }
  }
  // Producers (actors, then learners) first, and each stage only once the one above it has
  // exited: an actor's last episodes reach a replay shard that still serves, a learner's last
  // publish a parameter server that still stores it.
  for (const auto& [stage, names] : stages) {
    {
      absl::MutexLock lock(&mutex_);
      for (const std::string& name : names) {
        if (children_[name].pid > 0) kill(children_[name].pid, SIGTERM);
      }
    }
    if (!ReapUntil(names, absl::Now() + grace)) {
      KillAndReap(names, grace);
    }
  }
}

bool ProcessSupervisor::ReapUntil(const std::vector<std::string>& names, absl::Time deadline) {
  while (true) {
    bool any_alive = false;
    {
      absl::MutexLock lock(&mutex_);
      for (const std::string& name : names) {
        Child& child = children_[name];
        if (child.pid <= 0) continue;
        int wait_status = 0;
        if (waitpid(child.pid, &wait_status, WNOHANG) == child.pid) {
          child.last_exit_code = ExitCodeOf(wait_status);
          child.pid = 0;
        } else {
          any_alive = true;
        }
      }
    }
    if (!any_alive) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
}

void ProcessSupervisor::KillAndReap(const std::vector<std::string>& names, absl::Duration grace) {
  absl::MutexLock lock(&mutex_);
  for (const std::string& name : names) {
    Child& child = children_[name];
    if (child.pid <= 0) continue;
    LOG(WARNING) << name << " did not stop within " << grace << "; killing it";
    kill(child.pid, SIGKILL);
    int wait_status = 0;
    waitpid(child.pid, &wait_status, 0);
    child.last_exit_code = ExitCodeOf(wait_status);
    child.pid = 0;
  }
}

std::vector<ProcessStatus> ProcessSupervisor::Statuses() const {
  absl::MutexLock lock(&mutex_);
  std::vector<ProcessStatus> statuses;
  for (const auto& [name, child] : children_) {
    statuses.push_back({name, child.pid, child.starts, child.last_exit_code});
  }
  return statuses;
}

absl::Status ProcessSupervisor::Signal(const std::string& name, int signal_number) {
  absl::MutexLock lock(&mutex_);
  auto it = children_.find(name);
  if (it == children_.end() || it->second.pid <= 0) {
    return absl::NotFoundError(absl::StrCat("process '", name, "' is not running"));
  }
  if (kill(it->second.pid, signal_number) != 0) {
    return absl::InternalError(absl::StrCat("kill ", name, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace ivg::launcher
