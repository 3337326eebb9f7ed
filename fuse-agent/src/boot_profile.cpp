// Boot profile pieces and the read recorder (see boot_profile.hpp).
#include "boot_profile.hpp"

#include <fmt/format.h>

namespace swarmboot::agent {

std::vector<int> profile_pieces(const std::vector<ByteRange>& ranges, const PieceGeometry& geometry) {
  std::vector<int> pieces;
  std::vector<bool> seen(static_cast<size_t>(geometry.num_pieces()), false);
  for (const auto& r : ranges) {
    const PieceRange range = geometry.pieces_for(r.offset, r.length);
    for (int p = range.first; p <= range.last; ++p) {
      if (seen[static_cast<size_t>(p)]) continue;
      seen[static_cast<size_t>(p)] = true;
      pieces.push_back(p);
    }
  }
  return pieces;
}

ReadRecorder::ReadRecorder(const PieceGeometry& geometry)
    : geometry_(geometry), seen_(static_cast<size_t>(geometry.num_pieces()), false) {}

bool ReadRecorder::record(std::int64_t offset, std::int64_t length) {
  const PieceRange r = geometry_.pieces_for(offset, length);
  bool fresh = false;
  for (int p = r.first; p <= r.last; ++p) {
    if (seen_[static_cast<size_t>(p)]) continue;
    seen_[static_cast<size_t>(p)] = true;
    fresh = true;
  }
  if (fresh) text_ += fmt::format("{} {}\n", offset, length);
  return fresh;
}

}  // namespace swarmboot::agent
