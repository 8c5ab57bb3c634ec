// Checks an inserted Episode before anything is stored, so a malformed episode is an
// INVALID_ARGUMENT naming the first problem and never a partial write.
#ifndef IVG_SERVICES_REPLAY_EPISODE_VALIDATION_H_
#define IVG_SERVICES_REPLAY_EPISODE_VALIDATION_H_

#include "absl/status/status.h"
#include "proto/episode.pb.h"

namespace ivg::replay {

struct EpisodeSpec {
  // False for state observations (env.observation OBSERVATION_STATE): episodes carry no
  // images, so the image size must be 0 x 0 and every step's image empty.
  bool images = true;
  // Expected image height and width (pixels); 0 accepts any size that is consistent. Only
  // read with `images`.
  int image_size = 64;
  int proprio_size = 17;
  int action_size = 5;
  // Rewards per step (number of tasks); 0 accepts any count >= 1 that is the same in
  // every step.
  int num_rewards = 0;
  // Steps of one item (L); an episode must have at least this many.
  int sequence_length = 8;
};

absl::Status ValidateEpisode(const Episode& episode, const EpisodeSpec& spec);

}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_EPISODE_VALIDATION_H_
