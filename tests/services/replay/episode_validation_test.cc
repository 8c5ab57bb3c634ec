#include "services/replay/episode_validation.h"

#include <cmath>
#include <string>

#include "gtest/gtest.h"
#include "services/replay/testing/synthetic_episode.h"

namespace ivg::replay {
namespace {

TEST(EpisodeValidation, NamesTheFirstProblem) {
  EpisodeSpec spec;
  spec.sequence_length = 8;
  spec.num_rewards = 1;
  Episode good = testing::MakeSyntheticEpisode({.num_steps = 10});
  EXPECT_TRUE(ValidateEpisode(good, spec).ok());

  Episode e = good;
  e.mutable_steps(3)->mutable_image()->pop_back();
  EXPECT_NE(ValidateEpisode(e, spec).message().find("step 3: image"), std::string::npos);
  e = good;
  e.mutable_steps(2)->set_rewards(0, NAN);
  EXPECT_NE(ValidateEpisode(e, spec).message().find("rewards[0] is not finite"), std::string::npos);
  e = good;
  e.mutable_steps(1)->set_proprio(4, INFINITY);
  EXPECT_NE(ValidateEpisode(e, spec).message().find("proprio[4]"), std::string::npos);
  e = good;
  e.mutable_steps(0)->add_action(0);
  EXPECT_NE(ValidateEpisode(e, spec).message().find("action has 6"), std::string::npos);
  e = good;
  e.mutable_steps()->DeleteSubrange(0, 3);
  EXPECT_NE(ValidateEpisode(e, spec).message().find("fewer than one sequence"), std::string::npos);
  e = good;
  e.set_image_height(32);
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateEpisode(e, spec)));
  e = good;
  e.mutable_steps(5)->add_rewards(1);
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateEpisode(e, spec)));
}

TEST(EpisodeValidation, ImageSizeZeroAcceptsAnyConsistentSize) {
  EpisodeSpec spec;
  spec.image_size = 0;
  spec.sequence_length = 4;
  spec.num_rewards = 1;
  Episode e = testing::MakeSyntheticEpisode({.num_steps = 4, .image_size = 32});
  EXPECT_TRUE(ValidateEpisode(e, spec).ok());
  e.set_image_width(0);
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateEpisode(e, spec)));
  spec.image_size = 64;
  e = testing::MakeSyntheticEpisode({.num_steps = 4, .image_size = 32});
  EXPECT_NE(ValidateEpisode(e, spec).message().find("not the configured 64x64"), std::string::npos);
}

TEST(EpisodeValidation, NumRewardsZeroTakesTheCountOfStepZero) {
  EpisodeSpec spec;
  spec.sequence_length = 4;
  spec.num_rewards = 0;
  Episode e = testing::MakeSyntheticEpisode({.num_steps = 4, .num_rewards = 3});
  EXPECT_TRUE(ValidateEpisode(e, spec).ok());
  e.mutable_steps(2)->mutable_rewards()->RemoveLast();
  EXPECT_NE(ValidateEpisode(e, spec).message().find("step 2: 2 rewards, expected 3"),
            std::string::npos)
      << ValidateEpisode(e, spec);
  e = testing::MakeSyntheticEpisode({.num_steps = 4});
  for (Step& s : *e.mutable_steps()) s.clear_rewards();
  EXPECT_NE(ValidateEpisode(e, spec).message().find("step 0 has no rewards"), std::string::npos);
}

TEST(EpisodeValidation, RejectsNegativeActorAndEpisodeIds) {
  EpisodeSpec spec;
  spec.sequence_length = 4;
  spec.num_rewards = 1;
  Episode e = testing::MakeSyntheticEpisode({.num_steps = 4});
  ASSERT_TRUE(ValidateEpisode(e, spec).ok());
  e.set_actor_id(-7);
  EXPECT_NE(ValidateEpisode(e, spec).message().find("actor_id -7"), std::string::npos);
  e = testing::MakeSyntheticEpisode({.num_steps = 4});
  e.set_episode_id(-1);
  EXPECT_NE(ValidateEpisode(e, spec).message().find("episode_id -1"), std::string::npos);
}

TEST(EpisodeValidation, RejectsNegativeTaskAndNonFiniteLogProb) {
  EpisodeSpec spec;
  spec.sequence_length = 4;
  spec.num_rewards = 1;
  Episode e = testing::MakeSyntheticEpisode({.num_steps = 4});
  e.set_task_id(-1);
  EXPECT_NE(ValidateEpisode(e, spec).message().find("task_id -1"), std::string::npos);
  // One past the last task: stored, it would crash every learner that samples it.
  e = testing::MakeSyntheticEpisode({.num_steps = 4});
  e.set_task_id(1);
  EXPECT_NE(ValidateEpisode(e, spec).message().find("task_id 1 is out of range"),
            std::string::npos)
      << ValidateEpisode(e, spec);
  spec.num_rewards = 3;
  e = testing::MakeSyntheticEpisode({.num_steps = 4, .num_rewards = 3});
  e.set_task_id(2);
  EXPECT_TRUE(ValidateEpisode(e, spec).ok());
  spec.num_rewards = 1;
  e = testing::MakeSyntheticEpisode({.num_steps = 4});
  e.mutable_steps(3)->set_behaviour_log_prob(-INFINITY);
  EXPECT_NE(ValidateEpisode(e, spec).message().find("step 3: behaviour_log_prob"),
            std::string::npos);
  e = testing::MakeSyntheticEpisode({.num_steps = 4, .proprio_size = 16});
  EXPECT_NE(ValidateEpisode(e, spec).message().find("step 0: proprio has 16 values, expected 17"),
            std::string::npos);
}

}  // namespace
}  // namespace ivg::replay
