// Table against a real redis-server on an ephemeral loopback port.
#include "services/replay/table.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/replay/chunk_codec.h"
#include "services/replay/selectors/selector_factory.h"
#include "services/replay/table_from_config.h"
#include "services/replay/testing/synthetic_episode.h"
#include "tests/services/replay/replay_test_util.h"

namespace ivg::replay {
namespace {

using google::protobuf::util::MessageDifferencer;

// What a kill -9 of the redis-server left (KillRedisWhileBackgroundFsyncRuns).
struct SlowDiskKillResult {
  int64_t acknowledged = 0;  // Items acknowledged before the kill.
  int64_t found = 0;         // Items the restarted server holds.
};

class TableTest : public ::testing::Test {
 protected:
  void SetUp() override { StartRedisAndPool(APPENDFSYNC_EVERYSEC); }

  void StartRedisAndPool(AppendFsync fsync, int port = 0, const std::string& binary = "") {
    pool_.reset();
    redis_ = testing::StartRedis(dir_.path() + "/redis", fsync, port, binary);
    ASSERT_NE(redis_, nullptr);
    ConnectPoolAndAdmin();
  }

  // The table's connection pool and an admin connection to redis_.
  void ConnectPoolAndAdmin() {
    auto pool = RedisConnectionPool::Create(redis_->connection_options(), 2);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    auto c = RedisConnection::Create(redis_->connection_options());
    ASSERT_TRUE(c.ok());
    admin_ = *std::move(c);
  }

  static TableOptions Options() {
    TableOptions o;
    o.sequence_length = 8;
    o.max_size = 1000;
    o.rate_limiter.min_size_to_sample = 1;
    o.episode_spec.num_rewards = 3;  // Episodes carry 3 task rewards (MakeEpisode).
    return o;
  }

  std::unique_ptr<Table> MakeTable(const TableOptions& options) {
    auto table = Table::Create(options, pool_.get(), nullptr);
    EXPECT_TRUE(table.ok()) << table.status();
    return table.ok() ? *std::move(table) : nullptr;
  }

  static Episode MakeEpisode(int64_t id, int steps = 16, int task = 0) {
    testing::SyntheticEpisodeOptions o;
    o.episode_id = id;
    o.num_steps = steps;
    o.task_id = task;
    o.num_rewards = 3;  // Tasks 0..2: a task id must name one of the episode's rewards.
    o.noise_amplitude = 2;
    return testing::MakeSyntheticEpisode(o);
  }

  absl::Time Soon() { return absl::Now() + absl::Seconds(5); }

  // A redis-server on a slow disk: a wrapper script preloads slow_fsync_preload.so (its
  // background fsyncs take 3 s) and execs the real binary, which keeps the wrapper's pid.
  void StartSlowDiskRedisAndPool(AppendFsync fsync) {
    const std::string wrapper = dir_.path() + "/slow-disk-redis-server";
    {
      std::ofstream script(wrapper);
      script << "#!/bin/sh\n"
             << "LD_PRELOAD=" << IVG_SLOW_FSYNC_PRELOAD << " IVG_SLOW_BACKGROUND_FSYNC_MS=3000 "
             << "exec " << ResolveRedisServerBinary("redis-server") << " \"$@\"\n";
    }
    std::filesystem::permissions(wrapper, std::filesystem::perms::owner_all);
    StartRedisAndPool(fsync, /*port=*/0, wrapper);
  }

