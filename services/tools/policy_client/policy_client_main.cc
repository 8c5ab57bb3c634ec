// ivg_policy_client: asks a running policy service for an action, as any gRPC client can.
// The observation comes from a freshly reset environment (seeded) or from a saved episode
// file (a binary ivg.Episode); the answer is printed as text.
//
//   ivg_policy_client --address=127.0.0.1:50100 --config=runs/x/config.textproto --seed=3
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_join.h"
#include "common/config/config_loader.h"
#include "common/grpc/client_context.h"
#include "common/grpc/grpc_status.h"
#include "env/model_proprio.h"
#include "env/sawyer_env.h"
#include "proto/episode.pb.h"
#include "proto/policy.grpc.pb.h"

ABSL_FLAG(std::string, address, "", "Policy service host:port; empty = cluster.param_server_address.");
ABSL_FLAG(std::string, config, "", "The run's config (image size, history length, tasks).");
ABSL_FLAG(uint64_t, seed, 1, "Environment reset seed (when no --episode_file).");
ABSL_FLAG(std::string, episode_file, "", "A saved ivg.Episode; its first H steps are the history.");
ABSL_FLAG(int, task_id, 0, "Task index for multi-task policies.");
ABSL_FLAG(bool, deterministic, false, "Return the mean action.");
ABSL_FLAG(int, deadline_ms, 5000, "Deadline of the call.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Queries the live IVG policy with one observation history.");
  const std::vector<std::string> overrides = ivg::ExtractConfigOverrides(&argc, argv);
  absl::ParseCommandLine(argc, argv);
  auto config = ivg::LoadExperimentConfig(absl::GetFlag(FLAGS_config), overrides);
  if (!config.ok()) {
    std::cerr << config.status() << "\n";
    return 2;
  }
  // From state the policy reads no image (0 x 0).
  const int size = ivg::env::ObservesPixels(config->env()) ? config->env().image_size() : 0;
  ivg::ActRequest request;
  request.set_image_height(size);
  request.set_image_width(size);
  request.set_task_id(absl::GetFlag(FLAGS_task_id));
  request.set_deterministic(absl::GetFlag(FLAGS_deterministic));
  if (!absl::GetFlag(FLAGS_episode_file).empty()) {
    ivg::Episode episode;
    std::ifstream file(absl::GetFlag(FLAGS_episode_file), std::ios::binary);
    if (!file || !episode.ParseFromIstream(&file)) {
      std::cerr << "cannot read an ivg.Episode from " << absl::GetFlag(FLAGS_episode_file) << "\n";
      return 2;
    }
    const int frames = std::min(episode.steps_size(), config->learner().burn_in());
    for (int t = 0; t < frames; ++t) {
      ivg::Observation* frame = request.add_history();
      frame->set_image(episode.steps(t).image());
      *frame->mutable_proprio() = episode.steps(t).proprio();
    }
  } else {
    ivg::env::EnvOptions env_options;
    env_options.render = ivg::env::ObservesPixels(config->env());
    auto environment = ivg::env::SawyerEnv::Create(config->env(), env_options);
    if (!environment.ok()) {
      std::cerr << environment.status() << "\n";
      return 1;
    }
    auto step = (*environment)->Reset(absl::GetFlag(FLAGS_seed));
    if (!step.ok()) {
      std::cerr << step.status() << "\n";
      return 1;
    }
    ivg::Observation* frame = request.add_history();
    const absl::Span<const uint8_t> image = ivg::env::ModelImage(step->observation, config->env());
    frame->set_image(image.data(), image.size());
    const std::vector<float> proprio = ivg::env::ModelProprio(step->observation, config->env());
    frame->mutable_proprio()->Add(proprio.begin(), proprio.end());
  }
  const std::string address = absl::GetFlag(FLAGS_address).empty()
                                  ? config->cluster().param_server_address()
                                  : absl::GetFlag(FLAGS_address);
  auto stub = ivg::PolicyService::NewStub(
      ivg::MakeChannel(address, config->cluster().max_message_bytes()));
  auto context = ivg::MakeClientContext(absl::Milliseconds(absl::GetFlag(FLAGS_deadline_ms)));
  ivg::ActResponse response;
  const grpc::Status status = stub->Act(context.get(), request, &response);
  if (!status.ok()) {
    std::cerr << "Act failed: " << ivg::FromGrpcStatus(status) << "\n";
    return 1;
  }
  std::cout << "param_version: " << response.param_version() << "\n"
            << "action: [" << absl::StrJoin(response.action(), ", ") << "]\n"
            << "mean: [" << absl::StrJoin(response.mean(), ", ") << "]\n"
            << "log_std: [" << absl::StrJoin(response.log_std(), ", ") << "]\n"
            << "log_prob: " << response.log_prob() << "\n";
  return 0;
}
