// The open-loop prediction that reconstruction strips show: the same rollout and decoding as
// the model loss, no gradients, and no look at frames after burn-in.
#include <vector>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/nn/functional/loss.h>

#include "model/core/learner_core.h"
#include "model/core/losses.h"
#include "tests/model/core/test_util.h"

namespace ivg::model {
namespace {

using ::testing::HasSubstr;

using testing::MakeCore;

TEST(PredictOpenLoop, ReturnsTrueAndPredictedFramesOfTheKRolloutSteps) {
  CoreOptions o = testing::TinyOptions();
  auto core = MakeCore(o);
  Batch batch = testing::MakeBatch(o, 3, 4);
  auto prediction = core->PredictOpenLoop(batch);
  ASSERT_TRUE(prediction.ok()) << prediction.error();
  const OpenLoopPrediction& p = prediction.value();
  const int64_t k = o.loss.model_rollout, h = o.loss.burn_in;
  const std::vector<int64_t> frames{3, k, o.model.image_channels, 64, 64};
  EXPECT_EQ(p.true_images.sizes().vec(), frames);
  EXPECT_EQ(p.predicted_images.sizes().vec(), frames);
  EXPECT_EQ(p.true_proprio.sizes().vec(), (std::vector<int64_t>{3, k, o.model.proprio_size}));
  EXPECT_EQ(p.predicted_proprio.sizes().vec(), p.true_proprio.sizes().vec());
  // True frames are the batch's frames H .. L-1 scaled to [0, 1]; predictions are
  // probabilities.
  EXPECT_TRUE(at::equal(p.true_images, batch.images.slice(1, h).to(at::kFloat) / 255.0));
  EXPECT_GE(p.predicted_images.min().item<double>(), 0.0);
  EXPECT_LE(p.predicted_images.max().item<double>(), 1.0);
}

TEST(PredictOpenLoop, CarriesNoGradientAndLeavesTheLearnerUnchanged) {
  CoreOptions o = testing::TinyOptions();
  auto core = MakeCore(o);
  Batch batch = testing::MakeBatch(o, 2, 5);
  auto before = core->AllParameters();
  std::vector<at::Tensor> copies;
  for (const auto& [name, t] : before) copies.push_back(t.detach().clone());
  auto prediction = core->PredictOpenLoop(batch);
  ASSERT_TRUE(prediction.ok()) << prediction.error();
  EXPECT_FALSE(prediction.value().predicted_images.requires_grad());
  EXPECT_FALSE(prediction.value().predicted_proprio.requires_grad());
  EXPECT_EQ(core->step(), 0);
  auto after = core->AllParameters();
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_FALSE(after[i].second.grad().defined()) << after[i].first;
    EXPECT_TRUE(at::equal(after[i].second, copies[i])) << after[i].first;
  }
  // Without the core's guard the free function does build a graph (so the guard matters).
  EXPECT_TRUE(PredictOpenLoop(*core->model(), batch, o.loss).predicted_images.requires_grad());
}

TEST(PredictOpenLoop, ReproducesTheModelLossReconstructionTerms) {
  CoreOptions o = testing::TinyOptions();
  o.double_precision = true;
  auto core = MakeCore(o);
  // A few updates so that predictions are not those of the initial decoder alone.
  Batch train = testing::MakeBatch(o, 4, 8);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(core->Step(train).ok());
  Batch batch = testing::MakeBatch(o, 3, 9);
  ModelLossTerms terms = ComputeModelLoss(*core->model(), batch, o.loss);
  auto prediction = core->PredictOpenLoop(batch);
  ASSERT_TRUE(prediction.ok()) << prediction.error();
  const OpenLoopPrediction& p = prediction.value();
  const double bce =
      torch::nn::functional::binary_cross_entropy(p.predicted_images, p.true_images)
          .item<double>();
  EXPECT_NEAR(bce, terms.reconstruction_image.item<double>(),
              1e-9 * terms.reconstruction_image.item<double>());
  EXPECT_NEAR((p.predicted_proprio - p.true_proprio).pow(2).mean().item<double>(),
              terms.reconstruction_proprio.item<double>(), 1e-12);
}

TEST(PredictOpenLoop, IgnoresFramesAfterBurnInButFollowsTheActions) {
  CoreOptions o = testing::TinyOptions();
  auto core = MakeCore(o);
  const int64_t h = o.loss.burn_in;
  Batch batch = testing::MakeBatch(o, 2, 11);
  auto base = core->PredictOpenLoop(batch);
  ASSERT_TRUE(base.ok()) << base.error();

  Batch later_frames = batch;
  later_frames.images = batch.images.clone();
  later_frames.images.slice(1, h).fill_(200);
  later_frames.proprio = batch.proprio.clone();
  later_frames.proprio.slice(1, h).fill_(0.5);
  auto open_loop = core->PredictOpenLoop(later_frames);
  ASSERT_TRUE(open_loop.ok()) << open_loop.error();
  EXPECT_TRUE(at::equal(open_loop.value().predicted_images, base.value().predicted_images));
  EXPECT_FALSE(at::equal(open_loop.value().true_images, base.value().true_images));

  Batch other_actions = batch;
  other_actions.actions = batch.actions.clone();
  other_actions.actions.slice(1, h - 1).mul_(-3.0);
  auto moved = core->PredictOpenLoop(other_actions);
  ASSERT_TRUE(moved.ok()) << moved.error();
  EXPECT_FALSE(at::allclose(moved.value().predicted_images, base.value().predicted_images));
}

TEST(PredictOpenLoop, RejectsAWrongShapeBatchNamingTheField) {
  CoreOptions o = testing::TinyOptions();
  auto core = MakeCore(o);
  Batch batch = testing::MakeBatch(o, 2, 1);
  batch.actions = batch.actions.slice(1, 0, 4);
  auto prediction = core->PredictOpenLoop(batch);
  ASSERT_FALSE(prediction.ok());
  EXPECT_THAT(prediction.error(), HasSubstr("actions"));
}

}  // namespace
}  // namespace ivg::model
