#include "model/core/proprio_scaling.h"

#include <ATen/ATen.h>

namespace ivg::model {

ProprioBounds DefaultProprioBounds(int proprio_size) {
  ProprioBounds bounds;
  if (proprio_size == static_cast<int>(kProprioDims)) {
    bounds.low.assign(kProprioLow.begin(), kProprioLow.end());
    bounds.high.assign(kProprioHigh.begin(), kProprioHigh.end());
  }
  return bounds;
}

ProprioBounds StateObservationBounds(int objects) {
  ProprioBounds bounds = DefaultProprioBounds(static_cast<int>(kProprioDims));
  for (int i = 0; i < objects; ++i) {
    bounds.low.insert(bounds.low.end(), kObjectFeatureLow.begin(), kObjectFeatureLow.end());
    bounds.high.insert(bounds.high.end(), kObjectFeatureHigh.begin(), kObjectFeatureHigh.end());
  }
  return bounds;
}

at::Tensor ScaleProprio(const at::Tensor& raw, const ProprioBounds& bounds) {
  if (bounds.low.empty()) return raw;
  TORCH_CHECK(raw.dim() >= 1 && raw.size(-1) == static_cast<int64_t>(bounds.low.size()),
              "proprio has ", raw.size(-1), " values per step; the bounds have ",
              bounds.low.size());
  const at::Tensor low = at::tensor(bounds.low, at::kDouble).to(raw.device(), at::kFloat);
  const at::Tensor high = at::tensor(bounds.high, at::kDouble).to(raw.device(), at::kFloat);
  return (2.0 * (raw - low) / (high - low) - 1.0).clamp(-1.0, 1.0);
}

}  // namespace ivg::model
