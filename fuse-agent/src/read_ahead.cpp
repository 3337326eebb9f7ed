// Read-ahead window (see read_ahead.hpp).
#include "read_ahead.hpp"

#include <algorithm>

namespace swarmboot::agent {

int ReadAhead::max_window() const {
  const auto by_bytes = static_cast<int>(std::max<std::int64_t>(1, config_.max_bytes / geometry_.piece_size()));
  return std::max(1, std::min(config_.max_pieces, by_bytes));
}

std::vector<Prefetch> ReadAhead::on_read(std::int64_t offset, std::int64_t length) {
  const PieceRange range = geometry_.pieces_for(offset, length);
  if (range.empty()) return {};
  const std::int64_t end = offset + geometry_.clamped_length(offset, length);

  const bool sequential = next_offset_ >= 0 && offset + config_.sequential_slack >= next_offset_ &&
                          offset <= next_offset_ + config_.sequential_slack;
  if (!sequential) {
    window_ = 0;
  } else if (range.last > last_piece_) {
    window_ = std::min(max_window(), std::max(1, window_ * 2));
  }
  // Reads from several FUSE threads arrive slightly out of order: never move the run backwards.
  if (!sequential || end > next_offset_) next_offset_ = end;
  if (!sequential || range.last > last_piece_) last_piece_ = range.last;

  std::vector<Prefetch> out;
  for (int i = 1; i <= window_ && last_piece_ + i < geometry_.num_pieces(); ++i)
    out.push_back({last_piece_ + i, config_.first_deadline_ms + (i - 1) * config_.deadline_step_ms});
  return out;
}

}  // namespace swarmboot::agent
