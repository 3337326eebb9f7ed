// Spread seeding; see piece_spread.hpp.
#include "core/piece_spread.hpp"

#include <algorithm>
#include <limits>

namespace swarmboot::server {

PieceSpread::PieceSpread(int num_pieces, SpreadOptions options)
    : options_(options),
      holders_(static_cast<std::size_t>(std::max(num_pieces, 0)), 0),
      sending_(static_cast<std::size_t>(std::max(num_pieces, 0)), 0) {}

void PieceSpread::join(std::uint64_t peer, SpreadClock::time_point now) {
  if (peers_.count(peer) != 0) return;
  const std::size_t n = holders_.size();
  Peer p;
  p.has.assign(n, false);
  p.shown.assign(n, true);
  p.rescued.assign(n, false);
  p.in_flight.assign(n, SpreadClock::time_point{});
  p.missing = static_cast<int>(n);
  p.last_activity = now;
  peers_.emplace(peer, std::move(p));
}

void PieceSpread::enable_hiding(std::uint64_t peer, SpreadClock::time_point now, Actions& out) {
  auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.hideable) return;
  it->second.hideable = true;
  it->second.last_activity = now;
  for (std::size_t i = 0; i < holders_.size(); ++i) refresh(peer, it->second, i, out);
}

void PieceSpread::leave(std::uint64_t peer, Actions& out) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  Peer gone = std::move(it->second);
  peers_.erase(it);
  for (std::size_t i = 0; i < holders_.size(); ++i) {
    const bool had = gone.has[i];
    const bool flying = gone.in_flight[i] != SpreadClock::time_point{};
    if (had) --holders_[i];
    if (flying) --sending_[i];
    if ((had || flying) && holders_[i] + sending_[i] == 0) refresh(i, out);
  }
}

void PieceSpread::peer_has(std::uint64_t peer, int piece, SpreadClock::time_point now, Actions& out) {
  auto it = peers_.find(peer);
  if (it == peers_.end() || piece < 0 || static_cast<std::size_t>(piece) >= holders_.size()) return;
  const auto i = static_cast<std::size_t>(piece);
  Peer& p = it->second;
  if (p.has[i]) return;
  p.has[i] = true;
  p.rescued[i] = false;
  --p.missing;
  p.last_activity = now;
  end_flight(p, i);
  const bool was_unclaimed = holders_[i] + sending_[i] == 0;
  ++holders_[i];
  if (was_unclaimed) refresh(i, out);
}

void PieceSpread::peer_has_all(std::uint64_t peer, SpreadClock::time_point now, Actions& out) {
  for (int i = 0; i < num_pieces(); ++i) peer_has(peer, i, now, out);
}

bool PieceSpread::request(std::uint64_t peer, int piece, SpreadClock::time_point now, Actions& out) {
  auto it = peers_.find(peer);
  // Unknown hosts and nonsense indexes are libtorrent's to judge.
  if (it == peers_.end() || piece < 0 || static_cast<std::size_t>(piece) >= holders_.size()) return true;
  const auto i = static_cast<std::size_t>(piece);
  Peer& p = it->second;
  if (p.has[i]) return true;
  if (!p.shown[i]) return false;
  p.last_activity = now;
  if (p.in_flight[i] != SpreadClock::time_point{}) {
    p.in_flight[i] = now;
    return true;
  }
  p.in_flight[i] = now;
  ++p.in_flight_count;
  const bool was_unclaimed = holders_[i] + sending_[i] == 0;
  ++sending_[i];
  if (was_unclaimed) refresh(i, out);
  return true;
}

void PieceSpread::tick(SpreadClock::time_point now, Actions& out) {
  for (auto& [id, p] : peers_) {
    if (p.in_flight_count == 0) continue;
    for (std::size_t i = 0; i < holders_.size(); ++i) {
      const auto t = p.in_flight[i];
      if (t == SpreadClock::time_point{} || now - t < options_.claim_expiry) continue;
      end_flight(p, i);
      if (holders_[i] + sending_[i] == 0) refresh(i, out);
      else refresh(id, p, i, out);
    }
  }
  for (auto& [id, p] : peers_) {
    if (!p.hideable || p.missing == 0 || p.in_flight_count > 0) continue;
    if (now - p.last_activity < options_.rescue_after) continue;
    p.last_activity = now;
    // The hidden pieces it lacks that the fewest hosts hold; ties broken from a per-host offset so stalled
    // hosts ask for different pieces.
    std::vector<std::size_t> candidates;
    for (std::size_t i = 0; i < holders_.size(); ++i) {
      if (!p.has[i] && !p.shown[i]) candidates.push_back(i);
    }
    const std::size_t n = holders_.size();
    const std::size_t offset = n == 0 ? 0 : static_cast<std::size_t>(id % n);
    std::sort(candidates.begin(), candidates.end(), [&](std::size_t a, std::size_t b) {
      const int ca = holders_[a] + sending_[a], cb = holders_[b] + sending_[b];
      if (ca != cb) return ca < cb;
      return (a + n - offset) % n < (b + n - offset) % n;
    });
    const std::size_t k = std::min(candidates.size(), static_cast<std::size_t>(std::max(options_.rescue_pieces, 0)));
    for (std::size_t j = 0; j < k; ++j) {
      const std::size_t i = candidates[j];
      p.rescued[i] = true;
      refresh(id, p, i, out);
    }
  }
}

bool PieceSpread::wants_shown(const Peer& p, std::size_t i) const {
  if (!p.hideable || p.has[i]) return true;
  return holders_[i] + sending_[i] == 0 || p.in_flight[i] != SpreadClock::time_point{} || p.rescued[i];
}

void PieceSpread::refresh(std::size_t piece, Actions& out) {
  for (auto& [id, p] : peers_) refresh(id, p, piece, out);
}

void PieceSpread::refresh(std::uint64_t id, Peer& p, std::size_t piece, Actions& out) {
  // Pieces a host holds are left as they are: it will not ask for them.
  if (p.has[piece]) return;
  const bool want = wants_shown(p, piece);
  if (want == p.shown[piece]) return;
  p.shown[piece] = want;
  out.push_back({id, want, static_cast<int>(piece)});
}

void PieceSpread::end_flight(Peer& p, std::size_t i) {
  if (p.in_flight[i] == SpreadClock::time_point{}) return;
  p.in_flight[i] = SpreadClock::time_point{};
  --p.in_flight_count;
  --sending_[i];
}

}  // namespace swarmboot::server
