// Per-piece rescue bookkeeping (see piece_rescue.hpp).
#include "piece_rescue.hpp"

namespace swarmboot::agent {

std::vector<int> PieceRescue::choose(const std::vector<int>& stalled, const std::function<bool(int)>& readable) {
  std::vector<int> out;
  for (int piece : stalled) {
    if (static_cast<int>(in_flight_.size()) >= max_in_flight_) break;
    if (readable(piece) || in_flight_.count(piece) != 0) continue;
    in_flight_.insert(piece);
    out.push_back(piece);
  }
  return out;
}

void PieceRescue::finished(int piece) { in_flight_.erase(piece); }

}  // namespace swarmboot::agent
