// Turns an experiment config and the launcher's flags into the list of processes of a local
// cluster: Redis-backed replay shards, the parameter server, the learners and the actors,
// each with its ports, log file and metrics endpoint.
//
// Every child reads the same config file, written by the launcher into the run directory
// with the ports it chose filled in (cluster.param_server_address, replay.shard_addresses,
// cluster.learner_rendezvous_address), so there is one source of truth per run.
#ifndef IVG_SERVICES_LAUNCHER_CLUSTER_PLAN_H_
#define IVG_SERVICES_LAUNCHER_CLUSTER_PLAN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/config.pb.h"
#include "services/launcher/process_supervisor.h"

namespace ivg::launcher {

struct LaunchOptions {
  // Folder holding the service binaries, either flat (bin/ivg_actor) or as in the build
  // tree (services/actor/ivg_actor).
  std::string binary_dir;
  std::string run_dir;
  // The run's config file (written by the launcher) that every child reads.
  std::string config_path;
  bool resume = false;
  // Cores the cluster may use; 0 = the cores this process may run on (sched_getaffinity).
  int cores = 0;
  // Niceness of the actors (0..19): the learners are the bottleneck, and with a replay
  // ratio the actors only need to keep up with them (bench/README.md, "Local cluster").
  // The evaluator is not niced: it must keep its schedule.
  int actor_nice = 0;
};

// Intra-op threads per learner when learner.torch_threads is 0 (automatic): an equal share
// of `cores` for each of `num_learners`, at least 1. ATen's own default is every core in
// every process, so two learners on two cores would run four threads and contend.
int LearnerThreads(int cores, int num_learners);

// The cores this process may run on.
int AvailableCores();

// One process's metrics endpoint, for the progress line and Prometheus.
struct MetricsEndpoint {
  std::string process;
  std::string role;  // "replay", "param_server", "learner", "actor", "evaluator"
  int port = 0;
};

struct ClusterPlan {
  ExperimentConfig config;  // With ports filled in.
  std::vector<ProcessSpec> processes;
  std::vector<MetricsEndpoint> metrics;
};

// Chooses free loopback ports for every endpoint whose configured port is 0 (or always,
// when `pick_free_ports`), fills them into the config and builds the process list.
absl::StatusOr<ClusterPlan> PlanCluster(const ExperimentConfig& config,
                                        const LaunchOptions& options, bool pick_free_ports);

// Writes the metrics endpoints as a Prometheus file_sd target list (JSON): one target per
// process, labelled job=<role> and process=<name>, so a Prometheus started with
// file_sd_configs scrapes the whole local cluster.
absl::Status WritePrometheusTargets(const ClusterPlan& plan, const std::string& path);

// Finds `name` in `binary_dir` (flat) or `binary_dir/<subdir>/`; an error lists where it looked.
absl::StatusOr<std::string> FindBinary(const std::string& binary_dir, const std::string& subdir,
                                       const std::string& name);

// Hands out distinct free loopback ports: each port's socket stays bound until the
// allocator is destroyed, so the kernel cannot hand the same port out twice (a bind-and-close
// loop can). The processes bind their ports after the allocator released them.
class PortAllocator {
 public:
  PortAllocator() = default;
  ~PortAllocator();
  PortAllocator(const PortAllocator&) = delete;
  PortAllocator& operator=(const PortAllocator&) = delete;

  absl::StatusOr<int> Next();

 private:
  std::vector<int> sockets_;
};

}  // namespace ivg::launcher

#endif  // IVG_SERVICES_LAUNCHER_CLUSTER_PLAN_H_
