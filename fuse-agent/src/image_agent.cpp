// ImageAgent: libtorrent session, alert dispatch, parked reads (see image_agent.hpp).
#include "image_agent.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <unistd.h>

#include <libtorrent/alert_types.hpp>
#include <libtorrent/hasher.hpp>
#include <libtorrent/read_resume_data.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>
#include <libtorrent/write_resume_data.hpp>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>

#include "agent_io.hpp"
#include "piece_fetch.hpp"
#include "preflight.hpp"
#include "session_params.hpp"

namespace swarmboot::agent {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint8_t kPrefetchMark = 1;
constexpr std::uint8_t kCriticalMark = 2;

std::string format_pieces(const std::vector<int>& pieces) {
  std::string s;
  for (size_t i = 0; i < pieces.size() && i < 8; ++i) s += (i ? "," : "") + std::to_string(pieces[i]);
  if (pieces.size() > 8) s += ",…";
  return s;
}

// --peer accepts host names; libtorrent's peer list wants addresses.
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

ImageAgent::ImageAgent(MountOptions options, ImageTorrent torrent, std::string report_token, Logger log)
    : options_(std::move(options)),
      torrent_(std::move(torrent)),
      report_token_(std::move(report_token)),
      cache_dir_(options_.cache_dir),
      log_(std::move(log)),
      geometry_(torrent_.size, torrent_.piece_size),
      readable_(torrent_.num_pieces),
      deadline_mark_(new std::atomic<std::uint8_t>[static_cast<size_t>(torrent_.num_pieces)]),
      read_ahead_(geometry_),
      webseed_fallback_(WebSeedFallbackConfig{options_.stall_after, std::chrono::seconds(5), std::chrono::seconds(15)}) {
  for (int i = 0; i < torrent_.num_pieces; ++i) deadline_mark_[i].store(0, std::memory_order_relaxed);
  if (!options_.record_reads.empty()) recorder_.emplace(geometry_);
}

ImageAgent::~ImageAgent() {
  stop_serving();
  if (session_) shut_down();
  if (int fd = cache_fd_.exchange(-1); fd >= 0) ::close(fd);
}

Status ImageAgent::start() {
  auto params = agent_session_params(options_);
  if (!params) return params.error();
  session_ = std::make_unique<lt::session>(std::move(*params));

  lt::error_code ec;
  auto ti = std::make_shared<lt::torrent_info>(lt::span<const char>(torrent_.bytes.data(),
                                                                     static_cast<std::ptrdiff_t>(torrent_.bytes.size())),
                                               ec, lt::from_span);
  if (ec) return Error{"could not load the torrent: " + ec.message()};

  lt::add_torrent_params atp;
  // Resume data exists only after a clean shutdown, and is consumed here: after a crash there is none, and
  // libtorrent re-checks the cache file instead, finding every verified piece that reached it.
  if (std::ifstream in(resume_file(), std::ios::binary); in) {
    std::vector<char> buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    lt::add_torrent_params resumed = lt::read_resume_data(buf, ec);
    if (!ec && resumed.info_hashes == ti->info_hashes()) {
      atp = std::move(resumed);
      log_.info("resuming from {}: {} pieces verified earlier", resume_file().string(), atp.have_pieces.count());
    } else {
      log_.warn("ignoring resume data {}: {}", resume_file().string(), ec ? ec.message() : "another torrent");
    }
    std::error_code rm;
    fs::remove(resume_file(), rm);
  }
  atp.ti = ti;
  atp.save_path = cache_dir_.string();
  atp.storage_mode = lt::storage_mode_sparse;
  atp.flags &= ~(lt::torrent_flags::auto_managed | lt::torrent_flags::paused | lt::torrent_flags::seed_mode);
  atp.trackers = options_.trackers;
  for (const auto& p : options_.peers)
    for (const auto& ep : resolve_peer(p, log_)) atp.peers.push_back(ep);
  // The web seed is not in the torrent from the start: see webseed_fallback.hpp.
  atp.url_seeds.clear();
  if (!options_.boot_profile.empty()) {
    // An optimisation only: without it every read is still served, so a bad profile is a warning.
    if (auto pieces = load_boot_profile(options_.boot_profile, torrent_); !pieces) {
      std::string why = pieces.error().message;  // may end in the server's reply body: keep it one line
      std::replace(why.begin(), why.end(), '\n', ' ');
      while (!why.empty() && why.back() == ' ') why.pop_back();
      log_.warn("{}; booting without it", why);
    } else {
      // libtorrent orders the pieces a peer offers by availability × (8 − priority) (piece_picker.hpp,
      // piece_pos::priority), so no priority is strictly ahead of another: 7 for the profile against 1 for
      // the rest puts a profile piece first unless it is seven times as widespread — and then it is easy to
      // get anyway. The background keeps its rarest-first order among itself. Reads' deadlines still go
      // first: libtorrent requests its time-critical list before the picker runs.
      // A fresh host (no cache file, so nothing held) also holds the background back until the profile is
      // nearly in, or half in while nothing reads the mount (ProfileFirst); a host resuming a cache has most
      // of its profile already and does not.
      const bool fresh = !fs::exists(cache_file());
      if (fresh) profile_first_.emplace(*pieces, torrent_.num_pieces, kProfileOverlapPieces);
      const bool hold = profile_first_ && !profile_first_->released();
      atp.piece_priorities.assign(static_cast<size_t>(torrent_.num_pieces),
                                  hold ? lt::dont_download : lt::low_priority);
      for (int p : *pieces) atp.piece_priorities[static_cast<size_t>(p)] = lt::top_priority;
      log_.info("boot profile {}: {} pieces first{}", options_.boot_profile, pieces->size(),
                hold ? ", the rest once nearly all are in (half, while nothing reads the mount)" : "");
    }
  }

  session_->set_alert_notify([this] {
    // Runs on libtorrent's network thread: only wake ours, never pop alerts here.
    std::lock_guard lock(wake_mutex_);
    alerts_pending_ = true;
    wake_.notify_one();
  });
  handle_ = session_->add_torrent(std::move(atp), ec);
  if (ec) return Error{"could not add the torrent: " + ec.message()};
  if (fs::exists(cache_file())) ensure_cache_fd();

  alert_thread_ = std::thread([this] { alert_loop(); });
  tick_thread_ = std::thread([this] { tick_loop(); });
  if (!options_.report_url.empty()) report_thread_ = std::thread([this] { report_loop(); });
  if (!options_.webseed.empty()) rescue_thread_ = std::thread([this] { rescue_loop(); });
  log_.info("serving {} ({} bytes, {} pieces of {} bytes, info-hash {})", torrent_.name, torrent_.size,
            torrent_.num_pieces, torrent_.piece_size, torrent_.info_hash);
  return {};
}

// ---- read path (FUSE worker threads) -------------------------------------------------------------------------

void ImageAgent::read(fuse_req_t req, size_t size, off_t offset) {
  const auto started = Clock::now();
  const std::int64_t length = geometry_.clamped_length(offset, static_cast<std::int64_t>(size));
  if (length == 0) {
    fuse_reply_buf(req, nullptr, 0);
    return;
  }
  const PieceRange range = geometry_.pieces_for(offset, length);
  if (!mount_read_.load(std::memory_order_relaxed)) mount_read_.store(true, std::memory_order_relaxed);
  if (recorder_) {
    std::lock_guard lock(recorder_mutex_);
    if (recorder_->record(offset, length)) recorder_dirty_ = true;
  }
  std::vector<Prefetch> prefetch;
  {
    std::lock_guard lock(read_ahead_mutex_);
    prefetch = read_ahead_.on_read(offset, length);
  }
  if (readable_.all(range) && cache_fd_.load() >= 0) {
    reply_from_cache(req, offset, length, started);
    request_pieces({}, prefetch);
    return;
  }
  if (stopping_.load()) {
    fuse_reply_err(req, EIO);
    return;
  }
  std::vector<int> missing;
  {
    // The alert thread sets bits and then takes this mutex to collect waiters; computing `missing` and
    // parking under it means no piece can become readable unseen in between.
    std::lock_guard lock(reads_mutex_);
    missing = readable_.missing(range);
    if (!missing.empty()) {
      const ReadId id = next_read_id_++;
      waiters_.park(id, missing, started, started + options_.read_timeout);
      pending_.emplace(id, PendingRead{req, offset, length, started});
    }
  }
  if (missing.empty()) {
    reply_from_cache(req, offset, length, started);
    request_pieces({}, prefetch);
    return;
  }
  log_.debug("parked read [{}, +{}): waiting for pieces {}; read-ahead {} pieces", offset, length,
             format_pieces(missing), prefetch.size());
  request_pieces(missing, prefetch);
  {
    // A piece it waits for may be verified already and only wait for the next cache flush, which the alert
    // thread issues at once now that a read waits (WriteFence): wake it.
    std::lock_guard lock(wake_mutex_);
    alerts_pending_ = true;
  }
  wake_.notify_one();
}

void ImageAgent::request_pieces(const std::vector<int>& critical, const std::vector<Prefetch>& prefetch) {
  // set_piece_deadline is asynchronous (posted to the network thread), so calling it here blocks nothing.
  // Deadlines are never reset or cleared: that would drop the piece to priority 1 (and churning them
  // cancels every peer's outstanding requests); a piece's deadline only ever tightens, once.
  for (int p : critical) {
    if (deadline_mark_[p].exchange(kCriticalMark) != kCriticalMark) handle_.set_piece_deadline(lt::piece_index_t(p), 0);
  }
  for (const auto& f : prefetch) {
    if (readable_.test(f.piece)) continue;
    std::uint8_t expected = 0;
    if (deadline_mark_[f.piece].compare_exchange_strong(expected, kPrefetchMark))
      handle_.set_piece_deadline(lt::piece_index_t(f.piece), f.deadline_ms);
  }
}

void ImageAgent::reply_from_cache(fuse_req_t req, std::int64_t offset, std::int64_t length, Clock::time_point started) {
  // An fd buffer lets libfuse splice from the page cache into /dev/fuse without copying through us.
  fuse_bufvec buf = FUSE_BUFVEC_INIT(static_cast<size_t>(length));
  buf.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  buf.buf[0].fd = cache_fd_.load();
  buf.buf[0].pos = offset;
  fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
  record_latency(Clock::now() - started);
}

void ImageAgent::reply_error(const PendingRead& read, int error) { fuse_reply_err(read.req, error); }

void ImageAgent::record_latency(Clock::duration d) {
  std::lock_guard lock(latency_mutex_);
  latencies_ms_.push_back(std::chrono::duration<double, std::milli>(d).count());
  if (latencies_ms_.size() > 2048) latencies_ms_.pop_front();
}

bool ImageAgent::ensure_cache_fd() {
  if (cache_fd_.load() >= 0) return true;
  int fd = ::open(cache_file().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    log_.error("could not open the cache file {}: {}", cache_file().string(), std::strerror(errno));
    return false;
  }
  int expected = -1;
  if (!cache_fd_.compare_exchange_strong(expected, fd)) ::close(fd);
  return true;
}

// ---- alert thread ----------------------------------------------------------------------------------------

void ImageAgent::mark_readable(int piece) {
  if (!readable_.set(piece)) return;
  log_.debug("piece {} readable", piece);
  profile_piece_held(piece);
  std::vector<PendingRead> ready;
  {
    std::lock_guard lock(reads_mutex_);
    for (ReadId id : waiters_.piece_readable(piece)) {
      auto it = pending_.find(id);
      ready.push_back(it->second);
      pending_.erase(it);
    }
  }
  for (const auto& r : ready) reply_from_cache(r.req, r.offset, r.length, r.started);
}

void ImageAgent::profile_piece_held(int piece) {
  if (!profile_first_) return;
  const bool reading = mount_read_.load(std::memory_order_relaxed);
  if (profile_first_->piece_held(piece, reading))
    release_background(reading ? "nearly in (the mount is being read)" : "half in (nothing has read the mount)");
}

void ImageAgent::release_background(std::string_view why) {
  // Pieces a read already asked for are at priority 7 with a deadline: left alone.
  std::vector<std::pair<lt::piece_index_t, lt::download_priority_t>> background;
  for (int p = 0; p < torrent_.num_pieces; ++p) {
    if (profile_first_->in_profile(p) || readable_.test(p) || deadline_mark_[p].load() != 0) continue;
    background.emplace_back(lt::piece_index_t(p), lt::low_priority);
  }
  handle_.prioritize_pieces(background);
  log_.info("boot profile {}: downloading the other {} pieces", why, background.size());
}

void ImageAgent::resync_from_libtorrent(bool through_fence) {
  // status() waits on the network thread: fine here, never on the read path.
  const lt::torrent_status st = handle_.status(lt::torrent_handle::query_pieces);
  int added = 0;
  for (int p = 0; p < st.pieces.size(); ++p) {
    if (!st.pieces.get_bit(lt::piece_index_t(p)) || readable_.test(p)) continue;
    ++added;
    if (through_fence) {
      fence_.piece_verified(p);
    } else if (ensure_cache_fd()) {
      mark_readable(p);
    }
  }
  log_.info("piece bitmap resynced from libtorrent: {} pieces added ({})", added,
            through_fence ? "after dropped alerts, through the write fence" : "after the file check");
}

void ImageAgent::handle_alerts() {
  std::vector<lt::alert*> alerts;
  session_->pop_alerts(&alerts);
  for (lt::alert* a : alerts) {
    if (auto* pf = lt::alert_cast<lt::piece_finished_alert>(a)) {
      // Hash passed, but the bytes may still sit in the disk thread's store buffer (write_fence.hpp). What to
      // download next does not depend on that, so the boot profile counts the piece as held now.
      const int piece = static_cast<int>(pf->piece_index);
      fence_.piece_verified(piece);
      profile_piece_held(piece);
    } else if (lt::alert_cast<lt::cache_flushed_alert>(a)) {
      std::vector<int> done = fence_.flush_done();
      if (!done.empty() && ensure_cache_fd())
        for (int p : done) mark_readable(p);
    } else if (auto* hf = lt::alert_cast<lt::hash_failed_alert>(a)) {
      log_.warn("piece {} failed its hash check: discarded and fetched again; the peer that sent it is banned",
                static_cast<int>(hf->piece_index));
    } else if (auto* pb = lt::alert_cast<lt::peer_ban_alert>(a)) {
      log_.warn("banned peer {}: it sent data that failed the hash check", pb->endpoint.address().to_string());
    } else if (lt::alert_cast<lt::torrent_checked_alert>(a)) {
      // Pieces found by the check were read from the cache file, so they are on disk already.
      resync_from_libtorrent(false);
      checked_ = true;
    } else if (auto* ad = lt::alert_cast<lt::alerts_dropped_alert>(a)) {
      log_.warn("libtorrent dropped {} alert types; resyncing the piece bitmap", ad->dropped_alerts.count());
      resync_from_libtorrent(true);
    } else if (lt::alert_cast<lt::torrent_finished_alert>(a)) {
      if (profile_first_ && !profile_first_->released()) {
        log_.warn("boot profile complete before the rest was asked for; asking now");
        profile_first_->release();
        release_background("complete");
      } else {
        log_.info("image complete; seeding");
      }
    } else if (auto* le = lt::alert_cast<lt::listen_failed_alert>(a)) {
      log_.error("could not listen on {}: {}", le->address.to_string(), le->error.message());
    } else if (auto* te = lt::alert_cast<lt::torrent_error_alert>(a)) {
      log_.error("torrent error: {}", te->message());
      fatal_message_ = te->message();
      fatal_ = true;
    } else if (auto* fe = lt::alert_cast<lt::file_error_alert>(a)) {
      log_.error("cache file error: {}", fe->message());
    } else if (auto* tr = lt::alert_cast<lt::tracker_error_alert>(a)) {
      log_.debug("tracker: {}", tr->message());
    } else if (auto* us = lt::alert_cast<lt::url_seed_alert>(a)) {
      log_.warn("web seed: {}", us->message());
    } else if (auto* pl = lt::alert_cast<lt::peer_log_alert>(a)) {
      // Only with --lt-setting alert_mask=… including peer_log: libtorrent's own request decisions.
      log_.debug("peer {}: {}", pl->endpoint.address().to_string(), pl->message());
    } else if (auto* sr = lt::alert_cast<lt::save_resume_data_alert>(a)) {
      (void)sr;  // only saved at shutdown, handled there
    }
  }
  const auto now = Clock::now();
  bool read_waiting = false;
  if (fence_.want_flush(now, true) && !fence_.want_flush(now, false)) {
    std::lock_guard lock(reads_mutex_);
    read_waiting = waiters_.size() != 0;
  }
  if (fence_.want_flush(now, read_waiting)) {
    handle_.flush_cache();
    fence_.flush_issued(now);
  }
}

void ImageAgent::expire_parked_reads() {
  std::vector<std::pair<PendingRead, std::vector<int>>> expired;
  {
    std::lock_guard lock(reads_mutex_);
    for (ReadId id : waiters_.expire(Clock::now())) {
      auto it = pending_.find(id);
      expired.emplace_back(it->second, std::vector<int>{});
      pending_.erase(it);
    }
  }
  for (auto& [r, pieces] : expired) {
    const auto range = geometry_.pieces_for(r.offset, r.length);
    log_.error("read [{}, +{}) failed with EIO after {} s: pieces {} not delivered (swarm peers: {}, web seed: {})",
               r.offset, r.length, options_.read_timeout.count() / 1000, format_pieces(readable_.missing(range)),
               swarm_peers_.load(),
               options_.webseed.empty() ? "none given" : (webseed_attached_.load() ? "attached" : "not attached"));
    reply_error(r, EIO);
  }
}

void ImageAgent::alert_loop() {
  auto next_expiry_check = Clock::now();
  while (!stopping_.load()) {
    {
      std::unique_lock lock(wake_mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(200), [this] { return alerts_pending_ || stopping_.load(); });
      alerts_pending_ = false;
    }
    if (stopping_.load()) break;
    handle_alerts();
    if (Clock::now() >= next_expiry_check) {
      expire_parked_reads();
      next_expiry_check = Clock::now() + std::chrono::milliseconds(250);
    }
  }
}

// ---- tick thread: status, web seed fallback ----------------------------------------------------------------

void ImageAgent::update_status() {
  const lt::torrent_status st = handle_.status();
  std::vector<lt::peer_info> peers;
  handle_.get_peer_info(peers);
  int swarm_peers = 0;
  for (const auto& p : peers) {
    if (p.connection_type == lt::peer_info::standard_bittorrent) {
      ++swarm_peers;
      continue;
    }
    // Web seed connections come and go; count each connection's growth.
    const std::string key = p.ip.address().to_string() + ":" + std::to_string(p.ip.port());
    auto& seen = webseed_seen_[key];
    if (p.total_download > seen) webseed_bytes_ += p.total_download - seen;
    seen = p.total_download;
  }

  std::optional<Clock::duration> oldest_age;
  int parked = 0;
  {
    std::lock_guard lock(reads_mutex_);
    parked = static_cast<int>(waiters_.size());
    if (auto oldest = waiters_.oldest_parked()) oldest_age = Clock::now() - *oldest;
  }
  if (!options_.webseed.empty()) {
    choose_rescues();
    // Stalled reads are rescued piece by piece; the whole-torrent web seed is for a host with no swarm at all.
    switch (webseed_fallback_.update({Clock::now(), std::nullopt, swarm_peers, readable_.all_set()})) {
      case WebSeedAction::attach:
        log_.info("attaching web seed {}: no swarm peer for 5 s", options_.webseed);
        handle_.add_url_seed(options_.webseed);
        break;
      case WebSeedAction::detach:
        log_.info("detaching web seed: the swarm is delivering again");
        handle_.remove_url_seed(options_.webseed);
        break;
      case WebSeedAction::none:
        break;
    }
    webseed_attached_ = webseed_fallback_.attached();
  }
  swarm_peers_ = swarm_peers;

  AgentStatus s;
  s.image = torrent_.name;
  s.info_hash = torrent_.info_hash;
  s.pieces_total = torrent_.num_pieces;
  s.pieces_have = readable_.count();
  s.state = fatal_.load() ? "error" : !checked_.load() ? "starting" : readable_.all_set() ? "seeding" : "downloading";
  if (fatal_.load()) s.message = fatal_message_;
  // Rescued pieces reach libtorrent through add_piece, outside its download counters.
  s.bytes_from_webseed = webseed_bytes_ + rescued_bytes_.load();
  s.bytes_from_peers = std::max<std::int64_t>(0, st.total_payload_download - webseed_bytes_);
  s.bytes_uploaded = st.total_payload_upload;
  s.bytes_wasted = st.total_redundant_bytes + st.total_failed_bytes;
  s.peers = swarm_peers;
  s.parked_reads = parked;
  {
    std::lock_guard lock(latency_mutex_);
    std::vector<double> samples(latencies_ms_.begin(), latencies_ms_.end());
    s.read_latency_p50_ms = percentile(samples, 0.5);
    s.read_latency_p99_ms = percentile(samples, 0.99);
  }
  s.download_rate = st.download_payload_rate;
  s.upload_rate = st.upload_payload_rate;

  if (!options_.status_file.empty()) write_file_replacing(options_.status_file, status_json(s) + "\n", log_);
  if (!options_.report_url.empty() &&
      (s.state != last_state_ || Clock::now() - last_report_ >= std::chrono::seconds(5))) {
    {
      std::lock_guard lock(report_mutex_);
      report_slot_ = s;
    }
    report_wake_.notify_one();
    last_report_ = Clock::now();
  }
  if (s.state != last_state_) log_.info("state: {} ({}/{} pieces)", s.state, s.pieces_have, s.pieces_total);
  last_state_ = s.state;
}

void ImageAgent::report_loop() {
  for (;;) {
    AgentStatus s;
    {
      std::unique_lock lock(report_mutex_);
      report_wake_.wait(lock, [this] { return report_slot_.has_value() || stopping_.load(); });
      if (stopping_.load()) return;
      s = std::move(*report_slot_);
      report_slot_.reset();
    }
    post_status_report(options_.report_url, report_token_, report_json(s), log_, false);
  }
}

// ---- rescue thread: stalled pieces over HTTP ---------------------------------------------------------------

void ImageAgent::choose_rescues() {
  std::vector<int> stalled;
  {
    std::lock_guard lock(reads_mutex_);
    stalled = waiters_.pieces_waited_on_since(Clock::now() - options_.stall_after);
  }
  if (stalled.empty()) return;
  std::lock_guard lock(rescue_mutex_);
  const auto chosen = rescue_.choose(stalled, [this](int p) { return readable_.test(p); });
  if (chosen.empty()) return;
  log_.info("a read has waited on the swarm for {} ms: fetching pieces {} from the server",
            options_.stall_after.count(), format_pieces(chosen));
  rescue_queue_.insert(rescue_queue_.end(), chosen.begin(), chosen.end());
  rescue_wake_.notify_one();
}

void ImageAgent::rescue_loop() {
  while (!stopping_.load()) {
    int piece = -1;
    {
      std::unique_lock lock(rescue_mutex_);
      rescue_wake_.wait_for(lock, std::chrono::milliseconds(500),
                            [this] { return !rescue_queue_.empty() || stopping_.load(); });
      if (stopping_.load()) break;
      if (rescue_queue_.empty()) continue;
      piece = rescue_queue_.front();
      rescue_queue_.pop_front();
    }
    if (!readable_.test(piece)) rescue_piece(piece);  // no lock held while on the network
    std::lock_guard lock(rescue_mutex_);
    rescue_.finished(piece);
  }
}

void ImageAgent::rescue_piece(int piece) {
  const auto ti = handle_.torrent_file();
  if (!ti) return;
  const std::int64_t length = geometry_.piece_length(piece);
  auto bytes = fetch_byte_range(options_.webseed, geometry_.piece_offset(piece), length, std::chrono::seconds(30));
  if (!bytes) {
    log_.warn("could not rescue piece {}: {}", piece, bytes.error().message);
    return;
  }
  // Checked here as well as by libtorrent: a server that sends wrong bytes is named in the log, and nothing
  // unverified is ever handed on.
  if (lt::hasher(bytes->data(), static_cast<int>(bytes->size())).final() != ti->hash_for_piece(lt::piece_index_t(piece))) {
    log_.warn("could not rescue piece {}: the server's bytes fail the piece hash; waiting for the swarm", piece);
    return;
  }
  rescued_bytes_ += length;
  handle_.add_piece(lt::piece_index_t(piece), std::vector<char>(bytes->begin(), bytes->end()),
                    lt::torrent_handle::overwrite_existing);
}

void ImageAgent::save_recorded_reads() {
  std::string text;
  {
    std::lock_guard lock(recorder_mutex_);
    if (!recorder_ || !recorder_dirty_) return;
    text = recorder_->text();
    recorder_dirty_ = false;
  }
  write_file_replacing(options_.record_reads, "# swarmboot boot profile of " + torrent_.name + ": offset length\n" + text,
                       log_);
}

void ImageAgent::tick_loop() {
  while (!stopping_.load()) {
    update_status();
    save_recorded_reads();
    std::unique_lock lock(wake_mutex_);
    tick_wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_.load(); });
  }
}

