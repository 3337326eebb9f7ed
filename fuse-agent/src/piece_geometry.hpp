// Where the bytes of a FUSE read live in the torrent: a read of [offset, offset+length) of the image file
// touches a contiguous range of pieces, and within each piece a span of bytes. Pure arithmetic, no I/O; the
// image torrent has exactly one file, so file offsets are torrent offsets.
#pragma once

#include <cstdint>
#include <vector>

namespace swarmboot::agent {

// Pieces [first, last], inclusive. Empty when first > last (a read past the end of the file).
struct PieceRange {
  int first = 0;
  int last = -1;
  bool empty() const { return first > last; }
  int size() const { return empty() ? 0 : last - first + 1; }
  bool operator==(const PieceRange&) const = default;
};

// The part of one piece a read covers.
struct PieceSpan {
  int piece = 0;
  std::int64_t offset_in_piece = 0;
  std::int64_t length = 0;
  bool operator==(const PieceSpan&) const = default;
};

class PieceGeometry {
 public:
  // file_size >= 0, piece_size > 0 (asserted: both come from a validated torrent).
  PieceGeometry(std::int64_t file_size, std::int64_t piece_size);

  std::int64_t file_size() const { return file_size_; }
  std::int64_t piece_size() const { return piece_size_; }
  int num_pieces() const { return num_pieces_; }
  // The last piece is shorter unless the file size is a multiple of the piece size.
  std::int64_t piece_length(int piece) const;
  std::int64_t piece_offset(int piece) const { return piece * piece_size_; }
  int piece_at(std::int64_t offset) const { return static_cast<int>(offset / piece_size_); }

  // The bytes of [offset, offset+length) that exist: reads past the end are cut, as read(2) does.
  std::int64_t clamped_length(std::int64_t offset, std::int64_t length) const;
  // Pieces holding the (clamped) read; empty when nothing is left to read.
  PieceRange pieces_for(std::int64_t offset, std::int64_t length) const;
  // One span per touched piece, in order; their lengths add up to clamped_length.
  std::vector<PieceSpan> spans_for(std::int64_t offset, std::int64_t length) const;

 private:
  std::int64_t file_size_;
  std::int64_t piece_size_;
  int num_pieces_;
};

}  // namespace swarmboot::agent
