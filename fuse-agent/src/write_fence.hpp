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
// This class is that bookkeeping, pure: verified pieces wait as "pending"; one flush at a time takes all
// pending pieces with it; its completion makes exactly those readable. Flushes batch naturally: everything
// verified while one is in flight rides the next one.
#pragma once

#include <vector>

namespace swarmboot::agent {

class WriteFence {
 public:
  // piece_finished_alert for `piece`.
  void piece_verified(int piece);
  // Whether to call flush_cache() now: something is pending and no flush is in flight.
  bool want_flush() const { return !pending_.empty() && !in_flight_; }
  // flush_cache() was called: the pending pieces ride this flush.
  void flush_issued();
  // cache_flushed_alert: the pieces that rode the completed flush, now on disk. Empty if none was ours.
  std::vector<int> flush_done();

  bool flush_in_flight() const { return in_flight_; }
  const std::vector<int>& pending() const { return pending_; }

 private:
  std::vector<int> pending_;   // verified, not yet fenced
  std::vector<int> riding_;    // verified before the in-flight flush was issued
  bool in_flight_ = false;
};

}  // namespace swarmboot::agent
