// The selectors a config names (replay.sampler, replay.priority_exponent, replay.remover), for
// the one place that turns a config into a table (table_from_config.h). The table itself and
// the selectors know no config: it takes them by injection (TableOptions::make_sampler).
#ifndef IVG_SERVICES_REPLAY_SELECTORS_SELECTOR_FACTORY_H_
#define IVG_SERVICES_REPLAY_SELECTORS_SELECTOR_FACTORY_H_

#include <memory>

#include "proto/config.pb.h"
#include "services/replay/selectors/selector.h"

namespace ivg::replay {

// `priority_exponent` is used by the prioritized selector only.
std::unique_ptr<Selector> MakeSelector(SelectorType type, double priority_exponent);
// Removers: uniform (the paper's choice) or FIFO.
std::unique_ptr<Selector> MakeRemover(RemoverType type);

}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_SELECTORS_SELECTOR_FACTORY_H_
