// A Selector picks item keys from a set it is told about (Reverb's KeyDistribution).
// Tables use one selector to sample and another as the remover that picks items to evict
// when max_size is reached. Keys are inserted in increasing order (storage_format.h).
// Not thread-safe: the owning Table serialises calls under its mutex.
#ifndef IVG_SERVICES_REPLAY_SELECTORS_SELECTOR_H_
#define IVG_SERVICES_REPLAY_SELECTORS_SELECTOR_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ivg::replay {

struct Selection {
  uint64_t key = 0;
  // Probability with which this key was selected at this call.
  double probability = 0.0;
};

class Selector {
 public:
  virtual ~Selector() = default;
  // ALREADY_EXISTS if `key` is present; INVALID_ARGUMENT for a negative or non-finite
  // priority. Selectors that ignore priorities still validate them.
  virtual absl::Status Insert(uint64_t key, double priority) = 0;
  // NOT_FOUND if absent.
  virtual absl::Status Delete(uint64_t key) = 0;
  // NOT_FOUND if absent.
  virtual absl::Status Update(uint64_t key, double priority) = 0;
  // FAILED_PRECONDITION when empty.
  virtual absl::StatusOr<Selection> Select(absl::BitGenRef gen) = 0;
  virtual int64_t size() const = 0;
  virtual std::string name() const = 0;
};

// Validation shared by implementations.
absl::Status CheckPriority(double priority);


}  // namespace ivg::replay

#endif  // IVG_SERVICES_REPLAY_SELECTORS_SELECTOR_H_
