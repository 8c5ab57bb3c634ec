#include "services/replay/episode_validation.h"

#include <cmath>
#include <functional>
#include <string>
#include <vector>

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

// From state an episode carries no images: 0 x 0 and every step's image empty.
TEST(EpisodeValidation, StateObservationEpisodesHoldNoImages) {
  EpisodeSpec spec;
  spec.images = false;
  spec.image_size = 0;
  spec.sequence_length = 4;
  spec.num_rewards = 1;
  spec.proprio_size = 49;
  Episode e = testing::MakeSyntheticEpisode({.num_steps = 4, .proprio_size = 49});
  e.set_image_height(0);
  e.set_image_width(0);
  for (Step& s : *e.mutable_steps()) s.clear_image();
  EXPECT_TRUE(ValidateEpisode(e, spec).ok()) << ValidateEpisode(e, spec);
  Episode with_size = e;
  with_size.set_image_height(64);
  with_size.set_image_width(64);
  EXPECT_NE(ValidateEpisode(with_size, spec).message().find("must be 0x0"), std::string::npos)
      << ValidateEpisode(with_size, spec);
  Episode with_image = e;
  with_image.mutable_steps(2)->set_image("pixels");
  EXPECT_NE(ValidateEpisode(with_image, spec).message().find("step 2: image has 6 bytes"),
            std::string::npos)
      << ValidateEpisode(with_image, spec);
  // And a pixel run refuses an episode without images.
  EpisodeSpec pixels;
  pixels.sequence_length = 4;
  pixels.num_rewards = 1;
  pixels.proprio_size = 49;
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateEpisode(e, pixels)));
}

// Every float an InsertEpisode carries is refused when NaN or +-Inf, and the error names
// the field (and the step and index for per-step fields).
TEST(EpisodeValidation, RefusesEveryNonFiniteFloatFieldNamingIt) {
  EpisodeSpec spec;
  spec.sequence_length = 4;
  spec.num_rewards = 1;
  struct Case {
    const char* expected;
    std::function<void(Episode&, float)> spoil;
  };
  const std::vector<Case> cases = {
      {"episode_return", [](Episode& e, float v) { e.set_episode_return(v); }},
      {"step 2: proprio[16]", [](Episode& e, float v) { e.mutable_steps(2)->set_proprio(16, v); }},
      {"step 1: action[3]", [](Episode& e, float v) { e.mutable_steps(1)->set_action(3, v); }},
      {"step 3: rewards[0]", [](Episode& e, float v) { e.mutable_steps(3)->set_rewards(0, v); }},
      {"step 0: behaviour_log_prob",
       [](Episode& e, float v) { e.mutable_steps(0)->set_behaviour_log_prob(v); }},
  };
  for (const Case& c : cases) {
    for (const float bad : {NAN, INFINITY, -INFINITY}) {
      Episode e = testing::MakeSyntheticEpisode({.num_steps = 4});
      ASSERT_TRUE(ValidateEpisode(e, spec).ok());
      c.spoil(e, bad);
      const absl::Status status = ValidateEpisode(e, spec);
      EXPECT_TRUE(absl::IsInvalidArgument(status)) << c.expected << " = " << bad;
      EXPECT_NE(status.message().find(c.expected), std::string::npos)
          << "expected '" << c.expected << "' in: " << status.message();
      EXPECT_NE(status.message().find("not finite"), std::string::npos) << status.message();
    }
  }
}

}  // namespace
}  // namespace ivg::replay
