#include "services/launcher/cluster_plan.h"

#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status/status_macros.h"

namespace ivg::launcher {
namespace {

// Process stages: servers start first and stop last.
constexpr int kStageReplay = 0;
constexpr int kStageParamServer = 1;
constexpr int kStageLearner = 2;
constexpr int kStageActor = 3;

std::string Loopback(int port) { return absl::StrCat("127.0.0.1:", port); }

}  // namespace

PortAllocator::~PortAllocator() {
  for (int fd : sockets_) close(fd);
}

absl::StatusOr<int> PortAllocator::Next() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    return absl::UnavailableError("cannot bind a free loopback port");
  }
  sockets_.push_back(fd);
  return ntohs(address.sin_port);
}

absl::StatusOr<std::string> FindBinary(const std::string& binary_dir, const std::string& subdir,
                                       const std::string& name) {
  const std::vector<std::string> candidates = {
      absl::StrCat(binary_dir, "/", name), absl::StrCat(binary_dir, "/", subdir, "/", name)};
  for (const std::string& path : candidates) {
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return absl::NotFoundError(absl::StrCat("binary '", name, "' not found at ", candidates[0],
                                          " or ", candidates[1],
                                          " (build it: cmake --build build)"));
}

absl::Status WritePrometheusTargets(const ClusterPlan& plan, const std::string& path) {
  std::string json = "[\n";
  for (size_t i = 0; i < plan.metrics.size(); ++i) {
    const MetricsEndpoint& endpoint = plan.metrics[i];
    absl::StrAppend(&json, "  {\"targets\": [\"127.0.0.1:", endpoint.port,
                    "\"], \"labels\": {\"job\": \"", endpoint.role, "\", \"process\": \"",
                    endpoint.process, "\", \"run\": \"", plan.config.name(), "\"}}",
                    i + 1 < plan.metrics.size() ? ",\n" : "\n");
  }
  json += "]\n";
  const std::string temporary = absl::StrCat(path, ".tmp");
  {
    std::ofstream file(temporary);
    file << json;
    if (!file) return absl::UnavailableError(absl::StrCat("cannot write ", temporary));
  }
  // Prometheus re-reads file_sd files on change; rename makes the update atomic.
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot replace ", path));
  }
  return absl::OkStatus();
}

int LearnerThreads(int cores, int num_learners) {
  return std::max(1, cores / std::max(1, num_learners));
}

int AvailableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

