// The live policy service (PolicyService in proto/policy.proto): answers Act with the newest
// published encoder + policy, exactly as an actor would act on the same observations.
#ifndef IVG_SERVICES_PARAM_SERVER_POLICY_SERVICE_H_
#define IVG_SERVICES_PARAM_SERVER_POLICY_SERVICE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/metrics/metrics.h"
#include "model/policy/policy_runner.h"
#include "proto/config.pb.h"
#include "proto/params.pb.h"
#include "proto/policy.grpc.pb.h"

namespace ivg::param_server {

class PolicyServiceImpl final : public PolicyService::Service {
 public:
  // `registry` must outlive the service.
  static absl::StatusOr<std::unique_ptr<PolicyServiceImpl>> Create(
      const ExperimentConfig& config, metrics::MetricRegistry* registry);

  // Loads a newly published parameter set (called by the parameter service after a publish,
  // and at start-up with the persisted set). A set that does not fit the configured network
  // is logged and counted; the previous policy keeps answering.
  void Load(const PublishRequest& parameters);

  grpc::Status Act(grpc::ServerContext* context, const ActRequest* request,
                   ActResponse* response) override;

 private:
  PolicyServiceImpl(std::unique_ptr<model::PolicyRunner> runner,
                    metrics::MetricRegistry* registry);

  std::unique_ptr<model::PolicyRunner> runner_;
  metrics::Histogram* const act_seconds_;
  metrics::Counter* const act_ok_;
  metrics::Counter* const act_invalid_;
  metrics::Counter* const act_unavailable_;
  metrics::Counter* const load_failures_;
  metrics::Gauge* const version_;
};

}  // namespace ivg::param_server

#endif  // IVG_SERVICES_PARAM_SERVER_POLICY_SERVICE_H_
