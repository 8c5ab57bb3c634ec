#include "model/config/model_config.h"

#include <string>

#include "common/config/config_loader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ivg::model {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ExperimentConfig SmokeConfig() {
  auto config =
      LoadExperimentConfig(std::string(IVG_SOURCE_DIR) + "/configs/smoke.textproto", {});
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

TEST(CoreOptionsFromConfig, MapsFieldsIncludingTheTaskCount) {
  ExperimentConfig c = SmokeConfig();
  c.mutable_env()->add_multitask_tasks(REACH_RED);
  c.mutable_env()->add_multitask_tasks(LIFT_BLUE);
  c.mutable_learner()->set_imagination_horizon(7);
  auto o = CoreOptionsFromConfig(c);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->model.num_tasks, 2);
  EXPECT_EQ(o->model.latent_size, c.model().latent_size());
  EXPECT_EQ(o->model.decoder_channels, c.model().decoder_channels());
  EXPECT_EQ(o->loss.imagination_horizon, 7);
  EXPECT_EQ(o->loss.sequence_length(), c.learner().burn_in() + c.learner().model_rollout());
  EXPECT_DOUBLE_EQ(o->loss.gamma, c.learner().gamma());
  EXPECT_DOUBLE_EQ(o->optimizer.model_learning_rate, c.learner().model_learning_rate());
}

TEST(CoreOptionsFromConfig, RejectsWhatTheLoaderRejectsNamingTheField) {
  ExperimentConfig c = SmokeConfig();
  c.mutable_model()->set_decoder_channels(6);
  EXPECT_THAT(CoreOptionsFromConfig(c).status().message(), HasSubstr("model.decoder_channels"));
  EXPECT_THAT(ValidateExperimentConfig(c, "x").message(), HasSubstr("model.decoder_channels"));
  c = SmokeConfig();
  c.mutable_model()->add_proprio_low(0);
  EXPECT_THAT(CoreOptionsFromConfig(c).status().message(), HasSubstr("model.proprio_low"));
  c = SmokeConfig();
  c.mutable_model()->set_tanh_squashed_policy(true);
  ASSERT_TRUE(CoreOptionsFromConfig(c).ok());
  EXPECT_TRUE(CoreOptionsFromConfig(c)->model.tanh_squashed_policy);
  c.mutable_learner()->set_policy_algorithm(POLICY_CEM);
  EXPECT_THAT(CoreOptionsFromConfig(c).status().message(),
              HasSubstr("model.tanh_squashed_policy"));
  c = SmokeConfig();
  c.mutable_learner()->set_imagination_horizon(0);
  c.mutable_learner()->set_policy_algorithm(POLICY_IVG);
  EXPECT_THAT(CoreOptionsFromConfig(c).status().message(),
              HasSubstr("learner.imagination_horizon"));
}

TEST(CoreOptionsFromConfig, MapsEveryEncoderPooling) {
  ExperimentConfig c = SmokeConfig();
  EXPECT_EQ(CoreOptionsFromConfig(c)->model.encoder_pooling, EncoderPooling::kAverage);
  c.mutable_model()->set_encoder_pooling(ENCODER_POOLING_SPATIAL_SOFTMAX);
  EXPECT_EQ(CoreOptionsFromConfig(c)->model.encoder_pooling,
            EncoderPooling::kSpatialSoftmax);
  c.mutable_model()->set_encoder_pooling(ENCODER_POOLING_FLATTEN);
  EXPECT_EQ(CoreOptionsFromConfig(c)->model.encoder_pooling, EncoderPooling::kFlatten);
}

TEST(ProprioBoundsFromConfig, UsesTheEnvironmentBoundsUnlessTheConfigSetsItsOwn) {
  ExperimentConfig c = SmokeConfig();
  ProprioBounds fixed = ProprioBoundsFromConfig(c);
  ASSERT_EQ(fixed.low.size(), kProprioDims);
  EXPECT_DOUBLE_EQ(fixed.low[0], kProprioLow[0]);
  EXPECT_DOUBLE_EQ(fixed.high[16], kProprioHigh[16]);

  for (int i = 0; i < c.model().proprio_size(); ++i) {
    c.mutable_model()->add_proprio_low(-i - 1.0);
    c.mutable_model()->add_proprio_high(i + 1.0);
  }
  ProprioBounds own = ProprioBoundsFromConfig(c);
  ASSERT_EQ(own.low.size(), static_cast<size_t>(c.model().proprio_size()));
  EXPECT_DOUBLE_EQ(own.low[2], -3.0);
  EXPECT_DOUBLE_EQ(own.high[2], 3.0);
}

// From state: no images for the model, and the 17 features' bounds followed by each object's.
TEST(ProprioBoundsFromConfig, StateObservationsScaleEveryObjectFeature) {
  ExperimentConfig c = SmokeConfig();
  c.mutable_env()->set_observation(OBSERVATION_STATE);
  c.mutable_model()->set_proprio_size(49);
  auto options = CoreOptionsFromConfig(c);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->model.image_size, 0);
  EXPECT_FALSE(options->model.has_images());
  ProprioBounds bounds = ProprioBoundsFromConfig(c);
  ASSERT_EQ(bounds.low.size(), 49u);
  ASSERT_EQ(bounds.high.size(), 49u);
  EXPECT_DOUBLE_EQ(bounds.low[16], kProprioLow[16]);
  for (int object = 0; object < 2; ++object) {
    for (size_t i = 0; i < kObjectFeatureDims; ++i) {
      const size_t at = 17 + object * kObjectFeatureDims + i;
      EXPECT_DOUBLE_EQ(bounds.low[at], kObjectFeatureLow[i]) << at;
      EXPECT_DOUBLE_EQ(bounds.high[at], kObjectFeatureHigh[i]) << at;
      EXPECT_LT(bounds.low[at], bounds.high[at]) << at;
    }
  }
}

TEST(ProprioBoundsFromConfig, ObjectOffsetsFollowTheEnvironmentBoundsWithinAMetre) {
  ExperimentConfig c = SmokeConfig();
  c.mutable_env()->set_proprio_with_object_offsets(true);
  c.mutable_model()->set_proprio_size(23);
  ProprioBounds bounds = ProprioBoundsFromConfig(c);
  ASSERT_EQ(bounds.low.size(), 23u);
  ASSERT_EQ(bounds.high.size(), 23u);
  EXPECT_DOUBLE_EQ(bounds.low[16], kProprioLow[16]);
  EXPECT_DOUBLE_EQ(bounds.high[16], kProprioHigh[16]);
  for (int i = 17; i < 23; ++i) {
    EXPECT_DOUBLE_EQ(bounds.low[i], -1.0) << i;
    EXPECT_DOUBLE_EQ(bounds.high[i], 1.0) << i;
  }
}

}  // namespace
}  // namespace ivg::model