  // Whether the redis-server's background fsync is running, polled for up to 5 s.
  bool WaitForBackgroundFsync() {
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (absl::Now() < deadline) {
      auto info = admin_->Command({"INFO", "persistence"});
      if (info.ok() && absl::StrContains(info->str, "aof_pending_bio_fsync:1")) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }

  // On a fresh slow-disk redis-server: inserts one episode, waits (everysec) until the
  // background fsync of that write is running, inserts `episodes_while_fsyncing` more,
  // kills the server at once (SIGKILL: no shutdown flush) and counts what a restarted one
  // (on the normal disk) holds.
  SlowDiskKillResult KillRedisWhileBackgroundFsyncRuns(AppendFsync fsync,
                                                       int episodes_while_fsyncing) {
    SlowDiskKillResult result;
    pool_.reset();
    admin_.reset();
    redis_.reset();
    std::filesystem::remove_all(dir_.path() + "/redis");  // a fresh AOF
    StartSlowDiskRedisAndPool(fsync);
    if (pool_ == nullptr) return result;
    const int port = redis_->port();
    {
      auto table = MakeTable(Options());
      if (table == nullptr) return result;
      auto first = table->Insert(MakeEpisode(0, 16), Soon());
      EXPECT_TRUE(first.ok()) << first.status();
      if (first.ok()) result.acknowledged += first->items_created;
      // Only everysec fsyncs in the background; the others write before every reply.
      if (fsync == APPENDFSYNC_EVERYSEC) {
        EXPECT_TRUE(WaitForBackgroundFsync()) << "the background fsync never started";
      }
      for (int e = 1; e <= episodes_while_fsyncing; ++e) {
        auto r = table->Insert(MakeEpisode(e, 16), Soon());
        EXPECT_TRUE(r.ok()) << r.status();
        if (r.ok()) result.acknowledged += r->items_created;
      }
    }
    pool_.reset();
    admin_.reset();
    redis_->Kill();
    redis_.reset();
    StartRedisAndPool(fsync, port);
    if (pool_ == nullptr) return result;
    auto table = MakeTable(Options());
    if (table != nullptr) result.found = table->size();
    EXPECT_EQ(table == nullptr ? -1 : table->corrupt_keys_skipped(), 0);
    return result;
  }

  testing::TempDir dir_;
  std::unique_ptr<RedisProcess> redis_;
  std::unique_ptr<RedisConnectionPool> pool_;
  std::unique_ptr<RedisConnection> admin_;
};


// The episodes a table accepts have the sizes the configured model reads (a run with object
// offsets in the proprioception records 23 values per step, not the Sawyer's 17).
TEST(TableOptionsFromConfig, TakesTheEpisodeSizesFromTheConfig) {
  ExperimentConfig config;
  config.mutable_model()->set_proprio_size(23);
  config.mutable_model()->set_action_size(4);
  const TableOptions o = TableOptionsFromConfig(config);
  EXPECT_EQ(o.episode_spec.proprio_size, 23);
  EXPECT_EQ(o.episode_spec.action_size, 4);
  EXPECT_EQ(o.episode_spec.image_size, 64);
  // The config's selectors, injected as factories.
  EXPECT_EQ(o.make_sampler()->name(), "uniform");
  EXPECT_EQ(o.make_remover()->name(), "uniform");
  config.mutable_replay()->set_sampler(SELECTOR_PRIORITIZED);
  config.mutable_replay()->set_remover(REMOVER_FIFO);
  const TableOptions prioritized = TableOptionsFromConfig(config);
  EXPECT_EQ(prioritized.make_sampler()->name(), "prioritized");
  EXPECT_EQ(prioritized.make_remover()->name(), "fifo");
}

TEST_F(TableTest, InsertThenSampleRoundTripsStepsByteExact) {
  auto table = MakeTable(Options());
  const Episode episode = MakeEpisode(1, /*steps=*/20, /*task=*/2);
  auto inserted = table->Insert(episode, Soon());
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  EXPECT_EQ(inserted->items_created, 2);  // stride L = 8: windows at 0 and 8.
  EXPECT_EQ(inserted->steps_stored, 16);
  std::set<int> starts_seen;
  for (int i = 0; i < 20; ++i) {
    auto sampled = table->Sample(1, /*compressed=*/false, Soon());
    ASSERT_TRUE(sampled.ok()) << sampled.status();
    const SampledSequence& s = (*sampled)[0];
    ASSERT_EQ(s.steps.steps_size(), 8);
    EXPECT_EQ(s.task_id, 2);
    EXPECT_DOUBLE_EQ(s.probability, 0.5);
    int start = -1;
    for (int t0 : {0, 8}) {
      if (MessageDifferencer::Equals(s.steps.steps(0), episode.steps(t0))) start = t0;
    }
    ASSERT_GE(start, 0) << "sampled window does not start at an item boundary";
    for (int t = 0; t < 8; ++t) {
      EXPECT_TRUE(MessageDifferencer::Equals(s.steps.steps(t), episode.steps(start + t)));
    }
    starts_seen.insert(start);
  }
  EXPECT_EQ(starts_seen.size(), 2u);
}

TEST_F(TableTest, CompressedSamplesDecodeToTheSameSteps) {
  TableOptions o = Options();
  o.item_stride = 3;  // Items straddle chunks: the server re-encodes the window.
  auto table = MakeTable(o);
  const Episode episode = MakeEpisode(1, 20);
  auto inserted = table->Insert(episode, Soon());
  ASSERT_TRUE(inserted.ok());
  EXPECT_EQ(inserted->items_created, 5);  // starts 0, 3, 6, 9, 12
  auto sampled = table->Sample(16, /*compressed=*/true, Soon());
  ASSERT_TRUE(sampled.ok()) << sampled.status();
  for (const SampledSequence& s : *sampled) {
    auto decoded = DecodeChunk(s.compressed);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    ASSERT_EQ(decoded->steps_size(), 8);
    int start = -1;
    for (int t0 = 0; t0 <= 12; t0 += 3) {
      if (MessageDifferencer::Equals(decoded->steps(0), episode.steps(t0))) start = t0;
    }
    ASSERT_GE(start, 0);
    for (int t = 0; t < 8; ++t) {
      EXPECT_TRUE(MessageDifferencer::Equals(decoded->steps(t), episode.steps(start + t)));
    }
  }
}

TEST_F(TableTest, StoresEachStepOnceWithOverlappingItems) {
  TableOptions o = Options();
  o.item_stride = 1;
  auto table = MakeTable(o);
  auto inserted = table->Insert(MakeEpisode(1, 24), Soon());
  ASSERT_TRUE(inserted.ok());
  EXPECT_EQ(inserted->items_created, 17);
  const TableInfo info = table->Info();
  EXPECT_EQ(info.num_steps(), 24);
  EXPECT_EQ(info.num_chunks(), 3);
  EXPECT_EQ(testing::RedisKeyCount(admin_.get()), 17 + 3);
}

TEST_F(TableTest, UniformSamplingPassesChiSquareTest) {
  auto table = MakeTable(Options());
  for (int e = 0; e < 5; ++e) ASSERT_TRUE(table->Insert(MakeEpisode(e, 32), Soon()).ok());
  ASSERT_EQ(table->size(), 20);
  std::map<uint64_t, int> counts;
  const int rounds = 200, batch = 16;
  for (int r = 0; r < rounds; ++r) {
    auto sampled = table->Sample(batch, /*compressed=*/true, Soon());
    ASSERT_TRUE(sampled.ok()) << sampled.status();
    for (const SampledSequence& s : *sampled) ++counts[s.key];
  }
  ASSERT_EQ(counts.size(), 20u);
  const double expected = rounds * batch / 20.0;
  double chi2 = 0;
  for (const auto& [key, c] : counts) chi2 += (c - expected) * (c - expected) / expected;
  // 19 degrees of freedom: P(chi2 > 43.82) = 0.001.
  EXPECT_LT(chi2, 43.82);
}

TEST_F(TableTest, MaxSizeEvictsAndDeletesChunksWithTheirLastItem) {
  TableOptions o = Options();
  o.max_size = 6;
  o.make_remover = [] { return MakeRemover(REMOVER_FIFO); };
  auto table = MakeTable(o);
  for (int e = 0; e < 3; ++e) {
    auto r = table->Insert(MakeEpisode(e, 32), Soon());  // 4 items each
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->items_evicted, e == 0 ? 0 : (e == 1 ? 2 : 4));
  }
  const TableInfo info = table->Info();
  EXPECT_EQ(info.num_items(), 6);
  EXPECT_EQ(info.num_chunks(), 6);
  EXPECT_EQ(info.total_evicted_items(), 6);
  EXPECT_EQ(testing::RedisKeyCount(admin_.get()), 12) << "evicted items or chunks left behind";
  // FIFO removal keeps the newest episode entirely.
  std::set<int64_t> episodes;
  for (int i = 0; i < 50; ++i) {
    auto s = table->Sample(1, false, Soon());
    ASSERT_TRUE(s.ok());
    episodes.insert((*s)[0].steps.episode_id());
  }
  EXPECT_TRUE(episodes.count(2));
  EXPECT_FALSE(episodes.count(0));
  // An episode with more items than the table holds is refused, nothing stored.
  auto too_big = table->Insert(MakeEpisode(9, 64), Soon());
  EXPECT_TRUE(absl::IsResourceExhausted(too_big.status())) << too_big.status();
  EXPECT_EQ(testing::RedisKeyCount(admin_.get()), 12);
}

TEST_F(TableTest, ConcurrentInsertsNeverLeaveTheTableAboveMaxSize) {
  TableOptions o = Options();
  o.max_size = 6;
  auto table = MakeTable(o);
  std::vector<std::thread> inserters;
  for (int t = 0; t < 4; ++t) {
    inserters.emplace_back([&, t] {
      for (int e = 0; e < 5; ++e) {
        auto r = table->Insert(MakeEpisode(t * 100 + e, 32), Soon());  // 4 items each
        EXPECT_TRUE(r.ok()) << r.status();
      }
    });
  }
  for (auto& t : inserters) t.join();
  const TableInfo info = table->Info();
  EXPECT_EQ(info.num_items(), 6);
  EXPECT_EQ(info.total_inserted_items() - info.total_evicted_items(), 6);
  EXPECT_EQ(testing::RedisKeyCount(admin_.get()), 6 + info.num_chunks());
}

TEST_F(TableTest, MaxTimesSampledRemovesItems) {
  TableOptions o = Options();
  o.max_times_sampled = 2;
  o.make_sampler = [] { return MakeSelector(SELECTOR_FIFO, 0.6); };
  auto table = MakeTable(o);
  ASSERT_TRUE(table->Insert(MakeEpisode(1, 16), Soon()).ok());  // 2 items
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(table->Sample(1, true, Soon()).ok());
  EXPECT_EQ(table->size(), 0);
  EXPECT_EQ(testing::RedisKeyCount(admin_.get()), 0);
  EXPECT_TRUE(absl::IsDeadlineExceeded(
      table->Sample(1, true, absl::Now() + absl::Milliseconds(20)).status()));
}

TEST_F(TableTest, SamplerBlocksUntilMinSizeThenIsReleasedByInsert) {
  TableOptions o = Options();
  o.rate_limiter.min_size_to_sample = 3;
  auto table = MakeTable(o);
  ASSERT_TRUE(table->Insert(MakeEpisode(1, 16), Soon()).ok());  // 2 items < 3
  absl::StatusOr<std::vector<SampledSequence>> result = absl::UnknownError("not run");
  std::thread sampler([&] { result = table->Sample(4, true, absl::Now() + absl::Seconds(30)); });
  while (table->Info().rate_limiter().waiting_samplers() == 0) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_TRUE(table->Insert(MakeEpisode(2, 16), Soon()).ok());
  sampler.join();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->size(), 4u);
}

TEST_F(TableTest, CloseWakesBlockedSamplerWithCancelled) {
  auto table = MakeTable(Options());
  absl::Status result;
  std::thread sampler(
      [&] { result = table->Sample(1, true, absl::Now() + absl::Seconds(30)).status(); });
  while (table->Info().rate_limiter().waiting_samplers() == 0) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  table->Close();
  sampler.join();
  EXPECT_TRUE(absl::IsCancelled(result)) << result;
}

TEST_F(TableTest, RestartRebuildsIndexAndReportsCorruptKeys) {
  TableOptions o = Options();
  o.item_stride = 2;
  {
    auto table = MakeTable(o);
    for (int e = 0; e < 3; ++e) ASSERT_TRUE(table->Insert(MakeEpisode(e, 20), Soon()).ok());
    EXPECT_EQ(table->size(), 21);
  }
  ASSERT_TRUE(admin_->Command({"SET", "ivg:replay:sequences:i:999999", "garbage"}).ok());
  ASSERT_TRUE(admin_->Command({"SET", "ivg:replay:sequences:i:notanumber", "x"}).ok());
  ASSERT_TRUE(admin_->Command({"SET", "someone-elses-key", "x"}).ok());
  ASSERT_TRUE(admin_->Command({"HSET", "ivg:replay:sequences:i:1000000", "f", "v"}).ok());
  auto table = MakeTable(o);
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->size(), 21);
  EXPECT_EQ(table->corrupt_keys_skipped(), 4);
  EXPECT_EQ(table->Info().num_steps(), 60);
  // New keys continue after the largest one found, and sampling works.
  ASSERT_TRUE(table->Insert(MakeEpisode(7, 20), Soon()).ok());
  EXPECT_EQ(table->size(), 28);
  auto s = table->Sample(8, false, Soon());
  ASSERT_TRUE(s.ok()) << s.status();
}

