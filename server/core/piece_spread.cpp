// Spread seeding; see piece_spread.hpp.
#include "core/piece_spread.hpp"

#include <algorithm>
#include <limits>

namespace swarmboot::server {

PieceSpread::PieceSpread(int num_pieces, SpreadOptions options)
    : options_(options),
      holders_(static_cast<std::size_t>(std::max(num_pieces, 0)), 0),
      sending_(static_cast<std::size_t>(std::max(num_pieces, 0)), 0),
      offered_(static_cast<std::size_t>(std::max(num_pieces, 0)), 0) {}

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
    if (gone.rescued[i]) --offered_[i];
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
  if (p.rescued[i]) {
    p.rescued[i] = false;
    --offered_[i];
  }
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
    show_least_held(id, p, options_.rescue_pieces, out);
  }
  top_up(out);
}

void PieceSpread::top_up(Actions& out) {
  int in_flight = 0;
  for (std::size_t i = 0; i < holders_.size(); ++i) {
    // A piece nobody holds or is being sent is shown to every host: the server still has something new.
    if (unclaimed(i)) return;
    in_flight += sending_[i];
  }
  if (in_flight >= options_.idle_below) return;
  // The hosts furthest behind first; among equals, the lower id (a stable order).
  std::vector<std::pair<int, std::uint64_t>> behind;
  for (const auto& [id, p] : peers_) {
    if (p.hideable && p.missing > 0 && p.in_flight.empty()) behind.emplace_back(p.missing, id);
  }
  std::sort(behind.begin(), behind.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  int budget = options_.top_up_pieces - in_flight;
  for (const auto& [missing, id] : behind) {
    if (budget <= 0) break;
    Peer& p = peers_.at(id);
    // Pieces shown to it before and not yet in (peer_has clears the mark): it has not asked for them, so it
    // needs no more.
    const int outstanding = static_cast<int>(std::count(p.rescued.begin(), p.rescued.end(), true));
    const int k = std::min(budget, options_.top_up_per_host - outstanding);
    if (k > 0) budget -= show_least_held(id, p, k, out);
  }
}

int PieceSpread::show_least_held(std::uint64_t id, Peer& p, int k, Actions& out) {
  // The hidden pieces it lacks that the fewest hosts hold, are being sent or were shown this way and not yet
  // taken; ties broken from a per-host offset, so hosts shown pieces at the same moment ask for different ones.
  std::vector<std::size_t> candidates;
  for (std::size_t i = 0; i < holders_.size(); ++i) {
    if (!p.has[i] && !p.shown[i]) candidates.push_back(i);
  }
  const std::size_t n = holders_.size();
  const std::size_t offset = n == 0 ? 0 : static_cast<std::size_t>(id % n);
  const std::size_t take = std::min(candidates.size(), static_cast<std::size_t>(std::max(k, 0)));
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(take), candidates.end(),
                    [&](std::size_t a, std::size_t b) {
                      const int ca = holders_[a] + sending_[a] + offered_[a];
                      const int cb = holders_[b] + sending_[b] + offered_[b];
                      if (ca != cb) return ca < cb;
                      return (a + n - offset) % n < (b + n - offset) % n;
                    });
  for (std::size_t j = 0; j < take; ++j) {
    p.rescued[candidates[j]] = true;
    ++offered_[candidates[j]];
    refresh(id, p, candidates[j], out);
  }
  return static_cast<int>(take);
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
