// Boot profile pieces and the read recorder (see boot_profile.hpp).
#include "boot_profile.hpp"

#include <algorithm>

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

ProfileFirst::ProfileFirst(const std::vector<int>& profile, int num_pieces, int min_overlap)
    : in_profile_(static_cast<size_t>(num_pieces), false), pending_(in_profile_) {
  for (int p : profile) {
    if (p < 0 || p >= num_pieces || pending_[static_cast<size_t>(p)]) continue;
    in_profile_[static_cast<size_t>(p)] = true;
    pending_[static_cast<size_t>(p)] = true;
    ++missing_;
  }
  release_reading_ = min_overlap;
  release_unread_ = std::max(min_overlap, missing_ / 2);
  released_ = missing_ <= release_reading_;
}

bool ProfileFirst::in_profile(int piece) const {
  return piece >= 0 && piece < static_cast<int>(in_profile_.size()) && in_profile_[static_cast<size_t>(piece)];
}

bool ProfileFirst::piece_held(int piece, bool reading) {
  if (released_) return false;
  if (in_profile(piece) && pending_[static_cast<size_t>(piece)]) {
    pending_[static_cast<size_t>(piece)] = false;
    --missing_;
  }
  if (missing_ > (reading ? release_reading_ : release_unread_)) return false;
  released_ = true;
  return true;
}

}  // namespace swarmboot::agent
