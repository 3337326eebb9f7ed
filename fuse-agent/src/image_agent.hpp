// ImageAgent: one image from the swarm, served to FUSE readers. It owns the libtorrent session and torrent,
// the readable-piece bitmap, the parked-read table and the read-ahead window, and two threads of its own:
//
//  - the alert thread, woken by set_alert_notify: piece_finished → write fence → readable → parked reads
//    answered; it also expires parked reads past --read-timeout (EIO, with a log line why);
//  - the tick thread, once a second: status file and report, web seed fallback, swarm statistics. Calls
//    that block on libtorrent's network thread (status(), get_peer_info()) happen only here;
//  - the rescue thread: fetches, over HTTP from the server, exactly the pieces a read has waited on the swarm
//    for longer than --stall-after, checks each against its piece hash and hands it to libtorrent
//    (add_piece), which then passes it through the same hash check and write fence as a peer's piece (see
//    piece_rescue.hpp). libtorrent's own web seed is attached only when there is no swarm at all.
//
// FUSE worker threads call read(): served at once from the cache file when every piece is readable, else
// parked (no thread waits) with the missing pieces made time-critical.
//
// Lock order: reads_mutex_ before nothing else (it is never held while calling libtorrent or replying to
// FUSE); read_ahead_mutex_ likewise. The bitmap and the deadline marks are lock-free.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <libtorrent/session.hpp>
#include <libtorrent/torrent_handle.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "agent_options.hpp"
#include "agent_status.hpp"
#include "boot_profile.hpp"
#include "piece_bitmap.hpp"
#include "piece_geometry.hpp"
#include "piece_rescue.hpp"
#include "piece_waiters.hpp"
#include "read_ahead.hpp"
#include "swarmcore/image_torrent.hpp"
#include "swarmcore/log.hpp"
#include "swarmcore/result.hpp"
#include "webseed_fallback.hpp"
#include "write_fence.hpp"

namespace swarmboot::agent {

class ImageAgent {
 public:
  ImageAgent(MountOptions options, ImageTorrent torrent, std::string report_token, Logger log);
  ~ImageAgent();
  ImageAgent(const ImageAgent&) = delete;
  ImageAgent& operator=(const ImageAgent&) = delete;

  // Starts the session, adds the torrent (resuming from the cache directory) and the threads. Call after
  // any fork. An Error when libtorrent cannot listen or add the torrent.
  Status start();

  // FUSE read of [offset, offset+size): replies now or parks the request; replies exactly once.
  void read(fuse_req_t req, size_t size, off_t offset);

  // Answers every parked read with EIO and stops the threads (FUSE loop already left).
  void stop_serving();
  // Saves resume data to the cache directory (bounded wait) and closes the session.
  void shut_down();

  const ImageTorrent& torrent() const { return torrent_; }
  std::filesystem::path cache_file() const { return cache_dir_ / torrent_.name; }
  std::filesystem::path resume_file() const { return cache_dir_ / (torrent_.name + ".resume"); }

 private:
  struct PendingRead {
    fuse_req_t req;
    std::int64_t offset;
    std::int64_t length;
    std::chrono::steady_clock::time_point started;
  };

  void alert_loop();
  void tick_loop();
  void handle_alerts();
  void mark_readable(int piece);
  void resync_from_libtorrent(bool through_fence);
  void profile_piece_held(int piece);
  void release_background(std::string_view why);
  void expire_parked_reads();
  void request_pieces(const std::vector<int>& critical, const std::vector<Prefetch>& prefetch);
  void reply_from_cache(fuse_req_t req, std::int64_t offset, std::int64_t length,
                        std::chrono::steady_clock::time_point started);
  void reply_error(const PendingRead& read, int error);
  bool ensure_cache_fd();
  void update_status();
  void record_latency(std::chrono::steady_clock::duration d);
  void save_resume_data_now();

