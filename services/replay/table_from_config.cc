#include "services/replay/table_from_config.h"

#include "common/config/derived_values.h"
#include "services/replay/selectors/selector_factory.h"

namespace ivg::replay {

TableOptions TableOptionsFromConfig(const ExperimentConfig& config) {
  const ReplayConfig& r = config.replay();
  TableOptions o;
  o.name = r.table();
  o.make_sampler = [type = r.sampler(), exponent = r.priority_exponent()] {
    return MakeSelector(type, exponent);
  };
  o.make_remover = [type = r.remover()] { return MakeRemover(type); };
  o.max_size = r.max_size();
  o.max_times_sampled = r.max_times_sampled();
  o.sequence_length = SequenceLength(config);
  o.item_stride = r.item_stride();
  o.chunk_length = r.chunk_length();
  o.compression_level = r.compression_level();
  o.rate_limiter.min_size_to_sample = r.min_size_to_sample();
  o.rate_limiter.samples_per_insert = SamplesPerInsert(config);
  o.rate_limiter.error_buffer = r.samples_per_insert_error_buffer();
  o.episode_spec.images = config.env().observation() != OBSERVATION_STATE;
  o.episode_spec.image_size = o.episode_spec.images ? config.env().image_size() : 0;
  o.episode_spec.proprio_size = config.model().proprio_size();
  o.episode_spec.action_size = config.model().action_size();
  o.episode_spec.num_rewards = NumTasks(config);
  return o;
}

}  // namespace ivg::replay
