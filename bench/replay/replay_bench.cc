// Replay throughput against raw Redis, in one run on one machine:
//   anchor: redis-benchmark GET/SET with values the size of one compressed chunk (L steps),
//           4 clients, against a RedisProcess started like a replay shard's;
//   replay: InsertEpisode steps/s and Sample sequences/s (batch 16, L = 8, 6x64x64 images)
//           through gRPC (ShardedReplayClient -> ReplayService -> Redis), the sample
//           bandwidth in chunk bytes read as a ratio of raw GET bandwidth, and bytes per
//           stored step (Redis used_memory / steps).
//
//   build-replay/bench/replay/replay_bench [--frames=env|synthetic] [--episodes=40]
//   build/bench/replay/replay_bench --durability   # appendfsync always / no against everysec
#include <sys/utsname.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <fstream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/grpc/client_context.h"
#include "common/grpc/server_host.h"
#include "common/metrics/metrics.h"
#include "services/replay/chunk_codec.h"
#include "services/replay/client/sharded_replay_client.h"
#include "services/replay/redis/redis_process.h"
#include "services/replay/replay_service.h"
#include "services/replay/testing/synthetic_episode.h"
#ifdef IVG_REPLAY_BENCH_HAS_ENV
#include "env/sawyer_env.h"
#include "env/scripted_policies.h"
#endif

ABSL_FLAG(std::string, frames, "env", "env: MuJoCo-rendered frames (if built); synthetic.");
ABSL_FLAG(int, source_episodes, 4, "Distinct episodes generated (then re-inserted with new ids).");
ABSL_FLAG(int, episodes, 40, "Episodes of 200 steps inserted in the insert phase.");
ABSL_FLAG(int, insert_threads, 2, "Concurrent inserting clients.");
ABSL_FLAG(int, sample_threads, 4, "Concurrent sampling clients (4 = redis-benchmark -c 4).");
ABSL_FLAG(double, sample_seconds, 5, "Duration of each sample phase.");
ABSL_FLAG(int, redis_requests, 20000, "Requests per redis-benchmark test.");
ABSL_FLAG(int, compression_level, 3, "zstd level of stored chunks.");
ABSL_FLAG(int, chunk_length, 0, "Steps per chunk (0 = L).");
ABSL_FLAG(bool, durability, false,
          "Instead of the throughput run: InsertEpisode steps/s with replay.appendfsync ALWAYS "
          "against the default EVERYSEC (and NO), each on a fresh redis-server, rounds "
          "alternating.");
ABSL_FLAG(int, durability_rounds, 3, "Rounds of the --durability comparison.");

namespace ivg::replay {
namespace {

constexpr int kSteps = 200;
constexpr int kL = 8;
constexpr int kBatch = 16;

std::string Machine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(cpuinfo, line)) {
    if (absl::StartsWith(line, "model name")) {
      model = std::string(absl::StripAsciiWhitespace(line.substr(line.find(':') + 1)));
      break;
    }
  }
  utsname u{};
  uname(&u);
  return absl::StrCat(model, ", ", std::thread::hardware_concurrency(), " hardware threads, ",
                      u.sysname, " ", u.release);
}

std::vector<Episode> MakeSourceEpisodes(const std::string& frames, int n, std::string* what) {
  std::vector<Episode> out;
#ifdef IVG_REPLAY_BENCH_HAS_ENV
  if (frames == "env") {
    EnvConfig config;
    auto env = env::SawyerEnv::Create(config);
    if (!env.ok()) {
      std::fprintf(stderr, "environment unavailable (%s); using synthetic frames\n",
                   env.status().ToString().c_str());
    } else {
      for (int e = 0; e < n; ++e) {
        auto ts = (*env)->Reset(1000 + e);
        if (!ts.ok()) break;
        env::ScriptedLiftPolicy policy(e % 2 == 0 ? env::ObjectId::kRed : env::ObjectId::kBlue);
        Episode episode;
        episode.set_episode_id(e);
        episode.set_image_height(config.image_size());
        episode.set_image_width(config.image_size());
        for (int t = 0; t < kSteps && ts.ok(); ++t) {
          const env::Action action = policy.Act(**env);
          Step* step = episode.add_steps();
          step->set_image(std::string(ts->observation.pixels.begin(), ts->observation.pixels.end()));
          for (float p : ts->observation.proprio) step->add_proprio(p);
          for (float a : action) step->add_action(a);
          step->set_behaviour_log_prob(-3.0f);
          ts = (*env)->Step(action);
          step->add_rewards(ts.ok() ? ts->reward : 0.0f);
          if (ts.ok() && ts->last && t + 1 < kSteps) ts = (*env)->Reset(2000 + e);
        }
        if (episode.steps_size() == kSteps) out.push_back(std::move(episode));
      }
      if (static_cast<int>(out.size()) == n) {
        *what = "MuJoCo-rendered Sawyer frames (scripted lift policy), 2 cameras 64x64";
        return out;
      }
      out.clear();
    }
  }
#endif
  for (int e = 0; e < n; ++e) {
    testing::SyntheticEpisodeOptions o;
    o.episode_id = e;
    o.num_steps = kSteps;
    o.seed = 17 + e;
    out.push_back(testing::MakeSyntheticEpisode(o));
  }
  *what = "synthetic smooth frames with 3 moving coloured blocks (no renderer)";
  return out;
}

