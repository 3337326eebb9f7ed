// Per-piece rescue from the server. When a reader has waited on the swarm for `stall_after`, the agent fetches
// exactly the pieces that reader waits for from the server's image URL (an HTTP Range request per piece,
// verified against the piece hash before libtorrent takes it with add_piece). Attaching libtorrent's web seed
// instead would let it download whole runs of pieces from the server for as long as it stays attached: on a
// busy rack that made the server send nearly one image per host, the cost the swarm exists to avoid.
//
// Pure bookkeeping: which pieces to fetch now. The agent owns the HTTP worker and tells us when a fetch ends.
#pragma once

#include <functional>
#include <set>
#include <vector>

namespace swarmboot::agent {

class PieceRescue {
 public:
  explicit PieceRescue(int max_in_flight) : max_in_flight_(max_in_flight) {}

  // From the pieces stalled readers wait for (in the order they were parked), those to fetch now: not
  // readable, not already being fetched, and no more than max_in_flight fetches at once.
  std::vector<int> choose(const std::vector<int>& stalled, const std::function<bool(int)>& readable);
  // A fetch ended (delivered or failed); a failed piece may be chosen again on a later tick.
  void finished(int piece);

  int in_flight() const { return static_cast<int>(in_flight_.size()); }

 private:
  int max_in_flight_;
  std::set<int> in_flight_;
};

}  // namespace swarmboot::agent
