// Lock-free readable-piece bitmap (see piece_bitmap.hpp).
#include "piece_bitmap.hpp"

#include <cassert>

namespace swarmboot::agent {

PieceBitmap::PieceBitmap(int num_pieces)
    : num_pieces_(num_pieces), words_(new std::atomic<std::uint64_t>[(num_pieces + 63) / 64]) {
  for (int i = 0; i < (num_pieces + 63) / 64; ++i) words_[i].store(0, std::memory_order_relaxed);
}

PieceBitmap PieceBitmap::from_string(std::string_view bits) {
  PieceBitmap b(static_cast<int>(bits.size()));
  for (size_t i = 0; i < bits.size(); ++i)
    if (bits[i] == '1') b.set(static_cast<int>(i));
  return b;
}

bool PieceBitmap::test(int piece) const {
  assert(piece >= 0 && piece < num_pieces_);
  return (words_[piece / 64].load(std::memory_order_acquire) >> (piece % 64)) & 1U;
}

bool PieceBitmap::set(int piece) {
  assert(piece >= 0 && piece < num_pieces_);
  const std::uint64_t mask = std::uint64_t{1} << (piece % 64);
  const std::uint64_t before = words_[piece / 64].fetch_or(mask, std::memory_order_acq_rel);
  if (before & mask) return false;
  count_.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

bool PieceBitmap::all(PieceRange range) const {
  for (int p = range.first; p <= range.last; ++p)
    if (!test(p)) return false;
  return true;
}

std::vector<int> PieceBitmap::missing(PieceRange range) const {
  std::vector<int> out;
  for (int p = range.first; p <= range.last; ++p)
    if (!test(p)) out.push_back(p);
  return out;
}

std::string PieceBitmap::to_string() const {
  std::string s(static_cast<size_t>(num_pieces_), '0');
  for (int p = 0; p < num_pieces_; ++p)
    if (test(p)) s[static_cast<size_t>(p)] = '1';
  return s;
}

}  // namespace swarmboot::agent
