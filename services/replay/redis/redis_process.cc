#include "services/replay/redis/redis_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file/owner_only_file.h"
#include "glog/logging.h"

namespace ivg::replay {
namespace {

// Writes the password into `<data_dir>/ivg-redis-secrets.conf`, readable by its owner only,
// for redis-server to read as its config file: on the command line it would be visible to
// every local user in /proc/<pid>/cmdline and `ps`.
absl::StatusOr<std::string> WriteSecretsConfig(const std::string& data_dir,
                                               const std::string& password) {
  const std::string path = data_dir + "/ivg-redis-secrets.conf";
  std::string quoted;  // Redis config strings: double quotes, backslash escapes.
  for (char c : password) {
    if (c == '"' || c == '\\') quoted.push_back('\\');
    quoted.push_back(c);
  }
  const std::string text = absl::StrCat("requirepass \"", quoted, "\"\n");
  if (absl::Status written = WriteOwnerOnlyFile(path, text); !written.ok()) return written;
  return path;
}

// Polls a data command (DBSIZE) until it stops failing with LOADING; logs progress for long
// loads. (INFO persistence can report loading:0 before the load has begun.)
absl::Status WaitUntilLoaded(RedisConnection& connection, absl::Duration timeout,
                             const std::string& data_dir) {
  const absl::Time start = absl::Now();
  absl::Time next_log = start + absl::Seconds(5);
  while (absl::Now() - start < timeout) {
    auto size = connection.Command({"DBSIZE"});
    if (size.ok() && !size->is_error()) return absl::OkStatus();
    if (absl::Now() >= next_log) {
      LOG(INFO) << "redis-server still loading its data from " << data_dir << " ("
                << absl::FormatDuration(absl::Now() - start) << ")";
      next_log += absl::Seconds(5);
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat("redis-server did not finish loading ",
                                                  data_dir, " within ",
                                                  absl::FormatDuration(timeout)));
}

const char* FsyncName(AppendFsync mode) {
  switch (mode) {
    case APPENDFSYNC_ALWAYS:
      return "always";
    case APPENDFSYNC_NO:
      return "no";
    default:
      return "everysec";
  }
}

// Waits for `pid` up to `timeout`; true when it exited.
bool WaitForExit(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

}  // namespace

absl::StatusOr<int> PickFreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::InternalError(absl::StrCat("bind 127.0.0.1:0: ", strerror(errno)));
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

std::string ResolveRedisServerBinary(const std::string& configured) {
  if (!configured.empty() && configured != "redis-server") return configured;
  if (const char* env = std::getenv("IVG_REDIS_SERVER"); env != nullptr && *env != '\0') {
    return env;
  }
  return configured.empty() ? "redis-server" : configured;
}

absl::StatusOr<std::unique_ptr<RedisProcess>> RedisProcess::Start(RedisProcessOptions options) {
  options.binary = ResolveRedisServerBinary(options.binary);
  if (options.data_dir.empty()) {
    return absl::InvalidArgumentError("RedisProcess needs a data_dir");
  }
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create Redis data dir '", options.data_dir, "': ", ec.message()));
  }
  const std::string data_dir = std::filesystem::absolute(options.data_dir).string();

  // A free port can be taken between picking and binding: retry with a fresh one.
  const bool pick_port = options.port == 0;
  absl::Status last_error = absl::UnknownError("not started");
  const absl::Time overall_deadline = absl::Now() + options.startup_timeout;
  for (int attempt = 0; pick_port ? attempt < 5 : absl::Now() < overall_deadline; ++attempt) {
    if (attempt > 0 && !pick_port) absl::SleepFor(absl::Milliseconds(100));
    int port = options.port;
    if (pick_port) {
      auto picked = PickFreeLoopbackPort();
      if (!picked.ok()) return picked.status();
      port = *picked;
    }
    std::vector<std::string> args = {options.binary};
    if (!options.password.empty()) {
      absl::StatusOr<std::string> secrets = WriteSecretsConfig(data_dir, options.password);
      if (!secrets.ok()) return secrets.status();
      args.push_back(*secrets);  // The config file comes first; the options below follow it.
    }
    args.insert(args.end(), {"--bind", "127.0.0.1",
                             "--port", std::to_string(port),
                             "--protected-mode", "yes",
                             "--dir", data_dir,
                             "--appendonly", "yes",
                             "--appendfsync", FsyncName(options.appendfsync),
                             "--save", "",
                             "--daemonize", "no",
                             "--logfile", data_dir + "/redis.log"});
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    const pid_t owner = getpid();
    pid_t pid = fork();
    if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
    if (pid == 0) {
      // Child: own process group so terminal signals to the parent's group do not kill
      // Redis before the parent flushes through it.
      setpgid(0, 0);
      // If the owner dies (even by SIGKILL) Redis gets SIGTERM, flushes its AOF and exits,
      // so a restarted owner can start a fresh Redis on the same data dir.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      // The owner died before prctl (the child was re-parented). Compared with the owner's
      // pid, not with 1: in a container the owner itself is often pid 1.
      if (getppid() != owner) _exit(126);
      execvp(argv[0], argv.data());
      _exit(127);
    }
    std::unique_ptr<RedisProcess> process(new RedisProcess(options, pid, port));

    RedisOptions connect = process->connection_options();
    connect.timeout = absl::Milliseconds(500);
    const absl::Time deadline = absl::Now() + options.startup_timeout;
    bool exited = false;
    while (absl::Now() < deadline) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        process->pid_ = -1;
        last_error = absl::UnavailableError(absl::StrCat(
            "redis-server '", options.binary, "' exited during start-up on port ", port,
            " (exit status ", WIFEXITED(status) ? WEXITSTATUS(status) : -1, "); see ",
            data_dir, "/redis.log"));
        break;
      }
      auto connection = RedisConnection::Create(connect);
      if (connection.ok()) {
        // The answer must come from our child: a previous server on this port (e.g. one
        // still flushing after its owner was killed) must not be mistaken for it.
        auto info = (*connection)->Command({"INFO", "server"});
        if (info.ok() && !info->is_error() &&
            absl::StrContains(info->str, absl::StrCat("process_id:", pid, "\r\n"))) {
          // INFO answers while the server still replays its AOF, when every data command
          // fails with LOADING: wait for the load (a restarted shard's whole replay) to end.
          absl::Status loaded = WaitUntilLoaded(**connection, options.loading_timeout, data_dir);
          if (!loaded.ok()) return loaded;
          LOG(INFO) << "redis-server pid " << pid << " serving 127.0.0.1:" << port
                    << " (data dir " << data_dir << ", appendfsync "
                    << FsyncName(options.appendfsync) << ")";
          return process;
        }
        // LOADING (replaying the AOF) answers with an error, another process's Redis with a
        // different process_id: keep waiting.
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (!exited) {
      return absl::DeadlineExceededError(absl::StrCat(
          "redis-server did not answer PING on 127.0.0.1:", port, " within ",
          absl::FormatDuration(options.startup_timeout), "; see ", data_dir, "/redis.log"));
    }
  }
  return last_error;
}

RedisOptions RedisProcess::connection_options() const {
  RedisOptions o;
  o.host = "127.0.0.1";
  o.port = port_;
  o.password = options_.password;
  return o;
}

void RedisProcess::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  if (!WaitForExit(pid_, absl::Seconds(10))) {
    LOG(WARNING) << "redis-server pid " << pid_ << " ignored SIGTERM for 10 s; killing it";
    kill(pid_, SIGKILL);
    WaitForExit(pid_, absl::Seconds(5));
  }
  pid_ = -1;
}

void RedisProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  WaitForExit(pid_, absl::Seconds(5));
  pid_ = -1;
}

bool RedisProcess::Exited() {
  if (pid_ <= 0) return true;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    pid_ = -1;
    return true;
  }
  return false;
}

RedisProcess::~RedisProcess() { Stop(); }

}  // namespace ivg::replay
