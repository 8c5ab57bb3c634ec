#include "services/replay/selectors/selector_factory.h"

#include "services/replay/selectors/insertion_order.h"
#include "services/replay/selectors/prioritized.h"
#include "services/replay/selectors/uniform.h"

namespace ivg::replay {

std::unique_ptr<Selector> MakeSelector(SelectorType type, double priority_exponent) {
  switch (type) {
    case SELECTOR_FIFO:
      return std::make_unique<InsertionOrderSelector>(InsertionOrderSelector::End::kOldest);
    case SELECTOR_LIFO:
      return std::make_unique<InsertionOrderSelector>(InsertionOrderSelector::End::kNewest);
    case SELECTOR_PRIORITIZED:
      return std::make_unique<PrioritizedSelector>(priority_exponent);
    case SELECTOR_UNIFORM:
    default:
      return std::make_unique<UniformSelector>();
  }
}

std::unique_ptr<Selector> MakeRemover(RemoverType type) {
  if (type == REMOVER_FIFO) {
    return std::make_unique<InsertionOrderSelector>(InsertionOrderSelector::End::kOldest);
  }
  return std::make_unique<UniformSelector>();
}

}  // namespace ivg::replay
