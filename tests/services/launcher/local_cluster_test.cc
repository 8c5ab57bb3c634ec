// The whole local cluster as a user runs it: `ivg_cluster` with the smoke config starts
// 2 replay shards (each with its own redis-server), the parameter server, 2 learners and
// 8 actors as separate processes. The test watches it only from outside, through the
// processes' /metrics endpoints and gRPC, kills an actor and a replay server with SIGKILL,
// and finally stops the launcher with SIGINT.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config/config_loader.h"
#include "common/grpc/client_context.h"
#include "common/metrics/http_get.h"
#include "gtest/gtest.h"
#include "proto/params.grpc.pb.h"
#include "proto/policy.grpc.pb.h"
#include "proto/replay.grpc.pb.h"
#include "services/launcher/prometheus_text.h"
#include "tests/testing/subprocess.h"

namespace ivg::launcher {
namespace {

using ivg::testing::ChildProcess;

constexpr int kActors = 8;
const absl::Duration kPatience = absl::Minutes(4);

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

class LocalClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    run_dir_ = absl::StrCat(::testing::TempDir(), "/ivg_local_cluster_test");
    std::filesystem::remove_all(run_dir_);
    std::filesystem::create_directories(run_dir_);
    launcher_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{
            absl::StrCat(IVG_BINARY_DIR, "/services/launcher/ivg_cluster"),
            absl::StrCat("--config=", IVG_SOURCE_DIR, "/configs/smoke.textproto"),
            absl::StrCat("--run_dir=", run_dir_), absl::StrCat("--actors=", kActors),
            "--shards=2", "--learners=2", "--progress_seconds=2"},
        absl::StrCat(run_dir_, "/../ivg_local_cluster_launcher.log"));
    // The launcher writes the run's config and the metrics targets before starting anything.
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline &&
           !std::filesystem::exists(absl::StrCat(run_dir_, "/prometheus_targets.json"))) {
      absl::SleepFor(absl::Milliseconds(100));
    }
    auto config = LoadExperimentConfig(absl::StrCat(run_dir_, "/config.textproto"), {});
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = *config;
    const std::string targets = ReadFile(absl::StrCat(run_dir_, "/prometheus_targets.json"));
    const std::regex target(R"re("127\.0\.0\.1:(\d+)"\], "labels": \{"job": "(\w+)", "process": "([\w-]+)")re");
    for (auto it = std::sregex_iterator(targets.begin(), targets.end(), target);
         it != std::sregex_iterator(); ++it) {
      metrics_ports_[(*it)[3]] = std::stoi((*it)[1]);
    }
    ASSERT_EQ(metrics_ports_.size(), 2u + 1u + 2u + kActors + 1u);  // + the evaluator
    auto channel = MakeChannel(config_.cluster().param_server_address(), 256 << 20);
    params_ = ParameterService::NewStub(channel);
    policy_ = PolicyService::NewStub(channel);
  }

  void TearDown() override {
    if (launcher_ != nullptr && launcher_->Running()) launcher_->SignalAndWait(SIGKILL, absl::Seconds(10));
  }

  // Sum of a metric on one process, or -1 when the process does not answer.
  double Metric(const std::string& process, const std::string& name,
                const std::map<std::string, std::string>& labels = {}) {
    auto response = metrics::HttpGet("127.0.0.1", metrics_ports_.at(process), "/metrics",
                                     absl::Seconds(2));
    if (!response.ok() || response->status_code != 200) return -1;
    auto samples = ParsePrometheusText(response->body);
    if (!samples.ok()) return -1;
    return SumSamples(*samples, name, labels);
  }

  // Polls `condition` every 500 ms until it holds or `kPatience` passes.
  template <typename Condition>
  bool Eventually(Condition condition) {
    const absl::Time deadline = absl::Now() + kPatience;
    while (absl::Now() < deadline) {
      if (condition()) return true;
      if (!launcher_->Running()) return false;
      absl::SleepFor(absl::Milliseconds(500));
    }
    return false;
  }

  int64_t ReplayItems(int shard) {
    auto stub = ReplayService::NewStub(MakeChannel(config_.replay().shard_addresses(shard), 64 << 20));
    ServerInfoResponse info;
    auto context = MakeClientContext(absl::Seconds(3));
    if (!stub->ServerInfo(context.get(), ServerInfoRequest(), &info).ok()) return -1;
    int64_t items = 0;
    for (const TableInfo& table : info.tables()) items += table.num_items();
    return items;
  }

  int64_t FetchVersion() {
    FetchRequest request;
    request.set_have_version(1LL << 60);  // Only the version, never the tensors.
    FetchResponse response;
    auto context = MakeClientContext(absl::Seconds(3));
    if (!params_->Fetch(context.get(), request, &response).ok()) return -1;
    return response.version();
  }

  pid_t PidWithArgument(const std::string& argument) {
    for (pid_t pid : ivg::testing::ProcessesWithCommandLine(argument)) {
      const std::string cmdline = ReadFile(absl::StrCat("/proc/", pid, "/cmdline"));
      if (cmdline.find(run_dir_) != std::string::npos) return pid;
    }
    return 0;
  }

  std::string run_dir_;
  std::unique_ptr<ChildProcess> launcher_;
  ExperimentConfig config_;
  std::map<std::string, int> metrics_ports_;
  std::unique_ptr<ParameterService::Stub> params_;
  std::unique_ptr<PolicyService::Stub> policy_;
};

