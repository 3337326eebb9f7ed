// When the agent turns to the server's web seed (BEP 19). The swarm is the normal source: every byte the
// server sends over HTTP is a byte N hosts make it send N times. So the web seed is attached only while the
// swarm is failing — a stall longer than `stall_after` (install mode: no new piece; the mount mode rescues a
// stalled read's own pieces instead, see piece_rescue.hpp, and reports no stall here) — or while there is no
// swarm at all (no peer for `no_peer_after`); it is detached again once neither has been true for `linger`,
// so a passing stall does not turn the server into every host's main source. Pure: the agent feeds it observations once
// a tick and applies the answer with add_url_seed/remove_url_seed.
#pragma once

#include <chrono>
#include <optional>

namespace swarmboot::agent {

struct WebSeedFallbackConfig {
  std::chrono::milliseconds stall_after{std::chrono::seconds(4)};
  std::chrono::milliseconds no_peer_after{std::chrono::seconds(5)};
  std::chrono::milliseconds linger{std::chrono::seconds(15)};
};

struct SwarmObservation {
  std::chrono::steady_clock::time_point now;
  std::optional<std::chrono::steady_clock::duration> oldest_parked_read_age;  // nullopt: no parked read
  int swarm_peers = 0;       // connected BitTorrent peers, the web seed not counted
  bool complete = false;     // every piece readable
};

enum class WebSeedAction { none, attach, detach };

class WebSeedFallback {
 public:
  explicit WebSeedFallback(WebSeedFallbackConfig config = {}) : config_(config) {}

  WebSeedAction update(const SwarmObservation& obs);
  bool attached() const { return attached_; }

 private:
  WebSeedFallbackConfig config_;
  bool attached_ = false;
  std::optional<std::chrono::steady_clock::time_point> alone_since_;  // no swarm peer since
  std::optional<std::chrono::steady_clock::time_point> needed_at_;    // last tick the web seed was needed
};

}  // namespace swarmboot::agent
