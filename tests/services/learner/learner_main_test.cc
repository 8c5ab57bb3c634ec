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

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
pid_t StartLearner(const std::string& run_dir, const std::string& log, bool resume) {
  std::vector<std::string> args = {IVG_BINARY_DIR "/services/learner/ivg_learner",
                                   "--data=synthetic", "--world_size=1", "--metrics_port=0",
                                   "--publish=false", "--synthetic_episodes=2",
                                   "--run_dir=" + run_dir};
  if (resume) args.push_back("--resume");
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

}  // namespace
