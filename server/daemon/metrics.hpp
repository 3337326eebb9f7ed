// Counters for GET /metrics (Prometheus text format 0.0.4). Counters are updated from HTTP threads;
// gauges (hosts by state, peers per swarm, BitTorrent upload) are read from their owners at scrape time.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace swarmboot::server {

class Metrics {
 public:
  // Bytes sent over HTTP by kind: "script", "boot", "torrent", "api", "webseed", "profile", "tracker",
  // "metrics".
  void add_http_bytes(const std::string& kind, std::uint64_t bytes);
  void add_webseed_bytes(const std::string& image, std::uint64_t bytes);
  void count_request();
  void count_error(int status);

  struct Gauges {
    std::map<std::string, int> hosts_by_state;
    std::map<std::string, int> peers_per_swarm;            // by image name
    std::map<std::string, std::int64_t> bittorrent_bytes;  // by image name: the seeder's upload
    std::uint64_t announces = 0;
  };
  // The whole exposition text.
  std::string render(const Gauges& gauges) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t> http_bytes_;     // guarded by mutex_
  std::map<std::string, std::uint64_t> webseed_bytes_;  // guarded by mutex_
  std::map<int, std::uint64_t> errors_;                 // guarded by mutex_; by status code
  std::atomic<std::uint64_t> requests_{0};
};

}  // namespace swarmboot::server
