#include "services/replay/client/sharded_replay_client.h"

#include <thread>

#include "absl/random/distributions.h"
#include "absl/strings/str_cat.h"
#include "common/grpc/client_context.h"
#include "common/grpc/grpc_status.h"
#include "glog/logging.h"
#include "services/replay/sequence_batch.h"

namespace ivg::replay {
namespace {

bool ShardLooksDead(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) || absl::IsCancelled(s);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ShardedReplayClient>> ShardedReplayClient::Create(
    ShardedReplayClientOptions options) {
  if (options.addresses.empty()) {
    return absl::InvalidArgumentError("ShardedReplayClient needs at least one shard address");
  }
  for (size_t i = 0; i < options.addresses.size(); ++i) {
    if (options.addresses[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("shard ", i, " has an empty address"));
    }
  }
  return std::unique_ptr<ShardedReplayClient>(new ShardedReplayClient(std::move(options)));
}

ShardedReplayClient::ShardedReplayClient(ShardedReplayClientOptions options)
    : options_(std::move(options)) {
  metrics::MetricRegistry* registry =
      options_.registry != nullptr ? options_.registry : &metrics::DefaultRegistry();
  auto& unavailable = registry->AddCounter(
      "ivg_replay_client_shard_unavailable_total",
      "Times a replay shard was found unreachable and skipped.", {"shard"});
  live_gauge_ =
      registry->AddGauge("ivg_replay_client_live_shards", "Replay shards in use.").Get();
  for (size_t i = 0; i < options_.addresses.size(); ++i) {
    stubs_.push_back(ReplayService::NewStub(
        MakeChannel(options_.addresses[i], options_.max_message_bytes)));
    unavailable_.push_back(unavailable.WithLabels({std::to_string(i)}));
  }
  shards_.resize(stubs_.size());
  live_gauge_->Set(static_cast<double>(stubs_.size()));
}

int ShardedReplayClient::ShardForActor(int actor_id) const {
  const int n = num_shards();
  return ((actor_id % n) + n) % n;
}

absl::StatusOr<InsertEpisodeResponse> ShardedReplayClient::InsertEpisode(
    const Episode& episode, const std::string& table) {
  const int shard = ShardForActor(episode.actor_id());
  InsertEpisodeRequest request;
  request.set_table(table);
  *request.mutable_episode() = episode;
  InsertEpisodeResponse response;
  auto context = MakeClientContext(options_.rpc_deadline);
  absl::Status status = FromGrpcStatus(stubs_[shard]->InsertEpisode(context.get(), request,
                                                                    &response));
  if (!status.ok()) {
    // DEADLINE_EXCEEDED on insert is the rate limiter holding the episode (the learners are
    // behind the replay ratio), not a dead shard: the shard keeps serving samples.
    if (ShardLooksDead(status) && !absl::IsDeadlineExceeded(status)) MarkDead(shard, status);
    return absl::Status(status.code(), absl::StrCat("replay shard ", shard, " (",
                                                    options_.addresses[shard], "): ",
                                                    status.message()));
  }
  return response;
}

absl::StatusOr<ServerInfoResponse> ShardedReplayClient::ShardInfo(int shard) {
  if (shard < 0 || shard >= num_shards()) {
    return absl::InvalidArgumentError(absl::StrCat("no shard ", shard));
  }
  ServerInfoResponse response;
  auto context = MakeClientContext(options_.rpc_deadline);
  absl::Status status =
      FromGrpcStatus(stubs_[shard]->ServerInfo(context.get(), ServerInfoRequest(), &response));
  if (!status.ok()) {
    if (ShardLooksDead(status)) MarkDead(shard, status);
    return status;
  }
  MarkLive(shard, response);
  return response;
}

void ShardedReplayClient::MarkDead(int shard, const absl::Status& why) {
  absl::MutexLock lock(&mutex_);
  ShardState& s = shards_[shard];
  if (s.live) {
    LOG(WARNING) << "replay shard " << shard << " (" << options_.addresses[shard]
                 << ") is unavailable, skipping it: " << why;
    unavailable_[shard]->Increment();
  }
  s.live = false;
  s.retry_at = absl::Now() + options_.dead_shard_retry;
  int live = 0;
  for (const ShardState& x : shards_) live += x.live ? 1 : 0;
  live_gauge_->Set(live);
}

void ShardedReplayClient::MarkLive(int shard, const ServerInfoResponse& info) {
  absl::MutexLock lock(&mutex_);
  ShardState& s = shards_[shard];
  if (!s.live) {
    LOG(INFO) << "replay shard " << shard << " (" << options_.addresses[shard]
              << ") is back; sampling from it again";
  }
  s.live = true;
  s.items = 0;
  for (const TableInfo& t : info.tables()) {
    s.items += t.num_items();
    s.min_size = t.rate_limiter().min_size_to_sample();
  }
  int live = 0;
  for (const ShardState& x : shards_) live += x.live ? 1 : 0;
  live_gauge_->Set(live);
}

void ShardedReplayClient::RefreshShards(bool probe_all_dead) {
  std::vector<int> to_probe;
  {
    absl::MutexLock lock(&mutex_);
    const absl::Time now = absl::Now();
    const bool stale = now - last_refresh_ >= options_.size_refresh;
    for (int i = 0; i < num_shards(); ++i) {
      const bool probe = shards_[i].live ? stale : (probe_all_dead || now >= shards_[i].retry_at);
      if (probe) to_probe.push_back(i);
    }
    if (stale) last_refresh_ = now;
  }
  if (to_probe.empty()) return;
  std::vector<absl::StatusOr<ServerInfoResponse>> results(to_probe.size(),
                                                          absl::UnknownError("not probed"));
  std::vector<std::thread> threads;
  for (size_t j = 0; j < to_probe.size(); ++j) {
    threads.emplace_back([&, j] {
      ServerInfoResponse response;
      auto context = MakeClientContext(options_.probe_deadline);
      absl::Status status = FromGrpcStatus(
          stubs_[to_probe[j]]->ServerInfo(context.get(), ServerInfoRequest(), &response));
      results[j] = status.ok() ? absl::StatusOr<ServerInfoResponse>(std::move(response))
                               : absl::StatusOr<ServerInfoResponse>(status);
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t j = 0; j < to_probe.size(); ++j) {
    const int shard = to_probe[j];
    if (!results[j].ok()) {
      MarkDead(shard, results[j].status());
      continue;
    }
    MarkLive(shard, *results[j]);
  }
}

std::vector<bool> ShardedReplayClient::LiveShards() {
  RefreshShards();
  absl::MutexLock lock(&mutex_);
  std::vector<bool> live;
  for (const ShardState& s : shards_) live.push_back(s.live);
  return live;
}

absl::StatusOr<SampleResponse> ShardedReplayClient::SampleShard(int shard, int n,
                                                                const std::string& table,
                                                                bool compressed,
                                                                absl::Time deadline) {
  SampleRequest request;
  request.set_table(table);
  request.set_batch_size(n);
  request.set_compressed(compressed);
  SampleResponse response;
  auto context = MakeClientContext(std::max(deadline - absl::Now(), absl::ZeroDuration()));
  absl::Status status = FromGrpcStatus(stubs_[shard]->Sample(context.get(), request, &response));
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat("replay shard ", shard, " (",
                                                    options_.addresses[shard], "): ",
                                                    status.message()));
  }
  return response;
}

absl::StatusOr<SequenceBatch> ShardedReplayClient::Sample(int batch_size,
                                                          const std::string& table,
                                                          bool compressed) {
  if (batch_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat("batch_size ", batch_size, " must be >= 1"));
  }
  const absl::Time deadline = absl::Now() + options_.sample_deadline;
  RefreshShards();
  {
    bool any_live = false;
    {
      absl::MutexLock lock(&mutex_);
      for (const ShardState& s : shards_) any_live |= s.live;
    }
    if (!any_live) RefreshShards(/*probe_all_dead=*/true);
  }
  SequenceBatch result;
  int remaining = batch_size;
  absl::Status last_error = absl::UnavailableError("no live replay shard");
  for (int round = 0; round < 2 && remaining > 0; ++round) {
    // Draw each sequence's shard, proportional to size among live shards.
    std::vector<int> counts(num_shards(), 0);
    {
      absl::MutexLock lock(&mutex_);
      std::vector<double> weights(num_shards(), 0.0);
      double total = 0;
      for (int i = 0; i < num_shards(); ++i) {
        if (shards_[i].live && shards_[i].items >= shards_[i].min_size) {
          weights[i] = static_cast<double>(shards_[i].items);
          total += weights[i];
        }
      }
      if (total <= 0) {  // Nothing sampleable yet: wait on every live shard equally.
        for (int i = 0; i < num_shards(); ++i) weights[i] = shards_[i].live ? 1.0 : 0.0;
        for (double w : weights) total += w;
      }
      if (total <= 0) {
        return absl::UnavailableError(absl::StrCat("no live replay shard among ",
                                                   num_shards(), "; last error: ",
                                                   last_error.message()));
      }
      for (int k = 0; k < remaining; ++k) {
        double u = absl::Uniform<double>(gen_, 0.0, total);
        int chosen = num_shards() - 1;
        for (int i = 0; i < num_shards(); ++i) {
          if (u < weights[i]) {
            chosen = i;
            break;
          }
          u -= weights[i];
        }
        while (weights[chosen] <= 0) --chosen;  // Rounding at the top edge.
        ++counts[chosen];
      }
    }
    std::vector<absl::StatusOr<SampleResponse>> responses(num_shards(),
                                                          absl::UnknownError("unused"));
    std::vector<std::thread> threads;
    for (int i = 0; i < num_shards(); ++i) {
      if (counts[i] == 0) continue;
      threads.emplace_back([&, i] {
        responses[i] = SampleShard(i, counts[i], table, compressed, deadline);
      });
    }
    for (std::thread& t : threads) t.join();
    for (int i = 0; i < num_shards(); ++i) {
      if (counts[i] == 0) continue;
      if (!responses[i].ok()) {
        last_error = responses[i].status();
        if (ShardLooksDead(last_error) && absl::Now() < deadline) {
          MarkDead(i, last_error);
          continue;  // Re-drawn from the other shards in the next round.
        }
        return last_error;
      }
      absl::StatusOr<SequenceBatch> part =
          compressed ? DecodeCompressedSequences(responses[i]->compressed())
                     : absl::StatusOr<SequenceBatch>(std::move(*responses[i]->mutable_batch()));
      if (!part.ok()) return part.status();
      if (auto s = AppendSequenceBatch(*std::move(part), &result); !s.ok()) return s;
      remaining -= counts[i];
    }
  }
  if (remaining > 0) return last_error;
  return result;
}

}  // namespace ivg::replay
