// The replay table an experiment config describes: replay.* (size, selectors, rate limiter,
// storage), the item length L from the learner (burn-in + rollout) and what a valid episode
// looks like from env and model. The one place replay turns config into table options; the
// table itself takes plain options and injected selectors (table.h).
#ifndef IVG_SERVICES_REPLAY_TABLE_FROM_CONFIG_H_
#define IVG_SERVICES_REPLAY_TABLE_FROM_CONFIG_H_

#include "proto/config.pb.h"
#include "services/replay/table.h"

namespace ivg::replay {

TableOptions TableOptionsFromConfig(const ExperimentConfig& config);

}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_TABLE_FROM_CONFIG_H_
