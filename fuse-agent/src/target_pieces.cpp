// Target scan and copy bookkeeping (see target_pieces.hpp).
#include "target_pieces.hpp"

#include <libtorrent/hasher.hpp>

#include <cassert>

namespace swarmboot::agent {

bool piece_matches(std::string_view bytes, std::string_view sha1) {
  if (sha1.size() != 20) return false;
  lt::hasher h(bytes.data(), static_cast<int>(bytes.size()));
  const lt::sha1_hash digest = h.final();
  return std::string_view(digest.data(), digest.size()) == sha1;
}

Result<std::vector<bool>> scan_target_pieces(const PieceGeometry& geometry, const std::vector<std::string>& piece_hashes,
                                             const TargetReader& read) {
  assert(static_cast<int>(piece_hashes.size()) == geometry.num_pieces());
  std::vector<bool> valid(static_cast<size_t>(geometry.num_pieces()), false);
  for (int p = 0; p < geometry.num_pieces(); ++p) {
    auto bytes = read(geometry.piece_offset(p), geometry.piece_length(p));
    if (!bytes) return wrap("could not scan the target for piece " + std::to_string(p), bytes.error());
    valid[static_cast<size_t>(p)] = piece_matches(*bytes, piece_hashes[static_cast<size_t>(p)]);
  }
  return valid;
}

std::string resumed_message(int on_target, int total) {
  return "resumed: " + std::to_string(on_target) + " of " + std::to_string(total) + " pieces already on the target";
}

TargetPieces::TargetPieces(const PieceGeometry& geometry, std::int64_t sync_every_bytes)
    : geometry_(geometry),
      sync_every_bytes_(sync_every_bytes),
      on_target_(static_cast<size_t>(geometry.num_pieces()), false) {}

void TargetPieces::found(const std::vector<bool>& valid) {
  for (size_t p = 0; p < valid.size() && p < on_target_.size(); ++p) {
    if (valid[p] && !on_target_[p]) {
      on_target_[p] = true;
      ++on_target_count_;
    }
  }
}

void TargetPieces::copied(int piece) {
  const auto i = static_cast<size_t>(piece);
  const std::int64_t len = geometry_.piece_length(piece);
  bytes_copied_ += len;
  unsynced_bytes_ += len;
  if (!on_target_[i]) {
    on_target_[i] = true;
    ++on_target_count_;
  }
}

}  // namespace swarmboot::agent
