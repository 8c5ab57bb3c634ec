// The real ivg_replay_server binary as a subprocess: kill -9 while inserting, restart, and
// count that every acknowledged item is still there.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/replay/client/sharded_replay_client.h"
#include "services/replay/redis/redis_process.h"
#include "services/replay/testing/synthetic_episode.h"
#include "tests/testing/subprocess.h"
#include "tests/services/replay/replay_test_util.h"

namespace ivg::replay {
namespace {

// A child process whose stdout we read for the ready line.
class ServerProcess {
 public:
  ServerProcess(std::vector<std::string> args, const std::string& log_path) {
    int out[2];
    EXPECT_EQ(pipe(out), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (log >= 0) dup2(log, STDERR_FILENO);
      close(out[0]);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    stdout_fd_ = out[0];
  }
  ~ServerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_fd_ >= 0) close(stdout_fd_);
  }

  // The "ready" line, or "" after `timeout`.
  std::string WaitReady(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    std::string buffer;
    while (absl::Now() < deadline) {
      pollfd p{stdout_fd_, POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        char chunk[512];
        ssize_t n = read(stdout_fd_, chunk, sizeof(chunk));
        if (n <= 0) return "";
        buffer.append(chunk, n);
        size_t pos = buffer.find("ready:");
        if (pos != std::string::npos && buffer.find('\n', pos) != std::string::npos) {
          return buffer.substr(pos, buffer.find('\n', pos) - pos);
        }
      }
    }
    return "";
  }

  // The exit code once the process ends by itself.
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  pid_t pid() const { return pid_; }
  void Kill9() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
};

// GET http://127.0.0.1:<port>/metrics (HTTP/1.0, so the server closes the connection).
std::string ScrapeMetrics(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) response.append(buf, n);
    }
  }
  close(fd);
  return response;
}

// The value after `key=` in the ready line ("... grpc=127.0.0.1:5 metrics=127.0.0.1:7 ...").
std::string ReadyField(const std::string& ready, const std::string& key) {
  const size_t pos = ready.find(" " + key + "=");
  if (pos == std::string::npos) return "";
  const size_t start = pos + key.size() + 2;
  return ready.substr(start, ready.find(' ', start) - start);
}

// Command line of shard 0 on `grpc_port`, starting its own redis-server (on a free port,
// the same for every restart) with its data under `dir`, plus `--set` overrides.
std::vector<std::string> ShardArgs(const std::string& dir, int grpc_port,
                                   const std::vector<std::string>& overrides) {
  std::vector<std::string> args = {
      std::string(IVG_BINARY_DIR) + "/services/replay/ivg_replay_server",
      "--shard=0",
      absl::StrCat("--address=127.0.0.1:", grpc_port),
      "--metrics_address=127.0.0.1:0",
      "--start_redis=true",
      absl::StrCat("--redis_port=", *PickFreeLoopbackPort()),
      "--redis_data_dir=" + dir + "/redis"};
  for (const std::string& o : overrides) {
    args.push_back("--set");
    args.push_back(o);
  }
  return args;
}

// A client of the one shard on `grpc_port` (5 s deadlines), its metrics in `registry`.
std::unique_ptr<ShardedReplayClient> ClientOf(int grpc_port, metrics::MetricRegistry* registry) {
  ShardedReplayClientOptions options;
  options.addresses = {absl::StrCat("127.0.0.1:", grpc_port)};
  options.rpc_deadline = absl::Seconds(5);
  options.registry = registry;
  return *ShardedReplayClient::Create(options);
}

TEST(ReplayServerProcess, KillNineThenRestartLosesNoAcknowledgedItem) {
  testing::TempDir dir;
  const int grpc_port = *PickFreeLoopbackPort();
  const std::vector<std::string> args =
      ShardArgs(dir.path(), grpc_port,
                {"replay.min_size_to_sample=1", "replay.appendfsync=APPENDFSYNC_EVERYSEC"});
  const std::string log = dir.path() + "/server.log";
  auto server = std::make_unique<ServerProcess>(args, log);
  const std::string ready = server->WaitReady(absl::Seconds(20));
  ASSERT_TRUE(absl::StrContains(ready, "items=0")) << "no ready line; see " << log;

  metrics::MetricRegistry registry;
  auto client = ClientOf(grpc_port, &registry);

  std::atomic<int64_t> acknowledged{0};
  std::atomic<int> episodes{0};
  std::thread inserter([&] {
    for (int e = 0;; ++e) {
      testing::SyntheticEpisodeOptions o;
      o.episode_id = e;
      o.num_steps = 40;  // 5 items
      auto r = client->InsertEpisode(testing::MakeSyntheticEpisode(o));
      if (!r.ok()) return;
      acknowledged += r->items_created();
      ++episodes;
    }
  });
  while (episodes < 20) absl::SleepFor(absl::Milliseconds(5));
  server->Kill9();  // Mid-stream: an insert is most likely in flight.
  inserter.join();
  const int64_t acked = acknowledged;
  ASSERT_GE(acked, 100);

  server = std::make_unique<ServerProcess>(args, log);
  const std::string restarted = server->WaitReady(absl::Seconds(30));
  ASSERT_FALSE(restarted.empty()) << "restart failed; see " << log;
  auto info = client->ShardInfo(0);
  ASSERT_TRUE(info.ok()) << info.status();
  const int64_t items = info->tables(0).num_items();
  // Every acknowledged item is back; at most the one in-flight episode (5 items) whose
  // write landed without its acknowledgement is extra.
  EXPECT_GE(items, acked);
  EXPECT_LE(items, acked + 5);
  EXPECT_EQ(info->corrupt_keys_skipped(), 0);
  EXPECT_EQ(info->tables(0).num_steps(), items * 8);
  auto batch = client->Sample(16);
  EXPECT_TRUE(batch.ok()) << batch.status();

  // The restarted server serves its metrics, with the rebuilt table's size.
  const std::string metrics_address = ReadyField(restarted, "metrics");
  int metrics_port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(metrics_address.substr(metrics_address.rfind(':') + 1),
                               &metrics_port))
      << restarted;
  const std::string metrics = ScrapeMetrics(metrics_port);
  EXPECT_NE(metrics.find(absl::StrCat("ivg_replay_items{shard=\"0\",table=\"sequences\"} ",
                                      items)),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("ivg_replay_redis_latency_seconds_bucket"), std::string::npos);
}

