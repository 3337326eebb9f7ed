// Verified-then-fenced piece bookkeeping (see write_fence.hpp).
#include "write_fence.hpp"

#include <utility>

namespace swarmboot::agent {

void WriteFence::piece_verified(int piece) { pending_.push_back(piece); }

void WriteFence::flush_issued(Clock::time_point now) {
  next_unforced_ = now + min_interval_;
  riding_.insert(riding_.end(), pending_.begin(), pending_.end());
  pending_.clear();
  in_flight_ = true;
}

std::vector<int> WriteFence::flush_done() {
  in_flight_ = false;
  return std::exchange(riding_, {});
}

}  // namespace swarmboot::agent
