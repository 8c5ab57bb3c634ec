#include "services/replay/table.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "glog/logging.h"
#include "services/replay/chunk_codec.h"
#include "services/replay/selectors/uniform.h"

namespace ivg::replay {
namespace {

constexpr int kMaxSampleAttempts = 8;

std::unique_ptr<Selector> SelectorOrUniform(
    const std::function<std::unique_ptr<Selector>()>& make) {
  return make ? make() : std::make_unique<UniformSelector>();
}

// The Redis keys of what left the index.
StoredKeys KeysOf(const RemovedItems& removed) {
  StoredKeys keys;
  keys.items.reserve(removed.items.size());
  for (const IndexedItem& item : removed.items) keys.items.push_back(item.record.key);
  keys.chunks.reserve(removed.chunks.size());
  for (const auto& [key, info] : removed.chunks) keys.chunks.push_back(key);
  return keys;
}

}  // namespace

Table::Table(TableOptions options, std::unique_ptr<ChunkStore> store, const ReplayMetrics* metrics)
    : options_(std::move(options)),
      stride_(options_.item_stride > 0 ? options_.item_stride : options_.sequence_length),
      chunk_length_(options_.chunk_length > 0 ? options_.chunk_length : options_.sequence_length),
      store_(std::move(store)),
      metrics_(metrics),
      rate_limiter_(options_.rate_limiter),
      index_(SelectorOrUniform(options_.make_sampler), SelectorOrUniform(options_.make_remover)) {}

absl::StatusOr<std::unique_ptr<Table>> Table::Create(TableOptions options,
                                                     RedisConnectionPool* pool,
                                                     const ReplayMetrics* metrics) {
  // Rejects a table name that cannot be embedded in keys.
  IVG_ASSIGN_OR_RETURN(std::unique_ptr<ChunkStore> store, ChunkStore::Create(options.name, pool));
  if (options.sequence_length < 1 || options.max_size < 1 || options.item_stride < 0 ||
      options.chunk_length < 0 || options.max_times_sampled < 0) {
    return absl::InvalidArgumentError(
        "table needs sequence_length >= 1, max_size >= 1 and non-negative stride, chunk "
        "length and max_times_sampled");
  }
  IVG_RETURN_IF_ERROR(RateLimiter::Validate(options.rate_limiter));
  options.episode_spec.sequence_length = options.sequence_length;
  std::unique_ptr<Table> table(new Table(std::move(options), std::move(store), metrics));
  IVG_RETURN_IF_ERROR(table->Rebuild());
  return table;
}

void Table::UpdateGaugesLocked() const {
  if (metrics_ == nullptr) return;
  const int64_t steps = index_.num_steps();
  const int64_t bytes = index_.stored_bytes();
  metrics_->items->Set(static_cast<double>(index_.num_items()));
  metrics_->chunks->Set(static_cast<double>(index_.num_chunks()));
  metrics_->steps->Set(static_cast<double>(steps));
  metrics_->stored_bytes->Set(static_cast<double>(bytes));
  metrics_->bytes_per_stored_step->Set(steps > 0 ? static_cast<double>(bytes) / steps : 0.0);
}

int64_t Table::size() const {
  absl::MutexLock lock(&mutex_);
  return index_.num_items();
}

absl::StatusOr<InsertResult> Table::Insert(const Episode& episode, absl::Time deadline) {
  IVG_RETURN_IF_ERROR(ValidateEpisode(episode, options_.episode_spec));
  const int32_t L = options_.sequence_length;
  const int32_t T = episode.steps_size();
  std::vector<int32_t> starts;
  for (int32_t s = 0; s + L <= T; s += stride_) starts.push_back(s);
  const int64_t n = static_cast<int64_t>(starts.size());
  if (n > options_.max_size) {
    return absl::ResourceExhaustedError(
        absl::StrCat("episode of ", T, " steps would create ", n, " items, more than table '",
                     options_.name, "' holds (max_size ", options_.max_size, ")"));
  }
  // Chunks cover the steps that some item uses.
  const int32_t covered = starts.back() + L;
  std::vector<std::pair<int32_t, int32_t>> chunk_ranges;
  for (int32_t b = 0; b < covered; b += chunk_length_) {
    chunk_ranges.emplace_back(b, std::min(b + chunk_length_, covered));
  }
  std::vector<std::string> chunk_bytes;
  chunk_bytes.reserve(chunk_ranges.size());
  for (const auto& [b, e] : chunk_ranges) {
    IVG_ASSIGN_OR_RETURN(std::string bytes,
                         EncodeChunk(episode, b, e, options_.compression_level));
    chunk_bytes.push_back(std::move(bytes));
  }

  const absl::Time wait_start = absl::Now();
  IVG_RETURN_IF_ERROR(rate_limiter_.AwaitCanInsert(n, deadline));
  const double rate_limited_seconds = absl::ToDoubleSeconds(absl::Now() - wait_start);
  if (metrics_ != nullptr) metrics_->insert_blocked_seconds->Increment(rate_limited_seconds);

  // Index changes that must precede the write: keys and evictions.
  RemovedItems evicted;
  uint64_t first_chunk_key = 0, first_item_key = 0;
  {
    absl::MutexLock lock(&mutex_);
    first_chunk_key = next_key_;
    next_key_ += chunk_ranges.size();
    first_item_key = next_key_;
    next_key_ += n;
    const int64_t excess = index_.num_items() + pending_inserts_ + n - options_.max_size;
    index_.Evict(excess, gen_, &evicted);
    pending_inserts_ += n;
  }

  EpisodeWrite write;
  write.chunks.reserve(chunk_ranges.size());
  for (size_t c = 0; c < chunk_ranges.size(); ++c) {
    write.chunks.emplace_back(first_chunk_key + c, std::move(chunk_bytes[c]));
  }
  write.items.reserve(n);
  for (int64_t i = 0; i < n; ++i) {
    ItemRecord record;
    record.key = first_item_key + i;
    record.task_id = episode.task_id();
    record.length = L;
    record.priority = 1.0;
    const int32_t start = starts[i];
    const int32_t first_chunk = start / chunk_length_;
    const int32_t last_chunk = (start + L - 1) / chunk_length_;
    record.offset = start - first_chunk * chunk_length_;
    for (int32_t c = first_chunk; c <= last_chunk; ++c) {
      record.chunk_keys.push_back(first_chunk_key + c);
      record.chunk_steps.push_back(chunk_ranges[c].second - chunk_ranges[c].first);
    }
    write.items.push_back(std::move(record));
  }
  write.deletes = KeysOf(evicted);
  const absl::Status write_status = store_->Write(write);

  RemovedItems trimmed;
  int64_t late_evicted = 0;
  const int64_t early_evicted = static_cast<int64_t>(evicted.items.size());
  {
    absl::MutexLock lock(&mutex_);
    pending_inserts_ -= n;
    if (!write_status.ok()) {
      // Nothing was applied (MULTI/EXEC): put the evicted items back.
      index_.Restore(std::move(evicted));
      return Annotate(write_status, absl::StrCat("episode (actor ", episode.actor_id(), ", id ",
                                                 episode.episode_id(), ") not stored"));
    }
    for (size_t c = 0; c < chunk_ranges.size(); ++c) {
      index_.AddChunk(write.chunks[c].first, chunk_ranges[c].second - chunk_ranges[c].first,
                      static_cast<int64_t>(write.chunks[c].second.size()));
    }
    for (ItemRecord& record : write.items) {
      IndexedItem item;
      item.record = std::move(record);
      absl::Status s = index_.AddItem(std::move(item));
      if (!s.ok()) LOG(ERROR) << "indexing a stored item failed: " << s;
    }
    // Concurrent inserts into a table with too few items to evict (all in flight) can
    // overshoot max_size together; the last one to commit trims the table.
    late_evicted = index_.Evict(index_.num_items() - options_.max_size, gen_, &trimmed);
    total_inserted_ += n;
    total_inserted_steps_ += episode.steps_size();
    total_evicted_ += early_evicted + late_evicted;
    UpdateGaugesLocked();
  }
  if (!trimmed.empty()) {
    // If this fails the keys stay in Redis unindexed; the next start-up evicts them again.
    absl::Status s = store_->Delete(KeysOf(trimmed));
    if (!s.ok()) LOG(WARNING) << "trimming table '" << options_.name << "' to max_size: " << s;
  }
  const int64_t all_evicted = early_evicted + late_evicted;
  rate_limiter_.Inserted(n);
  if (all_evicted > 0) rate_limiter_.Deleted(all_evicted);
  if (metrics_ != nullptr) {
    metrics_->inserted_items->Increment(n);
    metrics_->inserted_steps->Increment(covered);
    metrics_->inserted_episodes->Increment();
    metrics_->evicted_items->Increment(all_evicted);
  }
  InsertResult result;
  result.items_created = static_cast<int32_t>(n);
  result.steps_stored = covered;
  result.items_evicted = static_cast<int32_t>(all_evicted);
  result.rate_limited_seconds = rate_limited_seconds;
  return result;
}

absl::StatusOr<std::vector<SampledSequence>> Table::Sample(int n, bool compressed,
                                                          absl::Time deadline) {
  if (n < 1) return absl::InvalidArgumentError(absl::StrCat("batch_size ", n, " must be >= 1"));
  const absl::Time wait_start = absl::Now();
  IVG_RETURN_IF_ERROR(rate_limiter_.AwaitAndCountSamples(n, deadline));
  if (metrics_ != nullptr) {
    metrics_->sample_blocked_seconds->Increment(absl::ToDoubleSeconds(absl::Now() - wait_start));
  }

  std::vector<ItemRecord> records(n);
  std::vector<double> probabilities(n);
  std::vector<int> pending(n);
  for (int i = 0; i < n; ++i) pending[i] = i;
  // Items removed while sampling; their Redis keys go after this sample has read them.
  RemovedItems removed;
  int64_t expired = 0;
  absl::flat_hash_map<uint64_t, std::string> chunk_data;
  absl::flat_hash_map<uint64_t, Episode> decoded;

  for (int attempt = 0; !pending.empty(); ++attempt) {
    if (attempt == kMaxSampleAttempts) {
      return absl::UnavailableError(absl::StrCat(
          "could not read ", pending.size(), " sampled items from Redis after ", attempt,
          " attempts (items evicted concurrently or chunks missing)"));
    }
    {
      absl::MutexLock lock(&mutex_);
      for (int i : pending) {
        absl::StatusOr<Selection> sel = index_.Select(gen_);
        if (!sel.ok()) {
          return absl::UnavailableError(
              absl::StrCat("table '", options_.name, "' became empty while sampling"));
        }
        records[i] = index_.record(sel->key);
        probabilities[i] = sel->probability;
        ++total_sampled_;
        if (options_.max_times_sampled > 0 &&
            index_.CountSample(sel->key) >= options_.max_times_sampled) {
          index_.RemoveItem(sel->key, &removed);
          ++expired;
          ++total_evicted_;
        }
      }
    }
    // One MGET for every chunk not read yet.
    std::vector<uint64_t> wanted;
    absl::flat_hash_set<uint64_t> seen;
    for (int i : pending) {
      for (uint64_t c : records[i].chunk_keys) {
        if (!chunk_data.contains(c) && seen.insert(c).second) wanted.push_back(c);
      }
    }
    absl::flat_hash_set<uint64_t> missing;
    if (!wanted.empty()) {
      IVG_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> values,
                           store_->ReadChunks(wanted));
      for (size_t j = 0; j < wanted.size(); ++j) {
        if (values[j].has_value()) {
          chunk_data[wanted[j]] = *std::move(values[j]);
        } else {
          missing.insert(wanted[j]);
        }
      }
    }
    std::vector<int> retry;
    for (int i : pending) {
      bool ok = true;
      for (uint64_t c : records[i].chunk_keys) ok = ok && !missing.contains(c);
      if (!ok) retry.push_back(i);
    }
    if (!retry.empty()) {
      // Either evicted since selection (then no longer indexed), or lost from Redis
      // (then drop it from the index so it is not selected again).
      absl::MutexLock lock(&mutex_);
      for (int i : retry) {
        if (index_.contains(records[i].key)) {
          LOG(WARNING) << "item " << records[i].key << " of table '" << options_.name
                       << "' references a chunk missing from Redis; dropping it";
          index_.RemoveItem(records[i].key, &removed);
          ++total_evicted_;
          rate_limiter_.Deleted(1);
        }
      }
    }
    pending = std::move(retry);
  }

