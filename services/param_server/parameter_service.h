// gRPC handlers of ParameterService (proto/params.proto documents the API).
#ifndef IVG_SERVICES_PARAM_SERVER_PARAMETER_SERVICE_H_
#define IVG_SERVICES_PARAM_SERVER_PARAMETER_SERVICE_H_

#include <functional>
#include <memory>
#include <string>

#include "common/metrics/metrics.h"
#include "proto/params.grpc.pb.h"
#include "services/param_server/parameter_schema.h"
#include "services/param_server/parameter_store.h"

namespace ivg::param_server {

class ParameterServiceImpl final : public ParameterService::Service {
 public:
  // Versions are learner steps; one above this (2^53, where a double stops counting every
  // integer: metrics and JSON clients read versions as doubles) is refused, so a hostile or
  // corrupt Publish cannot store a version that blocks every later one for good.
  static constexpr int64_t kMaxVersion = int64_t{1} << 53;

  // `store`, `registry` and `schema` (optional) must outlive the service. With a schema, a
  // Publish whose tensors do not fit the configured networks is refused before it is stored.
  // `on_publish` (optional) runs after each accepted publish, e.g. to let the policy service
  // load the new version.
  ParameterServiceImpl(ParameterStore* store, std::string publish_token,
                       metrics::MetricRegistry* registry,
                       std::function<void(std::shared_ptr<const StoredParameters>)> on_publish = {},
                       const ParameterSchema* schema = nullptr);

  grpc::Status Publish(grpc::ServerContext* context, const PublishRequest* request,
                       PublishResponse* response) override;
  grpc::Status Fetch(grpc::ServerContext* context, const FetchRequest* request,
                     FetchResponse* response) override;

 private:
  ParameterStore* const store_;
  const std::string publish_token_;
  const std::function<void(std::shared_ptr<const StoredParameters>)> on_publish_;
  const ParameterSchema* const schema_;
  metrics::Counter* const publishes_;
  metrics::Counter* const rejected_unauthenticated_;
  metrics::Counter* const rejected_invalid_;
  metrics::Counter* const rejected_stale_;
  metrics::Counter* const fetches_up_to_date_;
  metrics::Counter* const fetches_sent_;
  metrics::Counter* const fetch_bytes_;
  metrics::Gauge* const version_;
  metrics::Gauge* const parameter_bytes_;
};

// Compares secrets in time independent of where they differ (no early exit), so a caller
// cannot learn the token byte by byte from response times.
bool ConstantTimeEquals(const std::string& a, const std::string& b);

}  // namespace ivg::param_server

#endif  // IVG_SERVICES_PARAM_SERVER_PARAMETER_SERVICE_H_
