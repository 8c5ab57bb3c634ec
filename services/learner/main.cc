// ivg_learner: one IVG learner process (rank r of world_size), see README.md.
//
//   ivg_learner --config=configs/lift.textproto --rank=0 --world_size=2 --run_dir=runs/lift \
//     [--resume] [--metrics_address=HOST:PORT] [--data=replay|synthetic] \
//     [--set learner.max_steps=100]
//
// Start-up, the shared flags, the ready line and the exit codes are
// common/process/service_main.h's (0 also when learner.max_steps is reached). Ready line, once
// the learner is built and about to train:
//   ivg_learner ready: metrics=HOST:PORT rank=R world_size=W step=S
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/config/derived_values.h"
#include "common/metrics/metrics.h"
#include "common/process/service_main.h"
#include "common/shutdown/shutdown_signal.h"
#include "glog/logging.h"
#include "model/core/heap_settings.h"
#include "services/learner/grpc_parameter_publisher.h"
#include "services/learner/learner.h"
#include "services/learner/replay_sequence_source.h"
#include "services/replay/client/replay_client_options.h"

ABSL_FLAG(int, rank, 0, "This learner's rank.");
ABSL_FLAG(int, world_size, 0, "Number of learners; 0 = learner.num_learners.");
ABSL_FLAG(std::string, run_dir, "", "Run directory; empty = cluster.run_dir.");
ABSL_FLAG(bool, resume, false, "Continue from this rank's checkpoint in the run directory.");
ABSL_FLAG(bool, resume_if_present, false,
          "Continue from this rank's checkpoint when it exists, else start fresh.");
ABSL_FLAG(std::string, data, "replay",
          "replay: sample the replay shards; synthetic: an in-process buffer of generated "
          "episodes (smoke runs, benchmarks).");
ABSL_FLAG(int, synthetic_episodes, 16, "Episodes in the synthetic buffer.");
ABSL_FLAG(bool, publish, true, "Rank 0 publishes parameters to cluster.param_server_address.");

namespace ivg::learner {
namespace {

int Main(int argc, char** argv) {
  // Before the first tensor: the step's activation maps are re-used from the heap instead of
  // being faulted in afresh every step (model/core/heap_settings.h).
  const std::string heap_settings = model::KeepFreedMemoryInHeap();
  // Installs the signal handlers before anything slow: a SIGTERM during start-up must not
  // kill the process unsaved.
  ServiceMain process = ServiceMain::Init(
      {/*name=*/"ivg_learner", /*usage=*/"Runs one IVG learner (rank r of world_size).",
       /*serves_grpc=*/false},
      argc, argv);
  const ExperimentConfig* config = &process.config();
  const ClusterConfig& cluster = config->cluster();
  const LearnerConfig& lc = config->learner();
  const int rank = absl::GetFlag(FLAGS_rank);
  const int world =
      absl::GetFlag(FLAGS_world_size) > 0 ? absl::GetFlag(FLAGS_world_size) : lc.num_learners();
  std::string run_dir = absl::GetFlag(FLAGS_run_dir);
  if (run_dir.empty()) run_dir = cluster.run_dir();
  LOG(INFO) << "ivg_learner rank " << rank << " of " << world << ", profile '" << config->profile()
            << "', run_dir " << run_dir << "; "
            << heap_settings;

  metrics::MetricRegistry& registry = metrics::DefaultRegistry();
  // metrics_base_port 0 keeps 0: a free port.
  const int default_metrics_port =
      cluster.metrics_base_port() == 0 ? 0 : cluster.metrics_base_port() + 10 + rank;
  if (absl::Status s =
          process.StartMetrics(absl::StrCat(cluster.host(), ":", default_metrics_port), &registry);
      !s.ok()) {
    return process.Fail(s, "cannot start the metrics server");
  }

  const int sequence_length = SequenceLength(*config);
  std::unique_ptr<SequenceSource> source;
  if (absl::GetFlag(FLAGS_data) == "synthetic") {
    auto buffer = std::make_unique<InMemorySequenceSource>(
        sequence_length, static_cast<uint64_t>(lc.seed()) * 1000 + rank);
    for (const Episode& e : MakeSyntheticEpisodes(
             absl::GetFlag(FLAGS_synthetic_episodes), config->env().episode_steps(),
             config->env().image_size(), config->model().proprio_size(),
             config->model().action_size(), NumTasks(*config), lc.seed() + rank)) {
      if (absl::Status s = buffer->AddEpisode(e); !s.ok()) {
        return process.BadConfig(s, "synthetic episodes do not fit the config");
      }
    }
    source = std::move(buffer);
  } else if (absl::GetFlag(FLAGS_data) == "replay") {
    auto client = replay::ShardedReplayClient::Create(
        replay::ReplayClientOptionsFromConfig(*config, &registry));
    if (!client.ok()) return process.BadConfig(client.status(), "invalid replay client config");
    source = std::make_unique<ReplaySequenceSource>(std::move(*client), config->replay().table(),
                                                    sequence_length);
  } else {
    return process.BadConfig(
        absl::InvalidArgumentError(absl::StrCat("--data must be 'replay' or 'synthetic', got '",
                                                absl::GetFlag(FLAGS_data), "'")),
        "invalid flag --data");
  }

  std::optional<C10dCollectiveOptions> rendezvous;
  if (world > 1) {
    std::vector<std::string> host_port = absl::StrSplit(cluster.learner_rendezvous_address(), ':');
    int port = 0;
    if (host_port.size() != 2 || !absl::SimpleAtoi(host_port[1], &port)) {
      return process.BadConfig(absl::InvalidArgumentError(absl::StrCat(
                                   "cluster.learner_rendezvous_address must be host:port, got '",
                                   cluster.learner_rendezvous_address(), "'")),
                               "invalid config");
    }
    rendezvous.emplace();
    rendezvous->host = host_port[0];
    rendezvous->port = port;
    rendezvous->rank = rank;
    rendezvous->world_size = world;
  }

  std::unique_ptr<GrpcParameterPublisher> publisher;
  if (rank == 0 && absl::GetFlag(FLAGS_publish)) {
    publisher = std::make_unique<GrpcParameterPublisher>(
        cluster.param_server_address(), cluster.max_message_bytes(), cluster.publish_token(),
        absl::Milliseconds(cluster.rpc_deadline_ms()));
  }

  LearnerOptions options;
  options.config = *config;
  options.run_dir = run_dir;
  options.resume = absl::GetFlag(FLAGS_resume);
  options.resume_if_present = absl::GetFlag(FLAGS_resume_if_present);
  options.registry = &registry;
  options.rendezvous = std::move(rendezvous);
  auto learner = Learner::Create(std::move(options), std::move(source), publisher.get());
  if (!learner.ok()) return process.Fail(learner.status(), "cannot create the learner");
  process.Ready({{"rank", absl::StrCat(rank)},
                 {"world_size", absl::StrCat(world)},
                 {"step", absl::StrCat((*learner)->step())}});
  absl::Status status = (*learner)->Run([] { return ShutdownRequested(); });
  LOG(INFO) << "Learner stopped at step " << (*learner)->step() << "; checkpoint "
            << (*learner)->checkpoint_path();
  if (!status.ok()) return process.Fail(status, "learner stopped");
  return kExitClean;
}

}  // namespace
}  // namespace ivg::learner

int main(int argc, char** argv) { return ivg::learner::Main(argc, argv); }
