// Offset → piece arithmetic (see piece_geometry.hpp).
#include "piece_geometry.hpp"

#include <algorithm>
#include <cassert>

namespace swarmboot::agent {

PieceGeometry::PieceGeometry(std::int64_t file_size, std::int64_t piece_size)
    : file_size_(file_size),
      piece_size_(piece_size),
      num_pieces_(static_cast<int>((file_size + piece_size - 1) / piece_size)) {
  assert(file_size >= 0 && piece_size > 0);
}

std::int64_t PieceGeometry::piece_length(int piece) const {
  assert(piece >= 0 && piece < num_pieces_);
  return std::min(piece_size_, file_size_ - piece_offset(piece));
}

std::int64_t PieceGeometry::clamped_length(std::int64_t offset, std::int64_t length) const {
  if (offset < 0 || length <= 0 || offset >= file_size_) return 0;
  return std::min(length, file_size_ - offset);
}

PieceRange PieceGeometry::pieces_for(std::int64_t offset, std::int64_t length) const {
  const std::int64_t len = clamped_length(offset, length);
  if (len == 0) return {};
  return {piece_at(offset), piece_at(offset + len - 1)};
}

std::vector<PieceSpan> PieceGeometry::spans_for(std::int64_t offset, std::int64_t length) const {
  std::vector<PieceSpan> spans;
  const PieceRange range = pieces_for(offset, length);
  const std::int64_t end = offset + clamped_length(offset, length);
  for (int p = range.first; p <= range.last; ++p) {
    const std::int64_t begin = std::max(offset, piece_offset(p));
    const std::int64_t stop = std::min(end, piece_offset(p) + piece_length(p));
    spans.push_back({p, begin - piece_offset(p), stop - begin});
  }
  return spans;
}

}  // namespace swarmboot::agent
