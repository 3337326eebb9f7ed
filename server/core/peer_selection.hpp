// Which peers the tracker hands to an announcing host: a pure function, table-tested.
//
// Locality first (P4P idea): peers in the same rack (label `rack`) or, when racks are unknown, the same IPv4
// /24 fill most of the answer, because their traffic stays behind one switch. But a quarter of the answer is
// always reserved for other peers (when there are any), so a rack that starts late — or one whose hosts are
// all still empty — is never cut off from the rest of the swarm. Within each group the newest peers come
// first: they are the ones nobody knows about yet, so the swarm learns about a joiner within one announce.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace swarmboot::server {

struct PeerCandidate {
  std::string peer_id;  // 20 raw bytes
  std::string ip;       // dotted IPv4 (or IPv6 text)
  std::uint16_t port = 0;
  std::string rack;            // the host's `rack` label when known, else empty
  std::int64_t joined_ms = 0;  // when it first announced; larger = newer
  bool seed = false;
};

struct PeerQuery {
  std::string peer_id;
  std::string ip;
  std::string rack;
  int numwant = 50;
  bool seed = false;  // a seed gets no other seeds (it needs nothing from them)
};

// Whether two peers are "near": same non-empty rack, or (when either rack is unknown) the same IPv4 /24.
bool peers_near(const PeerQuery& query, const PeerCandidate& candidate);

// Chooses up to numwant peers from candidates (the announcing peer itself is skipped). Deterministic.
std::vector<PeerCandidate> select_peers(const PeerQuery& query, std::vector<PeerCandidate> candidates);

// Whether the tracker hands the server's own seeder (the origin) to an announcing host. Only while no other
// host in the swarm holds the whole image: once one does, later hosts fetch from the swarm, so the server sends
// each image about once however many hosts boot. Withholding the origin never strands a read: a host that makes
// no progress attaches the server's web seed after a few seconds (see fuse-agent's web seed fallback).
bool offer_origin(bool announcer_is_seed, int other_seeds, bool origin_running);

}  // namespace swarmboot::server
