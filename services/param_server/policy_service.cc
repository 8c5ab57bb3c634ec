#include "services/param_server/policy_service.h"

#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/grpc_status.h"
#include "common/status/status_macros.h"
#include "glog/logging.h"

namespace ivg::param_server {
namespace {

metrics::Family<metrics::Counter>& ActRequests(metrics::MetricRegistry* registry) {
  return registry->AddCounter("ivg_policy_act_requests_total", "Act calls, by outcome.",
                              {"outcome"});
}

}  // namespace

absl::StatusOr<std::unique_ptr<PolicyServiceImpl>> PolicyServiceImpl::Create(
    const ExperimentConfig& config, metrics::MetricRegistry* registry) {
  // Act calls arrive on gRPC threads; one intra-op thread each keeps them from contending.
  IVG_ASSIGN_OR_RETURN(std::unique_ptr<model::PolicyRunner> runner,
                       model::PolicyRunner::Create(config, /*threads=*/1));
  return std::unique_ptr<PolicyServiceImpl>(new PolicyServiceImpl(std::move(runner), registry));
}

PolicyServiceImpl::PolicyServiceImpl(std::unique_ptr<model::PolicyRunner> runner,
                                     metrics::MetricRegistry* registry)
    : runner_(std::move(runner)),
      act_seconds_(registry
                       ->AddHistogram("ivg_policy_act_seconds",
                                      "Act latency inside the server (validation + inference).",
                                      {}, metrics::DefaultLatencyBuckets())
                       .Get()),
      act_ok_(ActRequests(registry).WithLabels({"ok"})),
      act_invalid_(ActRequests(registry).WithLabels({"invalid_argument"})),
      act_unavailable_(ActRequests(registry).WithLabels({"unavailable"})),
      load_failures_(registry
                         ->AddCounter("ivg_policy_load_failures_total",
                                      "Published parameter sets the policy could not load.")
                         .Get()),
      version_(registry->AddGauge("ivg_policy_version", "Parameter version the policy answers with.")
                   .Get()) {
  version_->Set(-1);
}

void PolicyServiceImpl::Load(const PublishRequest& parameters) {
  absl::Status loaded = runner_->Load(parameters.actor_params(), parameters.version());
  if (!loaded.ok()) {
    load_failures_->Increment();
    LOG(ERROR) << "policy service keeps version " << runner_->version() << ": " << loaded;
    return;
  }
  version_->Set(static_cast<double>(parameters.version()));
}

grpc::Status PolicyServiceImpl::Act(grpc::ServerContext*, const ActRequest* request,
                                    ActResponse* response) {
  const absl::Time start = absl::Now();
  auto invalid = [this](const std::string& message) {
    act_invalid_->Increment();
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
  };
  const int expected = runner_->image_size();
  if (request->image_height() != expected || request->image_width() != expected) {
    return invalid(absl::StrCat("image size ", request->image_height(), "x",
                                request->image_width(), " does not match the policy's ", expected,
                                "x", expected));
  }
  if (request->history_size() == 0) {
    return invalid(absl::StrCat("history is empty; send 1 to ", runner_->history_length(),
                                " frames, oldest first"));
  }
  std::vector<model::FrameView> frames;
  frames.reserve(request->history_size());
  for (const Observation& observation : request->history()) {
    frames.push_back({absl::Span<const uint8_t>(
                          reinterpret_cast<const uint8_t*>(observation.image().data()),
                          observation.image().size()),
                      absl::Span<const float>(observation.proprio().data(),
                                              observation.proprio_size())});
  }
  const int64_t version = runner_->version();
  if (version < 0) {
    act_unavailable_->Increment();
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "no parameters have been published yet; retry after the learner's "
                        "first publish");
  }
  const uint64_t seed = request->seed() != 0 ? request->seed() : std::random_device{}();
  absl::StatusOr<model::PolicyOutput> output =
      runner_->Act(frames, request->task_id(), request->deterministic(), seed);
  if (!output.ok()) {
    if (output.status().code() == absl::StatusCode::kInvalidArgument) {
      return invalid(std::string(output.status().message()));
    }
    return ToGrpcStatus(output.status());
  }
  response->mutable_action()->Add(output->action.begin(), output->action.end());
  response->mutable_mean()->Add(output->mean.begin(), output->mean.end());
  response->mutable_log_std()->Add(output->log_std.begin(), output->log_std.end());
  response->set_log_prob(output->log_prob);
  response->set_param_version(version);
  act_ok_->Increment();
  act_seconds_->Observe(absl::ToDoubleSeconds(absl::Now() - start));
  return grpc::Status::OK;
}

}  // namespace ivg::param_server