// The replay service in this process on `redis`, served on loopback, and a client of it.
struct ReplayStack {
  explicit ReplayStack(const RedisProcess& redis) {
    pool = *RedisConnectionPool::Create(redis.connection_options(), 4);
    ReplayServiceOptions so;
    so.table.sequence_length = kL;
    so.table.max_size = 10'000'000;
    so.table.chunk_length = absl::GetFlag(FLAGS_chunk_length);
    so.table.compression_level = absl::GetFlag(FLAGS_compression_level);
    so.table.rate_limiter.min_size_to_sample = 1;
    so.table.episode_spec.num_rewards = 1;
    service = *ReplayServiceImpl::Create(so, pool.get(), &registry);
    GrpcServerOptions gso;
    gso.max_message_bytes = 256 << 20;
    host = *GrpcServerHost::Create(gso, {service.get()});
    ShardedReplayClientOptions co;
    co.addresses = {host->address()};
    co.registry = &registry;
    co.rpc_deadline = absl::Seconds(60);
    client = *ShardedReplayClient::Create(co);
  }
  metrics::MetricRegistry registry;
  std::unique_ptr<RedisConnectionPool> pool;
  std::unique_ptr<ReplayServiceImpl> service;
  std::unique_ptr<GrpcServerHost> host;
  std::unique_ptr<ShardedReplayClient> client;
};

