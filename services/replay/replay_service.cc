#include "services/replay/replay_service.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/grpc/grpc_status.h"
#include "common/status/status_macros.h"
#include "glog/logging.h"
#include "services/replay/sequence_batch.h"

namespace ivg::replay {
namespace {

// How long a call may wait in the rate limiter: until shortly before the client's deadline,
// so that a rate-limited call is answered DEADLINE_EXCEEDED by this server, with nothing
// stored, before the client gives up on its own (a client that timed out while the server
// went on to store would retry and store the episode twice).
absl::Time LimiterDeadlineOf(const grpc::ServerContext* context, absl::Duration max_blocking) {
  const absl::Time now = absl::Now();
  const absl::Time longest = now + max_blocking;
  const auto d = context->deadline();
  if (d == std::chrono::system_clock::time_point::max()) return longest;
  const absl::Time deadline = absl::FromChrono(d);
  const absl::Duration left = deadline - now;
  return std::min(longest, deadline - std::min(absl::Seconds(1), left / 4));
}

// Serialized bytes of a decoded batch of `batch_size` sequences of `length` steps: the
// images (two RGB cameras) dominate; proprio, action, rewards and the rest are float32.
int64_t DecodedBatchBytes(int64_t batch_size, int64_t length, const EpisodeSpec& spec) {
  const int64_t image = int64_t{6} * spec.image_size * spec.image_size;
  const int64_t floats = spec.proprio_size + spec.action_size + std::max(1, spec.num_rewards) + 4;
  return batch_size * length * (image + 4 * floats);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReplayServiceImpl>> ReplayServiceImpl::Create(
    ReplayServiceOptions options, RedisConnectionPool* pool, metrics::MetricRegistry* registry) {
  ReplayMetrics metrics =
      ReplayMetrics::Create(registry, std::to_string(options.shard), options.table.name);
  std::unique_ptr<ReplayServiceImpl> service(
      new ReplayServiceImpl(std::move(options), pool, metrics));
  auto table = Table::Create(service->options_.table, pool, &service->metrics_);
  if (!table.ok()) return table.status();
  service->table_ = *std::move(table);
  return service;
}

absl::Status ReplayServiceImpl::CheckTable(const std::string& name) {
  if (name.empty() || name == options_.table.name) return absl::OkStatus();
  metrics_.rejected_not_found->Increment();
  return absl::NotFoundError(absl::StrCat("unknown replay table '", name, "'; shard ",
                                          options_.shard, " serves '", options_.table.name, "'"));
}

absl::StatusOr<InsertEpisodeResponse> ReplayServiceImpl::DoInsert(
    const InsertEpisodeRequest& request, absl::Time deadline) {
  if (auto s = CheckTable(request.table()); !s.ok()) return s;
  const size_t bytes = request.ByteSizeLong();
  if (static_cast<int64_t>(bytes) > options_.max_request_bytes) {
    metrics_.rejected_too_large->Increment();
    return absl::ResourceExhaustedError(absl::StrCat("InsertEpisode request of ", bytes,
                                                     " bytes exceeds max_request_bytes ",
                                                     options_.max_request_bytes));
  }
  absl::StatusOr<InsertResult> result = table_->Insert(request.episode(), deadline);
  if (!result.ok()) {
    if (absl::IsInvalidArgument(result.status())) metrics_.rejected_invalid->Increment();
    if (absl::IsResourceExhausted(result.status())) metrics_.rejected_too_large->Increment();
    return result.status();
  }
  InsertEpisodeResponse response;
  response.set_items_created(result->items_created);
  response.set_steps_stored(result->steps_stored);
  response.set_items_evicted(result->items_evicted);
  response.set_rate_limited_seconds(result->rate_limited_seconds);
  return response;
}

grpc::Status ReplayServiceImpl::InsertEpisode(grpc::ServerContext* context,
                                              const InsertEpisodeRequest* request,
                                              InsertEpisodeResponse* response) {
  absl::StatusOr<InsertEpisodeResponse> r =
      DoInsert(*request, LimiterDeadlineOf(context, options_.max_blocking));
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status ReplayServiceImpl::InsertEpisodeStream(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<InsertEpisodeResponse, InsertEpisodeRequest>* stream) {
  InsertEpisodeRequest request;
  int64_t index = 0;
  while (stream->Read(&request)) {
    absl::StatusOr<InsertEpisodeResponse> r =
        DoInsert(request, LimiterDeadlineOf(context, options_.max_blocking));
    if (!r.ok()) {
      return ToGrpcStatus(Annotate(r.status(), absl::StrCat("stream episode ", index)));
    }
    if (!stream->Write(*r)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
    ++index;
  }
  return grpc::Status::OK;
}

grpc::Status ReplayServiceImpl::Sample(grpc::ServerContext* context, const SampleRequest* request,
                                       SampleResponse* response) {
  if (auto s = CheckTable(request->table()); !s.ok()) return ToGrpcStatus(s);
  if (request->batch_size() < 1 || request->batch_size() > options_.max_batch_size) {
    metrics_.rejected_invalid->Increment();
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("batch_size ", request->batch_size(), " must be in [1, ",
                     options_.max_batch_size, "]")));
  }
  // With whole-chunk items the stored chunks are decoded straight into the batch tensors
  // (DecodeCompressedSequences), which is faster than decoding Episode messages first.
  const bool fetch_compressed = request->compressed() || table_->items_are_whole_chunks();
  if (!request->compressed() && options_.table.episode_spec.image_size > 0) {
    const int64_t bytes = DecodedBatchBytes(request->batch_size(), options_.table.sequence_length,
                                            options_.table.episode_spec);
    if (bytes > options_.max_response_bytes) {
      metrics_.rejected_too_large->Increment();
      return ToGrpcStatus(absl::ResourceExhaustedError(absl::StrCat(
          "a decoded batch of ", request->batch_size(), " sequences of ",
          options_.table.sequence_length, " steps is ~", bytes, " bytes, above the response limit ",
          options_.max_response_bytes, "; sample fewer, or compressed")));
    }
  }
  absl::StatusOr<std::vector<SampledSequence>> sampled = table_->Sample(
      request->batch_size(), fetch_compressed, LimiterDeadlineOf(context, options_.max_blocking));
  if (!sampled.ok()) return ToGrpcStatus(sampled.status());
  if (fetch_compressed && !request->compressed()) {
    google::protobuf::RepeatedPtrField<CompressedSequence> chunks;
    for (SampledSequence& s : *sampled) {
      CompressedSequence* c = chunks.Add();
      c->set_key(s.key);
      c->set_zstd_episode(std::move(s.compressed));
      c->set_task_id(s.task_id);
      c->set_probability(s.probability);
    }
    absl::StatusOr<SequenceBatch> batch = DecodeCompressedSequences(chunks);
    if (!batch.ok()) return ToGrpcStatus(batch.status());
    *response->mutable_batch() = *std::move(batch);
    return CheckResponseSize(*request, response);
  }
  if (request->compressed()) {
    for (SampledSequence& s : *sampled) {
      CompressedSequence* c = response->add_compressed();
      c->set_key(s.key);
      c->set_zstd_episode(std::move(s.compressed));
      c->set_task_id(s.task_id);
      c->set_probability(s.probability);
    }
    return CheckResponseSize(*request, response);
  }
  std::vector<const Episode*> windows;
  std::vector<uint64_t> keys;
  std::vector<double> probabilities;
  for (SampledSequence& s : *sampled) {
    s.steps.set_task_id(s.task_id);
    windows.push_back(&s.steps);
    keys.push_back(s.key);
    probabilities.push_back(s.probability);
  }
  absl::StatusOr<SequenceBatch> batch = BuildSequenceBatch(windows, keys, probabilities);
  if (!batch.ok()) return ToGrpcStatus(batch.status());
  *response->mutable_batch() = *std::move(batch);
  return CheckResponseSize(*request, response);
}

grpc::Status ReplayServiceImpl::CheckResponseSize(const SampleRequest& request,
                                                  SampleResponse* response) {
  const size_t bytes = response->ByteSizeLong();
  if (bytes <= static_cast<size_t>(options_.max_response_bytes)) return grpc::Status::OK;
  metrics_.rejected_too_large->Increment();
  response->Clear();
  return ToGrpcStatus(absl::ResourceExhaustedError(absl::StrCat(
      "the sampled batch of ", request.batch_size(), " sequences",
      request.compressed() ? " (compressed)" : "", " is ", bytes,
      " bytes, above the response limit ", options_.max_response_bytes,
      " (cluster.max_message_bytes); sample fewer")));
}

grpc::Status ReplayServiceImpl::ServerInfo(grpc::ServerContext*, const ServerInfoRequest*,
                                           ServerInfoResponse* response) {
  response->set_shard(options_.shard);
  *response->add_tables() = table_->Info();
  response->set_corrupt_keys_skipped(table_->corrupt_keys_skipped());
  absl::StatusOr<RedisConnectionPool::Lease> lease = pool_->Acquire();
  absl::StatusOr<RedisReply> info =
      lease.ok() ? (*lease)->Command({"INFO", "memory"}) : lease.status();
  if (info.ok() && info->type == RedisReply::Type::kString) {
    for (absl::string_view line : absl::StrSplit(info->str, "\r\n")) {
      if (absl::ConsumePrefix(&line, "used_memory:")) {
        int64_t v = 0;
        if (absl::SimpleAtoi(line, &v)) response->set_redis_used_memory_bytes(v);
      }
    }
  } else {
    LOG(WARNING) << "ServerInfo: Redis INFO failed: "
                 << (info.ok() ? info->str : info.status().ToString());
  }
  return grpc::Status::OK;
}

}  // namespace ivg::replay