  if (!removed.empty()) {
    absl::Status s = store_->Delete(KeysOf(removed));
    if (!s.ok()) LOG(WARNING) << "deleting items sampled max_times_sampled times: " << s;
  }
  if (expired > 0) rate_limiter_.Deleted(expired);
  {
    absl::MutexLock lock(&mutex_);
    UpdateGaugesLocked();
  }
  if (metrics_ != nullptr) {
    metrics_->sampled_items->Increment(n);
    if (expired > 0) metrics_->evicted_items->Increment(expired);
  }

  // How many sampled items still need each chunk: the last user may take it by move.
  absl::flat_hash_map<uint64_t, int> uses;
  for (const ItemRecord& r : records) {
    for (uint64_t c : r.chunk_keys) ++uses[c];
  }
  std::vector<SampledSequence> out(n);
  for (int i = 0; i < n; ++i) {
    const ItemRecord& r = records[i];
    SampledSequence& s = out[i];
    s.key = r.key;
    s.probability = probabilities[i];
    s.task_id = r.task_id;
    const bool whole_chunk =
        r.chunk_keys.size() == 1 && r.offset == 0 && r.length == r.chunk_steps[0];
    if (compressed && whole_chunk) {
      // Sent as stored.
      const uint64_t c = r.chunk_keys[0];
      s.compressed = --uses[c] == 0 ? std::move(chunk_data.at(c)) : chunk_data.at(c);
      continue;
    }
    if (!compressed && whole_chunk && !decoded.contains(r.chunk_keys[0]) &&
        uses[r.chunk_keys[0]] == 1) {
      // Only user of this chunk: decode straight into the output.
      absl::StatusOr<Episode> chunk = DecodeChunk(chunk_data.at(r.chunk_keys[0]));
      if (!chunk.ok()) {
        return absl::DataLossError(absl::StrCat("chunk ", r.chunk_keys[0], " of item ", r.key,
                                                " is corrupt: ", chunk.status().message()));
      }
      s.steps = *std::move(chunk);
      if (s.steps.steps_size() != r.length) {
        return absl::DataLossError(absl::StrCat("chunk ", r.chunk_keys[0], " holds ",
                                                s.steps.steps_size(), " steps, item ", r.key,
                                                " expects ", r.length));
      }
      continue;
    }
    Episode window;
    int32_t skip = r.offset;
    int32_t need = r.length;
    for (size_t c = 0; c < r.chunk_keys.size() && need > 0; ++c) {
      auto it = decoded.find(r.chunk_keys[c]);
      if (it == decoded.end()) {
        absl::StatusOr<Episode> chunk = DecodeChunk(chunk_data.at(r.chunk_keys[c]));
        if (!chunk.ok()) {
          return absl::DataLossError(absl::StrCat("chunk ", r.chunk_keys[c], " of item ", r.key,
                                                  " is corrupt: ", chunk.status().message()));
        }
        it = decoded.emplace(r.chunk_keys[c], *std::move(chunk)).first;
      }
      const Episode& chunk = it->second;
      if (c == 0) {
        window.set_actor_id(chunk.actor_id());
        window.set_episode_id(chunk.episode_id());
        window.set_task_id(chunk.task_id());
        window.set_param_version(chunk.param_version());
        window.set_image_height(chunk.image_height());
        window.set_image_width(chunk.image_width());
        window.set_episode_return(chunk.episode_return());
      }
      for (int32_t t = skip; t < chunk.steps_size() && need > 0; ++t, --need) {
        *window.add_steps() = chunk.steps(t);
      }
      skip = std::max(0, skip - chunk.steps_size());
    }
    if (need > 0) {
      return absl::DataLossError(absl::StrCat("item ", r.key, "'s chunks hold fewer steps than ",
                                              "its window"));
    }
    if (compressed) {
      IVG_ASSIGN_OR_RETURN(s.compressed,
                           EncodeChunk(window, 0, window.steps_size(), options_.compression_level));
    } else {
      s.steps = std::move(window);
    }
  }
  return out;
}

