#include "services/param_server/parameter_service.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/grpc/grpc_status.h"
#include "common/tensor/tensor_proto_util.h"
#include "glog/logging.h"

namespace ivg::param_server {
namespace {

// Checked before anything is stored: a parameter set with NaN or Inf would make every
// actor act with NaN and the policy service answer NaN, and a duplicate name makes the
// loaded set depend on the order of the copies.
absl::Status ValidateNamedTensors(const NamedTensors& tensors, const std::string& group) {
  absl::flat_hash_set<std::string> names;
  for (const NamedTensor& named : tensors.tensors()) {
    if (named.name().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(group, ": a tensor has no name"));
    }
    if (!names.insert(named.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(group, ": tensor name '", named.name(), "' appears more than once"));
    }
    absl::Status status = ValidateFiniteTensorProto(
        named.tensor(), absl::StrCat(group, " tensor '", named.name(), "'"));
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status ValidatePublishHeader(const PublishRequest& request) {
  if (request.version() < 0 || request.version() > ParameterServiceImpl::kMaxVersion) {
    return absl::InvalidArgumentError(absl::StrCat("version ", request.version(),
                                                   " is outside [0, 2^53]"));
  }
  if (request.learner_step() < 0 || request.learner_step() > ParameterServiceImpl::kMaxVersion) {
    return absl::InvalidArgumentError(absl::StrCat("learner_step ", request.learner_step(),
                                                   " is outside [0, 2^53]"));
  }
  return absl::OkStatus();
}

// Labelled families, named once: each series below is one label value of them.
metrics::Family<metrics::Counter>& RejectedPublishes(metrics::MetricRegistry* registry) {
  return registry->AddCounter("ivg_param_server_rejected_publishes_total",
                              "Publish calls refused, by reason.", {"reason"});
}

metrics::Family<metrics::Counter>& Fetches(metrics::MetricRegistry* registry) {
  return registry->AddCounter("ivg_param_server_fetches_total", "Fetch calls, by outcome.",
                              {"outcome"});
}

}  // namespace

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  const size_t length = std::max(a.size(), b.size());
  unsigned char difference = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < length; ++i) {
    const unsigned char x = i < a.size() ? a[i] : 0;
    const unsigned char y = i < b.size() ? b[i] : 0;
    difference |= x ^ y;
  }
  return difference == 0;
}

ParameterServiceImpl::ParameterServiceImpl(
    ParameterStore* store, std::string publish_token, metrics::MetricRegistry* registry,
    std::function<void(std::shared_ptr<const StoredParameters>)> on_publish,
    const ParameterSchema* schema)
    : store_(store),
      publish_token_(std::move(publish_token)),
      on_publish_(std::move(on_publish)),
      schema_(schema),
      publishes_(registry->AddCounter("ivg_param_server_publishes_total",
                                      "Parameter sets accepted from learners.")
                     .Get()),
      rejected_unauthenticated_(RejectedPublishes(registry).WithLabels({"unauthenticated"})),
      rejected_invalid_(RejectedPublishes(registry).WithLabels({"invalid"})),
      rejected_stale_(RejectedPublishes(registry).WithLabels({"stale_version"})),
      fetches_up_to_date_(Fetches(registry).WithLabels({"up_to_date"})),
      fetches_sent_(Fetches(registry).WithLabels({"sent"})),
      fetch_bytes_(registry
                       ->AddCounter("ivg_param_server_fetch_bytes_total",
                                    "Parameter bytes sent to fetchers.")
                       .Get()),
      version_(registry
                   ->AddGauge("ivg_param_server_version",
                              "Version of the newest stored parameter set (-1: none).")
                   .Get()),
      parameter_bytes_(registry
                           ->AddGauge("ivg_param_server_parameter_bytes",
                                      "Serialized size of the newest parameter set.")
                           .Get()) {
  version_->Set(static_cast<double>(store_->version()));
  if (auto latest = store_->Latest()) parameter_bytes_->Set(latest->ByteSizeLong());
}

grpc::Status ParameterServiceImpl::Publish(grpc::ServerContext* context,
                                           const PublishRequest* request,
                                           PublishResponse* response) {
  if (!ConstantTimeEquals(request->token(), publish_token_)) {
    rejected_unauthenticated_->Increment();
    LOG(WARNING) << "refused Publish from " << context->peer() << ": wrong token";
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "Publish refused: the token does not match cluster.publish_token");
  }
  absl::Status valid = ValidatePublishHeader(*request);
  if (valid.ok()) valid = ValidateNamedTensors(request->actor_params(), "actor_params");
  if (valid.ok()) valid = ValidateNamedTensors(request->model_params(), "model_params");
  if (valid.ok() && request->actor_params().tensors_size() == 0) {
    valid = absl::InvalidArgumentError("Publish has no actor_params");
  }
  if (valid.ok() && schema_ != nullptr) valid = schema_->Check(*request);
  if (!valid.ok()) {
    rejected_invalid_->Increment();
    LOG(WARNING) << "refused Publish of version " << request->version() << " from "
                 << context->peer() << ": " << valid.message();
    return ToGrpcStatus(valid);
  }
  absl::StatusOr<int64_t> stored = store_->Publish(*request);
  if (!stored.ok()) {
    if (stored.status().code() == absl::StatusCode::kFailedPrecondition) {
      rejected_stale_->Increment();
    }
    return ToGrpcStatus(stored.status());
  }
  publishes_->Increment();
  version_->Set(static_cast<double>(*stored));
  std::shared_ptr<const StoredParameters> latest = store_->Latest();
  parameter_bytes_->Set(latest->ByteSizeLong());
  response->set_stored_version(*stored);
  if (on_publish_) on_publish_(std::move(latest));
  return grpc::Status::OK;
}

grpc::Status ParameterServiceImpl::Fetch(grpc::ServerContext*, const FetchRequest* request,
                                         FetchResponse* response) {
  std::shared_ptr<const StoredParameters> latest = store_->Latest();
  if (latest == nullptr) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no parameters have been published yet");
  }
  response->set_version(latest->version());
  response->set_learner_step(latest->learner_step());
  response->set_model_config_fingerprint(latest->model_config_fingerprint());
  if (request->have_version() >= latest->version()) {
    response->set_up_to_date(true);
    fetches_up_to_date_->Increment();
    return grpc::Status::OK;
  }
  *response->mutable_actor_params() = latest->actor_params();
  if (request->group() == PARAMETER_GROUP_FULL) {
    *response->mutable_model_params() = latest->model_params();
  }
  fetches_sent_->Increment();
  fetch_bytes_->Increment(static_cast<double>(response->ByteSizeLong()));
  return grpc::Status::OK;
}

}  // namespace ivg::param_server