// What each appendfsync setting keeps through kill -9 of the redis-server on a slow disk
// (proto/replay.proto). The disk is made slow where it matters, deterministically: the
// redis-server runs with slow_fsync_preload.so, so its background fsync (everysec's) takes
// 3 s. While one runs, everysec postpones writing its AOF buffer for 1-2 s and still replies;
// always and no write the buffer before every reply.
TEST_F(TableTest, DefaultAppendfsyncKeepsAcknowledgedItemsThroughRedisKillOnASlowDisk) {
  // The replay server's default and RedisProcess's must be the same setting.
  const AppendFsync default_mode = ReplayConfig().appendfsync();
  ASSERT_EQ(RedisProcessOptions().appendfsync, default_mode);
  SCOPED_TRACE(AppendFsync_Name(default_mode));
  const SlowDiskKillResult r = KillRedisWhileBackgroundFsyncRuns(default_mode, 5);
  EXPECT_EQ(r.found, r.acknowledged);
}

TEST_F(TableTest, AlwaysAndNoKeepAcknowledgedItemsThroughRedisKillOnASlowDisk) {
  for (AppendFsync mode : {APPENDFSYNC_ALWAYS, APPENDFSYNC_NO}) {
    SCOPED_TRACE(AppendFsync_Name(mode));
    const SlowDiskKillResult r = KillRedisWhileBackgroundFsyncRuns(mode, 5);
    EXPECT_EQ(r.found, r.acknowledged);
  }
}