TEST_F(LocalClusterTest, LearnsServesSurvivesCrashesAndStopsCleanly) {
  // Learners advance, versions are published, actors use them and the replay fills.
  ASSERT_TRUE(Eventually([&] { return Metric("learner-0", "ivg_learner_steps_total") >= 4; }))
      << "learners did not step; see " << run_dir_ << "/logs";
  EXPECT_TRUE(Eventually([&] { return Metric("learner-1", "ivg_learner_steps_total") >= 4; }));
  const int64_t first_version = FetchVersion();
  ASSERT_GE(first_version, 0);
  EXPECT_TRUE(Eventually([&] { return FetchVersion() > first_version; }))
      << "published versions did not rise";
  EXPECT_TRUE(Eventually([&] {
    for (int actor = 0; actor < kActors; ++actor) {
      if (Metric(absl::StrCat("actor-", actor), "ivg_actor_param_version") < 1) return false;
    }
    return true;
  })) << "not every actor reports a published parameter version";
  EXPECT_TRUE(Eventually([&] { return ReplayItems(0) > 0 && ReplayItems(1) > 0; }));
  // The run directory holds what a person looks at: open-loop reconstructions (smoke config:
  // every 5 learner steps), the progress CSV, and both ranks' checkpoints once they save.
  EXPECT_TRUE(Eventually([&] {
    return std::filesystem::exists(absl::StrCat(run_dir_, "/reconstructions/latest.png")) &&
           std::filesystem::exists(absl::StrCat(run_dir_, "/metrics.csv"));
  }));
  // The evaluator scores random and scripted on its seeds, then the learned policy, into
  // eval.csv and its metrics; it never inserts into the replay.
  EXPECT_TRUE(Eventually([&] {
    const std::string eval = ReadFile(absl::StrCat(run_dir_, "/eval.csv"));
    return eval.find(",random,") != std::string::npos &&
           eval.find(",scripted,") != std::string::npos &&
           eval.find(",learned,") != std::string::npos;
  })) << "no evaluation in " << run_dir_ << "/eval.csv";
  EXPECT_GE(Metric("evaluator", "ivg_eval_evaluations_total"), 1);

  // Act answers with the newest version.
  {
    const int size = config_.env().image_size();
    ActRequest request;
    request.set_image_height(size);
    request.set_image_width(size);
    Observation* frame = request.add_history();
    frame->set_image(std::string(6 * size * size, '\x40'));
    for (int i = 0; i < 17; ++i) frame->add_proprio(0.1f);
    const int64_t before = FetchVersion();
    ActResponse response;
    auto context = MakeClientContext(absl::Seconds(10));
    ASSERT_TRUE(policy_->Act(context.get(), request, &response).ok());
    EXPECT_GE(response.param_version(), before);
    EXPECT_LE(response.param_version(), FetchVersion());
    EXPECT_EQ(response.action_size(), 5);
  }

  // The same from Python (examples/python/act_client.py, Debian's python3-grpcio) and from
  // the command-line client.
  {
    const auto python = ivg::testing::RunCommand(absl::StrCat(
        "IVG_BUILD_DIR=", IVG_BINARY_DIR, " /usr/bin/python3 ", IVG_SOURCE_DIR,
        "/examples/python/act_client.py --address ", config_.cluster().param_server_address(),
        " --image-size ", config_.env().image_size(), " --deadline 10"));
    EXPECT_EQ(python.exit_code, 0) << python.output;
    EXPECT_NE(python.output.find("param_version: "), std::string::npos) << python.output;
    const auto cli = ivg::testing::RunCommand(absl::StrCat(
        IVG_BINARY_DIR, "/services/tools/policy_client/ivg_policy_client --config=", run_dir_,
        "/config.textproto --seed=5 --deadline_ms=10000"));
    EXPECT_EQ(cli.exit_code, 0) << cli.output;
    EXPECT_NE(cli.output.find("action: ["), std::string::npos) << cli.output;
  }

  // An unauthenticated Publish is refused.
  {
    PublishRequest forged;
    forged.set_token("not-the-learners-token");
    forged.set_version(1LL << 50);
    PublishResponse response;
    auto context = MakeClientContext(absl::Seconds(5));
    EXPECT_EQ(params_->Publish(context.get(), forged, &response).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }

  // kill -9 of one actor and one replay server: both come back, no acknowledged item is
  // lost, and the learners keep stepping.
  const pid_t actor_pid = PidWithArgument("--actor_id=3");
  const pid_t replay_pid = PidWithArgument("--shard=1");
  ASSERT_GT(actor_pid, 0);
  ASSERT_GT(replay_pid, 0);
  const int64_t acknowledged = ReplayItems(1);
  ASSERT_GT(acknowledged, 0);
  ASSERT_EQ(kill(actor_pid, SIGKILL), 0);
  ASSERT_EQ(kill(replay_pid, SIGKILL), 0);
  const double steps_at_kill = Metric("learner-0", "ivg_learner_steps_total");
  EXPECT_TRUE(Eventually([&] {
    const pid_t now = PidWithArgument("--actor_id=3");
    return now > 0 && now != actor_pid && Metric("actor-3", "ivg_actor_param_version") >= 0;
  })) << "actor-3 was not restarted";
  EXPECT_TRUE(Eventually([&] {
    const pid_t now = PidWithArgument("--shard=1");
    return now > 0 && now != replay_pid && ReplayItems(1) >= 0;
  })) << "replay-1 was not restarted";
  EXPECT_GE(ReplayItems(1), acknowledged) << "acknowledged items were lost in the restart";
  EXPECT_TRUE(Eventually([&] {
    return Metric("learner-0", "ivg_learner_steps_total") > steps_at_kill + 2;
  })) << "learners stopped stepping after the crashes";

  // Ctrl-C stops everything and leaves no orphan (redis-servers included).
  const std::set<pid_t> family = ivg::testing::Descendants(launcher_->pid());
  EXPECT_GE(family.size(), 2u + 2u + 1u + 2u + kActors);
  const int exit_code = launcher_->SignalAndWait(SIGINT, absl::Seconds(90));
  EXPECT_EQ(exit_code, 0);
  absl::SleepFor(absl::Milliseconds(500));
  for (pid_t pid : family) {
    EXPECT_FALSE(ivg::testing::ProcessAlive(pid))
        << "process " << pid << " outlived the launcher: "
        << ReadFile(absl::StrCat("/proc/", pid, "/cmdline"));
  }
}

}  // namespace
}  // namespace ivg::launcher