// The children of `parent` (from /proc/<pid>/stat's ppid field).
std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // "pid (comm) state ppid ...": comm may hold spaces, so parse after the last ')'.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    std::string state;
    pid_t ppid = 0;
    if (rest >> state >> ppid && ppid == parent) children.push_back(pid);
  }
  return children;
}

// kill -9 of the shard's own redis-server: the shard must not go on as if it could store
// (health SERVING, every insert failing); it exits with an error for the supervisor to
// restart it, and the restart recovers what Redis had.
TEST(ReplayServerProcess, ExitsWhenItsRedisDiesAndARestartRecovers) {
  testing::TempDir dir;
  const int grpc_port = *PickFreeLoopbackPort();
  const std::vector<std::string> args =
      ShardArgs(dir.path(), grpc_port, {"replay.appendfsync=APPENDFSYNC_ALWAYS"});
  const std::string log = dir.path() + "/server.log";
  auto server = std::make_unique<ServerProcess>(args, log);
  ASSERT_FALSE(server->WaitReady(absl::Seconds(20)).empty()) << "no ready line; see " << log;

  metrics::MetricRegistry registry;
  auto client = ClientOf(grpc_port, &registry);
  testing::SyntheticEpisodeOptions o;
  o.num_steps = 40;  // 5 items
  ASSERT_TRUE(client->InsertEpisode(testing::MakeSyntheticEpisode(o)).ok());

  const std::vector<pid_t> children = ChildrenOf(server->pid());
  ASSERT_EQ(children.size(), 1u) << "expected the shard's redis-server as its only child";
  ASSERT_EQ(kill(children[0], SIGKILL), 0);
  EXPECT_EQ(server->Wait(), 1) << "the shard kept running without its Redis; see " << log;

  server = std::make_unique<ServerProcess>(args, log);
  const std::string restarted = server->WaitReady(absl::Seconds(30));
  ASSERT_FALSE(restarted.empty()) << "restart failed; see " << log;
  EXPECT_TRUE(absl::StrContains(restarted, "items=5")) << restarted;
}

// In a container the replay server is often pid 1 (the image's entry point execs it). Its
// redis-server child once took "my parent is pid 1" to mean "my owner died before I could
// ask to die with it" and exited at once, so no shard started in docker-compose. Run as pid 1
// of a new pid namespace, it must start its Redis and serve.
TEST(ReplayServerProcess, StartsItsRedisWhenItIsPidOneAsInAContainer) {
  const std::string unshare = "/usr/bin/unshare";
  const std::string namespace_flags = "--user --map-root-user --pid --fork --kill-child";
  if (::ivg::testing::RunCommand(unshare + " " + namespace_flags + " true").exit_code != 0) {
    GTEST_SKIP() << "this machine allows no new pid namespace (" << unshare << " "
                 << namespace_flags << " failed)";
  }
  testing::TempDir dir;
  const int grpc_port = *PickFreeLoopbackPort();
  std::vector<std::string> args = {unshare, "--user", "--map-root-user", "--pid", "--fork",
                                   "--kill-child", "--"};
  for (const std::string& a : ShardArgs(dir.path(), grpc_port, {})) args.push_back(a);
  const std::string log = dir.path() + "/server.log";
  ServerProcess server(args, log);
  const std::string ready = server.WaitReady(absl::Seconds(20));
  ASSERT_TRUE(absl::StrContains(ready, "items=0")) << "no ready line as pid 1; see " << log;

  metrics::MetricRegistry registry;
  auto client = ClientOf(grpc_port, &registry);
  testing::SyntheticEpisodeOptions o;
  o.num_steps = 40;
  EXPECT_TRUE(client->InsertEpisode(testing::MakeSyntheticEpisode(o)).ok());
  // `unshare --fork` ignores SIGTERM while it waits: stop the server inside, then it exits.
  for (pid_t inner : ChildrenOf(server.pid())) kill(inner, SIGTERM);
  EXPECT_EQ(server.Wait(), 0);
}

TEST(ReplayServerProcess, InvalidConfigExitsWithAClearError) {
  testing::TempDir dir;
  const std::string log = dir.path() + "/server.log";
  ServerProcess server({std::string(IVG_BINARY_DIR) + "/services/replay/ivg_replay_server",
                        "--set", "replay.max_size=0"},
                       log);
  EXPECT_EQ(server.WaitReady(absl::Seconds(10)), "");
  EXPECT_EQ(server.Wait(), 2);
}

}  // namespace
}  // namespace ivg::replay
