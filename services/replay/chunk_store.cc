#include "services/replay/chunk_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status/status_macros.h"
#include "glog/logging.h"

namespace ivg::replay {
namespace {

constexpr int kScanCount = 1000;
constexpr size_t kReadBatch = 256;
constexpr size_t kDeleteBatch = 1000;
constexpr int kMaxSkippedKeysLogged = 20;

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

absl::StatusOr<std::unique_ptr<ChunkStore>> ChunkStore::Create(std::string table,
                                                               RedisConnectionPool* pool) {
  if (!IsValidTableName(table)) {
    return absl::InvalidArgumentError(
        absl::StrCat("table name '", table, "' must be 1-64 characters of [A-Za-z0-9_-]"));
  }
  return std::unique_ptr<ChunkStore>(new ChunkStore(std::move(table), pool));
}

std::vector<std::string> ChunkStore::RedisKeys(const StoredKeys& keys) const {
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (uint64_t k : keys.items) out.push_back(ItemRedisKey(table_, k));
  for (uint64_t k : keys.chunks) out.push_back(ChunkRedisKey(table_, k));
  return out;
}

absl::Status ChunkStore::Write(const EpisodeWrite& write) {
  std::vector<RedisCommand> commands;
  commands.reserve(write.chunks.size() + write.items.size() + 3);
  commands.push_back({"MULTI"});
  for (const auto& [key, bytes] : write.chunks) {
    commands.push_back({"SET", ChunkRedisKey(table_, key), bytes});
  }
  for (const ItemRecord& record : write.items) {
    commands.push_back({"SET", ItemRedisKey(table_, record.key), EncodeItemRecord(record)});
  }
  if (!write.deletes.empty()) {
    RedisCommand del = {"DEL"};
    for (std::string& key : RedisKeys(write.deletes)) del.push_back(std::move(key));
    commands.push_back(std::move(del));
  }
  commands.push_back({"EXEC"});

  IVG_ASSIGN_OR_RETURN(RedisConnectionPool::Lease lease, pool_->Acquire());
  absl::StatusOr<std::vector<RedisReply>> replies = lease->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  return CheckTransactionReplies(*replies, "the episode's write");
}

absl::StatusOr<std::vector<std::optional<std::string>>> ChunkStore::ReadChunks(
    const std::vector<uint64_t>& chunk_keys) {
  std::vector<std::optional<std::string>> out(chunk_keys.size());
  if (chunk_keys.empty()) return out;
  RedisCommand mget = {"MGET"};
  for (uint64_t c : chunk_keys) mget.push_back(ChunkRedisKey(table_, c));
  IVG_ASSIGN_OR_RETURN(RedisConnectionPool::Lease lease, pool_->Acquire());
  IVG_ASSIGN_OR_RETURN(RedisReply reply, lease->Command(mget));
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != chunk_keys.size()) {
    return absl::UnavailableError(absl::StrCat("Redis MGET of sampled chunks failed: ", reply.str));
  }
  for (size_t j = 0; j < chunk_keys.size(); ++j) {
    if (reply.elements[j].type == RedisReply::Type::kString) {
      out[j] = std::move(reply.elements[j].str);
    }
  }
  return out;
}

absl::Status ChunkStore::Delete(const StoredKeys& keys) {
  if (keys.empty()) return absl::OkStatus();
  RedisCommand del = {"DEL"};
  for (std::string& key : RedisKeys(keys)) del.push_back(std::move(key));
  IVG_ASSIGN_OR_RETURN(RedisConnectionPool::Lease lease, pool_->Acquire());
  IVG_ASSIGN_OR_RETURN(std::vector<RedisReply> replies,
                       lease->Pipeline({{"MULTI"}, del, {"EXEC"}}));
  return CheckTransactionReplies(replies, "deleting items");
}

absl::Status ChunkStore::DeleteInBatches(const StoredKeys& keys) {
  const std::vector<std::string> names = RedisKeys(keys);
  IVG_ASSIGN_OR_RETURN(RedisConnectionPool::Lease lease, pool_->Acquire());
  for (size_t b = 0; b < names.size(); b += kDeleteBatch) {
    RedisCommand del = {"DEL"};
    del.insert(del.end(), names.begin() + b,
               names.begin() + std::min(names.size(), b + kDeleteBatch));
    IVG_ASSIGN_OR_RETURN(RedisReply r, lease->Command(del));
    if (r.is_error()) return RedisReplyError(r, "deleting unreferenced chunks");
  }
  return absl::OkStatus();
}

absl::StatusOr<ScanResult> ChunkStore::Scan() {
  const std::string item_prefix = ItemKeyPrefix(table_);
  const std::string chunk_prefix = ChunkKeyPrefix(table_);
  ScanResult result;
  std::vector<uint64_t> item_keys;
  std::vector<uint64_t> chunk_keys;
  auto report = [&](const std::string& key, absl::string_view why) {
    ++result.corrupt_keys;
    if (result.corrupt_keys <= kMaxSkippedKeysLogged) {
      LOG(WARNING) << "skipping Redis key '" << key << "': " << why;
    }
  };

  IVG_ASSIGN_OR_RETURN(RedisConnectionPool::Lease lease, pool_->Acquire());
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
        result.max_key = std::max(result.max_key, *key);
      } else if (auto key = ParseNumericSuffix(k.str, chunk_prefix)) {
        chunk_keys.push_back(*key);
        result.max_key = std::max(result.max_key, *key);
      } else {
        report(k.str, "not a key of replay table '" + table_ + "'");
      }
    }
  } while (cursor != "0");
  std::sort(item_keys.begin(), item_keys.end());

  // Chunk sizes.
  for (size_t b = 0; b < chunk_keys.size(); b += kReadBatch) {
    std::vector<RedisCommand> commands;
    for (size_t j = b; j < std::min(chunk_keys.size(), b + kReadBatch); ++j) {
      commands.push_back({"STRLEN", ChunkRedisKey(table_, chunk_keys[j])});
    }
    IVG_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, lease->Pipeline(commands));
    for (size_t j = 0; j < replies.size(); ++j) {
      if (replies[j].type == RedisReply::Type::kInteger && replies[j].integer > 0) {
        result.chunk_bytes[chunk_keys[b + j]] = replies[j].integer;
      } else {
        report(ChunkRedisKey(table_, chunk_keys[b + j]), "not a string value");
      }
    }
  }

  // Item records, in key (= insertion) order.
  for (size_t b = 0; b < item_keys.size(); b += kReadBatch) {
    RedisCommand mget = {"MGET"};
    const size_t end = std::min(item_keys.size(), b + kReadBatch);
    for (size_t j = b; j < end; ++j) mget.push_back(ItemRedisKey(table_, item_keys[j]));
    IVG_ASSIGN_OR_RETURN(RedisReply reply, lease->Command(mget));
    if (reply.type != RedisReply::Type::kArray) {
      // MGET fails as a whole if a key holds a non-string value: read one by one.
      reply.elements.clear();
      for (size_t j = b; j < end; ++j) {
        IVG_ASSIGN_OR_RETURN(RedisReply one,
                             lease->Command({"GET", ItemRedisKey(table_, item_keys[j])}));
        reply.elements.push_back(std::move(one));
      }
    }
    for (size_t j = b; j < end; ++j) {
      const std::string redis_key = ItemRedisKey(table_, item_keys[j]);
      const RedisReply& value = reply.elements[j - b];
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
      for (uint64_t c : record->chunk_keys) {
        chunks_ok = chunks_ok && result.chunk_bytes.contains(c);
      }
      if (!chunks_ok) {
        report(redis_key, "references a chunk that is not in Redis");
        continue;
      }
      result.items.push_back(*std::move(record));
    }
  }
  return result;
}

}  // namespace ivg::replay
