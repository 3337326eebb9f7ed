// Boot profiles in the agent. Every host that boots an image reads nearly the same part of it (the Debian
// image: 11% by multi-user, DESIGN.md; a little more through the mount's readahead), in nearly the same order,
// and a rack boots them all at once. Fetched only when a read asks, each of those pieces becomes a flash
// crowd — 32 hosts wanting it from the one host that has it — while the background download fills every
// uplink with pieces nobody reads yet. Given a profile (swarmcore/boot_profile.hpp) the agent asks for its
// pieces before the rest, so the swarm spreads the boot set like a small torrent of its own, each host
// getting different pieces from the server, and the reads then find them local. `--record-reads` writes a
// profile from a real boot. Pure: the pieces a profile names, the recorder, and when to let the background in;
// the agent does the I/O.
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

// Profile first: a fresh host downloads nothing but its profile, then the background starts (priority 0
// -> 1):
//   - while the mount is being read (a boot is under way), once all but `min_overlap` profile pieces are
//     held. Priorities alone are not strict (above), and a host's downlink is the limit: with the background
//     at 1 from the start the profile pieces shared the link with everything else and reached each host only
//     near the end of its whole download; released at half the profile, a rack's lazy boot at N = 32 took
//     12.5-15.6 s against 12.1-13.0 s (docs/benchmarks.md, "Reading the default run (2026-11-28 ...)").
//   - while nothing has read the mount, once half the profile is held (or all but `min_overlap`, if
//     sooner). Holding out for all but 8 of a 70-piece profile left the whole rack trading only profile
//     pieces: the server ran out of unclaimed ones and idled, and full distribution at N = 32 took
//     46.8-47.9 s against 44.1-44.2 s released at half.
// The overlap keeps the torrent from ever being "finished" with only the profile held (libtorrent would then
// announce upload-only and drop its connections to seeds).
class ProfileFirst {
 public:
  ProfileFirst(const std::vector<int>& profile, int num_pieces, int min_overlap);

  // Nothing to hold back: the profile is short, or (after piece_held) nearly complete.
  bool released() const { return released_; }
  // A piece became held; true exactly once, when the background should start. `reading`: the mount has been
  // read since the agent started.
  bool piece_held(int piece, bool reading);
  // Start the background now, whatever is missing.
  void release() { released_ = true; }
  bool in_profile(int piece) const;

 private:
  std::vector<bool> in_profile_;
  std::vector<bool> pending_;  // profile pieces not yet held
  int missing_ = 0;
  int release_reading_ = 0;  // released once at most this many profile pieces are missing, while read
  int release_unread_ = 0;   // ... while nothing has read the mount
  bool released_ = false;
};

}  // namespace swarmboot::agent
