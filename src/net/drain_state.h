// DrainState: whether this server has begun a graceful shutdown. The
// HttpServer sets it when SIGTERM (or Shutdown()) starts the shutdown delay;
// readiness probes (/health) read it, so a load balancer stops routing here
// while the listeners are still open and every request still succeeds.
//
// Thread-safe (one atomic). Whoever creates it must keep it alive for as long
// as the server and the probe routes that borrow it.
#pragma once

#include <atomic>

namespace kiln::net {

class DrainState {
 public:
  void Begin() { draining_.store(true, std::memory_order_release); }
  bool draining() const { return draining_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> draining_{false};
};

}  // namespace kiln::net