absl::StatusOr<ClusterPlan> PlanCluster(const ExperimentConfig& config,
                                        const LaunchOptions& options, bool pick_free_ports) {
  ClusterPlan plan;
  plan.config = config;
  // Placement: actors, the evaluator and the replay run one inference / compression thread
  // each (actor.inference_threads); the learners share the cores. With a replay ratio the
  // actors mostly wait, so the learners' share is all cores split between them.
  if (plan.config.learner().torch_threads() == 0) {
    const int cores = options.cores > 0 ? options.cores : AvailableCores();
    plan.config.mutable_learner()->set_torch_threads(
        LearnerThreads(cores, plan.config.learner().num_learners()));
  }
  if (options.actor_nice < 0 || options.actor_nice > 19) {
    return absl::InvalidArgumentError(absl::StrCat(
        "actor niceness must be in [0, 19] (an unprivileged launcher cannot raise priority), "
        "got ", options.actor_nice));
  }
  ClusterConfig& cluster = *plan.config.mutable_cluster();
  ReplayConfig& replay = *plan.config.mutable_replay();
  cluster.set_run_dir(options.run_dir);

  PortAllocator ports;
  auto port_or = [&](int configured) -> absl::StatusOr<int> {
    if (!pick_free_ports && configured > 0) return configured;
    return ports.Next();
  };

  IVG_ASSIGN_OR_RETURN(const std::string replay_binary,
                       FindBinary(options.binary_dir, "services/replay", "ivg_replay_server"));
  IVG_ASSIGN_OR_RETURN(const std::string param_binary,
                       FindBinary(options.binary_dir, "services/param_server", "ivg_param_server"));
  IVG_ASSIGN_OR_RETURN(const std::string learner_binary,
                       FindBinary(options.binary_dir, "services/learner", "ivg_learner"));
  IVG_ASSIGN_OR_RETURN(const std::string actor_binary,
                       FindBinary(options.binary_dir, "services/actor", "ivg_actor"));
  std::string evaluator_binary;
  if (plan.config.eval().enabled()) {
    IVG_ASSIGN_OR_RETURN(evaluator_binary,
                         FindBinary(options.binary_dir, "services/evaluator", "ivg_evaluator"));
  }

  // Endpoints first: every child reads them from the same config.
  const int num_shards = cluster.num_replay_shards();
  std::vector<int> replay_ports, redis_ports;
  replay.clear_shard_addresses();
  for (int shard = 0; shard < num_shards; ++shard) {
    IVG_ASSIGN_OR_RETURN(int port, port_or(cluster.replay_base_port() + shard));
    IVG_ASSIGN_OR_RETURN(int redis_port, ports.Next());
    replay_ports.push_back(port);
    redis_ports.push_back(redis_port);
    replay.add_shard_addresses(Loopback(port));
  }
  const std::vector<std::string> param_parts = absl::StrSplit(cluster.param_server_address(), ':');
  int configured_param_port = 0;
  if (param_parts.size() == 2) (void)absl::SimpleAtoi(param_parts[1], &configured_param_port);
  IVG_ASSIGN_OR_RETURN(int param_port, port_or(configured_param_port));
  cluster.set_param_server_address(Loopback(param_port));
  IVG_ASSIGN_OR_RETURN(int rendezvous_port, ports.Next());
  cluster.set_learner_rendezvous_address(Loopback(rendezvous_port));

  int next_metrics_port = cluster.metrics_base_port();
  auto metrics_port = [&]() -> absl::StatusOr<int> {
    if (pick_free_ports || next_metrics_port == 0) return ports.Next();
    return next_metrics_port++;
  };
  const std::string log_dir = absl::StrCat(options.run_dir, "/logs");
  // OpenMP and OpenBLAS default to one thread per core in every process: 8 actors and 2
  // learners on 2 cores would run 20 compute threads. Each child gets the threads its role
  // uses (a learner its intra-op share, an actor its inference threads, servers one).
  auto add = [&](const std::string& name, const std::string& role, int stage, int metrics,
                 std::vector<std::string> argv) {
    argv.push_back(absl::StrCat("--config=", options.config_path));
    argv.push_back(absl::StrCat("--logdir=", log_dir));
    int threads = 1;
    if (role == "learner") threads = plan.config.learner().torch_threads();
    if (role == "actor" || role == "evaluator") threads = plan.config.actor().inference_threads();
    threads = std::max(1, threads);
    // Only the actors yield: the evaluator must keep its schedule (niced, it starved behind
    // the learners and missed every evaluation of the learning test).
    plan.processes.push_back({name, std::move(argv), /*restart=*/true, stage,
                              {absl::StrCat("OMP_NUM_THREADS=", threads),
                               absl::StrCat("OPENBLAS_NUM_THREADS=", threads)},
                              role == "actor" ? options.actor_nice : 0,
                              // The synchronous learners fail and restart as one: both resume
                              // from their last common checkpoint and meet in a new rendezvous.
                              role == "learner" ? "learners" : ""});
    plan.metrics.push_back({name, role, metrics});
  };

  for (int shard = 0; shard < num_shards; ++shard) {
    IVG_ASSIGN_OR_RETURN(int metrics, metrics_port());
    add(absl::StrCat("replay-", shard), "replay", kStageReplay, metrics,
        {replay_binary, absl::StrCat("--shard=", shard),
         absl::StrCat("--address=", cluster.host(), ":", replay_ports[shard]),
         absl::StrCat("--metrics_address=", cluster.host(), ":", metrics), "--start_redis=true",
         absl::StrCat("--redis_port=", redis_ports[shard]),
         absl::StrCat("--redis_data_dir=", options.run_dir, "/redis/shard-", shard)});
  }
  {
    IVG_ASSIGN_OR_RETURN(int metrics, metrics_port());
    add("param_server", "param_server", kStageParamServer, metrics,
        {param_binary, absl::StrCat("--metrics_address=", Loopback(metrics)),
         absl::StrCat("--state_dir=", options.run_dir, "/param_server")});
  }
  const int num_learners = plan.config.learner().num_learners();
  for (int rank = 0; rank < num_learners; ++rank) {
    IVG_ASSIGN_OR_RETURN(int metrics, metrics_port());
    std::vector<std::string> argv = {
        learner_binary, absl::StrCat("--rank=", rank), absl::StrCat("--world_size=", num_learners),
        absl::StrCat("--metrics_address=", cluster.host(), ":", metrics),
        absl::StrCat("--run_dir=", options.run_dir),
        "--data=replay"};
    // Learners always resume from the run's checkpoint when there is one: a restarted
    // learner continues where it stopped, and so does a second launch on the same run dir.
    argv.push_back("--resume_if_present");
    add(absl::StrCat("learner-", rank), "learner", kStageLearner, metrics, std::move(argv));
  }
  for (int actor = 0; actor < plan.config.actor().num_actors(); ++actor) {
    IVG_ASSIGN_OR_RETURN(int metrics, metrics_port());
    add(absl::StrCat("actor-", actor), "actor", kStageActor, metrics,
        {actor_binary, absl::StrCat("--actor_id=", actor),
         absl::StrCat("--metrics_address=", Loopback(metrics))});
  }
  if (plan.config.eval().enabled()) {
    // The evaluator acts like an actor (same stage) but writes nothing to replay.
    IVG_ASSIGN_OR_RETURN(int metrics, metrics_port());
    add("evaluator", "evaluator", kStageActor, metrics,
        {evaluator_binary, absl::StrCat("--metrics_address=", Loopback(metrics))});
  }
  return plan;
}

}  // namespace ivg::launcher
