// The foreground-weighted reconstruction loss (learner.reconstruction_foreground_weight): the
// weighted BCE node against Torch's weighted BCE, the batch background as the median over
// episodes, the weights, and what the model loss does with them.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>
#include <torch/nn/functional/loss.h>

#include "model/core/batch.h"
#include "model/core/learner_core.h"
#include "model/core/losses.h"
#include "tests/model/core/test_util.h"

namespace ivg::model {
namespace {

TEST(WeightedReconstructionLoss, EqualsTorchsWeightedBceWithLogitsInValueAndGradient) {
  at::Tensor logits = at::cat({at::randn({2, 3, 6, 8, 8}, at::kDouble) * 4,
                               at::full({1, 3, 6, 8, 8}, 35.0, at::kDouble)})
                          .set_requires_grad(true);
  at::Tensor targets = at::rand({3, 3, 6, 8, 8}, at::kDouble);
  at::Tensor weights = at::rand({3, 3, 1, 8, 8}, at::kDouble) * 5.0 + 0.1;
  at::Tensor fused = WeightedBinaryCrossEntropyWithLogitsMean(logits, targets, weights);
  namespace F = torch::nn::functional;
  at::Tensor reference = F::binary_cross_entropy_with_logits(
      logits, targets,
      F::BinaryCrossEntropyWithLogitsFuncOptions().weight(
          (weights / weights.mean()).expand_as(logits)));
  EXPECT_NEAR(fused.item<double>(), reference.item<double>(), 1e-8);
  at::Tensor fused_grad = torch::autograd::grad({fused * 3.0}, {logits})[0];
  at::Tensor reference_grad = torch::autograd::grad({reference * 3.0}, {logits})[0];
  EXPECT_TRUE(at::allclose(fused_grad, reference_grad, 1e-12, 1e-12));

  // Equal weights are the unweighted loss.
  EXPECT_NEAR(WeightedBinaryCrossEntropyWithLogitsMean(logits, targets,
                                                       at::full_like(weights, 7.0))
                  .item<double>(),
              BinaryCrossEntropyWithLogitsMean(logits, targets).item<double>(), 1e-10);
}

// Five sequences' last frames of a grey table; a red cube in two of them at different places.
at::Tensor TableWithCubes() {
  at::Tensor images = at::full({5, 2, 3, 4, 4}, 0.5);
  images.index_put_({0, 1, 0, 1, 1}, 1.0);  // Sequence 0: red at (1, 1).
  images.index_put_({3, 1, 0, 2, 3}, 1.0);  // Sequence 3: red at (2, 3).
  images.index_put_({2, 0, 1, 0, 0}, 0.0);  // A first frame: not a sequence's last.
  return images;
}

TEST(BatchBackground, IsTheMedianOfTheSequencesLastFrames) {
  at::Tensor background = BatchBackground(TableWithCubes());
  ASSERT_EQ(background.sizes(), (at::IntArrayRef{3, 4, 4}));
  EXPECT_TRUE(at::allclose(background, at::full({3, 4, 4}, 0.5)))
      << "the cubes cover each pixel in a minority of the episodes";
}

TEST(ForegroundPixelWeights, AreOneOnTheBackgroundAndLargerWhereTheFrameDiffers) {
  at::Tensor images = TableWithCubes();
  at::Tensor frames = images.select(1, 1);  // [5, 3, 4, 4]
  at::Tensor w = ForegroundPixelWeights(frames, BatchBackground(images), 2.0);
  ASSERT_EQ(w.sizes(), (at::IntArrayRef{5, 1, 4, 4}));
  // d = 0.5 at two pixels of 80: mean(d) = 1/80, so a cube pixel weighs 1 + 2 * 40 = 81.
  EXPECT_NEAR(w[0][0][1][1].item<double>(), 81.0, 1e-4);
  EXPECT_NEAR(w[3][0][2][3].item<double>(), 81.0, 1e-4);
  EXPECT_NEAR(w[1][0][1][1].item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(w.sum().item<double>(), 78.0 + 2.0 * 81.0, 1e-3);
  EXPECT_TRUE(at::allclose(ForegroundPixelWeights(frames, BatchBackground(images), 0.0),
                           at::ones_like(w)));
  // Frames that all show the background: every weight 1, not a division by zero.
  at::Tensor table = at::full({5, 3, 4, 4}, 0.5);
  EXPECT_TRUE(at::allclose(ForegroundPixelWeights(table, table[0], 3.0), at::ones_like(w)));
}

TEST(ModelLoss, ForegroundWeightsChangeOnlyTheImageReconstructionTerm) {
  CoreOptions o = testing::TinyOptions();
  auto core = testing::MakeCore(o);
  Batch batch = testing::MakeBatch(o, 4, 9);
  torch::NoGradGuard no_grad;
  const ModelLossTerms plain = ComputeModelLoss(*core->model(), batch, o.loss);
  LossOptions weighted = o.loss;
  weighted.reconstruction_foreground_weight = 3.0;
  const ModelLossTerms foreground = ComputeModelLoss(*core->model(), batch, weighted);
  EXPECT_GT(std::abs(foreground.reconstruction_image.item<double>() -
                     plain.reconstruction_image.item<double>()),
            1e-6);
  EXPECT_TRUE(at::allclose(foreground.consistency, plain.consistency));
  EXPECT_TRUE(at::allclose(foreground.reward, plain.reward));
  EXPECT_TRUE(at::allclose(foreground.reconstruction_proprio, plain.reconstruction_proprio));

  // Every frame the same picture: nothing differs from the background, so the weights are 1.
  Batch still = batch;
  still.images = batch.images.select(1, 0).select(0, 0).expand_as(batch.images).contiguous();
  EXPECT_NEAR(ComputeModelLoss(*core->model(), still, weighted).reconstruction_image.item<double>(),
              ComputeModelLoss(*core->model(), still, o.loss).reconstruction_image.item<double>(),
              1e-6);
}

}  // namespace
}  // namespace ivg::model
