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
  for (const auto& [i, t] : gone.in_flight) {
    --sending_[i];
    if (unclaimed(i)) refresh(i, out);
  }
  for (std::size_t i = 0; i < holders_.size(); ++i) {
    if (!gone.has[i]) continue;
    --holders_[i];
    if (unclaimed(i)) refresh(i, out);
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
  const bool was_unclaimed = unclaimed(i);
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
  const bool first = p.in_flight.count(i) == 0;
  p.in_flight[i] = now;
  if (!first) return true;
  const bool was_unclaimed = unclaimed(i);
  ++sending_[i];
  if (was_unclaimed) refresh(i, out);
  return true;
}

void PieceSpread::cancel(std::uint64_t peer, int piece, Actions& out) {
  auto it = peers_.find(peer);
  if (it == peers_.end() || piece < 0 || static_cast<std::size_t>(piece) >= holders_.size()) return;
  const auto i = static_cast<std::size_t>(piece);
  if (it->second.in_flight.count(i) == 0) return;
  end_flight(it->second, i);
  if (unclaimed(i)) refresh(i, out);
}

void PieceSpread::tick(SpreadClock::time_point now, Actions& out) {
  for (auto& [id, p] : peers_) {
    std::vector<std::size_t> expired;
    for (const auto& [i, t] : p.in_flight) {
      if (now - t >= options_.claim_expiry) expired.push_back(i);
    }
    for (std::size_t i : expired) {
      end_flight(p, i);
      if (unclaimed(i)) refresh(i, out);
      else refresh(id, p, i, out);
    }
  }
  for (auto& [id, p] : peers_) {
    if (!p.hideable || p.missing == 0 || !p.in_flight.empty()) continue;
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
  return unclaimed(i) || p.in_flight.count(i) != 0 || p.rescued[i];
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
  if (p.in_flight.erase(i) != 0) --sending_[i];
}

namespace {

void put_u32(std::string& s, std::uint32_t v) {
  s.push_back(static_cast<char>((v >> 24) & 0xff));
  s.push_back(static_cast<char>((v >> 16) & 0xff));
  s.push_back(static_cast<char>((v >> 8) & 0xff));
  s.push_back(static_cast<char>(v & 0xff));
}

}  // namespace

std::string encode_have(int piece) {
  std::string s;
  put_u32(s, 5);
  s.push_back(4);
  put_u32(s, static_cast<std::uint32_t>(piece));
  return s;
}

std::string encode_dont_have(int extension_id, int piece) {
  std::string s;
  put_u32(s, 6);
  s.push_back(20);
  s.push_back(static_cast<char>(extension_id));
  put_u32(s, static_cast<std::uint32_t>(piece));
  return s;
}

std::string encode_reject(int piece, int start, int length) {
  std::string s;
  put_u32(s, 13);
  s.push_back(16);
  put_u32(s, static_cast<std::uint32_t>(piece));
  put_u32(s, static_cast<std::uint32_t>(start));
  put_u32(s, static_cast<std::uint32_t>(length));
  return s;
}

}  // namespace swarmboot::server
