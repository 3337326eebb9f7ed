// DiskInstaller: swarm → verified pieces → disk (see disk_installer.hpp).
#include "disk_installer.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <netdb.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libtorrent/alert_types.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/torrent_status.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "agent_io.hpp"
#include "session_params.hpp"

namespace swarmboot::agent {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// Unsynced bytes allowed on the target before an fdatasync, and the longest copied bytes stay unsynced: a
// power cut loses at most this much work (on a slow swarm, 32 MiB can be minutes of it).
constexpr std::int64_t kSyncEveryBytes = 32 << 20;
constexpr auto kSyncEvery = std::chrono::seconds(2);
// A piece that libtorrent verified but that reads back wrong from the cache file is put back through the
// write fence; more than this many times means the fence reasoning is broken, so stop rather than loop.
constexpr int kMaxRecopies = 20;

std::string errno_text() { return std::strerror(errno); }

Status pread_exact(int fd, char* buf, std::int64_t length, std::int64_t offset, const std::string& what) {
  std::int64_t done = 0;
  while (done < length) {
    const ssize_t n = ::pread(fd, buf + done, static_cast<size_t>(length - done), static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{"could not read " + what + " at offset " + std::to_string(offset + done) + ": " + errno_text()};
    if (n == 0) return Error{"could not read " + what + " at offset " + std::to_string(offset + done) + ": end of file"};
    done += n;
  }
  return {};
}

Status pwrite_exact(int fd, const char* buf, std::int64_t length, std::int64_t offset, const std::string& what) {
  std::int64_t done = 0;
  while (done < length) {
    const ssize_t n = ::pwrite(fd, buf + done, static_cast<size_t>(length - done), static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{"could not write " + what + " at offset " + std::to_string(offset + done) + ": " + errno_text()};
    done += n;
  }
  return {};
}

TargetReader reader_for(int fd, const std::string& what) {
  return [fd, what](std::int64_t offset, std::int64_t length) -> Result<std::string> {
    std::string buf(static_cast<size_t>(length), '\0');
    if (auto s = pread_exact(fd, buf.data(), length, offset, what); !s) return s.error();
    return buf;
  };
}

std::string format_pieces(const std::vector<int>& pieces) {
  std::string s;
  for (size_t i = 0; i < pieces.size() && i < 8; ++i) s += (i ? "," : "") + std::to_string(pieces[i]);
  if (pieces.size() > 8) s += ",…";
  return s;
}

// --peer accepts host names; libtorrent's peer list wants addresses (as in ImageAgent).
std::vector<lt::tcp::endpoint> resolve_peer(const HostPort& peer, const Logger& log) {
  std::vector<lt::tcp::endpoint> out;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(peer.host.c_str(), std::to_string(peer.port).c_str(), &hints, &res); rc != 0) {
    log.warn("could not resolve peer {}: {}", peer.host, gai_strerror(rc));
    return out;
  }
  for (addrinfo* a = res; a; a = a->ai_next) {
    lt::tcp::endpoint ep;
    ep.resize(a->ai_addrlen);
    std::memcpy(ep.data(), a->ai_addr, a->ai_addrlen);
    out.push_back(ep);
  }
  freeaddrinfo(res);
  return out;
}

}  // namespace

Result<InstallTarget> open_install_target(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0)
    return Error{"could not use the target " + path + ": " + errno_text() + ": nothing written"};
  InstallTarget t;
  t.path = path;
  if (S_ISBLK(st.st_mode)) {
    t.block_device = true;
    // O_EXCL on a block device: the kernel refuses it while the disk (or a partition of it) is mounted or
    // claimed by another exclusive opener, so we never write under a live filesystem.
    t.fd = ::open(path.c_str(), O_RDWR | O_EXCL | O_CLOEXEC);
    if (t.fd < 0) {
      const std::string why = errno == EBUSY ? "it is in use (mounted, or held by another program)" : errno_text();
      return Error{"could not open the target " + path + ": " + why + ": nothing written"};
    }
    std::uint64_t bytes = 0;
    if (::ioctl(t.fd, BLKGETSIZE64, &bytes) != 0) {
      const std::string why = errno_text();
      ::close(t.fd);
      return Error{"could not find the size of the target " + path + ": " + why + ": nothing written"};
    }
    t.size = static_cast<std::int64_t>(bytes);
  } else if (S_ISREG(st.st_mode)) {
    t.fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (t.fd < 0) return Error{"could not open the target " + path + ": " + errno_text() + ": nothing written"};
    t.size = st.st_size;
  } else {
    return Error{"could not use the target " + path + ": not a block device or a regular file: nothing written"};
  }
  return t;
}

