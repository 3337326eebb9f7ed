// Which pieces the seeder shows each connected host: the server's request policy ("spread seeding").
//
// A plain seed shows every host every piece, so 32 hosts starting at once ask the server for pieces other
// hosts already hold or are being sent, and the server sends each piece 2.4-2.6 times (docs/benchmarks.md)
// while the hosts' own uplinks idle. libtorrent's super seeding fixes the economy but, in 2.0.8, reveals a new
// host's first pieces only ~10 s after it connects. This policy gets the economy without the wait:
//
//   - a host is shown a piece it lacks while no connected host holds it and the server is not already sending
//     it to another host ("unclaimed"), or while the server is sending it to this host;
//   - a piece that becomes claimed is hidden (BEP 54 lt_donthave) from every other host lacking it: they get
//     it from the holder;
//   - a piece whose last holder leaves, or whose claimant cancels its request, is shown again;
//   - rescue: a host that has announced no new piece and requested nothing for `rescue_after` is shown the
//     few pieces it lacks that the fewest hosts hold, so a host that cannot reach the holders (or a lazy boot
//     waiting on one piece) is never starved.
//
// Pure logic: the libtorrent plugin (daemon/spread_plugin.cpp) feeds it the peers' messages and sends the
// actions it returns. Hosts that cannot be told "don't have" (no lt_donthave) are tracked as holders and
// claimants but always shown everything.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace swarmboot::server {

using SpreadClock = std::chrono::steady_clock;

struct SpreadAction {
  std::uint64_t peer = 0;
  bool show = false;  // true: HAVE piece; false: DONT_HAVE piece
  int piece = 0;
  bool operator==(const SpreadAction&) const = default;
};

struct SpreadOptions {
  std::chrono::milliseconds rescue_after{3000};
  int rescue_pieces = 2;
  // An in-flight claim that saw no request for this long is dropped (the host gave up on the server).
  std::chrono::milliseconds claim_expiry{20000};
};

class PieceSpread {
 public:
  using Actions = std::vector<SpreadAction>;

  PieceSpread(int num_pieces, SpreadOptions options);

  // A host connected. The seeder has shown it every piece (HAVE_ALL or a full bitfield).
  void join(std::uint64_t peer, SpreadClock::time_point now);
  // The host can be told "don't have" from now on: hides the claimed pieces it lacks.
  void enable_hiding(std::uint64_t peer, SpreadClock::time_point now, Actions& out);
  void leave(std::uint64_t peer, Actions& out);

  void peer_has(std::uint64_t peer, int piece, SpreadClock::time_point now, Actions& out);
  void peer_has_all(std::uint64_t peer, SpreadClock::time_point now, Actions& out);

  // A block request for `piece`. False: the piece is hidden from this host (reject the request).
  bool request(std::uint64_t peer, int piece, SpreadClock::time_point now, Actions& out);
  // The host cancelled a request for `piece` (it asks elsewhere, or put other pieces first: libtorrent cancels
  // every outstanding request when a read makes a piece time-critical). The claim ends, so the piece is not
  // hidden from every other host until the claim would expire; a later request claims it again.
  void cancel(std::uint64_t peer, int piece, Actions& out);

  // Once a second: drops expired claims and rescues stalled hosts.
  void tick(SpreadClock::time_point now, Actions& out);

  int num_pieces() const { return static_cast<int>(holders_.size()); }
  // Hosts holding / being sent the piece (tests and logs).
  int holders(int piece) const { return holders_.at(static_cast<std::size_t>(piece)); }
  int sending(int piece) const { return sending_.at(static_cast<std::size_t>(piece)); }

 private:
  struct Peer {
    bool hideable = false;
    std::vector<bool> has, shown, rescued;
    std::map<std::size_t, SpreadClock::time_point> in_flight;  // piece -> its last request (a few at a time)
    int missing = 0;
    SpreadClock::time_point last_activity;
  };

  bool wants_shown(const Peer& p, std::size_t piece) const;
  void refresh(std::size_t piece, Actions& out);
  void refresh(std::uint64_t id, Peer& p, std::size_t piece, Actions& out);
  void end_flight(Peer& p, std::size_t piece);
  bool unclaimed(std::size_t piece) const { return holders_[piece] + sending_[piece] == 0; }

  SpreadOptions options_;
  std::vector<int> holders_, sending_;
  std::map<std::uint64_t, Peer> peers_;
};

// The BitTorrent messages the seeder sends for the policy: HAVE (BEP 3), lt_donthave under the extension id the
// peer gave it in its extension handshake (BEP 10, BEP 54), REJECT REQUEST (BEP 6).
std::string encode_have(int piece);
std::string encode_dont_have(int extension_id, int piece);
std::string encode_reject(int piece, int start, int length);

}  // namespace swarmboot::server