absl::Status Table::Rebuild() {
  IVG_ASSIGN_OR_RETURN(ScanResult scan, store_->Scan());
  // Unreferenced chunks, and items beyond max_size: deleted from Redis once indexed.
  StoredKeys cleanup;
  {
    absl::MutexLock lock(&mutex_);
    for (ItemRecord& r : scan.items) {
      for (size_t c = 0; c < r.chunk_keys.size(); ++c) {
        index_.AddChunk(r.chunk_keys[c], r.chunk_steps[c], scan.chunk_bytes.at(r.chunk_keys[c]));
      }
      IndexedItem item;
      item.record = std::move(r);
      IVG_RETURN_IF_ERROR(index_.AddItem(std::move(item)));
    }
    for (const auto& [c, bytes] : scan.chunk_bytes) {
      if (!index_.has_chunk(c)) cleanup.chunks.push_back(c);
    }
    // A smaller max_size than the data was written with: evict down to it.
    RemovedItems evicted;
    index_.Evict(index_.num_items() - options_.max_size, gen_, &evicted);
    const StoredKeys evicted_keys = KeysOf(evicted);
    cleanup.items = evicted_keys.items;
    cleanup.chunks.insert(cleanup.chunks.end(), evicted_keys.chunks.begin(),
                          evicted_keys.chunks.end());
    next_key_ = scan.max_key + 1;
    UpdateGaugesLocked();
    rate_limiter_.Restore(index_.num_items());
    LOG(INFO) << "table '" << options_.name << "' rebuilt from Redis: " << index_.num_items()
              << " items, " << index_.num_chunks() << " chunks, " << index_.num_steps()
              << " steps, " << index_.stored_bytes() << " bytes; " << scan.corrupt_keys
              << " keys skipped";
  }
  if (!cleanup.empty()) {
    LOG(INFO) << "deleting " << cleanup.size() << " unreferenced chunk/evicted keys";
    IVG_RETURN_IF_ERROR(store_->DeleteInBatches(cleanup));
  }
  corrupt_keys_skipped_ = scan.corrupt_keys;
  if (metrics_ != nullptr) metrics_->corrupt_keys->Increment(scan.corrupt_keys);
  return absl::OkStatus();
}

TableInfo Table::Info() const {
  TableInfo info;
  info.set_name(options_.name);
  info.set_max_size(options_.max_size);
  *info.mutable_rate_limiter() = rate_limiter_.Info();
  absl::MutexLock lock(&mutex_);
  info.set_selector(index_.selector_name());
  info.set_remover(index_.remover_name());
  info.set_num_items(index_.num_items());
  info.set_num_chunks(index_.num_chunks());
  info.set_num_steps(index_.num_steps());
  info.set_stored_bytes(index_.stored_bytes());
  info.set_total_inserted_items(total_inserted_);
  info.set_total_inserted_steps(total_inserted_steps_);
  info.set_total_sampled_items(total_sampled_);
  info.set_total_evicted_items(total_evicted_);
  return info;
}

}  // namespace ivg::replay
