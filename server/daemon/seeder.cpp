// libtorrent seeding of registered images; see seeder.hpp.
#include "daemon/seeder.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/read_resume_data.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>
#include <libtorrent/write_resume_data.hpp>
#include <sstream>

#include "daemon/spread_plugin.hpp"
#include "swarmcore/swarm_settings.hpp"

namespace swarmboot::server {
namespace fs = std::filesystem;

Seeder::Seeder(const SeederOptions& options, Logger log) : options_(options), log_(std::move(log)) {}

Result<std::unique_ptr<Seeder>> Seeder::start(const SeederOptions& options, Logger log) {
  std::error_code ec;
  fs::create_directories(options.resume_dir, ec);
  if (ec) return Error{"could not create " + options.resume_dir + ": " + ec.message()};
  std::unique_ptr<Seeder> s(new Seeder(options, std::move(log)));
  SwarmTuning tuning;
  tuning.listen_interfaces = options.listen_interfaces;
  tuning.upload_rate_limit = options.upload_rate_limit;
  lt::settings_pack pack = swarm_settings(tuning);
  // Spread seeding counts a finished host as a holder only while it is connected; libtorrent would close the
  // seed-to-seed link as redundant the moment the host finishes, and the server would start sending its
  // pieces to everyone again.
  if (options.seeding == SeedingPolicy::spread) pack.set_bool(lt::settings_pack::close_redundant_connections, false);
  try {
    s->session_ = std::make_unique<lt::session>(lt::session_params(std::move(pack)));
  } catch (const std::exception& e) {
    return Error{std::string("could not start the seeder: ") + e.what()};
  }
  s->alerts_ = std::thread([p = s.get()] { p->alert_loop(); });
  return s;
}

Seeder::~Seeder() {
  stop();
}

void Seeder::alert_loop() {
  auto last_update = std::chrono::steady_clock::now();
  while (running_.load() || resume_pending_.load() > 0) {
    session_->wait_for_alert(std::chrono::milliseconds(250));
    std::vector<lt::alert*> alerts;
    session_->pop_alerts(&alerts);
    for (lt::alert* a : alerts) {
      if (auto* l = lt::alert_cast<lt::listen_succeeded_alert>(a)) {
        if (l->socket_type == lt::socket_type_t::tcp) {
          port_.store(static_cast<std::uint16_t>(l->port));
          log_.info("seeding on port {}", l->port);
        }
      } else if (auto* f = lt::alert_cast<lt::listen_failed_alert>(a)) {
        log_.error("could not listen for peers: {}", f->message());
      } else if (auto* u = lt::alert_cast<lt::state_update_alert>(a)) {
        std::lock_guard lock(stats_mutex_);
        for (const auto& st : u->status) {
          uploaded_[to_hex(std::string(reinterpret_cast<const char*>(st.info_hashes.v1.data()), 20))] =
              st.all_time_upload;
        }
      } else if (auto* r = lt::alert_cast<lt::save_resume_data_alert>(a)) {
        const std::vector<char> buf = lt::write_resume_data_buf(r->params);
        const std::string hex =
            to_hex(std::string(reinterpret_cast<const char*>(r->params.info_hashes.v1.data()), 20));
        std::ofstream(fs::path(options_.resume_dir) / (hex + ".resume"), std::ios::binary)
            .write(buf.data(), static_cast<std::streamsize>(buf.size()));
        resume_pending_.fetch_sub(1);
      } else if (auto* rf = lt::alert_cast<lt::save_resume_data_failed_alert>(a)) {
        log_.warn("could not save resume data: {}", rf->message());
        resume_pending_.fetch_sub(1);
      } else if (lt::alert_cast<lt::torrent_error_alert>(a) || lt::alert_cast<lt::file_error_alert>(a)) {
        log_.error("{}", a->message());
      }
    }
    if (std::chrono::steady_clock::now() - last_update > std::chrono::seconds(1)) {
      session_->post_torrent_updates();
      last_update = std::chrono::steady_clock::now();
    }
  }
}

void Seeder::sync(const std::vector<ImageRecord>& images, const ImageRegistry& registry) {
  std::lock_guard lock(sync_mutex_);
  if (!session_) return;
  std::map<std::string, const ImageRecord*> wanted;
  for (const auto& r : images) wanted[r.name] = &r;
  for (auto it = seeded_.begin(); it != seeded_.end();) {
    auto w = wanted.find(it->first);
    if (w != wanted.end() && w->second->info_hash == it->second.info_hash) {
      ++it;
      continue;
    }
    log_.info("stopped seeding {}", it->first);
    session_->remove_torrent(it->second.handle);
    it = seeded_.erase(it);
  }
  for (const auto& [name, record] : wanted) {
    if (seeded_.count(name) != 0) continue;
    auto bytes = registry.torrent_bytes(name);
    if (!bytes) {
      log_.error("could not seed {}: {}", name, bytes.error().message);
      continue;
    }
    lt::add_torrent_params atp;
    const fs::path resume = fs::path(options_.resume_dir) / (record->info_hash + ".resume");
    std::ifstream in(resume, std::ios::binary);
    if (in) {
      std::ostringstream ss;
      ss << in.rdbuf();
      const std::string buf = ss.str();
      lt::error_code ec;
      atp =
          lt::read_resume_data(lt::span<const char>(buf.data(), static_cast<std::ptrdiff_t>(buf.size())), ec);
      if (ec) {
        log_.warn("ignoring resume data for {}: {}", name, ec.message());
        atp = lt::add_torrent_params();
      }
    }
    lt::error_code ec;
    atp.ti = std::make_shared<lt::torrent_info>(*bytes, ec, lt::from_span);
    if (ec) {
      log_.error("could not seed {}: {}", name, ec.message());
      continue;
    }
    // The torrent's file is named after the image; the file itself keeps its own name and folder.
    const fs::path file(record->path);
    atp.save_path = file.parent_path().string();
    atp.renamed_files[lt::file_index_t{0}] = file.filename().string();
    if (atp.have_pieces.empty()) atp.flags |= lt::torrent_flags::seed_mode;
    // Spread seeding (core/piece_spread.hpp): each piece leaves the server about once, hosts pass it on.
    // Not libtorrent's super seeding, which gets the same economy but, in 2.0.8, reveals a host's first pieces
    // only ~10 s after it connects (the bootstrap HAVEs are sent during the handshake and dropped) and refuses
    // requests for pieces it has not revealed, so a lazy read would wait for a peer or the web seed.
    if (options_.seeding == SeedingPolicy::spread) {
      const int pieces = atp.ti->num_pieces();
      atp.extensions.push_back([pieces](const lt::torrent_handle&, lt::client_data_t) {
        return make_spread_plugin(pieces, SpreadOptions{});
      });
    }
    atp.flags &= ~lt::torrent_flags::paused;
    atp.flags &= ~lt::torrent_flags::auto_managed;
    try {
      lt::torrent_handle h = session_->add_torrent(std::move(atp));
      seeded_[name] = {record->info_hash, h};
      std::lock_guard stats(stats_mutex_);
      names_[record->info_hash] = name;
      log_.info("seeding {} ({})", name, record->info_hash);
    } catch (const std::exception& e) {
      log_.error("could not seed {}: {}", name, e.what());
    }
  }
}

std::map<std::string, std::int64_t> Seeder::uploaded() const {
  std::lock_guard lock(stats_mutex_);
  std::map<std::string, std::int64_t> out;
  for (const auto& [hex, name] : names_) {
    auto it = uploaded_.find(hex);
    out[name] = it == uploaded_.end() ? 0 : it->second;
  }
  return out;
}

void Seeder::stop() {
  std::lock_guard lock(sync_mutex_);
  if (!session_) return;
  session_->pause();
  for (auto& [name, s] : seeded_) {
    if (!s.handle.is_valid()) continue;
    resume_pending_.fetch_add(1);
    s.handle.save_resume_data(lt::torrent_handle::flush_disk_cache);
  }
  running_.store(false);
  // The alert thread keeps draining until every resume alert arrived; bounded so shutdown cannot hang.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (resume_pending_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (resume_pending_.load() > 0)
    log_.warn("gave up waiting for resume data of {} torrents", resume_pending_.load());
  resume_pending_.store(0);
  if (alerts_.joinable()) alerts_.join();
  seeded_.clear();
  session_.reset();
  log_.info("seeder stopped");
}

}  // namespace swarmboot::server
