#include "common/config/config_loader.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ivg {
namespace {

using ::testing::HasSubstr;

std::string WriteTempFile(const std::string& name, const std::string& content) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/", name);
  std::ofstream(path) << content;
  return path;
}

TEST(ConfigLoader, EmbeddedDefaultsAreThePapersValues) {
  auto config = LoadExperimentConfig(/*path=*/"", /*overrides=*/{});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->model().latent_size(), 128);
  EXPECT_EQ(config->learner().burn_in(), 3);
  EXPECT_EQ(config->learner().model_rollout(), 5);
  EXPECT_EQ(config->learner().imagination_horizon(), 5);
  EXPECT_DOUBLE_EQ(config->learner().kl_lambda(), 0.01);
  EXPECT_DOUBLE_EQ(config->learner().model_learning_rate(), 5e-5);
  EXPECT_EQ(config->learner().batch_size_per_learner(), 16);
  EXPECT_EQ(config->replay().max_size(), 100000);
  EXPECT_EQ(config->env().episode_steps(), 200);
  EXPECT_EQ(config->env().substeps(), 5);
  EXPECT_EQ(config->actor().num_actors(), 8);
}

TEST(ConfigLoader, ReadsTextprotoAndJson) {
  const std::string text = WriteTempFile("ok.textproto", "learner { gamma: 0.95 }\n");
  auto from_text = LoadExperimentConfig(text, {});
  ASSERT_TRUE(from_text.ok()) << from_text.status();
  EXPECT_DOUBLE_EQ(from_text->learner().gamma(), 0.95);

  const std::string json = WriteTempFile("ok.json", R"({"learner": {"gamma": 0.9}})");
  auto from_json = LoadExperimentConfig(json, {});
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  EXPECT_DOUBLE_EQ(from_json->learner().gamma(), 0.9);
}

TEST(ConfigLoader, UnknownFieldInTextprotoNamesFieldAndFile) {
  const std::string path = WriteTempFile("unknown.textproto", "learner {\n  gama: 0.9\n}\n");
  auto config = LoadExperimentConfig(path, {});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("gama"));
  EXPECT_THAT(config.status().message(), HasSubstr(path));
  EXPECT_THAT(config.status().message(), HasSubstr("line 2"));
}

TEST(ConfigLoader, UnknownFieldInJsonNamesFieldAndFile) {
  const std::string path = WriteTempFile("unknown.json", R"({"learner": {"gama": 0.9}})");
  auto config = LoadExperimentConfig(path, {});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("gama"));
  EXPECT_THAT(config.status().message(), HasSubstr(path));
}

TEST(ConfigLoader, WrongTypeNamesFieldAndFile) {
  const std::string path = WriteTempFile("wrongtype.textproto", "learner { burn_in: \"three\" }\n");
  auto config = LoadExperimentConfig(path, {});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("burn_in"));
  EXPECT_THAT(config.status().message(), HasSubstr(path));
}

TEST(ConfigLoader, OutOfRangeValueNamesFieldFileAndBound) {
  const std::string path = WriteTempFile("range.textproto", "learner { gamma: 1.5 }\n");
  auto config = LoadExperimentConfig(path, {});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("learner.gamma"));
  EXPECT_THAT(config.status().message(), HasSubstr(path));
  EXPECT_THAT(config.status().message(), HasSubstr("<= 1"));
}

TEST(ConfigLoader, ExclusiveLowerBoundRejectsZero) {
  auto config = LoadExperimentConfig("", {"learner.model_learning_rate=0"});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("learner.model_learning_rate"));
  EXPECT_THAT(config.status().message(), HasSubstr("> 0"));
}

TEST(ConfigLoader, MissingFileIsNotFound) {
  auto config = LoadExperimentConfig("/nonexistent/config.textproto", {});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(config.status().message(), HasSubstr("/nonexistent/config.textproto"));
}

TEST(ConfigLoader, OverridesSetScalarsEnumsStringsAndLists) {
  auto config = LoadExperimentConfig(
      "", {"learner.imagination_horizon=20", "env.task=STACK_RED", "cluster.run_dir=runs/x y",
           "env.multitask_tasks=[REACH_RED, LIFT_BLUE]", "learner.single_horizon=true"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->learner().imagination_horizon(), 20);
  EXPECT_EQ(config->env().task(), STACK_RED);
  EXPECT_EQ(config->cluster().run_dir(), "runs/x y");
  ASSERT_EQ(config->env().multitask_tasks_size(), 2);
  EXPECT_EQ(config->env().multitask_tasks(1), LIFT_BLUE);
  EXPECT_TRUE(config->learner().single_horizon());
}

TEST(ConfigLoader, RepeatedOverrideReplacesTheFilesList) {
  const std::string path =
      WriteTempFile("multi.textproto", "env { multitask_tasks: [REACH_RED, REACH_BLUE, MOVE_BLUE] }");
  auto config = LoadExperimentConfig(path, {"env.multitask_tasks=[LIFT_RED]"});
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->env().multitask_tasks_size(), 1);
  EXPECT_EQ(config->env().multitask_tasks(0), LIFT_RED);
}

