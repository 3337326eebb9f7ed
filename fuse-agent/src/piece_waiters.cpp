// The parked-read table (see piece_waiters.hpp).
#include "piece_waiters.hpp"

#include <algorithm>
#include <cassert>

namespace swarmboot::agent {

void PieceWaiters::park(ReadId id, const std::vector<int>& missing, SteadyTime parked_at, SteadyTime deadline) {
  assert(!missing.empty());
  assert(!reads_.contains(id));
  Parked read{std::set<int>(missing.begin(), missing.end()), parked_at, deadline};
  for (int p : read.missing) by_piece_[p].push_back(id);
  reads_.emplace(id, std::move(read));
}

std::vector<ReadId> PieceWaiters::piece_readable(int piece) {
  std::vector<ReadId> done;
  auto it = by_piece_.find(piece);
  if (it == by_piece_.end()) return done;
  std::vector<ReadId> ids = std::move(it->second);
  by_piece_.erase(it);
  for (ReadId id : ids) {
    auto r = reads_.find(id);
    if (r == reads_.end()) continue;
    r->second.missing.erase(piece);
    if (r->second.missing.empty()) {
      done.push_back(id);
      reads_.erase(r);
    }
  }
  std::sort(done.begin(), done.end());
  return done;
}

void PieceWaiters::forget(ReadId id, const Parked& read) {
  for (int p : read.missing) {
    auto it = by_piece_.find(p);
    if (it == by_piece_.end()) continue;
    std::erase(it->second, id);
    if (it->second.empty()) by_piece_.erase(it);
  }
}

std::vector<ReadId> PieceWaiters::expire(SteadyTime now) {
  std::vector<ReadId> expired;
  for (auto it = reads_.begin(); it != reads_.end();) {
    if (it->second.deadline <= now) {
      expired.push_back(it->first);
      forget(it->first, it->second);
      it = reads_.erase(it);
    } else {
      ++it;
    }
  }
  return expired;
}

std::vector<ReadId> PieceWaiters::drain() {
  std::vector<ReadId> all;
  for (const auto& [id, read] : reads_) all.push_back(id);
  reads_.clear();
  by_piece_.clear();
  return all;
}

std::optional<SteadyTime> PieceWaiters::oldest_parked() const {
  std::optional<SteadyTime> oldest;
  for (const auto& [id, read] : reads_)
    if (!oldest || read.parked_at < *oldest) oldest = read.parked_at;
  return oldest;
}

std::vector<int> PieceWaiters::pieces_waited_on_since(SteadyTime cutoff) const {
  std::set<int> pieces;
  for (const auto& [id, read] : reads_)
    if (read.parked_at <= cutoff) pieces.insert(read.missing.begin(), read.missing.end());
  return {pieces.begin(), pieces.end()};
}

std::vector<int> PieceWaiters::missing_of(ReadId id) const {
  auto it = reads_.find(id);
  if (it == reads_.end()) return {};
  return {it->second.missing.begin(), it->second.missing.end()};
}

}  // namespace swarmboot::agent
