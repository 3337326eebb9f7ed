// When a hash-verified piece may be read from the cache file.
//
// libtorrent 2.0.8 posts piece_finished_alert as soon as the piece's hash passed, and the hash job reads the
// blocks from the disk thread's store buffer (mmap_disk_io::do_hash → m_store_buffer.get), so the write jobs
// for those blocks may still be queued: a pread() of the cache file right after the alert can return zeros.
// torrent_handle::flush_cache() issues async_release_files, a *fence* job (mmap_disk_io::add_fence_job,
// disk_job_fence): it runs only after every job already issued on the torrent's storage has completed —
// including the verified pieces' writes, which were issued before their hash job — and then posts
// cache_flushed_alert. So a piece is readable once a flush issued after its piece_finished_alert completed.
//
// A flush is not free: async_release_files closes the cache file, so mmap_disk_io unmaps its whole view
// (a TLB shootdown on every core the process ran on) and the next write or upload maps and faults it in
// again. Flushing after every verified piece put 16% of both cores' perf samples under munmap (12% in TLB
// shootdowns) during a full distribution at N = 32; at most one flush a second, 3.5% (docs/benchmarks.md).
// So unless a read is waiting, flushes are at least `min_interval` apart; a parked read asks for one at once
// ("urgent").
//
// This class is that bookkeeping, pure: verified pieces wait as "pending"; one flush at a time takes all
// pending pieces with it; its completion makes exactly those readable. Flushes batch naturally: everything
// verified while one is in flight, or within the interval, rides the next one.
#pragma once

#include <chrono>
#include <vector>

namespace swarmboot::agent {

class WriteFence {
 public:
  using Clock = std::chrono::steady_clock;

  explicit WriteFence(std::chrono::milliseconds min_interval = std::chrono::milliseconds(0))
      : min_interval_(min_interval) {}

  // piece_finished_alert for `piece`.
  void piece_verified(int piece);
  // Whether to call flush_cache() now: something is pending, no flush is in flight, and a read waits
  // (`urgent`) or the last flush was issued at least min_interval ago.
  bool want_flush(Clock::time_point now, bool urgent) const {
    return !pending_.empty() && !in_flight_ && (urgent || now >= next_unforced_);
  }
  // flush_cache() was called: the pending pieces ride this flush.
  void flush_issued(Clock::time_point now);
  // cache_flushed_alert: the pieces that rode the completed flush, now on disk. Empty if none was ours.
  std::vector<int> flush_done();

  bool flush_in_flight() const { return in_flight_; }
  const std::vector<int>& pending() const { return pending_; }

 private:
  std::vector<int> pending_;   // verified, not yet fenced
  std::vector<int> riding_;    // verified before the in-flight flush was issued
  bool in_flight_ = false;
  std::chrono::milliseconds min_interval_;
  Clock::time_point next_unforced_{};  // no flush without a waiting read before this
};

}  // namespace swarmboot::agent
