#include "services/replay/table.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "glog/logging.h"
#include "services/replay/chunk_codec.h"

namespace ivg::replay {
namespace {

constexpr int kMaxSampleAttempts = 8;
constexpr int kScanCount = 1000;
constexpr size_t kReadBatch = 256;

// Checks the replies of MULTI, queued commands, EXEC.
absl::Status CheckTransactionReplies(const std::vector<RedisReply>& replies, const char* what) {
  for (size_t i = 0; i + 1 < replies.size(); ++i) {
    if (replies[i].is_error()) {
      return absl::UnavailableError(
          absl::StrCat("Redis rejected ", what, " (command ", i, "): ", replies[i].str));
    }
  }
  const RedisReply& exec = replies.back();
  if (exec.type != RedisReply::Type::kArray) {
    return absl::UnavailableError(absl::StrCat("Redis did not execute ", what, ": ",
                                               exec.is_error() ? exec.str : "transaction aborted"));
  }
  for (const RedisReply& r : exec.elements) {
    if (r.is_error()) {
      return absl::UnavailableError(absl::StrCat("Redis failed part of ", what, ": ", r.str));
    }
  }
  return absl::OkStatus();
}

}  // namespace

TableOptions TableOptions::FromConfig(const ExperimentConfig& config) {
  const ReplayConfig& r = config.replay();
  TableOptions o;
  o.name = r.table();
  o.selector = r.sampler();
  o.priority_exponent = r.priority_exponent();
  o.remover = r.remover();
  o.max_size = r.max_size();
  o.max_times_sampled = r.max_times_sampled();
  o.sequence_length = config.learner().burn_in() + config.learner().model_rollout();
  o.item_stride = r.item_stride();
  o.chunk_length = r.chunk_length();
  o.compression_level = r.compression_level();
  o.rate_limiter.min_size_to_sample = r.min_size_to_sample();
  o.rate_limiter.samples_per_insert = r.samples_per_insert();
  o.rate_limiter.error_buffer = r.samples_per_insert_error_buffer();
  o.episode_spec.image_size = config.env().image_size();
  o.episode_spec.num_rewards =
      config.env().multitask_tasks_size() > 0 ? config.env().multitask_tasks_size() : 1;
  return o;
}

Table::Table(TableOptions options, RedisConnectionPool* pool, const ReplayMetrics* metrics)
    : options_(std::move(options)),
      stride_(options_.item_stride > 0 ? options_.item_stride : options_.sequence_length),
      chunk_length_(options_.chunk_length > 0 ? options_.chunk_length : options_.sequence_length),
      pool_(pool),
      metrics_(metrics),
      rate_limiter_(options_.rate_limiter),
      selector_(MakeSelector(options_.selector, options_.priority_exponent)),
      remover_(MakeRemover(options_.remover)) {}

absl::StatusOr<std::unique_ptr<Table>> Table::Create(TableOptions options,
                                                     RedisConnectionPool* pool,
                                                     const ReplayMetrics* metrics) {
  if (!IsValidTableName(options.name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "table name '", options.name, "' must be 1-64 characters of [A-Za-z0-9_-]"));
  }
  if (options.sequence_length < 1 || options.max_size < 1 || options.item_stride < 0 ||
      options.chunk_length < 0 || options.max_times_sampled < 0) {
    return absl::InvalidArgumentError(
        "table needs sequence_length >= 1, max_size >= 1 and non-negative stride, chunk "
        "length and max_times_sampled");
  }
  IVG_RETURN_IF_ERROR(RateLimiter::Validate(options.rate_limiter));
  options.episode_spec.sequence_length = options.sequence_length;
  std::unique_ptr<Table> table(new Table(std::move(options), pool, metrics));
  IVG_RETURN_IF_ERROR(table->Rebuild());
  return table;
}

absl::Status Table::AddItemLocked(ItemState item) {
  const uint64_t key = item.record.key;
  IVG_RETURN_IF_ERROR(selector_->Insert(key, item.record.priority));
  if (auto s = remover_->Insert(key, item.record.priority); !s.ok()) {
    selector_->Delete(key).IgnoreError();
    return s;
  }
  for (uint64_t c : item.record.chunk_keys) ++chunks_[c].refs;
  items_.emplace(key, std::move(item));
  return absl::OkStatus();
}

