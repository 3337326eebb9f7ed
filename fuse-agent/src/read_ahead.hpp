// The read-ahead window: when reads run sequentially through the image (a loop device reading a squashfs
// directory, a kernel loading a module), the pieces after the run are asked for before anyone reads them, with
// deadlines that grow with distance, so the swarm delivers them in order. The window doubles with every
// sequential read that enters a new piece and collapses to nothing on a seek, so a random read pattern (most
// of a boot) does not pull in pieces nobody will read.
//
// Pure and single-threaded: the owner guards it with a mutex.
#pragma once

#include <cstdint>
#include <vector>

#include "piece_geometry.hpp"

namespace swarmboot::agent {

struct ReadAheadConfig {
  int max_pieces = 16;                   // the window never exceeds this many pieces
  std::int64_t max_bytes = 8 << 20;      // nor this many bytes (small pieces → more of them)
  int first_deadline_ms = 500;           // deadline of the first piece after the run
  int deadline_step_ms = 250;            // each further piece gets this much more time
  std::int64_t sequential_slack = 256 << 10;  // reordered reads from several FUSE threads still count
};

struct Prefetch {
  int piece = 0;
  int deadline_ms = 0;
  bool operator==(const Prefetch&) const = default;
};

class ReadAhead {
 public:
  ReadAhead(PieceGeometry geometry, ReadAheadConfig config = {}) : geometry_(geometry), config_(config) {}

  // Records a read and returns the pieces after it worth asking for now (possibly already present: the
  // caller filters those it has or already asked for).
  std::vector<Prefetch> on_read(std::int64_t offset, std::int64_t length);

  int window() const { return window_; }

 private:
  int max_window() const;

  PieceGeometry geometry_;
  ReadAheadConfig config_;
  std::int64_t next_offset_ = -1;  // where a sequential continuation would start
  int last_piece_ = -1;            // last piece of the previous read
  int window_ = 0;
};

}  // namespace swarmboot::agent
