// Parked FUSE reads, keyed by the pieces they still need. A read that touches missing pieces is parked here
// (no thread waits for it); it completes when the last of its missing pieces becomes readable, or fails when
// its deadline passes or the agent shuts down. Every parked read leaves the table exactly once, through
// exactly one of piece_readable(), expire() or drain(), so the FUSE request behind it is answered once.
//
// Not thread-safe: the owner guards it with one mutex and replies to FUSE after releasing it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

namespace swarmboot::agent {

using ReadId = std::uint64_t;
using SteadyTime = std::chrono::steady_clock::time_point;

class PieceWaiters {
 public:
  // Parks `id` until every piece in `missing` (non-empty) is readable, or until `deadline`.
  void park(ReadId id, const std::vector<int>& missing, SteadyTime parked_at, SteadyTime deadline);

  // `piece` became readable: the reads for which it was the last missing piece, in park order.
  std::vector<ReadId> piece_readable(int piece);
  // Reads whose deadline is at or before `now`, removed from the table.
  std::vector<ReadId> expire(SteadyTime now);
  // Every parked read, removed (shutdown).
  std::vector<ReadId> drain();

  size_t size() const { return reads_.size(); }
  // When the longest-waiting read was parked; nullopt when none is.
  std::optional<SteadyTime> oldest_parked() const;
  // Pieces some read parked at or before `cutoff` still waits for (for the web seed fallback and logs).
  std::vector<int> pieces_waited_on_since(SteadyTime cutoff) const;
  // Pieces a parked read still needs (empty when not parked).
  std::vector<int> missing_of(ReadId id) const;

 private:
  struct Parked {
    std::set<int> missing;
    SteadyTime parked_at;
    SteadyTime deadline;
  };
  void forget(ReadId id, const Parked& read);

  std::map<ReadId, Parked> reads_;                           // ids grow, so map order = park order
  std::unordered_map<int, std::vector<ReadId>> by_piece_;    // piece -> reads still missing it
};

}  // namespace swarmboot::agent