TEST(ConfigLoader, OverrideWithUnknownFieldIsAnError) {
  auto config = LoadExperimentConfig("", {"learner.horizon=5"});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("'horizon'"));
  EXPECT_THAT(config.status().message(), HasSubstr("learner.horizon=5"));
}

TEST(ConfigLoader, OverrideWithBadValueIsAnError) {
  auto config = LoadExperimentConfig("", {"env.task=LIFT_GREEN"});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("env.task=LIFT_GREEN"));
  auto not_assignment = LoadExperimentConfig("", {"learner.gamma"});
  ASSERT_FALSE(not_assignment.ok());
  EXPECT_THAT(not_assignment.status().message(), HasSubstr("field.path=value"));
}

TEST(ConfigLoader, OverrideOutOfRangeNamesTheOverride) {
  auto config = LoadExperimentConfig("", {"learner.burn_in=0"});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("learner.burn_in"));
  EXPECT_THAT(config.status().message(), HasSubstr("overrides [learner.burn_in=0]"));
}

TEST(ConfigLoader, SecretsComeFromTheEnvironmentWhenSet) {
  ::setenv("IVG_PUBLISH_TOKEN", "token-from-env", 1);
  ::setenv("IVG_REDIS_PASSWORD", "", 1);  // empty: ignored
  auto config = LoadExperimentConfig("", {"replay.redis_password=from-flag"});
  ::unsetenv("IVG_PUBLISH_TOKEN");
  ::unsetenv("IVG_REDIS_PASSWORD");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->cluster().publish_token(), "token-from-env");
  EXPECT_EQ(config->replay().redis_password(), "from-flag");
  auto without = LoadExperimentConfig("", {});
  ASSERT_TRUE(without.ok());
  EXPECT_FALSE(without->cluster().has_publish_token());
}

TEST(ConfigLoader, CrossFieldRulesAreChecked) {
  auto heights = LoadExperimentConfig("", {"env.start_height_min=0.3"});
  ASSERT_FALSE(heights.ok());
  EXPECT_THAT(heights.status().message(), HasSubstr("env.start_height_min"));

  auto horizon_zero = LoadExperimentConfig("", {"learner.imagination_horizon=0"});
  ASSERT_FALSE(horizon_zero.ok());
  EXPECT_THAT(horizon_zero.status().message(), HasSubstr("POLICY_SVG0"));
  EXPECT_TRUE(LoadExperimentConfig(
                  "", {"learner.imagination_horizon=0", "learner.policy_algorithm=POLICY_SVG0"})
                  .ok());

  // A switch that only another algorithm reads is refused, not ignored.
  auto stray_rollouts = LoadExperimentConfig("", {"learner.pg_rollouts=10"});
  ASSERT_FALSE(stray_rollouts.ok());
  EXPECT_THAT(stray_rollouts.status().message(), HasSubstr("learner.pg_rollouts"));
  EXPECT_TRUE(LoadExperimentConfig(
                  "", {"learner.policy_algorithm=POLICY_PG", "learner.pg_rollouts=10"})
                  .ok());
  auto stray_model_loss = LoadExperimentConfig("", {"learner.svg0_model_loss=true"});
  ASSERT_FALSE(stray_model_loss.ok());
  EXPECT_THAT(stray_model_loss.status().message(), HasSubstr("learner.svg0_model_loss"));

  // The object offsets lengthen the proprioception by 3 per object (2, or 3 with a
  // distractor), and the model must be configured to read them.
  auto offsets = LoadExperimentConfig("", {"env.proprio_with_object_offsets=true"});
  ASSERT_FALSE(offsets.ok());
  EXPECT_THAT(offsets.status().message(), HasSubstr("'model.proprio_size' must be 23"));
  EXPECT_TRUE(LoadExperimentConfig(
                  "", {"env.proprio_with_object_offsets=true", "model.proprio_size=23"})
                  .ok());
  auto distractor = LoadExperimentConfig(
      "", {"env.proprio_with_object_offsets=true", "model.proprio_size=23",
           "env.distractor=DISTRACTOR_YELLOW_BALL"});
  ASSERT_FALSE(distractor.ok());
  EXPECT_THAT(distractor.status().message(), HasSubstr("must be 26"));

  // From state the model reads 17 features and 16 per object, and the pixel agent's offsets
  // would repeat what the state already holds.
  auto state = LoadExperimentConfig("", {"env.observation=OBSERVATION_STATE"});
  ASSERT_FALSE(state.ok());
  EXPECT_THAT(state.status().message(),
              HasSubstr("'model.proprio_size' must be 49 with 'env.observation: "
                        "OBSERVATION_STATE'"));
  EXPECT_TRUE(
      LoadExperimentConfig("", {"env.observation=OBSERVATION_STATE", "model.proprio_size=49"})
          .ok());
  auto state_distractor = LoadExperimentConfig(
      "", {"env.observation=OBSERVATION_STATE", "model.proprio_size=49",
           "env.distractor=DISTRACTOR_YELLOW_CUBE"});
  ASSERT_FALSE(state_distractor.ok());
  EXPECT_THAT(state_distractor.status().message(), HasSubstr("must be 65"));
  auto state_offsets = LoadExperimentConfig(
      "", {"env.observation=OBSERVATION_STATE", "model.proprio_size=49",
           "env.proprio_with_object_offsets=true"});
  ASSERT_FALSE(state_offsets.ok());
  EXPECT_THAT(state_offsets.status().message(), HasSubstr("env.proprio_with_object_offsets"));

  // A sequence has K = model_rollout predicted steps to reconstruct.
  auto too_many_decoded = LoadExperimentConfig("", {"learner.reconstructed_steps_per_sequence=6"});
  ASSERT_FALSE(too_many_decoded.ok());
  EXPECT_THAT(too_many_decoded.status().message(),
              HasSubstr("'learner.reconstructed_steps_per_sequence' = 6 exceeds"));
  EXPECT_TRUE(LoadExperimentConfig("", {"learner.reconstructed_steps_per_sequence=5"}).ok());

  // The bound penalty bounds a clipped Gaussian's mean; a squashed policy's mean is unbounded.
  auto squashed_penalty = LoadExperimentConfig(
      "", {"learner.policy_mean_bound_penalty=1", "model.tanh_squashed_policy=true"});
  ASSERT_FALSE(squashed_penalty.ok());
  EXPECT_THAT(squashed_penalty.status().message(),
              HasSubstr("'learner.policy_mean_bound_penalty'"));
  auto cem_penalty = LoadExperimentConfig(
      "", {"learner.policy_mean_bound_penalty=1", "learner.policy_algorithm=POLICY_CEM"});
  ASSERT_FALSE(cem_penalty.ok());
  EXPECT_THAT(cem_penalty.status().message(), HasSubstr("needs a parametric policy"));
  EXPECT_TRUE(LoadExperimentConfig("", {"learner.policy_mean_bound_penalty=1"}).ok());
  auto cem_trust_region = LoadExperimentConfig(
      "", {"learner.policy_behaviour_nll_weight=1", "learner.policy_algorithm=POLICY_CEM"});
  ASSERT_FALSE(cem_trust_region.ok());
  EXPECT_THAT(cem_trust_region.status().message(),
              HasSubstr("'learner.policy_behaviour_nll_weight' needs a parametric policy"));
  EXPECT_TRUE(LoadExperimentConfig("", {"learner.policy_behaviour_nll_weight=1"}).ok());

  auto too_long = LoadExperimentConfig("", {"env.episode_steps=6"});
  ASSERT_FALSE(too_long.ok());
  EXPECT_THAT(too_long.status().message(), HasSubstr("env.episode_steps"));
}