// ---- shutdown ----------------------------------------------------------------------------------------------

void ImageAgent::stop_serving() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard lock(wake_mutex_);
    wake_.notify_all();
    tick_wake_.notify_all();
  }
  {
    std::lock_guard lock(report_mutex_);
    report_wake_.notify_all();
  }
  {
    std::lock_guard lock(rescue_mutex_);
    rescue_wake_.notify_all();
  }
  if (rescue_thread_.joinable()) rescue_thread_.join();
  if (alert_thread_.joinable()) alert_thread_.join();
  if (tick_thread_.joinable()) tick_thread_.join();
  if (report_thread_.joinable()) report_thread_.join();
  std::vector<PendingRead> parked;
  {
    std::lock_guard lock(reads_mutex_);
    for (ReadId id : waiters_.drain()) parked.push_back(pending_.at(id));
    pending_.clear();
  }
  for (const auto& r : parked) reply_error(r, EIO);
  if (!parked.empty()) log_.info("shutting down: {} parked reads answered with EIO", parked.size());
}

void ImageAgent::save_resume_data_now() {
  if (!handle_.is_valid()) return;
  handle_.save_resume_data(lt::torrent_handle::flush_disk_cache | lt::torrent_handle::save_info_dict);
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline) {
    session_->wait_for_alert(std::chrono::milliseconds(200));
    std::vector<lt::alert*> alerts;
    session_->pop_alerts(&alerts);
    for (lt::alert* a : alerts) {
      if (auto* sr = lt::alert_cast<lt::save_resume_data_alert>(a)) {
        const std::vector<char> buf = lt::write_resume_data_buf(sr->params);
        const fs::path tmp = resume_file().string() + ".tmp";
        {
          std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
          out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
        }
        std::error_code ec;
        fs::rename(tmp, resume_file(), ec);
        if (ec) {
          log_.warn("could not save resume data: {}", ec.message());
        } else {
          log_.info("saved resume data ({} pieces) to {}", sr->params.have_pieces.count(), resume_file().string());
        }
        return;
      }
      if (auto* sf = lt::alert_cast<lt::save_resume_data_failed_alert>(a)) {
        log_.warn("could not save resume data: {}", sf->error.message());
        return;
      }
    }
  }
  log_.warn("could not save resume data: libtorrent did not answer within 5 s");
}

void ImageAgent::shut_down() {
  stop_serving();
  save_recorded_reads();  // the reads since the last tick
  if (!session_) return;
  session_->set_alert_notify([] {});
  save_resume_data_now();
  session_.reset();
}

}  // namespace swarmboot::agent