// The reason everysec is not the default, pinned so that the documentation stays true: an
// insert acknowledged while the background fsync runs is in no file yet.
TEST_F(TableTest, EverysecLosesItemsAcknowledgedWhileTheBackgroundFsyncRuns) {
  const SlowDiskKillResult r = KillRedisWhileBackgroundFsyncRuns(APPENDFSYNC_EVERYSEC, 1);
  EXPECT_LT(r.found, r.acknowledged);
  EXPECT_GT(r.found, 0);  // The first episode was written before the fsync began.
}

TEST_F(TableTest, InsertFailsCleanlyWhenRedisIsGoneAndRecoversWhenItReturns) {
  auto table = MakeTable(Options());
  ASSERT_TRUE(table->Insert(MakeEpisode(1, 16), Soon()).ok());
  const int port = redis_->port();
  redis_->Stop();
  auto failed = table->Insert(MakeEpisode(2, 16), Soon());
  EXPECT_TRUE(absl::IsUnavailable(failed.status())) << failed.status();
  EXPECT_EQ(table->size(), 2);
  redis_ = testing::StartRedis(dir_.path() + "/redis", APPENDFSYNC_EVERYSEC, port);
  ASSERT_NE(redis_, nullptr);
  auto ok = table->Insert(MakeEpisode(3, 16), Soon());
  EXPECT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(table->size(), 4);
  EXPECT_TRUE(table->Sample(4, true, Soon()).ok());
}

}  // namespace
}  // namespace ivg::replay