DiskInstaller::DiskInstaller(InstallOptions options, ImageTorrent torrent, std::string report_token, Logger log)
    : options_(std::move(options)),
      torrent_(std::move(torrent)),
      report_token_(std::move(report_token)),
      log_(std::move(log)),
      geometry_(torrent_.size, torrent_.piece_size),
      pieces_(geometry_, kSyncEveryBytes),
      webseed_fallback_(WebSeedFallbackConfig{options_.stall_after, std::chrono::seconds(5), std::chrono::seconds(15)}),
      in_cache_(static_cast<size_t>(torrent_.num_pieces), false) {}

DiskInstaller::~DiskInstaller() {
  stop_report_thread();
  shut_down_session();
  if (cache_fd_ >= 0) ::close(cache_fd_);
  if (target_.fd >= 0) ::close(target_.fd);
}

// ---- run ---------------------------------------------------------------------------------------------------

InstallOutcome DiskInstaller::run(InstallTarget target, const sigset_t& stop_signals) {
  target_ = std::move(target);
  started_ = Clock::now();
  if (!options_.report_url.empty()) report_thread_ = std::thread([this] { report_loop(); });

  lt::error_code ec;
  info_ = std::make_shared<lt::torrent_info>(
      lt::span<const char>(torrent_.bytes.data(), static_cast<std::ptrdiff_t>(torrent_.bytes.size())), ec, lt::from_span);
  if (ec) return fail(kInstallFailed, "could not load the torrent: " + ec.message());
  for (int p = 0; p < torrent_.num_pieces; ++p) piece_hashes_.push_back(info_->hash_for_piece(lt::piece_index_t(p)).to_string());

  set_phase("scanning");
  update_status();
  log_.info("installing {} ({} bytes, {} pieces of {} bytes) to {} ({} bytes); scanning it for pieces already there",
            torrent_.name, torrent_.size, torrent_.num_pieces, torrent_.piece_size, target_.path, target_.size);
  auto valid = scan_target_pieces(geometry_, piece_hashes_, reader_for(target_.fd, "the target " + target_.path));
  if (!valid) return fail(kInstallFailed, valid.error().message);
  pieces_.found(*valid);
  resumed_ = pieces_.on_target();
  log_.info("{}", resumed_message(resumed_, pieces_.total()));
  summary_ = resumed_message(resumed_, pieces_.total());
  update_status();
  if (auto s = seed_cache_file(*valid); !s) return fail(kInstallFailed, s.error().message);
  if (auto s = start_session(); !s) return fail(kInstallFailed, s.error().message);
  set_phase("installing");
  last_piece_at_ = Clock::now();

  auto next_tick = Clock::now();
  while (!pieces_.complete()) {
    if (stop_requested(stop_signals)) {
      (void)sync_target();
      return fail(kInstallFailed, "interrupted by a signal with " + std::to_string(pieces_.on_target()) + " of " +
                                      std::to_string(pieces_.total()) + " pieces on " + target_.path +
                                      " (the next run resumes from them)");
    }
    session_->wait_for_alert(std::chrono::milliseconds(250));
    handle_alerts();
    if (fatal_) {
      (void)sync_target();
      return fail(kInstallFailed, *fatal_);
    }
    if (pieces_.want_sync() || (pieces_.unsynced_bytes() > 0 && Clock::now() - last_sync_ >= kSyncEvery))
      if (auto s = sync_target(); !s) return fail(kInstallFailed, s.error().message);
    if (Clock::now() >= next_tick) {
      update_status();
      next_tick = Clock::now() + std::chrono::seconds(1);
    }
  }
  if (auto s = sync_target(); !s) return fail(kInstallFailed, s.error().message);

  set_phase("verifying");
  update_status();
  log_.info("all {} pieces on {}; reading it back to verify", pieces_.total(), target_.path);
  if (auto s = verify_target(); !s) return fail(kInstallFailed, s.error().message);

  const double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
  summary_ = fmt::format("installed {} ({} bytes) on {} in {:.1f} s, verified; {} of {} pieces were already there",
                         torrent_.name, torrent_.size, target_.path, seconds, resumed_, pieces_.total());
  log_.info("{}", summary_);
  // The terminal report goes out now, in order: nothing older may overtake it.
  stop_report_thread();
  set_phase("installed");
  update_status();

  if (options_.seed_after.count() > 0) log_.info("seeding from the cache for {} s", options_.seed_after.count());
  const auto seed_until = Clock::now() + options_.seed_after;
  while (Clock::now() < seed_until && !stop_requested(stop_signals)) {
    session_->wait_for_alert(std::chrono::milliseconds(250));
    handle_alerts();
    if (Clock::now() >= next_tick) {
      update_status();
      next_tick = Clock::now() + std::chrono::seconds(1);
    }
  }
  shut_down_session();
  update_status();  // the last figures, with the seeding's uploads
  return InstallOutcome{kInstallOk, summary_};
}

