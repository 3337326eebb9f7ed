// Which pieces of the image are on the install target, and which still have to be copied there.
//
// The rule `swarmboot-agent install` lives by: no byte reaches the target unless its piece passed the
// torrent's SHA-1 check. So the target's state is a set of pieces, each either exactly the image's bytes or
// not counted; on start the target is scanned piece by piece against the torrent's hashes (a machine switched
// off mid-install keeps what it wrote and verified), and during the download a piece is copied from the cache
// file once libtorrent verified it and the write fence says it is in the cache file.
//
// Pure: the scan reads through a function and hashes with libtorrent's SHA-1; the bookkeeping is plain state.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "piece_geometry.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::agent {

// Reads exactly `length` bytes at `offset` of the target (or an Error saying why not).
using TargetReader = std::function<Result<std::string>(std::int64_t offset, std::int64_t length)>;

// Whether `bytes` hash to `sha1` (20 raw bytes), the torrent's hash for that piece.
bool piece_matches(std::string_view bytes, std::string_view sha1);

// For every piece-sized region of the target, whether it holds exactly that piece (piece_hashes[i] is the
// torrent's 20-byte SHA-1 of piece i). A read error is an Error: a disk that cannot be read is not "empty".
Result<std::vector<bool>> scan_target_pieces(const PieceGeometry& geometry, const std::vector<std::string>& piece_hashes,
                                             const TargetReader& read);

// "resumed: K of N pieces already on the target" — the line /init shows and the tests look for.
std::string resumed_message(int on_target, int total);

// The install's bookkeeping: pieces on the target (copied, or found by the scan) and when to fdatasync.
class TargetPieces {
 public:
  // `sync_every_bytes`: fdatasync after this many bytes were copied since the last one (and at the end), so a
  // power cut loses little and the page cache never holds much unsynced image.
  TargetPieces(const PieceGeometry& geometry, std::int64_t sync_every_bytes);

  // The scan's answer: those pieces are on the target already.
  void found(const std::vector<bool>& valid);
  // Whether a piece verified in the cache still has to be copied (false when already on the target).
  bool needs_copy(int piece) const { return !on_target_[static_cast<size_t>(piece)]; }
  // The piece was written to the target.
  void copied(int piece);
  // fdatasync done.
  void synced() { unsynced_bytes_ = 0; }
  bool want_sync() const { return unsynced_bytes_ >= sync_every_bytes_ || (complete() && unsynced_bytes_ > 0); }
  std::int64_t unsynced_bytes() const { return unsynced_bytes_; }

  int on_target() const { return on_target_count_; }
  int total() const { return geometry_.num_pieces(); }
  bool complete() const { return on_target_count_ == geometry_.num_pieces(); }
  double progress() const { return total() == 0 ? 1.0 : static_cast<double>(on_target_count_) / total(); }
  std::int64_t bytes_copied() const { return bytes_copied_; }

 private:
  PieceGeometry geometry_;
  std::int64_t sync_every_bytes_;
  std::vector<bool> on_target_;
  int on_target_count_ = 0;
  std::int64_t bytes_copied_ = 0;    // this run, not the scan's
  std::int64_t unsynced_bytes_ = 0;
};

}  // namespace swarmboot::agent
