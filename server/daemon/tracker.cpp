// Swarm bookkeeping for the tracker; see tracker.hpp.
#include "daemon/tracker.hpp"

#include "swarmcore/image_torrent.hpp"

namespace swarmboot::server {

namespace {
// A fixed, recognisable peer id for the server's own seeder in answers.
const std::string kOriginPeerId = "-SB0100-swarmbootd00";
}  // namespace

void Tracker::set_registered(const std::set<std::string>& info_hashes) {
  std::lock_guard lock(mutex_);
  for (auto it = swarms_.begin(); it != swarms_.end();) {
    it = info_hashes.count(it->first) != 0 ? std::next(it) : swarms_.erase(it);
  }
  for (const auto& ih : info_hashes) swarms_.try_emplace(ih);
}

bool Tracker::registered(const std::string& info_hash) const {
  std::lock_guard lock(mutex_);
  return swarms_.count(info_hash) != 0;
}

Result<AnnounceResponse> Tracker::announce(const AnnounceRequest& r, const std::string& ip,
                                           const std::string& rack, const OriginSeed& origin,
                                           std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto it = swarms_.find(r.info_hash);
  if (it == swarms_.end()) return Error{"unregistered torrent"};
  ++announces_;
  Swarm& swarm = it->second;
  const bool seed = r.left == 0;
  if (r.event == AnnounceEvent::stopped) {
    swarm.peers.erase(r.peer_id);
  } else {
    auto [p, inserted] = swarm.peers.try_emplace(r.peer_id);
    if (inserted) p->second.joined_ms = now_ms;
    p->second.ip = ip;
    p->second.port = r.port;
    p->second.rack = rack;
    p->second.last_seen_ms = now_ms;
    p->second.seed = seed;
    if (r.event == AnnounceEvent::completed) ++swarm.completed;
  }

  AnnounceResponse out;
  out.interval = seed ? settings_.interval_s : settings_.interval_downloading_s;
  out.min_interval = std::min(out.interval, 2);
  std::vector<PeerCandidate> candidates;
  candidates.reserve(swarm.peers.size());
  int other_seeds = 0;
  for (const auto& [id, p] : swarm.peers) {
    (p.seed ? out.complete : out.incomplete) += 1;
    if (p.seed && id != r.peer_id) ++other_seeds;
    candidates.push_back({id, p.ip, p.port, p.rack, p.joined_ms, p.seed});
  }
  if (r.event == AnnounceEvent::stopped) return out;
  int numwant = r.numwant;
  // The origin comes in addition to the chosen peers, and only while the swarm has no other seed.
  const bool with_origin = offer_origin(seed, other_seeds, origin.port != 0) && numwant > 0;
  if (with_origin) numwant -= 1;
  for (auto& c : select_peers({r.peer_id, ip, rack, numwant, seed}, std::move(candidates))) {
    out.peers.push_back({std::move(c.peer_id), std::move(c.ip), c.port});
  }
  if (with_origin) out.peers.push_back({kOriginPeerId, origin.ip, origin.port});
  return out;
}

Result<std::vector<ScrapeEntry>> Tracker::scrape(const std::vector<std::string>& info_hashes) {
  std::lock_guard lock(mutex_);
  std::vector<ScrapeEntry> out;
  for (const auto& ih : info_hashes) {
    auto it = swarms_.find(ih);
    if (it == swarms_.end()) return Error{"unregistered torrent " + to_hex(ih)};
    ScrapeEntry e;
    e.info_hash = ih;
    e.downloaded = it->second.completed;
    for (const auto& [id, p] : it->second.peers) (p.seed ? e.complete : e.incomplete) += 1;
    out.push_back(e);
  }
  return out;
}

void Tracker::expire(std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  for (auto& [ih, swarm] : swarms_) {
    for (auto it = swarm.peers.begin(); it != swarm.peers.end();) {
      const int interval = it->second.seed ? settings_.interval_s : settings_.interval_downloading_s;
      const std::int64_t silent_limit = 3 * std::int64_t{interval} * 1000 + 5000;
      it = now_ms - it->second.last_seen_ms > silent_limit ? swarm.peers.erase(it) : std::next(it);
    }
  }
}

std::map<std::string, int> Tracker::peers_per_swarm() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, int> out;
  for (const auto& [ih, swarm] : swarms_) out[to_hex(ih)] = static_cast<int>(swarm.peers.size());
  return out;
}

std::uint64_t Tracker::announces() const {
  std::lock_guard lock(mutex_);
  return announces_;
}

}  // namespace swarmboot::server
