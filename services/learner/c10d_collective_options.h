// How a learner joins the synchronous group (c10d_collective.h). A header of its own, free
// of LibTorch, so the learner's main and gRPC code can fill it in without compiling ATen.
#ifndef IVG_SERVICES_LEARNER_C10D_COLLECTIVE_OPTIONS_H_
#define IVG_SERVICES_LEARNER_C10D_COLLECTIVE_OPTIONS_H_

#include <functional>
#include <string>

#include "absl/time/time.h"

namespace ivg::learner {

struct C10dCollectiveOptions {
  std::string host = "127.0.0.1";
  // Rank 0 listens here (0 = any free port, reported through on_listening); others connect.
  int port = 0;
  int rank = 0;
  int world_size = 1;
  absl::Duration timeout = absl::Seconds(60);
  // The network interfaces Gloo's connections bind to, comma-separated ("eth0"); empty =
  // $GLOO_SOCKET_IFNAME as torch.distributed reads it, else the address `host` names when it
  // is one of this machine's (one machine, or rank 0), else this machine's hostname's address
  // (rank 1+ in docker-compose or Kubernetes, where `host` is rank 0's name).
  std::string socket_interfaces;
  // Called by rank 0 with the bound port before it waits for the other ranks.
  std::function<void(int port)> on_listening;
};

}  // namespace ivg::learner

#endif  // IVG_SERVICES_LEARNER_C10D_COLLECTIVE_OPTIONS_H_
