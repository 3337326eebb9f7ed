// The agent's own record of which pieces are *readable*: hash-verified by libtorrent AND known to be in the
// cache file. The FUSE read path consults it on every read, so it is lock-free (atomic words) and never asks
// libtorrent (torrent_handle::have_piece() blocks on the network thread). Bits are only ever set, except by
// a full resync after libtorrent dropped alerts.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "piece_geometry.hpp"

namespace swarmboot::agent {

class PieceBitmap {
 public:
  explicit PieceBitmap(int num_pieces);
  // Moving is for construction only (from_string); never move a bitmap other threads read.
  PieceBitmap(PieceBitmap&& other) noexcept
      : num_pieces_(other.num_pieces_), words_(std::move(other.words_)), count_(other.count_.load()) {}
  // Test helper and resync input: "1101" = pieces 0, 1 and 3 readable.
  static PieceBitmap from_string(std::string_view bits);

  int size() const { return num_pieces_; }
  int count() const { return count_.load(std::memory_order_acquire); }
  bool all_set() const { return count() == num_pieces_; }

  // Acquire: a reader that sees the bit also sees everything done before set() (the write fence).
  bool test(int piece) const;
  // Release; returns true if the bit was newly set (so callers wake waiters once).
  bool set(int piece);

  bool all(PieceRange range) const;
  std::vector<int> missing(PieceRange range) const;
  std::string to_string() const;

 private:
  int num_pieces_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> words_;
  std::atomic<int> count_{0};
};

}  // namespace swarmboot::agent
