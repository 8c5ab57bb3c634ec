// The reconstruction loss on a random subset of the K predicted steps
// (learner.reconstructed_steps_per_sequence): which frames it decodes, that its mean over
// the subsets is the full loss, and how the learner draws and checks the subsets.
#include <set>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "model/core/batch.h"
#include "model/core/learner_core.h"
#include "model/core/losses.h"
#include "tests/model/core/test_util.h"

namespace ivg::model {
namespace {

using ::testing::HasSubstr;

// Every row decodes the same step s.
at::Tensor SameStepForEveryRow(int64_t batch_size, int64_t step) {
  return at::full({batch_size, 1}, step, at::kLong);
}

TEST(ReconstructedSteps, AllStepsInAnyOrderGiveThePapersLoss) {
  CoreOptions o = testing::TinyOptions();
  auto core = testing::MakeCore(o);
  Batch batch = testing::MakeBatch(o, 3, 5);
  const ModelLossTerms all = ComputeModelLoss(*core->model(), batch, o.loss);
  batch.reconstructed_steps = at::tensor({2, 0, 1, 1, 2, 0, 0, 1, 2}, at::kLong).view({3, 3});
  const ModelLossTerms permuted = ComputeModelLoss(*core->model(), batch, o.loss);
  EXPECT_NEAR(permuted.reconstruction_image.item<double>(),
              all.reconstruction_image.item<double>(), 1e-6);
  EXPECT_NEAR(permuted.reconstruction_proprio.item<double>(),
              all.reconstruction_proprio.item<double>(), 1e-6);
  EXPECT_NEAR(permuted.total.item<double>(), all.total.item<double>(), 1e-6);
}

// The mean over the single-step subsets is the loss over all K steps: the subset is an
// unbiased estimate. Only the reconstruction terms change with the subset.
TEST(ReconstructedSteps, TheMeanOverSubsetsIsTheFullLoss) {
  CoreOptions o = testing::TinyOptions();
  auto core = testing::MakeCore(o);
  Batch batch = testing::MakeBatch(o, 2, 9);
  const ModelLossTerms all = ComputeModelLoss(*core->model(), batch, o.loss);
  const int64_t k = o.loss.model_rollout;
  double image = 0, proprio = 0;
  std::set<double> per_step;
  for (int64_t s = 0; s < k; ++s) {
    batch.reconstructed_steps = SameStepForEveryRow(2, s);
    const ModelLossTerms one = ComputeModelLoss(*core->model(), batch, o.loss);
    image += one.reconstruction_image.item<double>() / k;
    proprio += one.reconstruction_proprio.item<double>() / k;
    per_step.insert(one.reconstruction_image.item<double>());
    EXPECT_TRUE(at::allclose(one.consistency, all.consistency));
    EXPECT_TRUE(at::allclose(one.reward, all.reward));
    EXPECT_TRUE(at::allclose(one.value, all.value));
  }
  EXPECT_NEAR(image, all.reconstruction_image.item<double>(), 1e-6);
  EXPECT_NEAR(proprio, all.reconstruction_proprio.item<double>(), 1e-6);
  EXPECT_EQ(per_step.size(), static_cast<size_t>(k)) << "the steps decoded differ in loss";
}

// Row i's step s is compared with frame H + s of sequence i, not of another sequence.
TEST(ReconstructedSteps, EachRowDecodesItsOwnFrame) {
  CoreOptions o = testing::TinyOptions();
  auto core = testing::MakeCore(o);
  IvgModelImpl& m = *core->model();
  Batch batch = testing::MakeBatch(o, 2, 13);
  batch.reconstructed_steps = at::tensor({2, 0}, at::kLong).view({2, 1});
  const ModelLossTerms subset = ComputeModelLoss(m, batch, o.loss);

  const int h = o.loss.burn_in;
  const at::Tensor g = subset.predicted_latents;  // [B, K, D]
  const at::Tensor latents = at::stack({g[0][2], g[1][0]});
  const at::Tensor frames =
      at::stack({batch.images[0][h + 2], batch.images[1][h + 0]}).to(at::kFloat) / 255.0;
  auto [logits, proprio] = m.decoder->forward(latents);
  EXPECT_NEAR(subset.reconstruction_image.item<double>(),
              BinaryCrossEntropyWithLogitsMean(logits, frames).item<double>(), 1e-6);
}

TEST(ReconstructedSteps, TheLearnerDrawsDistinctStepsPerRow) {
  CoreOptions o = testing::TinyOptions();
  o.loss.model_rollout = 5;
  o.loss.reconstructed_steps_per_sequence = 2;
  auto core = testing::MakeCore(o);
  std::set<int64_t> seen;
  for (int draw = 0; draw < 20; ++draw) {
    const at::Tensor steps = core->DrawReconstructedSteps(4);
    ASSERT_EQ(steps.sizes(), (std::vector<int64_t>{4, 2}));
    ASSERT_EQ(steps.scalar_type(), at::kLong);
    for (int64_t row = 0; row < 4; ++row) {
      const int64_t a = steps[row][0].item<int64_t>(), b = steps[row][1].item<int64_t>();
      EXPECT_NE(a, b);
      for (int64_t s : {a, b}) {
        EXPECT_GE(s, 0);
        EXPECT_LT(s, 5);
        seen.insert(s);
      }
    }
  }
  EXPECT_EQ(seen.size(), 5u) << "every step is drawn sometimes";

  // 0 and K decode all K steps: nothing to draw.
  for (int n : {0, 5}) {
    o.loss.reconstructed_steps_per_sequence = n;
    auto all = testing::MakeCore(o);
    EXPECT_FALSE(all->DrawReconstructedSteps(4).defined()) << n;
  }
}

TEST(ReconstructedSteps, AStepUpdatesWithASubset) {
  CoreOptions o = testing::TinyOptions();
  o.loss.reconstructed_steps_per_sequence = 1;
  auto core = testing::MakeCore(o);
  auto stats = core->Step(testing::MakeBatch(o, 2, 3));
  ASSERT_TRUE(stats.ok()) << stats.error();
  EXPECT_TRUE(std::isfinite(stats.value().losses.reconstruction_image));
  EXPECT_EQ(core->step(), 1);
}

TEST(ReconstructedSteps, BadSubsetsAreRefusedByName) {
  CoreOptions o = testing::TinyOptions();
  Batch batch = testing::MakeBatch(o, 2, 1);
  batch.reconstructed_steps = at::tensor({0, 3}, at::kLong).view({2, 1});  // K = 3.
  Error out_of_range = ValidateBatch(batch, o);
  ASSERT_TRUE(out_of_range.has_value());
  EXPECT_THAT(*out_of_range, HasSubstr("reconstructed_steps must lie in [0, 3), got [0, 3]"));

  batch.reconstructed_steps = at::zeros({3, 1}, at::kLong);  // Three rows for two sequences.
  Error rows = ValidateBatch(batch, o);
  ASSERT_TRUE(rows.has_value());
  EXPECT_THAT(*rows, HasSubstr("'reconstructed_steps' has shape [3, 1], expected [2, n]"));

  batch.reconstructed_steps = at::zeros({2, 1}, at::kInt);
  Error dtype = ValidateBatch(batch, o);
  ASSERT_TRUE(dtype.has_value());
  EXPECT_THAT(*dtype, HasSubstr("int64"));

  batch.reconstructed_steps = at::zeros({2, 1}, at::kLong);
  EXPECT_FALSE(ValidateBatch(batch, o).has_value());
}

}  // namespace
}  // namespace ivg::model
