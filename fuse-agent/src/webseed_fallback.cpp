// Web seed fallback decisions (see webseed_fallback.hpp).
#include "webseed_fallback.hpp"

namespace swarmboot::agent {

WebSeedAction WebSeedFallback::update(const SwarmObservation& obs) {
  if (obs.swarm_peers > 0) {
    alone_since_.reset();
  } else if (!alone_since_) {
    alone_since_ = obs.now;
  }
  const bool stalled = obs.oldest_parked_read_age && *obs.oldest_parked_read_age >= config_.stall_after;
  const bool alone = alone_since_ && obs.now - *alone_since_ >= config_.no_peer_after;
  const bool needed = !obs.complete && (stalled || alone);
  if (needed) needed_at_ = obs.now;

  if (needed && !attached_) {
    attached_ = true;
    return WebSeedAction::attach;
  }
  if (attached_ && !needed && (obs.complete || !needed_at_ || obs.now - *needed_at_ >= config_.linger)) {
    attached_ = false;
    return WebSeedAction::detach;
  }
  return WebSeedAction::none;
}

}  // namespace swarmboot::agent