  const MountOptions options_;
  const ImageTorrent torrent_;
  const std::string report_token_;
  const std::filesystem::path cache_dir_;
  const Logger log_;
  const PieceGeometry geometry_;

  std::unique_ptr<lt::session> session_;
  lt::torrent_handle handle_;
  std::atomic<int> cache_fd_{-1};

  PieceBitmap readable_;
  // 0: no deadline asked, 1: read-ahead deadline, 2: time-critical (deadline 0). Only ever raised, so each
  // piece gets at most two set_piece_deadline calls: setting deadlines cancels outstanding requests.
  std::unique_ptr<std::atomic<std::uint8_t>[]> deadline_mark_;

  std::mutex reads_mutex_;
  PieceWaiters waiters_;                                   // guarded by reads_mutex_
  std::unordered_map<ReadId, PendingRead> pending_;        // guarded by reads_mutex_
  ReadId next_read_id_ = 1;                                // guarded by reads_mutex_

  // --record-reads: the reads so far as a boot profile, written out by the tick thread when it grew.
  std::mutex recorder_mutex_;
  std::optional<ReadRecorder> recorder_;                   // guarded by recorder_mutex_
  bool recorder_dirty_ = false;                            // guarded by recorder_mutex_
  void save_recorded_reads();

  std::mutex read_ahead_mutex_;
  ReadAhead read_ahead_;                                   // guarded by read_ahead_mutex_

  // At least this many profile pieces overlap the start of the background (ProfileFirst).
  static constexpr int kProfileOverlapPieces = 8;
  std::optional<ProfileFirst> profile_first_;              // set by start(); then the alert thread only
  std::atomic<bool> mount_read_{false};                    // set by the first FUSE read: a boot is under way

  // Without a waiting read, cache flushes (write_fence.hpp) at most this often.
  static constexpr std::chrono::milliseconds kUnforcedFlushInterval{1000};
  WriteFence fence_{kUnforcedFlushInterval};               // alert thread only
  WebSeedFallback webseed_fallback_;                       // tick thread only
  std::int64_t webseed_bytes_ = 0;                         // tick thread only
  std::atomic<int> swarm_peers_{0};                        // written by the tick thread, for logs
  std::atomic<bool> webseed_attached_{false};              // written by the tick thread, for logs
  std::unordered_map<std::string, std::int64_t> webseed_seen_;  // tick thread only: per connection

  std::mutex latency_mutex_;
  std::deque<double> latencies_ms_;                        // guarded by latency_mutex_, last 2048 reads

  std::mutex wake_mutex_;
  std::condition_variable wake_;                           // the alert thread's
  std::condition_variable tick_wake_;                      // the tick thread's (stop only)
  bool alerts_pending_ = false;                            // guarded by wake_mutex_
  std::atomic<bool> stopping_{false};
  std::atomic<bool> fatal_{false};
  std::string fatal_message_;                              // written once before fatal_ is set
  std::atomic<bool> checked_{false};

  std::string last_state_;                                 // tick thread only
  std::chrono::steady_clock::time_point last_report_{};    // tick thread only

  // Reports go out from their own thread, so a slow or absent server never delays the status file or the
  // web seed fallback; only the newest unsent report is kept.
  std::mutex report_mutex_;
  std::condition_variable report_wake_;
  std::optional<AgentStatus> report_slot_;                 // guarded by report_mutex_
  void report_loop();

  // Per-piece rescue over HTTP: the tick thread chooses, the rescue thread fetches.
  std::mutex rescue_mutex_;
  std::condition_variable rescue_wake_;
  PieceRescue rescue_{4};                                  // guarded by rescue_mutex_
  std::deque<int> rescue_queue_;                           // guarded by rescue_mutex_
  std::atomic<std::int64_t> rescued_bytes_{0};
  void choose_rescues();
  void rescue_loop();
  void rescue_piece(int piece);

  std::thread alert_thread_;
  std::thread tick_thread_;
  std::thread report_thread_;
  std::thread rescue_thread_;
};

}  // namespace swarmboot::agent