TEST(ConfigLoader, ReplayRatioRules) {
  EXPECT_TRUE(LoadExperimentConfig("", {"replay.replay_ratio=8"}).ok());
  auto both = LoadExperimentConfig("", {"replay.replay_ratio=8", "replay.samples_per_insert=2"});
  ASSERT_FALSE(both.ok());
  EXPECT_THAT(both.status().message(), HasSubstr("replay.replay_ratio"));
  EXPECT_THAT(both.status().message(), HasSubstr("replay.samples_per_insert"));
  // 200-step episodes of 8-step items insert 26 items at once: at 8 samples per item the
  // limiter's window (2 x buffer) must hold 208.
  auto narrow = LoadExperimentConfig(
      "", {"replay.replay_ratio=8", "replay.samples_per_insert_error_buffer=100"});
  ASSERT_FALSE(narrow.ok());
  EXPECT_THAT(narrow.status().message(), HasSubstr("replay.samples_per_insert_error_buffer"));
}

TEST(ConfigLoader, NonFiniteValuesAreRejected) {
  auto config = LoadExperimentConfig("", {"learner.kl_lambda=nan"});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("learner.kl_lambda"));
}

TEST(ConfigLoader, ExtractConfigOverridesRemovesSetFlags) {
  std::string a0 = "prog", a1 = "--set", a2 = "learner.gamma=0.9", a3 = "--config=x",
              a4 = "--set=env.task=LIFT_BLUE", a5 = "--port=3";
  char* argv[] = {a0.data(), a1.data(), a2.data(), a3.data(), a4.data(), a5.data(), nullptr};
  int argc = 6;
  const auto overrides = ExtractConfigOverrides(&argc, argv);
  EXPECT_THAT(overrides, ::testing::ElementsAre("learner.gamma=0.9", "env.task=LIFT_BLUE"));
  ASSERT_EQ(argc, 3);
  EXPECT_STREQ(argv[1], "--config=x");
  EXPECT_STREQ(argv[2], "--port=3");
}

TEST(ConfigLoader, ConfigToTextRoundTrips) {
  auto config = LoadExperimentConfig("", {"learner.gamma=0.97", "env.task=STACK_BLUE"});
  ASSERT_TRUE(config.ok());
  const std::string path = WriteTempFile("roundtrip.textproto", ConfigToText(*config));
  auto reloaded = LoadExperimentConfig(path, {});
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_EQ(reloaded->SerializeAsString(), config->SerializeAsString());
}

}  // namespace
}  // namespace ivg
