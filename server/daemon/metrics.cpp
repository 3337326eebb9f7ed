// Prometheus text rendering of swarmbootd's counters and gauges.
#include "daemon/metrics.hpp"

#include <fmt/format.h>

namespace swarmboot::server {

void Metrics::add_http_bytes(const std::string& kind, std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  http_bytes_[kind] += bytes;
}

void Metrics::add_webseed_bytes(const std::string& image, std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  webseed_bytes_[image] += bytes;
}

void Metrics::count_request() {
  requests_.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::count_error(int status) {
  std::lock_guard lock(mutex_);
  errors_[status] += 1;
}

std::string Metrics::render(const Gauges& g) const {
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  family("swarmboot_hosts", "gauge", "Hosts by state.");
  for (const char* state : {"new", "booting", "running", "installing", "installed", "failed"}) {
    const auto it = g.hosts_by_state.find(state);
    out += fmt::format("swarmboot_hosts{{state=\"{}\"}} {}\n", state,
                       it == g.hosts_by_state.end() ? 0 : it->second);
  }
  std::lock_guard lock(mutex_);
  family("swarmboot_http_requests_total", "counter", "HTTP requests handled.");
  out += fmt::format("swarmboot_http_requests_total {}\n", requests_.load());
  family("swarmboot_http_request_errors_total", "counter", "HTTP requests answered with an error status.");
  for (const auto& [code, n] : errors_)
    out += fmt::format("swarmboot_http_request_errors_total{{code=\"{}\"}} {}\n", code, n);
  family("swarmboot_http_bytes_sent_total", "counter", "Bytes of HTTP bodies sent, by kind.");
  for (const auto& [kind, n] : http_bytes_)
    out += fmt::format("swarmboot_http_bytes_sent_total{{kind=\"{}\"}} {}\n", kind, n);
  family("swarmboot_image_bytes_sent_total", "counter",
         "Image bytes sent by the server, by image and channel.");
  for (const auto& [image, n] : webseed_bytes_) {
    out += fmt::format("swarmboot_image_bytes_sent_total{{image=\"{}\",channel=\"webseed\"}} {}\n", image, n);
  }
  for (const auto& [image, n] : g.bittorrent_bytes) {
    out +=
        fmt::format("swarmboot_image_bytes_sent_total{{image=\"{}\",channel=\"bittorrent\"}} {}\n", image, n);
  }
  family("swarmboot_tracker_announces_total", "counter", "Tracker announces handled.");
  out += fmt::format("swarmboot_tracker_announces_total {}\n", g.announces);
  family("swarmboot_swarm_peers", "gauge", "Peers the tracker knows per image swarm.");
  for (const auto& [image, n] : g.peers_per_swarm)
    out += fmt::format("swarmboot_swarm_peers{{image=\"{}\"}} {}\n", image, n);
  return out;
}

}  // namespace swarmboot::server
