// Two learners averaging gradients through c10d Gloo on loopback (two threads) against one
// learner with their combined batch.
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "model/core/learner_core.h"
#include "services/learner/c10d_collective.h"
#include "tests/model/core/test_util.h"

namespace ivg::learner {
namespace {

using ::ivg::model::Batch;
using ::ivg::model::CoreOptions;
using ::ivg::model::LearnerCore;
using ::ivg::model::SliceBatch;

constexpr int kSteps = 20;
constexpr int kPerLearner = 4;

// Batches of 2 * kPerLearner sequences with fixed policy noise, one per step.
std::vector<Batch> MakeBatches(const CoreOptions& o) {
  std::vector<Batch> batches;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(77);
  for (int i = 0; i < kSteps; ++i) {
    Batch b = model::testing::MakeBatch(o, 2 * kPerLearner, 500 + i);
    b.policy_noise = at::randn({o.loss.imagination_horizon,
                                2 * kPerLearner * o.loss.start_states_per_sequence(),
                                o.model.action_size},
                               gen);
    batches.push_back(b);
  }
  return batches;
}

// Rank `rank` of a world of 2 on loopback: rank 0 reports its store's port through
// `port_promise`, rank 1 waits for it on `port`.
C10dCollectiveOptions PairRankOptions(int rank, std::promise<int>& port_promise,
                                      const std::shared_future<int>& port) {
  C10dCollectiveOptions options;
  options.rank = rank;
  options.world_size = 2;
  if (rank == 0) {
    options.on_listening = [&port_promise](int p) { port_promise.set_value(p); };
  } else {
    options.port = port.get();
  }
  return options;
}

TEST(C10dCollective, TwoLearnersStayBitIdenticalAndMatchOneLearnerWithTheirCombinedBatch) {
  CoreOptions o = model::testing::TinyOptions();
  o.optimizer.target_update_period = 7;
  const std::vector<Batch> batches = MakeBatches(o);

  std::promise<int> port_promise;
  std::shared_future<int> port = port_promise.get_future().share();
  // Built here, one after the other: initialisation draws from LibTorch's global generator.
  std::vector<std::unique_ptr<LearnerCore>> cores(2);
  for (int rank = 0; rank < 2; ++rank) {
    CoreOptions rank_options = o;
    rank_options.seed = 100 + rank;  // Different initialisations: the broadcast must fix it.
    auto core = LearnerCore::Create(rank_options);
    ASSERT_TRUE(core.ok()) << core.error();
    cores[rank] = core.consume();
  }
  ASSERT_FALSE(at::equal(cores[0]->AllParameters()[0].second, cores[1]->AllParameters()[0].second));
  std::vector<double> allreduce_seconds(2, 0.0);
  auto run_rank = [&](int rank) {
    C10dCollectiveOptions options = PairRankOptions(rank, port_promise, port);
    auto collective = C10dCollective::Create(options);
    ASSERT_TRUE(collective.ok()) << collective.status();
    LearnerCore& core = *cores[rank];
    ASSERT_EQ((*collective)->world_size(), 2);
    ASSERT_FALSE(core.BroadcastTrainingState(**collective).has_value());
    for (int i = 0; i < kSteps; ++i) {
      Batch mine = SliceBatch(batches[i], rank * kPerLearner, (rank + 1) * kPerLearner);
      auto stats = core.Step(mine, collective->get());
      ASSERT_TRUE(stats.ok()) << stats.error();
      ASSERT_TRUE(stats.value().applied);
      allreduce_seconds[rank] += stats.value().allreduce_seconds;
    }
  };
  std::thread rank0(run_rank, 0), rank1(run_rank, 1);
  rank0.join();
  rank1.join();
  EXPECT_GT(allreduce_seconds[0], 0.0);

  CoreOptions single_options = o;
  single_options.seed = 100;  // Rank 0's initialisation, which the broadcast distributed.
  auto single = LearnerCore::Create(single_options);
  ASSERT_TRUE(single.ok());
  for (int i = 0; i < kSteps; ++i) {
    auto stats = single.value()->Step(batches[i]);
    ASSERT_TRUE(stats.ok()) << stats.error();
  }

  auto p0 = cores[0]->AllParameters(), p1 = cores[1]->AllParameters();
  auto ps = single.value()->AllParameters();
  ASSERT_EQ(p0.size(), ps.size());
  for (size_t i = 0; i < p0.size(); ++i) {
    EXPECT_TRUE(at::equal(p0[i].second, p1[i].second)) << p0[i].first;
    EXPECT_TRUE(at::allclose(p0[i].second, ps[i].second, /*rtol=*/1e-4, /*atol=*/1e-5))
        << p0[i].first << " max diff "
        << (p0[i].second - ps[i].second).abs().max().item<double>();
  }
  EXPECT_EQ(cores[0]->step(), kSteps);
  EXPECT_EQ(cores[0]->target_updates(), kSteps / 7);
}

// A rank killed between two checkpoints resumes from an older one: the broadcast at start-up
// must give it rank 0's step counters and optimiser moments too, not only the parameters,
// or the two ranks apply different Adam updates to the same averaged gradient and drift apart.
TEST(C10dCollective, RanksResumedAtDifferentStepsContinueAsOneLearner) {
  CoreOptions o = model::testing::TinyOptions();
  o.optimizer.target_update_period = 3;
  const std::vector<Batch> batches = MakeBatches(o);
  std::vector<std::unique_ptr<LearnerCore>> cores(2);
  for (int rank = 0; rank < 2; ++rank) {
    CoreOptions rank_options = o;
    rank_options.seed = 300 + rank;
    auto core = LearnerCore::Create(rank_options);
    ASSERT_TRUE(core.ok()) << core.error();
    cores[rank] = core.consume();
  }
  // Alone, rank 0 gets to step 7 and rank 1 to step 2, each with its own moments.
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(cores[0]->Step(batches[i]).ok());
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(cores[1]->Step(batches[10 + i]).ok());

  std::promise<int> port_promise;
  std::shared_future<int> port = port_promise.get_future().share();
  auto run_rank = [&](int rank) {
    auto collective = C10dCollective::Create(PairRankOptions(rank, port_promise, port));
    ASSERT_TRUE(collective.ok()) << collective.status();
    LearnerCore& core = *cores[rank];
    ASSERT_FALSE(core.BroadcastTrainingState(**collective).has_value());
    EXPECT_EQ(core.step(), 7) << "rank " << rank;
    EXPECT_EQ(core.target_updates(), 2) << "rank " << rank;
    for (int i = 12; i < 18; ++i) {
      Batch mine = SliceBatch(batches[i], rank * kPerLearner, (rank + 1) * kPerLearner);
      auto stats = core.Step(mine, collective->get());
      ASSERT_TRUE(stats.ok()) << stats.error();
    }
  };
  std::thread rank0(run_rank, 0), rank1(run_rank, 1);
  rank0.join();
  rank1.join();
  EXPECT_EQ(cores[0]->step(), 13);
  EXPECT_EQ(cores[1]->step(), 13);
  auto p0 = cores[0]->AllParameters(), p1 = cores[1]->AllParameters();
  for (size_t i = 0; i < p0.size(); ++i) {
    EXPECT_TRUE(at::equal(p0[i].second, p1[i].second)) << p0[i].first;
  }
}

// Gloo binds the interfaces it is told (GLOO_SOCKET_IFNAME or the option), as in
// torch.distributed; docker-compose sets GLOO_SOCKET_IFNAME=eth0 for its learners.
TEST(C10dCollective, BindsTheNamedSocketInterface) {
  std::promise<int> port_promise;
  std::shared_future<int> port = port_promise.get_future().share();
  std::vector<double> sums(2, 0.0);
  auto run_rank = [&](int rank) {
    C10dCollectiveOptions options = PairRankOptions(rank, port_promise, port);
    options.socket_interfaces = "lo";
    auto collective = C10dCollective::Create(options);
    ASSERT_TRUE(collective.ok()) << collective.status();
    at::Tensor ones = at::ones({3});
    ASSERT_FALSE((*collective)->AllReduceSum(ones).has_value());
    sums[rank] = ones.sum().item<double>();
  };
  std::thread rank0(run_rank, 0), rank1(run_rank, 1);
  rank0.join();
  rank1.join();
  EXPECT_EQ(sums[0], 6.0);
  EXPECT_EQ(sums[1], 6.0);
}

TEST(C10dCollective, AnUnknownSocketInterfaceIsAClearError) {
  C10dCollectiveOptions options;
  options.socket_interfaces = "no_such_if0";
  options.timeout = absl::Seconds(5);
  auto collective = C10dCollective::Create(options);
  ASSERT_FALSE(collective.ok());
  EXPECT_NE(collective.status().message().find("rendezvous"), std::string::npos)
      << collective.status();
}

}  // namespace
}  // namespace ivg::learner
