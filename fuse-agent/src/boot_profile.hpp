// Boot profiles in the agent. Every host that boots an image reads nearly the same part of it (the Debian
// image: 11% by multi-user, DESIGN.md; more through the mount's 1 MiB readahead), in nearly the same order,
// and a rack boots them all at once. Fetched only when a read asks, each of those pieces becomes a flash
// crowd — 32 hosts wanting it from the one host that has it — while the background download fills every
// uplink with pieces nobody reads yet. Given a profile (swarmcore/boot_profile.hpp) the agent asks for its
// pieces before the rest, so the swarm spreads the boot set like a small torrent of its own, each host
// getting different pieces from the server, and the reads then find them local. `--record-reads` writes a
// profile from a real boot. Pure: the pieces a profile names, and the recorder; the agent does the I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "piece_geometry.hpp"
#include "swarmcore/boot_profile.hpp"

namespace swarmboot::agent {

// The pieces the ranges touch, each once, in the order first touched.
std::vector<int> profile_pieces(const std::vector<ByteRange>& ranges, const PieceGeometry& geometry);

// Records reads as a profile: a read is written down when it touches a piece no earlier read touched, so the
// profile stays as short as the set of pieces read, however often a block is read again.
class ReadRecorder {
 public:
  explicit ReadRecorder(const PieceGeometry& geometry);

  // True when the read was new (the profile text changed).
  bool record(std::int64_t offset, std::int64_t length);
  const std::string& text() const { return text_; }

 private:
  PieceGeometry geometry_;
  std::vector<bool> seen_;
  std::string text_;
};

}  // namespace swarmboot::agent
