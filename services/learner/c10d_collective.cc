#include "services/learner/c10d_collective.h"

#include <chrono>
#include <cstdlib>
#include <exception>
#include <vector>

#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef IVG_WITH_NCCL
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ivg::learner {
namespace {

// The devices (network addresses) Gloo binds its pairs to; see
// C10dCollectiveOptions::socket_interfaces. Binding the store's host is right only where it
// is local: rank 1 in a container cannot bind "learner-0", Gloo then fails with "Cannot
// resolve learner-0 to a (local) address".
std::vector<std::shared_ptr<::gloo::transport::Device>> GlooDevices(
    const C10dCollectiveOptions& options) {
  std::string interfaces = options.socket_interfaces;
  if (interfaces.empty()) {
    const char* env = std::getenv("GLOO_SOCKET_IFNAME");
    if (env != nullptr) interfaces = env;
  }
  std::vector<std::shared_ptr<::gloo::transport::Device>> devices;
  for (absl::string_view name : absl::StrSplit(interfaces, ',', absl::SkipWhitespace())) {
    devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(std::string(name)));
  }
  if (!devices.empty()) return devices;
  try {
    devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(options.host));
  } catch (const c10::Error&) {
    devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  }
  return devices;
}

}  // namespace

struct C10dCollective::State {
  int rank = 0;
  int world_size = 1;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#ifdef IVG_WITH_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
};

C10dCollective::C10dCollective(std::unique_ptr<State> state) : state_(std::move(state)) {}
C10dCollective::~C10dCollective() = default;

int C10dCollective::world_size() const { return state_->world_size; }
int C10dCollective::rank() const { return state_->rank; }

absl::StatusOr<std::unique_ptr<C10dCollective>> C10dCollective::Create(
    const C10dCollectiveOptions& options) {
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size) {
    return absl::InvalidArgumentError(absl::StrCat("rank ", options.rank,
                                                   " is outside world size ",
                                                   options.world_size));
  }
  auto state = std::make_unique<State>();
  state->rank = options.rank;
  state->world_size = options.world_size;
  const auto timeout = std::chrono::milliseconds(absl::ToInt64Milliseconds(options.timeout));
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(options.port);
    store_options.isServer = options.rank == 0;
    store_options.waitWorkers = false;
    store_options.timeout = timeout;
    auto store = c10::make_intrusive<c10d::TCPStore>(options.host, store_options);
    if (options.rank == 0 && options.on_listening) options.on_listening(store->getPort());
    state->store = store;
    auto gloo_options = c10d::ProcessGroupGloo::Options::create();
    gloo_options->devices = GlooDevices(options);
    gloo_options->timeout = timeout;
    state->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(state->store, options.rank,
                                                              options.world_size, gloo_options);
#ifdef IVG_WITH_NCCL
    if (at::hasCUDA()) {
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      auto prefix = c10::make_intrusive<c10d::PrefixStore>("nccl", state->store);
      state->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefix, options.rank,
                                                                options.world_size, nccl_options);
    }
#endif
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("learner rendezvous at ", options.host, ":",
                                               options.port, " (rank ", options.rank, " of ",
                                               options.world_size, ") failed: ", e.what()));
  }
  return std::unique_ptr<C10dCollective>(new C10dCollective(std::move(state)));
}

model::Error C10dCollective::AllReduceSum(at::Tensor& tensor) {
  try {
#ifdef IVG_WITH_NCCL
    if (tensor.is_cuda() && state_->nccl) {
      std::vector<at::Tensor> tensors{tensor};
      state_->nccl->allreduce(tensors)->wait();
      return std::nullopt;
    }
#endif
    at::Tensor host = tensor.is_cuda() ? tensor.cpu() : tensor;
    std::vector<at::Tensor> tensors{host};
    state_->gloo->allreduce(tensors)->wait();
    if (tensor.is_cuda()) tensor.copy_(host);
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string("all-reduce: ") + e.what();
  }
}

model::Error C10dCollective::Broadcast(at::Tensor& tensor, int root) {
  try {
    at::Tensor host = tensor.is_cuda() ? tensor.cpu() : tensor;
    std::vector<at::Tensor> tensors{host};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    state_->gloo->broadcast(tensors, options)->wait();
    if (tensor.is_cuda()) tensor.copy_(host);
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string("broadcast: ") + e.what();
  }
}

}  // namespace ivg::learner
