// The ivg_learner binary: SIGTERM checkpoints and exits cleanly; --resume picks the
// checkpoint up. (Exact continuation of a resumed run is learner_test's
// Learner.ResumeContinuesExactlyLikeAnUninterruptedRun.)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "model/config/model_config.h"
#include "model/core/learner_core.h"
#include "tests/services/learner/test_config.h"

namespace {

using ::testing::HasSubstr;

const char* const kTinyOverrides[] = {
    "model.latent_size=8",        "model.encoder_channels=4",  "model.encoder_hidden=16",
    "model.transition_hidden=16", "model.decoder_channels=8",  "model.decoder_hidden=16",
    "model.head_hidden=16",       "learner.batch_size_per_learner=2",
    "learner.use_cuda_if_available=false", "env.episode_steps=16", "learner.torch_threads=1"};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Starts the learner with stderr to `log`; returns its pid.
pid_t StartLearner(const std::string& run_dir, const std::string& log, bool resume,
                   std::vector<std::string> extra = {"--world_size=1"}) {
  std::vector<std::string> args = {IVG_BINARY_DIR "/services/learner/ivg_learner",
                                   "--data=synthetic", "--metrics_address=127.0.0.1:0",
                                   "--publish=false", "--synthetic_episodes=2",
                                   "--run_dir=" + run_dir};
  if (resume) args.push_back("--resume");
  for (auto& e : extra) args.push_back(e);
  for (const char* o : kTinyOverrides) {
    args.push_back("--set");
    args.push_back(o);
  }
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = freopen(log.c_str(), "w", stderr);
    (void)f;
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// Waits (up to 120 s) for `text` in the log.
bool WaitForLog(const std::string& log, const std::string& text) {
  for (int i = 0; i < 1200; ++i) {
    if (ReadFile(log).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

int TerminateAndWait(pid_t pid) {
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(IvgLearnerBinary, SigtermWritesACheckpointThatResumeContinuesFrom) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("ivg_learner_main_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const std::string log1 = (dir.string() + "_1.log"), log2 = (dir.string() + "_2.log");

  pid_t first = StartLearner(dir.string(), log1, /*resume=*/false);
  ASSERT_TRUE(WaitForLog(log1, "step 1 ")) << ReadFile(log1);
  EXPECT_EQ(TerminateAndWait(first), 0) << ReadFile(log1);
  EXPECT_TRUE(std::filesystem::exists(dir / "checkpoint_rank0.pt")) << ReadFile(log1);
  EXPECT_FALSE(std::filesystem::exists(dir / "checkpoint_rank0.pt.tmp"));

  pid_t second = StartLearner(dir.string(), log2, /*resume=*/true);
  ASSERT_TRUE(WaitForLog(log2, "Resumed from")) << ReadFile(log2);
  EXPECT_EQ(TerminateAndWait(second), 0) << ReadFile(log2);
  EXPECT_THAT(ReadFile(log2), ::testing::ContainsRegex("Resumed from .* at step [1-9]"));
  std::filesystem::remove_all(dir);
  std::filesystem::remove(log1);
  std::filesystem::remove(log2);
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

int Wait(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(IvgLearnerBinary, TwoProcessesOnLoopbackEndWithIdenticalParameters) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("ivg_learner_two_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const std::string rendezvous =
      "cluster.learner_rendezvous_address=127.0.0.1:" + std::to_string(FreePort());
  const std::string log0 = dir.string() + "_r0.log", log1 = dir.string() + "_r1.log";
  std::vector<std::string> common = {"--world_size=2", "--set", "learner.max_steps=4",
                                     "--set", rendezvous};
  auto with_rank = [&](int rank) {
    std::vector<std::string> args = common;
    args.push_back("--rank=" + std::to_string(rank));
    return args;
  };
  pid_t r0 = StartLearner(dir.string(), log0, /*resume=*/false, with_rank(0));
  pid_t r1 = StartLearner(dir.string(), log1, /*resume=*/false, with_rank(1));
  EXPECT_EQ(Wait(r0), 0) << ReadFile(log0);
  EXPECT_EQ(Wait(r1), 0) << ReadFile(log1);

  // Each rank sampled its own data; after 4 averaged steps their networks are identical.
  ivg::ExperimentConfig config = ivg::learner::testing::TinyExperimentConfig();
  config.mutable_learner()->set_batch_size_per_learner(2);
  config.mutable_env()->set_episode_steps(16);
  auto options = ivg::model::CoreOptionsFromConfig(config);
  ASSERT_TRUE(options.ok()) << options.status();
  options->loss.burn_in = 3;  // The binary runs the default H = 3, K = 5, N = 5.
  options->loss.model_rollout = 5;
  options->loss.imagination_horizon = 5;
  options->model.proprio_size = 17;  // And the Sawyer's proprio and action sizes.
  options->model.action_size = 5;
  std::vector<std::unique_ptr<ivg::model::LearnerCore>> cores;
  for (int rank = 0; rank < 2; ++rank) {
    auto core = ivg::model::LearnerCore::Create(*options);
    ASSERT_TRUE(core.ok()) << core.error();
    auto loaded = core.value()->LoadCheckpoint(
        (dir / ("checkpoint_rank" + std::to_string(rank) + ".pt")).string());
    ASSERT_TRUE(loaded.ok()) << loaded.error();
    EXPECT_EQ(core.value()->step(), 4);
    cores.push_back(core.consume());
  }
  auto p0 = cores[0]->AllParameters(), p1 = cores[1]->AllParameters();
  ASSERT_EQ(p0.size(), p1.size());
  for (size_t i = 0; i < p0.size(); ++i) {
    EXPECT_TRUE(at::equal(p0[i].second, p1[i].second)) << p0[i].first;
  }
  std::filesystem::remove_all(dir);
  std::filesystem::remove(log0);
  std::filesystem::remove(log1);
}

TEST(IvgLearnerBinary, SigtermToOneRankStopsBothAtTheSameStep) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("ivg_learner_stop_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const std::string rendezvous =
      "cluster.learner_rendezvous_address=127.0.0.1:" + std::to_string(FreePort());
  const std::string log0 = dir.string() + "_r0.log", log1 = dir.string() + "_r1.log";
  auto args = [&](int rank) {
    return std::vector<std::string>{"--world_size=2", "--set", rendezvous,
                                    "--rank=" + std::to_string(rank)};
  };
  pid_t r0 = StartLearner(dir.string(), log0, /*resume=*/false, args(0));
  pid_t r1 = StartLearner(dir.string(), log1, /*resume=*/false, args(1));
  ASSERT_TRUE(WaitForLog(log1, "step 1 ")) << ReadFile(log1);
  EXPECT_EQ(TerminateAndWait(r1), 0) << ReadFile(log1);  // Only rank 1 is told to stop.
  EXPECT_EQ(Wait(r0), 0) << ReadFile(log0);
  std::string stopped0 = ReadFile(log0), stopped1 = ReadFile(log1);
  auto stop_line = [](const std::string& log) {
    const size_t at = log.find("Learner stopped at step ");
    return at == std::string::npos ? std::string("none")
                                   : log.substr(at, log.find(';', at) - at);
  };
  EXPECT_NE(stop_line(stopped0), "none") << stopped0;
  EXPECT_EQ(stop_line(stopped0), stop_line(stopped1));
  EXPECT_TRUE(std::filesystem::exists(dir / "checkpoint_rank0.pt"));
  EXPECT_TRUE(std::filesystem::exists(dir / "checkpoint_rank1.pt"));
  std::filesystem::remove_all(dir);
  std::filesystem::remove(log0);
  std::filesystem::remove(log1);
}

// kill -9 of one rank: its peer's next all-reduce fails and it exits without checkpointing
// its own step, so the restarted pair resumes from the step both last checkpointed, never
// from two different steps (rank 0's in-memory step against rank 1's older checkpoint).
TEST(IvgLearnerBinary, KillNineOfOneRankResumesBothFromTheSameStep) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("ivg_learner_kill_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto args = [](int rank, int port) {
    return std::vector<std::string>{
        "--world_size=2", "--rank=" + std::to_string(rank), "--set",
        "cluster.learner_rendezvous_address=127.0.0.1:" + std::to_string(port)};
  };
  auto resumed_step = [](const std::string& log) {
    const size_t at = log.find("Resumed from ");
    if (at == std::string::npos) return std::string("none");
    const size_t step = log.find(" at step ", at);
    return log.substr(step, log.find('\n', step) - step);
  };
  const std::string log = dir.string() + "_r";
  // 1. A common checkpoint: SIGTERM stops both ranks at one step.
  int port = FreePort();
  pid_t r0 = StartLearner(dir.string(), log + "0a.log", false, args(0, port));
  pid_t r1 = StartLearner(dir.string(), log + "1a.log", false, args(1, port));
  ASSERT_TRUE(WaitForLog(log + "1a.log", "step 1 ")) << ReadFile(log + "1a.log");
  ASSERT_EQ(TerminateAndWait(r1), 0) << ReadFile(log + "1a.log");
  ASSERT_EQ(Wait(r0), 0) << ReadFile(log + "0a.log");

  // 2. Resumed, both train on; then rank 1 is killed with SIGKILL a few steps later.
  port = FreePort();
  r0 = StartLearner(dir.string(), log + "0b.log", true, args(0, port));
  r1 = StartLearner(dir.string(), log + "1b.log", true, args(1, port));
  ASSERT_TRUE(WaitForLog(log + "1b.log", "Resumed from")) << ReadFile(log + "1b.log");
  // Each rank logs its resume on its own; rank 0's line can come after rank 1's.
  ASSERT_TRUE(WaitForLog(log + "0b.log", "Resumed from")) << ReadFile(log + "0b.log");
  const std::string common_step = resumed_step(ReadFile(log + "1b.log"));
  ASSERT_EQ(resumed_step(ReadFile(log + "0b.log")), common_step);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // Some steps past the checkpoint.
  kill(r1, SIGKILL);
  waitpid(r1, nullptr, 0);
  EXPECT_NE(Wait(r0), 0) << "rank 0 kept going alone: " << ReadFile(log + "0b.log");
  EXPECT_THAT(ReadFile(log + "0b.log"), HasSubstr("Not checkpointing step"));

  // 3. Restarted, both resume from the same step: the one they checkpointed together.
  port = FreePort();
  r0 = StartLearner(dir.string(), log + "0c.log", true, args(0, port));
  r1 = StartLearner(dir.string(), log + "1c.log", true, args(1, port));
  ASSERT_TRUE(WaitForLog(log + "1c.log", "step ")) << ReadFile(log + "1c.log");
  ASSERT_TRUE(WaitForLog(log + "0c.log", "Resumed from")) << ReadFile(log + "0c.log");
  EXPECT_EQ(resumed_step(ReadFile(log + "0c.log")), common_step);
  EXPECT_EQ(resumed_step(ReadFile(log + "1c.log")), common_step);
  EXPECT_EQ(TerminateAndWait(r1), 0) << ReadFile(log + "1c.log");
  EXPECT_EQ(Wait(r0), 0) << ReadFile(log + "0c.log");
  std::filesystem::remove_all(dir);
  for (const char* phase : {"0a", "1a", "0b", "1b", "0c", "1c"}) {
    std::filesystem::remove(log + phase + ".log");
  }
}

}  // namespace