Table::ItemState Table::RemoveItemLocked(uint64_t key, std::vector<std::string>* redis_deletes) {
  auto it = items_.find(key);
  CHECK(it != items_.end()) << "item " << key << " selected but not indexed";
  ItemState state = std::move(it->second);
  items_.erase(it);
  selector_->Delete(key).IgnoreError();
  remover_->Delete(key).IgnoreError();
  redis_deletes->push_back(ItemRedisKey(options_.name, key));
  for (uint64_t c : state.record.chunk_keys) {
    auto cit = chunks_.find(c);
    if (cit == chunks_.end()) continue;
    if (--cit->second.refs <= 0) {
      num_steps_ -= cit->second.steps;
      stored_bytes_ -= cit->second.bytes;
      chunks_.erase(cit);
      redis_deletes->push_back(ChunkRedisKey(options_.name, c));
    }
  }
  return state;
}

void Table::UpdateGaugesLocked() const {
  if (metrics_ == nullptr) return;
  metrics_->items->Set(static_cast<double>(items_.size()));
  metrics_->chunks->Set(static_cast<double>(chunks_.size()));
  metrics_->steps->Set(static_cast<double>(num_steps_));
  metrics_->stored_bytes->Set(static_cast<double>(stored_bytes_));
  metrics_->bytes_per_stored_step->Set(
      num_steps_ > 0 ? static_cast<double>(stored_bytes_) / num_steps_ : 0.0);
}

int64_t Table::size() const {
  absl::MutexLock lock(&mutex_);
  return static_cast<int64_t>(items_.size());
}

