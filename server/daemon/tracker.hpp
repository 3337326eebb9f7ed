// The tracker's swarm state: who is in which registered swarm, seeds and downloaders, last heard from.
// Answers come from the pure functions in core/ (select_peers, bencoding); this class only keeps the table.
// Only registered info-hashes have swarms: announces for anything else are refused.
//
// Thread-safety: all methods lock `mutex_` briefly; nothing waits on the network while holding it.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/peer_selection.hpp"
#include "core/tracker_protocol.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::server {

struct TrackerSettings {
  int interval_s = 60;             // seeds
  int interval_downloading_s = 5;  // peers still downloading
};

// The server's own seeder (the origin of every image), offered to downloaders while no host holds the image
// (see offer_origin in core/peer_selection.hpp).
struct OriginSeed {
  std::string ip;          // the server address the announcing host reached us on
  std::uint16_t port = 0;  // 0: no seeder running
};

class Tracker {
 public:
  explicit Tracker(TrackerSettings settings) : settings_(settings) {}

  // Makes exactly these info-hashes (20 raw bytes) trackable; swarms of others are dropped.
  void set_registered(const std::set<std::string>& info_hashes);
  bool registered(const std::string& info_hash) const;

  // Records the announce and chooses peers; an Error when the info-hash is not registered.
  Result<AnnounceResponse> announce(const AnnounceRequest& request, const std::string& ip,
                                    const std::string& rack, const OriginSeed& origin, std::int64_t now_ms);
  Result<std::vector<ScrapeEntry>> scrape(const std::vector<std::string>& info_hashes);

  // Forgets peers silent for three of their announce intervals.
  void expire(std::int64_t now_ms);

  // Peers per swarm (info-hash as 40 hex digits), and the total number of announces handled.
  std::map<std::string, int> peers_per_swarm() const;
  std::uint64_t announces() const;

 private:
  struct Peer {
    std::string ip;
    std::uint16_t port = 0;
    std::string rack;
    std::int64_t joined_ms = 0;
    std::int64_t last_seen_ms = 0;
    bool seed = false;
  };
  struct Swarm {
    std::map<std::string, Peer> peers;  // by peer_id
    int completed = 0;
  };

  TrackerSettings settings_;
  mutable std::mutex mutex_;
  std::map<std::string, Swarm> swarms_;  // guarded by mutex_; key: 20-byte info-hash
  std::uint64_t announces_ = 0;          // guarded by mutex_
};

}  // namespace swarmboot::server
