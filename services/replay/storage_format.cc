#include "services/replay/storage_format.h"

#include <cmath>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ivg::replay {
namespace {

constexpr char kMagic[4] = {'I', 'V', 'G', 'I'};
constexpr uint8_t kVersion = 1;
constexpr size_t kMaxChunksPerItem = 1024;

template <typename T>
void Put(std::string* out, T value) {
  char buf[sizeof(T)];
  std::memcpy(buf, &value, sizeof(T));  // Little-endian hosts only (x86-64, aarch64).
  out->append(buf, sizeof(T));
}

template <typename T>
bool Get(absl::string_view* in, T* value) {
  if (in->size() < sizeof(T)) return false;
  std::memcpy(value, in->data(), sizeof(T));
  in->remove_prefix(sizeof(T));
  return true;
}

}  // namespace

std::string EncodeItemRecord(const ItemRecord& r) {
  std::string out(kMagic, 4);
  Put<uint8_t>(&out, kVersion);
  Put<uint64_t>(&out, r.key);
  Put<int32_t>(&out, r.task_id);
  Put<int32_t>(&out, r.offset);
  Put<int32_t>(&out, r.length);
  Put<double>(&out, r.priority);
  Put<uint32_t>(&out, static_cast<uint32_t>(r.chunk_keys.size()));
  for (uint64_t k : r.chunk_keys) Put<uint64_t>(&out, k);
  for (int32_t n : r.chunk_steps) Put<int32_t>(&out, n);
  return out;
}

absl::StatusOr<ItemRecord> DecodeItemRecord(absl::string_view in) {
  if (in.size() < 5 || std::memcmp(in.data(), kMagic, 4) != 0) {
    return absl::DataLossError("item record does not start with the IVGI magic");
  }
  in.remove_prefix(4);
  uint8_t version = 0;
  Get(&in, &version);
  if (version != kVersion) {
    return absl::DataLossError(absl::StrCat("item record version ", version, " is not ",
                                            kVersion));
  }
  ItemRecord r;
  uint32_t n = 0;
  if (!Get(&in, &r.key) || !Get(&in, &r.task_id) || !Get(&in, &r.offset) ||
      !Get(&in, &r.length) || !Get(&in, &r.priority) || !Get(&in, &n)) {
    return absl::DataLossError("item record is truncated");
  }
  if (n == 0 || n > kMaxChunksPerItem ||
      in.size() != n * (sizeof(uint64_t) + sizeof(int32_t))) {
    return absl::DataLossError(absl::StrCat("item record lists ", n, " chunks in ", in.size(),
                                            " bytes"));
  }
  if (r.offset < 0 || r.length <= 0 || !std::isfinite(r.priority) || r.priority < 0) {
    return absl::DataLossError("item record has a negative offset, empty length or bad priority");
  }
  r.chunk_keys.resize(n);
  r.chunk_steps.resize(n);
  for (uint32_t i = 0; i < n; ++i) Get(&in, &r.chunk_keys[i]);
  int64_t total = 0;
  for (uint32_t i = 0; i < n; ++i) {
    Get(&in, &r.chunk_steps[i]);
    if (r.chunk_steps[i] <= 0) return absl::DataLossError("item record has an empty chunk");
    total += r.chunk_steps[i];
  }
  if (r.offset >= r.chunk_steps[0] || r.offset + r.length > total) {
    return absl::DataLossError(absl::StrCat("item record window [", r.offset, ", ",
                                            r.offset + r.length, ") exceeds its chunks' ",
                                            total, " steps"));
  }
  return r;
}

std::string ChunkKeyPrefix(const std::string& table) { return absl::StrCat("ivg:replay:", table, ":c:"); }
std::string ItemKeyPrefix(const std::string& table) { return absl::StrCat("ivg:replay:", table, ":i:"); }
std::string ChunkRedisKey(const std::string& table, uint64_t key) {
  return absl::StrCat(ChunkKeyPrefix(table), key);
}
std::string ItemRedisKey(const std::string& table, uint64_t key) {
  return absl::StrCat(ItemKeyPrefix(table), key);
}
std::string ChunkKeyPattern(const std::string& table) { return ChunkKeyPrefix(table) + "*"; }
std::string ItemKeyPattern(const std::string& table) { return ItemKeyPrefix(table) + "*"; }

std::optional<uint64_t> ParseNumericSuffix(absl::string_view redis_key, absl::string_view prefix) {
  if (!absl::StartsWith(redis_key, prefix)) return std::nullopt;
  absl::string_view digits = redis_key.substr(prefix.size());
  if (digits.empty() || digits.size() > 20) return std::nullopt;
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  uint64_t value = 0;
  if (!absl::SimpleAtoi(digits, &value)) return std::nullopt;
  return value;
}

bool IsValidTableName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

}  // namespace ivg::replay