absl::Status Table::DeleteKeys(const std::vector<std::string>& keys) {
  if (keys.empty()) return absl::OkStatus();
  RedisCommand del = {"DEL"};
  del.insert(del.end(), keys.begin(), keys.end());
  auto lease = pool_->Acquire();
  IVG_ASSIGN_OR_RETURN(std::vector<RedisReply> replies,
                       lease->Pipeline({{"MULTI"}, del, {"EXEC"}}));
  return CheckTransactionReplies(replies, "deleting items");
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
  if (metrics_ != nullptr) {
    metrics_->insert_blocked_seconds->Increment(absl::ToDoubleSeconds(absl::Now() - wait_start));
  }

  // Index changes that must precede the write: keys and evictions.
  std::vector<std::string> deletes;
  std::vector<ItemState> evicted;
  std::vector<std::pair<uint64_t, ChunkInfo>> evicted_chunks;
  uint64_t first_chunk_key = 0, first_item_key = 0;
  {
    absl::MutexLock lock(&mutex_);
    first_chunk_key = next_key_;
    next_key_ += chunk_ranges.size();
    first_item_key = next_key_;
    next_key_ += n;
    const int64_t excess =
        static_cast<int64_t>(items_.size()) + pending_inserts_ + n - options_.max_size;
    for (int64_t i = 0; i < excess && remover_->size() > 0; ++i) {
      absl::StatusOr<Selection> victim = remover_->Select(gen_);
      if (!victim.ok()) break;
      // Remember chunk infos before RemoveItemLocked erases them, for a rollback.
      for (uint64_t c : items_.at(victim->key).record.chunk_keys) {
        auto cit = chunks_.find(c);
        if (cit != chunks_.end() && cit->second.refs == 1) evicted_chunks.emplace_back(*cit);
      }
      evicted.push_back(RemoveItemLocked(victim->key, &deletes));
    }
    pending_inserts_ += n;
  }

  std::vector<ItemState> new_items;
  new_items.reserve(n);
  for (int64_t i = 0; i < n; ++i) {
    ItemState item;
    item.record.key = first_item_key + i;
    item.record.task_id = episode.task_id();
    item.record.length = L;
    item.record.priority = 1.0;
    const int32_t start = starts[i];
    const int32_t first_chunk = start / chunk_length_;
    const int32_t last_chunk = (start + L - 1) / chunk_length_;
    item.record.offset = start - first_chunk * chunk_length_;
    for (int32_t c = first_chunk; c <= last_chunk; ++c) {
      item.record.chunk_keys.push_back(first_chunk_key + c);
      item.record.chunk_steps.push_back(chunk_ranges[c].second - chunk_ranges[c].first);
    }
    new_items.push_back(std::move(item));
  }

  std::vector<RedisCommand> commands;
  commands.reserve(chunk_ranges.size() + n + 3);
  commands.push_back({"MULTI"});
  for (size_t c = 0; c < chunk_ranges.size(); ++c) {
    commands.push_back({"SET", ChunkRedisKey(options_.name, first_chunk_key + c), chunk_bytes[c]});
  }
  for (const ItemState& item : new_items) {
    commands.push_back(
        {"SET", ItemRedisKey(options_.name, item.record.key), EncodeItemRecord(item.record)});
  }
  if (!deletes.empty()) {
    RedisCommand del = {"DEL"};
    del.insert(del.end(), deletes.begin(), deletes.end());
    commands.push_back(std::move(del));
  }
  commands.push_back({"EXEC"});

  absl::Status write_status;
  {
    auto lease = pool_->Acquire();
    absl::StatusOr<std::vector<RedisReply>> replies = lease->Pipeline(commands);
    write_status = replies.ok() ? CheckTransactionReplies(*replies, "the episode's write")
                                : replies.status();
  }

  std::vector<std::string> late_deletes;
  int64_t late_evicted = 0;
  {
    absl::MutexLock lock(&mutex_);
    pending_inserts_ -= n;
    if (!write_status.ok()) {
      // Nothing was applied (MULTI/EXEC): put the evicted items back.
      for (auto& [key, info] : evicted_chunks) {
        ChunkInfo restored = info;
        restored.refs = 0;
        chunks_.emplace(key, restored);
        num_steps_ += info.steps;
        stored_bytes_ += info.bytes;
      }
      for (ItemState& item : evicted) AddItemLocked(std::move(item)).IgnoreError();
      return Annotate(write_status, absl::StrCat("episode (actor ", episode.actor_id(), ", id ",
                                                 episode.episode_id(), ") not stored"));
    }
    for (size_t c = 0; c < chunk_ranges.size(); ++c) {
      ChunkInfo info;
      info.steps = chunk_ranges[c].second - chunk_ranges[c].first;
      info.bytes = static_cast<int64_t>(chunk_bytes[c].size());
      chunks_.emplace(first_chunk_key + c, info);
      num_steps_ += info.steps;
      stored_bytes_ += info.bytes;
    }
    for (ItemState& item : new_items) {
      absl::Status s = AddItemLocked(std::move(item));
      if (!s.ok()) LOG(ERROR) << "indexing a stored item failed: " << s;
    }
    // Concurrent inserts into a table with too few items to evict (all in flight) can
    // overshoot max_size together; the last one to commit trims the table.
    while (static_cast<int64_t>(items_.size()) > options_.max_size) {
      absl::StatusOr<Selection> victim = remover_->Select(gen_);
      if (!victim.ok()) break;
      RemoveItemLocked(victim->key, &late_deletes);
      ++late_evicted;
    }
    total_inserted_ += n;
    total_evicted_ += static_cast<int64_t>(evicted.size()) + late_evicted;
    UpdateGaugesLocked();
  }
  if (!late_deletes.empty()) {
    // If this fails the keys stay in Redis unindexed; the next start-up evicts them again.
    absl::Status s = DeleteKeys(late_deletes);
    if (!s.ok()) LOG(WARNING) << "trimming table '" << options_.name << "' to max_size: " << s;
  }
  const int64_t all_evicted = static_cast<int64_t>(evicted.size()) + late_evicted;
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
  std::vector<std::string> expired_deletes;
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
        absl::StatusOr<Selection> sel = selector_->Select(gen_);
        if (!sel.ok()) {
          return absl::UnavailableError(
              absl::StrCat("table '", options_.name, "' became empty while sampling"));
        }
        ItemState& item = items_.at(sel->key);
        records[i] = item.record;
        probabilities[i] = sel->probability;
        ++total_sampled_;
        if (options_.max_times_sampled > 0 &&
            ++item.times_sampled >= options_.max_times_sampled) {
          // Remove from the index now; its Redis keys go after this sample has read them.
          RemoveItemLocked(sel->key, &expired_deletes);
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
      RedisCommand mget = {"MGET"};
      for (uint64_t c : wanted) mget.push_back(ChunkRedisKey(options_.name, c));
      auto lease = pool_->Acquire();
      IVG_ASSIGN_OR_RETURN(RedisReply reply, lease->Command(mget));
      if (reply.type != RedisReply::Type::kArray || reply.elements.size() != wanted.size()) {
        return absl::UnavailableError(
            absl::StrCat("Redis MGET of sampled chunks failed: ", reply.str));
      }
      for (size_t j = 0; j < wanted.size(); ++j) {
        if (reply.elements[j].type == RedisReply::Type::kString) {
          chunk_data[wanted[j]] = std::move(reply.elements[j].str);
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
      std::vector<std::string> stale;
      absl::MutexLock lock(&mutex_);
      for (int i : retry) {
        if (items_.contains(records[i].key)) {
          LOG(WARNING) << "item " << records[i].key << " of table '" << options_.name
                       << "' references a chunk missing from Redis; dropping it";
          RemoveItemLocked(records[i].key, &stale);
          ++total_evicted_;
          rate_limiter_.Deleted(1);
        }
      }
      expired_deletes.insert(expired_deletes.end(), stale.begin(), stale.end());
    }
    pending = std::move(retry);
  }

  if (!expired_deletes.empty()) {
    absl::Status s = DeleteKeys(expired_deletes);
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
  const std::string item_prefix = ItemKeyPrefix(options_.name);
  const std::string chunk_prefix = ChunkKeyPrefix(options_.name);
  std::vector<uint64_t> item_keys;
  std::vector<uint64_t> chunk_keys;
  int64_t corrupt = 0;
  uint64_t max_key = 0;
  auto report = [&](const std::string& key, absl::string_view why) {
    ++corrupt;
    if (corrupt <= 20) {
      LOG(WARNING) << "skipping Redis key '" << key << "': " << why;
    }
  };

  auto lease = pool_->Acquire();
  std::string cursor = "0";
  do {
    IVG_ASSIGN_OR_RETURN(RedisReply reply,
                         lease->Command({"SCAN", cursor, "COUNT", std::to_string(kScanCount)}));
    if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 2) {
      return absl::UnavailableError(absl::StrCat("Redis SCAN failed: ", reply.str));
    }
    cursor = reply.elements[0].str;
    for (const RedisReply& k : reply.elements[1].elements) {
      if (auto key = ParseNumericSuffix(k.str, item_prefix)) {
        item_keys.push_back(*key);
      } else if (auto key = ParseNumericSuffix(k.str, chunk_prefix)) {
        chunk_keys.push_back(*key);
        max_key = std::max(max_key, *key);
      } else {
        report(k.str, "not a key of replay table '" + options_.name + "'");
      }
    }
  } while (cursor != "0");
  std::sort(item_keys.begin(), item_keys.end());

  // Chunk sizes.
  absl::flat_hash_map<uint64_t, int64_t> chunk_sizes;
  for (size_t b = 0; b < chunk_keys.size(); b += kReadBatch) {
    std::vector<RedisCommand> commands;
    for (size_t j = b; j < std::min(chunk_keys.size(), b + kReadBatch); ++j) {
      commands.push_back({"STRLEN", ChunkRedisKey(options_.name, chunk_keys[j])});
    }
    IVG_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, lease->Pipeline(commands));
    for (size_t j = 0; j < replies.size(); ++j) {
      if (replies[j].type == RedisReply::Type::kInteger && replies[j].integer > 0) {
        chunk_sizes[chunk_keys[b + j]] = replies[j].integer;
      } else {
        report(ChunkRedisKey(options_.name, chunk_keys[b + j]), "not a string value");
      }
    }
  }

  // Item records, in key (= insertion) order.
  std::vector<ItemRecord> records;
  for (size_t b = 0; b < item_keys.size(); b += kReadBatch) {
    RedisCommand mget = {"MGET"};
    const size_t end = std::min(item_keys.size(), b + kReadBatch);
    for (size_t j = b; j < end; ++j) mget.push_back(ItemRedisKey(options_.name, item_keys[j]));
    IVG_ASSIGN_OR_RETURN(RedisReply reply, lease->Command(mget));
    if (reply.type != RedisReply::Type::kArray) {
      // MGET fails as a whole if a key holds a non-string value: read one by one.
      reply.elements.clear();
      for (size_t j = b; j < end; ++j) {
        IVG_ASSIGN_OR_RETURN(RedisReply one,
                             lease->Command({"GET", ItemRedisKey(options_.name, item_keys[j])}));
        reply.elements.push_back(std::move(one));
      }
    }
    for (size_t j = b; j < end; ++j) {
      const std::string redis_key = ItemRedisKey(options_.name, item_keys[j]);
      const RedisReply& value = reply.elements[j - b];
      max_key = std::max(max_key, item_keys[j]);
      if (value.type != RedisReply::Type::kString) {
        report(redis_key, "not a string value");
        continue;
      }
      absl::StatusOr<ItemRecord> record = DecodeItemRecord(value.str);
      if (!record.ok()) {
        report(redis_key, record.status().message());
        continue;
      }
      if (record->key != item_keys[j]) {
        report(redis_key, absl::StrCat("record names key ", record->key));
        continue;
      }
      bool chunks_ok = true;
      for (uint64_t c : record->chunk_keys) chunks_ok = chunks_ok && chunk_sizes.contains(c);
      if (!chunks_ok) {
        report(redis_key, "references a chunk that is not in Redis");
        continue;
      }
      records.push_back(*std::move(record));
    }
  }

  std::vector<std::string> orphans;
  {
    absl::MutexLock lock(&mutex_);
    for (ItemRecord& r : records) {
      for (size_t c = 0; c < r.chunk_keys.size(); ++c) {
        auto [it, inserted] = chunks_.try_emplace(r.chunk_keys[c]);
        if (inserted) {
          it->second.steps = r.chunk_steps[c];
          it->second.bytes = chunk_sizes.at(r.chunk_keys[c]);
          num_steps_ += it->second.steps;
          stored_bytes_ += it->second.bytes;
        }
      }
      ItemState state;
      state.record = std::move(r);
      IVG_RETURN_IF_ERROR(AddItemLocked(std::move(state)));
    }
    for (uint64_t c : chunk_keys) {
      if (chunk_sizes.contains(c) && !chunks_.contains(c)) {
        orphans.push_back(ChunkRedisKey(options_.name, c));
      }
    }
    // A smaller max_size than the data was written with: evict down to it.
    int64_t excess = static_cast<int64_t>(items_.size()) - options_.max_size;
    std::vector<std::string> evictions;
    for (; excess > 0; --excess) {
      absl::StatusOr<Selection> victim = remover_->Select(gen_);
      if (!victim.ok()) break;
      RemoveItemLocked(victim->key, &evictions);
    }
    orphans.insert(orphans.end(), evictions.begin(), evictions.end());
    next_key_ = max_key + 1;
    UpdateGaugesLocked();
    rate_limiter_.Restore(static_cast<int64_t>(items_.size()));
    LOG(INFO) << "table '" << options_.name << "' rebuilt from Redis: " << items_.size()
              << " items, " << chunks_.size() << " chunks, " << num_steps_ << " steps, "
              << stored_bytes_ << " bytes; " << corrupt << " keys skipped";
  }
  if (!orphans.empty()) {
    LOG(INFO) << "deleting " << orphans.size() << " unreferenced chunk/evicted keys";
    for (size_t b = 0; b < orphans.size(); b += 1000) {
      std::vector<std::string> part(orphans.begin() + b,
                                    orphans.begin() + std::min(orphans.size(), b + 1000));
      RedisCommand del = {"DEL"};
      del.insert(del.end(), part.begin(), part.end());
      IVG_ASSIGN_OR_RETURN(RedisReply r, lease->Command(del));
      if (r.is_error()) return RedisReplyError(r, "deleting unreferenced chunks");
    }
  }
  corrupt_keys_skipped_ = corrupt;
  if (metrics_ != nullptr) metrics_->corrupt_keys->Increment(corrupt);
  return absl::OkStatus();
}

TableInfo Table::Info() const {
  TableInfo info;
  info.set_name(options_.name);
  info.set_max_size(options_.max_size);
  *info.mutable_rate_limiter() = rate_limiter_.Info();
  absl::MutexLock lock(&mutex_);
  info.set_selector(selector_->name());
  info.set_remover(remover_->name());
  info.set_num_items(static_cast<int64_t>(items_.size()));
  info.set_num_chunks(static_cast<int64_t>(chunks_.size()));
  info.set_num_steps(num_steps_);
  info.set_stored_bytes(stored_bytes_);
  info.set_total_inserted_items(total_inserted_);
  info.set_total_sampled_items(total_sampled_);
  info.set_total_evicted_items(total_evicted_);
  return info;
}

}  // namespace ivg::replay