InstallOutcome DiskInstaller::fail(int exit_code, const std::string& why) {
  log_.error("{}", why);
  summary_ = why;
  stop_report_thread();
  set_phase("failed");
  update_status();
  shut_down_session();
  return InstallOutcome{exit_code, why};
}

void DiskInstaller::report_failure(const std::string& target, const std::string& why) {
  target_.path = target;
  (void)fail(kInstallTargetUnusable, why);
}

bool DiskInstaller::stop_requested(const sigset_t& sigs) {
  timespec zero{0, 0};
  const int sig = sigtimedwait(&sigs, nullptr, &zero);
  if (sig > 0) log_.info("signal {} received", sig);
  return sig > 0;
}

void DiskInstaller::set_phase(const std::string& phase) {
  if (phase != phase_) log_.info("state: {}", phase);
  phase_ = phase;
}

// ---- cache and session ------------------------------------------------------------------------------------

Status DiskInstaller::seed_cache_file(const std::vector<bool>& on_target) {
  const fs::path cache = fs::path(options_.cache_dir) / torrent_.name;
  cache_fd_ = ::open(cache.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (cache_fd_ < 0) return Error{"could not open the cache file " + cache.string() + ": " + errno_text()};
  // Full size (sparse, so a tmpfs spends nothing on holes): libtorrent then checks a file of the right shape.
  if (::ftruncate(cache_fd_, static_cast<off_t>(torrent_.size)) != 0)
    return Error{"could not size the cache file " + cache.string() + ": " + errno_text()};
  std::string buf;
  int copied = 0;
  for (int p = 0; p < geometry_.num_pieces(); ++p) {
    if (!on_target[static_cast<size_t>(p)]) continue;
    buf.resize(static_cast<size_t>(geometry_.piece_length(p)));
    const auto len = static_cast<std::int64_t>(buf.size());
    if (auto s = pread_exact(target_.fd, buf.data(), len, geometry_.piece_offset(p), "the target " + target_.path); !s) return s;
    if (auto s = pwrite_exact(cache_fd_, buf.data(), len, geometry_.piece_offset(p), "the cache file " + cache.string()); !s)
      return s;
    ++copied;
  }
  if (copied > 0) log_.info("copied the {} pieces already on the target into the cache for libtorrent's check", copied);
  return {};
}

Status DiskInstaller::start_session() {
  // The same session as mount mode's (agent_io.hpp).
  auto params = agent_session_params(options_);
  if (!params) return params.error();
  session_ = std::make_unique<lt::session>(std::move(*params));

  lt::add_torrent_params atp;
  // No resume data, ever: libtorrent checks the cache file (which holds the target's verified pieces, and
  // whatever an earlier attempt in this boot verified) and so finds every piece that is really there.
  atp.ti = std::const_pointer_cast<lt::torrent_info>(info_);
  atp.save_path = options_.cache_dir;
  atp.storage_mode = lt::storage_mode_sparse;
  atp.flags &= ~(lt::torrent_flags::auto_managed | lt::torrent_flags::paused | lt::torrent_flags::seed_mode);
  atp.trackers = options_.trackers;
  for (const auto& p : options_.peers)
    for (const auto& ep : resolve_peer(p, log_)) atp.peers.push_back(ep);
  atp.url_seeds.clear();  // attached only when the swarm stalls (webseed_fallback.hpp)
  lt::error_code ec;
  handle_ = session_->add_torrent(std::move(atp), ec);
  if (ec) return Error{"could not add the torrent: " + ec.message()};
  return {};
}

void DiskInstaller::shut_down_session() {
  if (!session_) return;
  handle_ = lt::torrent_handle();
  session_.reset();
}

// ---- alerts and copying -----------------------------------------------------------------------------------

void DiskInstaller::handle_alerts() {
  std::vector<lt::alert*> alerts;
  session_->pop_alerts(&alerts);
  for (lt::alert* a : alerts) {
    if (auto* pf = lt::alert_cast<lt::piece_finished_alert>(a)) {
      // Hash passed, but the bytes may still sit in the disk thread's store buffer (write_fence.hpp).
      fence_.piece_verified(static_cast<int>(pf->piece_index));
    } else if (lt::alert_cast<lt::cache_flushed_alert>(a)) {
      for (int p : fence_.flush_done()) copy_to_target(p);
    } else if (auto* hf = lt::alert_cast<lt::hash_failed_alert>(a)) {
      log_.warn("piece {} failed its hash check: discarded and fetched again; the peer that sent it is banned",
                static_cast<int>(hf->piece_index));
    } else if (auto* pb = lt::alert_cast<lt::peer_ban_alert>(a)) {
      log_.warn("banned peer {}: it sent data that failed the hash check", pb->endpoint.address().to_string());
    } else if (lt::alert_cast<lt::torrent_checked_alert>(a)) {
      // Pieces found by the check were read from the cache file: they are in it, no fence needed.
      resync_from_libtorrent(false);
      checked_ = true;
      last_piece_at_ = Clock::now();
    } else if (auto* ad = lt::alert_cast<lt::alerts_dropped_alert>(a)) {
      log_.warn("libtorrent dropped {} alert types; resyncing the pieces", ad->dropped_alerts.count());
      resync_from_libtorrent(true);
    } else if (lt::alert_cast<lt::torrent_finished_alert>(a)) {
      log_.info("every piece verified in the cache");
    } else if (auto* le = lt::alert_cast<lt::listen_failed_alert>(a)) {
      log_.error("could not listen on {}: {}", le->address.to_string(), le->error.message());
    } else if (auto* te = lt::alert_cast<lt::torrent_error_alert>(a)) {
      fatal_ = "could not download " + torrent_.name + ": " + te->message();
    } else if (auto* fe = lt::alert_cast<lt::file_error_alert>(a)) {
      // libtorrent pauses the torrent on a cache file error (a full tmpfs): nothing would arrive any more.
      fatal_ = "could not write the cache file: " + fe->message();
    } else if (auto* tr = lt::alert_cast<lt::tracker_error_alert>(a)) {
      log_.debug("tracker: {}", tr->message());
    } else if (auto* us = lt::alert_cast<lt::url_seed_alert>(a)) {
      log_.warn("web seed: {}", us->message());
    }
  }
  // Every verified piece is to be copied to the target at once: no interval (the fence's default).
  const auto now = WriteFence::Clock::now();
  if (fence_.want_flush(now, false)) {
    handle_.flush_cache();
    fence_.flush_issued(now);
  }
}

void DiskInstaller::resync_from_libtorrent(bool through_fence) {
  const lt::torrent_status st = handle_.status(lt::torrent_handle::query_pieces);
  int added = 0;
  for (int p = 0; p < st.pieces.size(); ++p) {
    if (!st.pieces.get_bit(lt::piece_index_t(p)) || in_cache_[static_cast<size_t>(p)]) continue;
    ++added;
    if (through_fence) {
      fence_.piece_verified(p);
    } else {
      copy_to_target(p);
    }
  }
  log_.info("pieces resynced from libtorrent: {} added ({})", added,
            through_fence ? "after dropped alerts, through the write fence" : "after the cache file check");
}

void DiskInstaller::copy_to_target(int piece) {
  const auto i = static_cast<size_t>(piece);
  if (!in_cache_[i]) {
    in_cache_[i] = true;
    ++in_cache_count_;
  }
  if (!pieces_.needs_copy(piece) || fatal_) return;
  const std::int64_t offset = geometry_.piece_offset(piece);
  std::string buf(static_cast<size_t>(geometry_.piece_length(piece)), '\0');
  const auto len = static_cast<std::int64_t>(buf.size());
  if (auto s = pread_exact(cache_fd_, buf.data(), len, offset, "the cache file"); !s) {
    fatal_ = s.error().message;
    return;
  }
  // libtorrent verified the piece and the fence says its bytes reached the cache file; hashing what we read
  // costs little and makes "no unverified byte on the target" independent of that reasoning.
  if (!piece_matches(buf, piece_hashes_[i])) {
    if (++recopy_attempts_[piece] > kMaxRecopies) {
      fatal_ = "piece " + std::to_string(piece) + " passed libtorrent's hash check but reads back wrong from the cache " +
               "file " + std::to_string(kMaxRecopies) + " times";
      return;
    }
    log_.warn("piece {} reads back wrong from the cache file although verified; waiting for the next flush", piece);
    in_cache_[i] = false;
    --in_cache_count_;
    fence_.piece_verified(piece);
    return;
  }
  if (auto s = pwrite_exact(target_.fd, buf.data(), len, offset, "the target " + target_.path); !s) {
    fatal_ = s.error().message;
    return;
  }
  pieces_.copied(piece);
  last_piece_at_ = Clock::now();
  log_.debug("piece {} on the target", piece);
}

Status DiskInstaller::sync_target() {
  if (target_.fd < 0) return {};
  if (::fdatasync(target_.fd) != 0) return Error{"could not flush the target " + target_.path + ": " + errno_text()};
  pieces_.synced();
  last_sync_ = Clock::now();
  return {};
}

Status DiskInstaller::verify_target() {
  // Drop the target's cached pages (clean after the fdatasync) so the read-back comes from the device, not
  // from the memory we wrote from.
  if (int rc = ::posix_fadvise(target_.fd, 0, static_cast<off_t>(torrent_.size), POSIX_FADV_DONTNEED); rc != 0)
    log_.warn("could not drop the target's page cache before verifying ({}); verifying through it", std::strerror(rc));
  auto valid = scan_target_pieces(geometry_, piece_hashes_, reader_for(target_.fd, "the target " + target_.path));
  if (!valid) return wrap("could not verify " + target_.path, valid.error());
  std::vector<int> bad;
  for (int p = 0; p < geometry_.num_pieces(); ++p)
    if (!(*valid)[static_cast<size_t>(p)]) bad.push_back(p);
  if (!bad.empty())
    return Error{"could not verify " + target_.path + ": " + std::to_string(bad.size()) +
                 " pieces read back different from the image after writing (pieces " + format_pieces(bad) + ")"};
  return {};
}

// ---- status and reports -----------------------------------------------------------------------------------

void DiskInstaller::update_status() {
  // Without a session (before it starts, after it stops) the last swarm figures stand.
  InstallStatus& s = last_swarm_figures_;
  if (handle_.is_valid()) {
    const lt::torrent_status st = handle_.status();
    std::vector<lt::peer_info> peers;
    handle_.get_peer_info(peers);
    int swarm_peers = 0;
    for (const auto& p : peers) {
      if (p.connection_type == lt::peer_info::standard_bittorrent) {
        ++swarm_peers;
        continue;
      }
      const std::string key = p.ip.address().to_string() + ":" + std::to_string(p.ip.port());
      auto& seen = webseed_seen_[key];
      if (p.total_download > seen) webseed_bytes_ += p.total_download - seen;
      seen = p.total_download;
    }
    if (!options_.webseed.empty()) {
      // "A read parked too long" in mount mode is "no new piece for --stall-after" here.
      std::optional<Clock::duration> stalled_for;
      if (checked_ && !pieces_.complete()) stalled_for = Clock::now() - last_piece_at_;
      switch (webseed_fallback_.update({Clock::now(), stalled_for, swarm_peers, pieces_.complete()})) {
        case WebSeedAction::attach:
          log_.info("attaching web seed {}: {}", options_.webseed,
                    swarm_peers == 0 ? "no swarm peer" : "no new piece from the swarm for a while");
          handle_.add_url_seed(options_.webseed);
          break;
        case WebSeedAction::detach:
          log_.info("detaching web seed: {}", pieces_.complete() ? "the image is complete" : "the swarm delivers again");
          handle_.remove_url_seed(options_.webseed);
          break;
        case WebSeedAction::none:
          break;
      }
    }
    s.agent.bytes_from_webseed = webseed_bytes_;
    s.agent.bytes_from_peers = std::max<std::int64_t>(0, st.total_payload_download - webseed_bytes_);
    s.agent.bytes_wasted = st.total_redundant_bytes + st.total_failed_bytes;
    s.agent.bytes_uploaded = st.total_payload_upload;
    s.agent.peers = swarm_peers;
    s.agent.download_rate = st.download_payload_rate;
    s.agent.upload_rate = st.upload_payload_rate;
  } else {
    s.agent.download_rate = 0;
    s.agent.upload_rate = 0;
    s.agent.peers = 0;
  }
  publish(s);
}

void DiskInstaller::publish(const InstallStatus& base) {
  InstallStatus s = base;
  s.agent.state = phase_;
  s.agent.image = torrent_.name;
  s.agent.info_hash = torrent_.info_hash;
  s.agent.pieces_total = torrent_.num_pieces;
  s.agent.pieces_have = in_cache_count_;
  s.target = target_.path;
  s.pieces_on_target = pieces_.on_target();
  s.pieces_resumed = resumed_;
  s.bytes_written = pieces_.bytes_copied();
  s.message = summary_;  // "resumed: K of N …" while installing, then the summary or the reason
  if (!options_.status_file.empty()) write_file_replacing(options_.status_file, install_status_json(s) + "\n", log_);
  if (options_.report_url.empty()) return;
  const bool terminal = phase_ == "failed" || phase_ == "installed";
  if (terminal) {
    // Sent from this thread, after the report thread stopped: the last word, bounded by the HTTP timeout.
    if (phase_ != last_reported_phase_)
      post_status_report(options_.report_url, report_token_, install_report_json(s), log_, true);
  } else if (phase_ != last_reported_phase_ || Clock::now() - last_report_ >= std::chrono::seconds(5)) {
    {
      std::lock_guard lock(report_mutex_);
      report_slot_ = s;
    }
    report_wake_.notify_one();
    last_report_ = Clock::now();
  }
  last_reported_phase_ = phase_;
}

void DiskInstaller::report_loop() {
  for (;;) {
    InstallStatus s;
    {
      std::unique_lock lock(report_mutex_);
      report_wake_.wait(lock, [this] { return report_slot_.has_value() || report_stop_; });
      if (report_stop_) return;
      s = std::move(*report_slot_);
      report_slot_.reset();
    }
    post_status_report(options_.report_url, report_token_, install_report_json(s), log_, true);
  }
}

void DiskInstaller::stop_report_thread() {
  {
    std::lock_guard lock(report_mutex_);
    report_stop_ = true;
  }
  report_wake_.notify_all();
  if (report_thread_.joinable()) report_thread_.join();
}

}  // namespace swarmboot::agent
