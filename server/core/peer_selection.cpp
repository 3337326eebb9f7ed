// Locality-aware peer choice; see peer_selection.hpp for the policy.
#include "core/peer_selection.hpp"

#include <algorithm>

namespace swarmboot::server {
namespace {

// "10.99.1.7" -> "10.99.1."; empty for anything that is not dotted IPv4.
std::string ipv4_slash24(const std::string& ip) {
  int dots = 0;
  for (char c : ip) {
    if (c == '.')
      ++dots;
    else if (c < '0' || c > '9')
      return {};
  }
  if (dots != 3) return {};
  return ip.substr(0, ip.rfind('.') + 1);
}

}  // namespace

bool peers_near(const PeerQuery& query, const PeerCandidate& candidate) {
  if (!query.rack.empty() && !candidate.rack.empty()) return query.rack == candidate.rack;
  const std::string a = ipv4_slash24(query.ip);
  return !a.empty() && a == ipv4_slash24(candidate.ip);
}

std::vector<PeerCandidate> select_peers(const PeerQuery& query, std::vector<PeerCandidate> candidates) {
  std::vector<PeerCandidate> out;
  if (query.numwant <= 0) return out;
  std::vector<PeerCandidate> near;
  std::vector<PeerCandidate> far;
  for (auto& c : candidates) {
    if (c.peer_id == query.peer_id || (c.ip == query.ip && c.port == 0)) continue;
    if (query.seed && c.seed) continue;
    (peers_near(query, c) ? near : far).push_back(std::move(c));
  }
  const auto newest_first = [](const PeerCandidate& a, const PeerCandidate& b) {
    if (a.joined_ms != b.joined_ms) return a.joined_ms > b.joined_ms;
    return a.peer_id < b.peer_id;
  };
  std::sort(near.begin(), near.end(), newest_first);
  std::sort(far.begin(), far.end(), newest_first);

  const size_t want = static_cast<size_t>(query.numwant);
  // A quarter of the answer (at least one slot when asking for two or more) goes to far peers.
  const size_t far_reserved = want >= 2 ? std::max<size_t>(1, want / 4) : 0;
  const size_t far_take = std::min(far.size(), far_reserved);
  const size_t near_take = std::min(near.size(), want - far_take);
  out.insert(out.end(), near.begin(), near.begin() + static_cast<std::ptrdiff_t>(near_take));
  out.insert(out.end(), far.begin(), far.begin() + static_cast<std::ptrdiff_t>(far_take));
  // Unused slots: more far peers (near ones are exhausted by now if slots remain).
  for (size_t i = far_take; i < far.size() && out.size() < want; ++i) out.push_back(far[i]);
  return out;
}

bool offer_origin(bool announcer_is_seed, int other_seeds, bool origin_running) {
  return origin_running && !announcer_is_seed && other_seeds == 0;
}

}  // namespace swarmboot::server