// Inserts `episodes` episodes (copies of `sources` with new ids) from --insert_threads
// clients; returns acknowledged steps per second. Failed inserts are counted, not retried.
double InsertSteps(ShardedReplayClient& client, const std::vector<Episode>& sources,
                   int episodes, std::atomic<int>* failures) {
  std::atomic<int> next{0};
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int t = 0; t < absl::GetFlag(FLAGS_insert_threads); ++t) {
    threads.emplace_back([&] {
      for (int e = next++; e < episodes; e = next++) {
        Episode episode = sources[e % sources.size()];
        episode.set_episode_id(e);
        episode.set_actor_id(e);
        if (!client.InsertEpisode(episode).ok()) ++*failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  return episodes * kSteps / absl::ToDoubleSeconds(absl::Now() - start);
}

// --durability: what an acknowledgement that is on the disk costs. Each measurement starts a
// fresh redis-server (its own AOF) with one appendfsync setting; rounds alternate the
// settings so that load changes hit all of them.
int RunDurability(const std::vector<Episode>& sources, const std::string& dir) {
  const std::vector<std::pair<AppendFsync, const char*>> modes = {
      {APPENDFSYNC_EVERYSEC, "everysec"}, {APPENDFSYNC_ALWAYS, "always"}, {APPENDFSYNC_NO, "no"}};
  std::map<std::string, std::vector<double>> rates;
  std::atomic<int> failures{0};
  const int episodes = absl::GetFlag(FLAGS_episodes);
  for (int round = 0; round < absl::GetFlag(FLAGS_durability_rounds); ++round) {
    for (const auto& [mode, name] : modes) {
      RedisProcessOptions ro;
      ro.data_dir = absl::StrCat(dir, "/redis-", name, "-", round);
      ro.appendfsync = mode;
      auto redis = RedisProcess::Start(ro);
      if (!redis.ok()) {
        std::fprintf(stderr, "%s\n", redis.status().ToString().c_str());
        return 1;
      }
      double rate = 0;
      {
        ReplayStack stack(**redis);
        rate = InsertSteps(*stack.client, sources, episodes, &failures);
        stack.host->Stop(absl::Seconds(1));
      }
      rates[name].push_back(rate);
      std::printf("  round %d appendfsync %-8s %8.0f steps/s\n", round, name, rate);
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double anchor = median(rates["everysec"]);
  std::printf("durability: InsertEpisode of %d episodes x %d steps, %d threads, median of %zu "
              "rounds; anchor appendfsync everysec %.0f steps/s\n",
              episodes, kSteps, absl::GetFlag(FLAGS_insert_threads), rates["everysec"].size(),
              anchor);
  for (const char* name : {"always", "no"}) {
    std::printf("  appendfsync %-8s %8.0f steps/s = %.2f x everysec\n", name,
                median(rates[name]), median(rates[name]) / anchor);
  }
  if (failures > 0) std::printf("failures: %d\n", failures.load());
  return failures > 0 ? 1 : 0;
}

// Runs redis-benchmark and returns requests/s per test ("SET", "GET").
std::map<std::string, double> RunRedisBenchmark(const RedisProcess& redis, int value_size,
                                                int requests) {
  const std::string cmd = absl::StrCat(
      IVG_REDIS_BENCHMARK_PATH, " -h 127.0.0.1 -p ", redis.port(), " -a ",
      redis.options().password, " -t set,get -d ", value_size, " -n ", requests,
      " -c 4 -r 1000 --csv 2>/dev/null");
  std::map<std::string, double> rps;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return rps;
  char line[512];
  while (fgets(line, sizeof(line), pipe) != nullptr) {
    std::vector<std::string> fields = absl::StrSplit(line, ',');
    if (fields.size() < 2) continue;
    std::string name(absl::StripSuffix(absl::StripPrefix(fields[0], "\""), "\""));
    std::string value(absl::StripSuffix(absl::StripPrefix(fields[1], "\""), "\""));
    double v = 0;
    if (absl::SimpleAtod(value, &v)) rps[name] = v;
  }
  pclose(pipe);
  return rps;
}

int64_t UsedMemory(RedisConnection* c) {
  auto info = c->Command({"INFO", "memory"});
  if (!info.ok()) return 0;
  for (absl::string_view line : absl::StrSplit(info->str, "\r\n")) {
    if (absl::ConsumePrefix(&line, "used_memory:")) {
      int64_t v = 0;
      if (absl::SimpleAtoi(line, &v)) return v;
    }
  }
  return 0;
}

int Run() {
  testing::SyntheticEpisodeOptions unused;
  (void)unused;
  char tmpl[] = "/tmp/ivg_replay_bench_XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::printf("machine: %s\n", Machine().c_str());

  std::string frames_what;
  const std::vector<Episode> sources =
      MakeSourceEpisodes(absl::GetFlag(FLAGS_frames), absl::GetFlag(FLAGS_source_episodes),
                         &frames_what);
  std::printf("frames: %s\n", frames_what.c_str());
  if (absl::GetFlag(FLAGS_durability)) {
    const int rc = RunDurability(sources, dir);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return rc;
  }

  // Compressed chunk size of the data (one chunk = one item of L steps by default).
  const int chunk_length = absl::GetFlag(FLAGS_chunk_length) > 0 ? absl::GetFlag(FLAGS_chunk_length) : kL;
  int64_t chunk_bytes = 0, chunks = 0;
  for (const Episode& e : sources) {
    for (int b = 0; b + chunk_length <= kSteps; b += chunk_length) {
      auto c = EncodeChunk(e, b, b + chunk_length, absl::GetFlag(FLAGS_compression_level));
      if (!c.ok()) return 1;
      chunk_bytes += c->size();
      ++chunks;
    }
  }
  const int value_size = static_cast<int>(chunk_bytes / chunks);
  const double raw_step_bytes = sources[0].steps(0).ByteSizeLong();
  std::printf("compressed chunk of %d steps: %d bytes (%.0f bytes/step; raw step %.0f bytes, "
              "ratio %.1fx)\n",
              chunk_length, value_size, static_cast<double>(value_size) / chunk_length,
              raw_step_bytes, raw_step_bytes * chunk_length / value_size);

  RedisProcessOptions ro;
  ro.data_dir = dir + "/redis";
  auto redis = RedisProcess::Start(ro);
  if (!redis.ok()) {
    std::fprintf(stderr, "%s\n", redis.status().ToString().c_str());
    return 1;
  }
  auto admin = *RedisConnection::Create((*redis)->connection_options());

  // Anchor.
  const auto rps = RunRedisBenchmark(**redis, value_size, absl::GetFlag(FLAGS_redis_requests));
  const double get_rps = rps.count("GET") ? rps.at("GET") : 0;
  const double set_rps = rps.count("SET") ? rps.at("SET") : 0;
  const double get_bw = get_rps * value_size, set_bw = set_rps * value_size;
  std::printf("anchor redis-benchmark -c 4 -d %d: SET %.0f req/s (%.1f MB/s), GET %.0f req/s "
              "(%.1f MB/s)\n",
              value_size, set_rps, set_bw / 1e6, get_rps, get_bw / 1e6);
  admin->Command({"FLUSHALL"}).IgnoreError();
  absl::SleepFor(absl::Milliseconds(200));
  const int64_t baseline_memory = UsedMemory(admin.get());

  // The replay service, in process, on the same Redis.
  ReplayStack stack(**redis);
  auto& service = stack.service;
  auto& client = stack.client;
  auto& host = stack.host;
  auto& pool = stack.pool;

  // Insert phase.
  const int total_episodes = absl::GetFlag(FLAGS_episodes);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  const double steps_per_s = InsertSteps(*client, sources, total_episodes, &failures);
  const double insert_bw = steps_per_s * raw_step_bytes;
  const TableInfo info = service->table()->Info();
  const int64_t used = UsedMemory(admin.get());
  std::printf("insert: %d episodes x %d steps, %d threads: %.0f steps/s (%.1f MB/s of raw "
              "steps; %.2f x raw SET bandwidth in stored bytes)%s\n",
              total_episodes, kSteps, absl::GetFlag(FLAGS_insert_threads), steps_per_s,
              insert_bw / 1e6,
              set_bw > 0 ? steps_per_s * info.stored_bytes() / info.num_steps() / set_bw : 0.0,
              failures > 0 ? " (SOME INSERTS FAILED)" : "");
  std::printf("stored: %lld items, %lld chunks, %lld steps, %lld chunk bytes = %.0f bytes/step; "
              "Redis used_memory %lld (%.0f bytes/step over the empty baseline %lld)\n",
              static_cast<long long>(info.num_items()), static_cast<long long>(info.num_chunks()),
              static_cast<long long>(info.num_steps()),
              static_cast<long long>(info.stored_bytes()),
              static_cast<double>(info.stored_bytes()) / info.num_steps(),
              static_cast<long long>(used),
              static_cast<double>(used - baseline_memory) / info.num_steps(),
              static_cast<long long>(baseline_memory));

  // Transport only: compressed samples through gRPC, not decoded (what the service itself
  // costs on top of Redis; decoding is the learner's CPU work).
  {
    auto stub = ReplayService::NewStub(MakeChannel(host->address(), 256 << 20));
    std::atomic<int64_t> sequences{0}, bytes{0};
    std::atomic<bool> stop{false};
    const absl::Time start = absl::Now();
    for (int t = 0; t < absl::GetFlag(FLAGS_sample_threads); ++t) {
      threads.emplace_back([&] {
        SampleRequest request;
        request.set_batch_size(kBatch);
        request.set_compressed(true);
        while (!stop) {
          SampleResponse response;
          auto context = MakeClientContext(absl::Seconds(30));
          if (!stub->Sample(context.get(), request, &response).ok()) {
            ++failures;
            continue;
          }
          sequences += response.compressed_size();
          for (const auto& c : response.compressed()) bytes += c.zstd_episode().size();
        }
      });
    }
    absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_sample_seconds)));
    stop = true;
    for (auto& t : threads) t.join();
    threads.clear();
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    const double bw = bytes / seconds;
    std::printf("sample (compressed, not decoded: transport only, batch %d, %d threads): %.0f "
                "sequences/s; %.1f MB/s of chunk bytes = %.2f x raw GET bandwidth\n",
                kBatch, absl::GetFlag(FLAGS_sample_threads), sequences / seconds, bw / 1e6,
                get_bw > 0 ? bw / get_bw : 0.0);
  }

  // Sample phases with decoding into SequenceBatch tensors.
  for (bool compressed : {true, false}) {
    std::atomic<int64_t> sequences{0};
    std::atomic<bool> stop{false};
    const absl::Time start = absl::Now();
    for (int t = 0; t < absl::GetFlag(FLAGS_sample_threads); ++t) {
      threads.emplace_back([&] {
        while (!stop) {
          auto batch = client->Sample(kBatch, "", compressed);
          if (!batch.ok() || batch->batch_size() != kBatch) {
            ++failures;
            continue;
          }
          sequences += kBatch;
        }
      });
    }
    absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_sample_seconds)));
    stop = true;
    for (auto& t : threads) t.join();
    threads.clear();
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    const double seq_per_s = sequences / seconds;
    const double stored_per_seq =
        static_cast<double>(info.stored_bytes()) / info.num_chunks() * kL / chunk_length;
    const double bw = seq_per_s * stored_per_seq;
    std::printf("sample (%s, batch %d, L %d, %d threads): %.0f sequences/s = %.0f batches/s; "
                "%.1f MB/s of stored chunk bytes = %.2f x raw GET bandwidth; %.1f MB/s of "
                "decoded steps\n",
                compressed ? "compressed, client decodes" : "server decodes", kBatch, kL,
                absl::GetFlag(FLAGS_sample_threads), seq_per_s, seq_per_s / kBatch, bw / 1e6,
                get_bw > 0 ? bw / get_bw : 0.0, seq_per_s * kL * raw_step_bytes / 1e6);
  }
  if (failures > 0) std::printf("failures: %d\n", failures.load());

  host->Stop(absl::Seconds(1));
  service.reset();
  pool.reset();
  admin.reset();
  redis->reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return failures > 0 ? 1 : 0;
}

}  // namespace
}  // namespace ivg::replay

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return ivg::replay::Run();
}
