#include "tests/testing/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace ivg::testing {

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (log_fd >= 0) {
      dup2(log_fd, STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
    }
    execvp(args[0], args.data());
    _exit(127);
  }
  if (log_fd >= 0) close(log_fd);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !reaped_) SignalAndWait(SIGKILL, absl::Seconds(10));
}

bool ChildProcess::Running() {
  if (pid_ <= 0 || reaped_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    reaped_ = true;
    return false;
  }
  return true;
}

int ChildProcess::SignalAndWait(int signal_number, absl::Duration timeout) {
  if (pid_ <= 0 || reaped_) return INT_MIN;
  kill(pid_, signal_number);
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_ = true;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return INT_MIN;
}

namespace {

std::string ReadProcFile(pid_t pid, const char* name) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/", name), std::ios::binary);
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

std::map<pid_t, pid_t> ParentsOfAll() {
  std::map<pid_t, pid_t> parents;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    const std::string stat = ReadProcFile(pid, "stat");
    // "pid (comm) state ppid ...": comm may contain spaces, so parse after the last ')'.
    const size_t close_paren = stat.rfind(')');
    if (close_paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(close_paren + 2));
    std::string state;
    pid_t parent = 0;
    rest >> state >> parent;
    if (state != "Z") parents[pid] = parent;
  }
  return parents;
}

}  // namespace

std::set<pid_t> Descendants(pid_t root) {
  const std::map<pid_t, pid_t> parents = ParentsOfAll();
  std::set<pid_t> result;
  for (const auto& [pid, parent] : parents) {
    pid_t ancestor = parent;
    for (int depth = 0; depth < 64 && ancestor > 1; ++depth) {
      if (ancestor == root) {
        result.insert(pid);
        break;
      }
      auto it = parents.find(ancestor);
      if (it == parents.end()) break;
      ancestor = it->second;
    }
  }
  return result;
}

std::vector<pid_t> ProcessesWithCommandLine(const std::string& needle) {
  std::vector<pid_t> result;
  for (const auto& [pid, parent] : ParentsOfAll()) {
    std::string cmdline = ReadProcFile(pid, "cmdline");
    for (char& c : cmdline) {
      if (c == '\0') c = ' ';
    }
    if (cmdline.find(needle) != std::string::npos && pid != getpid()) result.push_back(pid);
  }
  return result;
}

bool ProcessAlive(pid_t pid) {
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  const std::string stat = ReadProcFile(pid, "stat");
  const size_t close_paren = stat.rfind(')');
  return close_paren == std::string::npos || stat.substr(close_paren + 2, 1) != "Z";
}

CommandResult RunCommand(const std::string& command, const std::string& input) {
  char input_path[] = "/tmp/ivg_command_input_XXXXXX";
  const int input_fd = mkstemp(input_path);
  if (input_fd >= 0) {
    [[maybe_unused]] ssize_t written = write(input_fd, input.data(), input.size());
    close(input_fd);
  }
  CommandResult result;
  FILE* pipe = popen(absl::StrCat(command, " < ", input_path, " 2>&1").c_str(), "r");
  if (pipe != nullptr) {
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  unlink(input_path);
  return result;
}

}  // namespace ivg::testing
