// DiskInstaller: `swarmboot-agent install` — streams an image from the swarm onto a disk (or a file), one
// verified piece at a time, and proves the result by reading it back.
//
//   scan the target (pieces already there, hashed: a machine switched off mid-install resumes)
//   → seed those pieces into the cache file so libtorrent's start-up check finds them (it re-checks a cache
//     file that has no resume data: mmap_disk_io::do_check_fastresume → need_full_check)
//   → download the rest (rarest first: every piece is needed, and the swarm gains from it)
//   → piece_finished_alert → write fence (write_fence.hpp) → the piece is in the cache file → read it back,
//     hash it once more, pwrite it to the target at the same offset; fdatasync every 32 MiB and at the end
//   → all pieces on the target: fdatasync, drop the target's page cache, read every piece back and hash it
//   → report installed, keep seeding from the cache for --seed-after seconds (or until SIGTERM) → exit 0.
//
// It runs in the caller's thread (the foreground process /init waits for); one extra thread posts reports
// so a slow server never delays copying. Blocking libtorrent calls (status(), get_peer_info()) are made only
// from the caller's thread, which has no latency-sensitive work of its own. The pieces it composes with mount
// mode: the LAN session settings, the write fence, the web seed fallback (fed "no new piece for
// --stall-after" instead of "a read parked that long") and the status JSON.
#pragma once

#include <signal.h>

#include <libtorrent/session.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_info.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "install_options.hpp"
#include "install_status.hpp"
#include "install_target.hpp"
#include "piece_geometry.hpp"
#include "swarmcore/image_torrent.hpp"
#include "swarmcore/log.hpp"
#include "swarmcore/result.hpp"
#include "target_pieces.hpp"
#include "webseed_fallback.hpp"
#include "write_fence.hpp"

namespace swarmboot::agent {

// An install target opened for writing.
struct InstallTarget {
  std::string path;
  int fd = -1;
  std::int64_t size = 0;      // bytes
  bool block_device = false;
};

// Opens a block device (O_EXCL: a mounted or otherwise claimed disk is refused) or an existing regular file
// for reading and writing, and finds its size. Every Error here means "this target cannot be used".
Result<InstallTarget> open_install_target(const std::string& path);

struct InstallOutcome {
  int exit_code = kInstallFailed;  // InstallExit
  std::string message;             // the summary when installed, the reason otherwise
};

class DiskInstaller {
 public:
  DiskInstaller(InstallOptions options, ImageTorrent torrent, std::string report_token, Logger log);
  ~DiskInstaller();
  DiskInstaller(const DiskInstaller&) = delete;
  DiskInstaller& operator=(const DiskInstaller&) = delete;

  // For failures found before run(), e.g. no disk fits: the status file and the server learn the reason.
  void report_failure(const std::string& target, const std::string& why);

  // The whole install, in this thread. `stop_signals` must be blocked in every thread (before this object
  // starts libtorrent's); they are polled here: during the download they end the install (exit 1, the
  // verified pieces stay on the target for the next run), while seeding they end the seeding (exit 0).
  // Takes ownership of target.fd.
  InstallOutcome run(InstallTarget target, const sigset_t& stop_signals);

 private:
  Status seed_cache_file(const std::vector<bool>& on_target);
  Status start_session();
  void handle_alerts();
  void copy_to_target(int piece);
  void resync_from_libtorrent(bool through_fence);
  Status sync_target();
  Status verify_target();
  void update_status();
  void publish(const InstallStatus& status);
  void report_loop();
  void stop_report_thread();
  void set_phase(const std::string& phase);
  bool stop_requested(const sigset_t& sigs);
  InstallOutcome fail(int exit_code, const std::string& why);
  void shut_down_session();

  const InstallOptions options_;
  const ImageTorrent torrent_;
  const std::string report_token_;
  const Logger log_;
  const PieceGeometry geometry_;
  std::shared_ptr<const lt::torrent_info> info_;
  std::vector<std::string> piece_hashes_;  // 20 raw bytes each

  InstallTarget target_;
  int cache_fd_ = -1;
  std::unique_ptr<lt::session> session_;
  lt::torrent_handle handle_;

  // Everything below belongs to the thread in run(), except the report slot.
  TargetPieces pieces_;
  WriteFence fence_;
  WebSeedFallback webseed_fallback_;
  std::vector<bool> in_cache_;              // verified and in the cache file
  int in_cache_count_ = 0;
  std::unordered_map<int, int> recopy_attempts_;
  int resumed_ = 0;
  bool checked_ = false;
  std::optional<std::string> fatal_;        // a libtorrent error that ends the install
  std::string phase_ = "starting";
  std::string summary_;                     // the installed/failed message
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_piece_at_;
  std::chrono::steady_clock::time_point last_sync_ = std::chrono::steady_clock::now();  // last fdatasync
  std::chrono::steady_clock::time_point last_report_{};
  std::string last_reported_phase_;
  std::int64_t webseed_bytes_ = 0;
  InstallStatus last_swarm_figures_;        // byte counters, peers, rates from the last status()
  std::unordered_map<std::string, std::int64_t> webseed_seen_;

  std::mutex report_mutex_;
  std::condition_variable report_wake_;
  std::optional<InstallStatus> report_slot_;  // guarded by report_mutex_
  bool report_stop_ = false;                  // guarded by report_mutex_
  std::thread report_thread_;
};

}  // namespace swarmboot::agent
