// The appliance's seeder: one libtorrent session seeding every registered image with swarmcore's LAN
// settings. Torrents are added in seed_mode (no initial hash check of large images; libtorrent verifies
// pieces lazily on first upload) unless resume data saved at the last shutdown exists.
//
// Threads: `sync` is called from one thread at a time (the registry refresh); an internal thread drains
// alerts, caches per-torrent upload counters (so /metrics never calls the blocking status()) and writes
// resume data during `stop`.
#pragma once

#include <atomic>
#include <cstdint>
#include <libtorrent/session.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/config.hpp"
#include "swarmcore/image_registry.hpp"
#include "swarmcore/log.hpp"
#include "swarmcore/result.hpp"

namespace swarmboot::server {

struct SeederOptions {
  std::string listen_interfaces = "0.0.0.0:6881";
  int upload_rate_limit = 0;  // bytes/s
  std::string resume_dir;     // DATA_DIR/seeder
  SeedingPolicy seeding = SeedingPolicy::spread;
};

class Seeder {
 public:
  static Result<std::unique_ptr<Seeder>> start(const SeederOptions& options, Logger log);
  ~Seeder();  // stop() if not yet stopped
  Seeder(const Seeder&) = delete;
  Seeder& operator=(const Seeder&) = delete;

  // Seeds exactly these images: adds new ones (torrent bytes from the registry), removes the others.
  void sync(const std::vector<ImageRecord>& images, const ImageRegistry& registry);

  // The port it accepts peers on (0 until listening).
  std::uint16_t listen_port() const { return port_.load(); }
  // Bytes uploaded to peers, per image name, since it was first seeded (including earlier runs).
  std::map<std::string, std::int64_t> uploaded() const;

  // Saves resume data for every torrent (bounded wait) and closes the session.
  void stop();

 private:
  Seeder(const SeederOptions& options, Logger log);
  void alert_loop();

  struct Seeded {
    std::string info_hash;  // hex
    lt::torrent_handle handle;
  };

  SeederOptions options_;
  Logger log_;
  std::unique_ptr<lt::session> session_;
  std::atomic<std::uint16_t> port_{0};
  std::atomic<bool> running_{true};
  std::atomic<int> resume_pending_{0};
  std::thread alerts_;

  std::mutex sync_mutex_;                 // serialises sync() and stop()
  std::map<std::string, Seeded> seeded_;  // guarded by sync_mutex_; by image name
  mutable std::mutex stats_mutex_;
  std::map<std::string, std::int64_t> uploaded_;  // guarded by stats_mutex_; by info-hash hex
  std::map<std::string, std::string> names_;      // guarded by stats_mutex_; info-hash hex -> image name
};

}  // namespace swarmboot::server
